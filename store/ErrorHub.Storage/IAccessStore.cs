namespace ErrorHub.Storage;

/// <summary>
/// Who may use the dashboard and the read API: users, their project memberships, invitations and API
/// tokens. Secrets never reach the store in the clear: passwords arrive hashed (ASP.NET Core's
/// <c>PasswordHasher</c>), invitation links and API tokens as SHA-256 hashes. Policies (lockout, who may do
/// what) belong to the caller; the store keeps the records. Times have whole-second precision.
/// </summary>
public interface IAccessStore
{
    /// <summary>Stores a new user. False when another user has this email (emails are compared as stored: callers normalize).</summary>
    Task<bool> CreateUserAsync(UserAccount user, CancellationToken cancellationToken = default);

    /// <summary>Replaces a user's name, password hash, role, security stamp, failed logins, lockout and disabled time.</summary>
    Task UpdateUserAsync(UserAccount user, CancellationToken cancellationToken = default);

    Task<UserAccount?> GetUserAsync(Guid userId, CancellationToken cancellationToken = default);

    Task<UserAccount?> FindUserByEmailAsync(string email, CancellationToken cancellationToken = default);

    /// <summary>Every user, disabled ones included, by email.</summary>
    Task<IReadOnlyList<UserAccount>> GetUsersAsync(CancellationToken cancellationToken = default);

    /// <summary>Makes the user a member of the project; being one already changes nothing.</summary>
    Task AddMemberAsync(int projectId, Guid userId, CancellationToken cancellationToken = default);

    Task RemoveMemberAsync(int projectId, Guid userId, CancellationToken cancellationToken = default);

    /// <summary>The members of a project.</summary>
    Task<IReadOnlyList<Guid>> GetMembersAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>The projects a user is a member of, by id.</summary>
    Task<IReadOnlyList<int>> GetMembershipsAsync(Guid userId, CancellationToken cancellationToken = default);

    Task CreateInvitationAsync(Invitation invitation, CancellationToken cancellationToken = default);

    Task<Invitation?> FindInvitationAsync(string tokenHash, CancellationToken cancellationToken = default);

    /// <summary>Every invitation, newest first.</summary>
    Task<IReadOnlyList<Invitation>> GetInvitationsAsync(CancellationToken cancellationToken = default);

    /// <summary>Records that an invitation was accepted or revoked (its other fields do not change).</summary>
    Task UpdateInvitationAsync(Invitation invitation, CancellationToken cancellationToken = default);

    Task CreateApiTokenAsync(ApiToken token, CancellationToken cancellationToken = default);

    Task<ApiToken?> FindApiTokenAsync(string tokenHash, CancellationToken cancellationToken = default);

    /// <summary>A user's tokens, revoked ones included, newest first.</summary>
    Task<IReadOnlyList<ApiToken>> GetApiTokensAsync(Guid userId, CancellationToken cancellationToken = default);

    /// <summary>Revokes a token of this user for good. False when the user has no such active token.</summary>
    Task<bool> RevokeApiTokenAsync(Guid userId, Guid tokenId, DateTimeOffset revokedAt, CancellationToken cancellationToken = default);

    /// <summary>Records when a token was last used.</summary>
    Task MarkApiTokenUsedAsync(Guid tokenId, DateTimeOffset usedAt, CancellationToken cancellationToken = default);
}

public enum UserRole
{
    /// <summary>Sees the projects they are a member of.</summary>
    Member,

    /// <summary>Sees and manages everything: users, projects, keys.</summary>
    Admin,
}

/// <summary>
/// A person who signs in. <see cref="SecurityStamp"/> changes whenever their sign-ins must end (a new
/// password, disabling), which invalidates every cookie issued before.
/// </summary>
public sealed record UserAccount(Guid Id, string Email, string Name, string PasswordHash, UserRole Role, string SecurityStamp, DateTimeOffset CreatedAt)
{
    /// <summary>Failed sign-ins since the last successful one or the last lockout.</summary>
    public int FailedLogins { get; init; }

    public DateTimeOffset? LockedUntil { get; init; }

    public DateTimeOffset? DisabledAt { get; init; }

    public bool IsDisabled => DisabledAt is not null;
}

/// <summary>
/// A one-time link that lets someone create their account: the admin chose the email, the role and the
/// projects; the invitee chooses name and password. Only the SHA-256 of the link's token is stored.
/// </summary>
public sealed record Invitation(
    Guid Id,
    string TokenHash,
    string Email,
    UserRole Role,
    IReadOnlyList<int> ProjectIds,
    Guid CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt)
{
    public DateTimeOffset? AcceptedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public bool IsOpenAt(DateTimeOffset now) => AcceptedAt is null && RevokedAt is null && now < ExpiresAt;

    public bool Equals(Invitation? other) =>
        other is not null && Id == other.Id && TokenHash == other.TokenHash && Email == other.Email && Role == other.Role
        && ProjectIds.SequenceEqual(other.ProjectIds) && CreatedBy == other.CreatedBy && CreatedAt == other.CreatedAt
        && ExpiresAt == other.ExpiresAt && AcceptedAt == other.AcceptedAt && RevokedAt == other.RevokedAt;

    public override int GetHashCode() => HashCode.Combine(Id, TokenHash);
}

/// <summary>A token for the JSON API (<c>Authorization: Bearer ...</c>), acting as its owner. Only its SHA-256 is stored.</summary>
public sealed record ApiToken(Guid Id, Guid UserId, string Name, string TokenHash, DateTimeOffset CreatedAt)
{
    public DateTimeOffset? LastUsedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public bool IsActive => RevokedAt is null;
}
