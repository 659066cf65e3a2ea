using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Access;

public enum SignInStatus
{
    Succeeded,
    Failed,
    LockedOut,
    Disabled,

    /// <summary>Too many failed sign-ins from the client's address: the password was not checked.</summary>
    AddressLimited,
}

internal enum ApiTokenRevocation
{
    Revoked,
    AlreadyRevoked,
    NotFound,
}

internal sealed record SignInOutcome(SignInStatus Status, UserAccount? User = null, DateTimeOffset? LockedUntil = null);

/// <summary>What an account action did: the account (or token, invitation) it made, or why not, in words for the form.</summary>
internal sealed record AccountResult<T>(T? Value, string? Problem)
{
    public bool Succeeded => Problem is null;

    public static AccountResult<T> Ok(T value) => new(value, null);

    public static AccountResult<T> Refused(string problem) => new(default, problem);
}

/// <summary>
/// Everything about accounts that a form or a request can ask for: sign-in with lockout, the first admin,
/// invitations, passwords, API tokens, roles. Passwords are hashed with ASP.NET Core's
/// <see cref="PasswordHasher{TUser}"/>. Every change made on someone's behalf checks, against the store, that
/// they may make it (a page's buttons are only a convenience). Sign-ins of one account are taken one at a
/// time, so parallel guesses cannot slip past the lockout; on top of that, failed sign-ins are counted per client
/// address (<see cref="SignInFailuresByAddress"/>).
/// </summary>
internal sealed partial class Accounts(
    IAccessStore store,
    IProjectStore projects,
    IOptions<ErrorHubServerOptions> options,
    TimeProvider clock,
    IDataProtectionProvider dataProtection,
    IPasswordHasher<UserAccount> hasher,
    ILogger<Accounts> logger) : IDisposable
{
    /// <summary>How long a password reset link works (once: the new password changes the account's security stamp it names).</summary>
    public static readonly TimeSpan PasswordResetLifetime = TimeSpan.FromDays(1);

    public const string TokenPrefix = "eh_";
    public const int MaxTokenNameLength = 100;
    private const int LockStripes = 64;

    private static readonly UserAccount Nobody = new(Guid.Empty, "", "", "", UserRole.Member, "", DateTimeOffset.UnixEpoch);
    private readonly SemaphoreSlim[] _signInLocks = [.. Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private readonly UnknownEmailFailures _unknownEmails = new();
    private readonly SignInFailuresByAddress _addresses = new();
    private readonly UnknownEmailFailures _resetMails = new();
    private readonly SignInFailuresByAddress _resetRequests = new();
    private readonly Lazy<string> _nobodysHash = new(() => hasher.HashPassword(Nobody, Secrets.New("")));

    private AccessOptions Settings => options.Value.Access;

    public TimeSpan InvitationLifetime => Settings.InvitationLifetime;

    public async Task<bool> AnyUserAsync(CancellationToken cancellationToken = default) =>
        (await store.GetUsersAsync(cancellationToken)).Count > 0;

    public async Task<bool> AnyActiveAdminAsync(CancellationToken cancellationToken = default) =>
        (await store.GetUsersAsync(cancellationToken)).Any(user => user.Role == UserRole.Admin && !user.IsDisabled);

    /// <summary>The user behind a principal, as the store has them now; null when unknown or disabled.</summary>
    public async Task<UserAccount?> ActiveUserAsync(Guid? userId, CancellationToken cancellationToken = default) =>
        userId is { } id && await store.GetUserAsync(id, cancellationToken) is { IsDisabled: false } user ? user : null;

    /// <param name="clientAddress">Where the sign-in comes from (behind a trusted proxy, the address it forwarded); null when unknown, which the per-address limit does not count.</param>
    public async Task<SignInOutcome> SignInAsync(string? email, string? password, IPAddress? clientAddress, CancellationToken cancellationToken = default)
    {
        var settings = Settings;
        var address = ClientAddress.Of(clientAddress);
        if (!_addresses.TryBegin(address, clock.GetUtcNow(), settings.SignInFailuresPerAddress, settings.SignInFailureWindow, out var attempt, out var retryAt))
        {
            // The same answer whatever the email, before the store is asked: it tells nothing about which emails exist.
            return new SignInOutcome(SignInStatus.AddressLimited, LockedUntil: retryAt);
        }

        SignInOutcome? outcome = null;
        try
        {
            outcome = await CheckPasswordAsync(email, password, cancellationToken);
            return outcome;
        }
        finally
        {
            // A store failure or a cancelled request is no failed sign-in: it only gives its place in the count back.
            var failed = outcome?.Status is SignInStatus.Failed or SignInStatus.LockedOut;
            if (_addresses.End(attempt, failed, clock.GetUtcNow(), settings.SignInFailuresPerAddress, settings.SignInFailureWindow) is { } until)
            {
                LogAddressLimited(logger, address!.Value.ToString(), settings.SignInFailuresPerAddress, settings.SignInFailureWindow, until,
                    address.Value.IsLoopbackOrPrivate ? HintForProxies : "");
            }
        }
    }

    private async Task<SignInOutcome> CheckPasswordAsync(string? email, string? password, CancellationToken cancellationToken)
    {
        var normalized = AccessRules.NormalizeEmail(email ?? "");
        password ??= "";
        if (!AccessRules.IsEmail(normalized))
        {
            // No account has such an email (every way of making one checks it): a wrong sign-in, without asking the store a
            // question of a megabyte (past a ClickHouse server's query size, which answered "the store is not answering")
            // or hashing anything. Whether an email is well formed is no secret, so the quicker answer tells no one anything.
            return new SignInOutcome(SignInStatus.Failed);
        }

        var gate = _signInLocks[(int)((uint)StringComparer.Ordinal.GetHashCode(normalized) % LockStripes)];
        await gate.WaitAsync(cancellationToken);
        try
        {
            var user = await store.FindUserByEmailAsync(normalized, cancellationToken);
            var now = clock.GetUtcNow();
            if (user is null)
            {
                // Answered like an account's wrong passwords, lockout included, so that neither the words nor
                // the timing tell which emails have accounts.
                if (_unknownEmails.LockedUntil(normalized, now) is { } unknownLockedUntil)
                {
                    return new SignInOutcome(SignInStatus.LockedOut, LockedUntil: unknownLockedUntil);
                }

                Verify(Nobody, _nobodysHash.Value, password);
                return _unknownEmails.Fail(normalized, now, Settings.MaxFailedLogins, Settings.LockoutDuration) is { } until
                    ? new SignInOutcome(SignInStatus.LockedOut, LockedUntil: until)
                    : new SignInOutcome(SignInStatus.Failed);
            }

            if (user.LockedUntil is { } lockedUntil && lockedUntil > now)
            {
                return new SignInOutcome(SignInStatus.LockedOut, LockedUntil: lockedUntil);
            }

            var verified = Verify(user, user.PasswordHash, password);
            if (verified == PasswordVerificationResult.Failed)
            {
                var failures = user.FailedLogins + 1;
                if (failures >= Settings.MaxFailedLogins)
                {
                    var until = now + Settings.LockoutDuration;
                    await store.UpdateUserAsync(user with { FailedLogins = 0, LockedUntil = until }, cancellationToken);
                    LogLockedOut(logger, user.Email, failures, until);
                    return new SignInOutcome(SignInStatus.LockedOut, LockedUntil: until);
                }

                await store.UpdateUserAsync(user with { FailedLogins = failures, LockedUntil = null }, cancellationToken);
                return new SignInOutcome(SignInStatus.Failed);
            }

            if (user.IsDisabled)
            {
                return new SignInOutcome(SignInStatus.Disabled);
            }

            var rehash = verified == PasswordVerificationResult.SuccessRehashNeeded;
            if (user.FailedLogins != 0 || user.LockedUntil is not null || rehash)
            {
                user = user with { FailedLogins = 0, LockedUntil = null, PasswordHash = rehash ? hasher.HashPassword(user, password) : user.PasswordHash };
                await store.UpdateUserAsync(user, cancellationToken);
            }

            return new SignInOutcome(SignInStatus.Succeeded, user);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// A password longer than any account may have is wrong without hashing it: PBKDF2 reads the whole of it (a megabyte, or
    /// the form's 4 MB), on every sign-in attempt. It still counts as a wrong password, lockout included, for accounts and
    /// unknown emails alike, so the answer tells nothing more.
    /// </summary>
    private PasswordVerificationResult Verify(UserAccount user, string hash, string password) =>
        password.Length > AccessRules.MaxPasswordLength
            ? PasswordVerificationResult.Failed
            : hasher.VerifyHashedPassword(user, hash, password);

    /// <summary>The setup page's admin: only while no user exists at all.</summary>
    public async Task<AccountResult<UserAccount>> CreateFirstAdminAsync(string? email, string? name, string? password, CancellationToken cancellationToken = default)
    {
        await _createLock.WaitAsync(cancellationToken);
        try
        {
            if (await AnyUserAsync(cancellationToken))
            {
                return AccountResult<UserAccount>.Refused("An account exists already: sign in instead.");
            }

            return await CreateUserAsync(email, name, password, UserRole.Admin, cancellationToken);
        }
        finally
        {
            _createLock.Release();
        }
    }

    /// <summary>The configured admin (<c>ErrorHub:Admin</c>): created when no user has that email; an existing one is left alone.</summary>
    public async Task<UserAccount?> EnsureConfiguredAdminAsync(AdminBootstrapOptions admin, CancellationToken cancellationToken = default)
    {
        if (admin.Email is null)
        {
            return null;
        }

        await _createLock.WaitAsync(cancellationToken);
        try
        {
            if (await store.FindUserByEmailAsync(AccessRules.NormalizeEmail(admin.Email), cancellationToken) is { } existing)
            {
                return existing;
            }

            if (admin.Password is null)
            {
                return null;
            }

            var name = string.IsNullOrWhiteSpace(admin.Name) ? admin.Email.Trim().Split('@')[0] : admin.Name;
            var created = await CreateUserAsync(admin.Email, name, admin.Password, UserRole.Admin, cancellationToken);
            return created.Value;
        }
        finally
        {
            _createLock.Release();
        }
    }

    /// <summary>A one-time link for <paramref name="email"/>: the returned secret goes into the link and is never stored.</summary>
    public async Task<AccountResult<(Invitation Invitation, string Secret)>> InviteAsync(
        Guid adminId, string? email, UserRole role, IReadOnlyList<int> projectIds, CancellationToken cancellationToken = default)
    {
        if (await AdminAsync(adminId, cancellationToken) is null)
        {
            return AccountResult<(Invitation, string)>.Refused("Only an admin can invite.");
        }

        if (!AccessRules.IsEmail(email))
        {
            return AccountResult<(Invitation, string)>.Refused("Enter an email address.");
        }

        var normalized = AccessRules.NormalizeEmail(email!);
        if (await store.FindUserByEmailAsync(normalized, cancellationToken) is not null)
        {
            return AccountResult<(Invitation, string)>.Refused($"{normalized} has an account already.");
        }

        var secret = Secrets.New("");
        var now = clock.GetUtcNow();
        var invitation = new Invitation(Guid.NewGuid(), Secrets.Hash(secret), normalized, role, [.. projectIds.Distinct().Order()], adminId, now, now + Settings.InvitationLifetime);
        await store.CreateInvitationAsync(invitation, cancellationToken);
        LogInvited(logger, normalized, role);
        return AccountResult<(Invitation, string)>.Ok((invitation, secret));
    }

    /// <summary>The invitation a link carries, while it can still be accepted.</summary>
    public async Task<Invitation?> OpenInvitationAsync(string? secret, CancellationToken cancellationToken = default) =>
        await FindInvitationAsync(secret, cancellationToken) is { } invitation && invitation.IsOpenAt(clock.GetUtcNow()) ? invitation : null;

    /// <summary>
    /// The invitation a link carries, also once used, revoked or expired (so that its page says which), or null when no
    /// invitation has that link. Only the link's holder learns this: the link itself is the secret.
    /// </summary>
    public async Task<Invitation?> FindInvitationAsync(string? secret, CancellationToken cancellationToken = default) =>
        string.IsNullOrEmpty(secret) ? null : await store.FindInvitationAsync(Secrets.Hash(secret), cancellationToken);

    public async Task<AccountResult<UserAccount>> AcceptInvitationAsync(string? secret, string? name, string? password, CancellationToken cancellationToken = default)
    {
        await _createLock.WaitAsync(cancellationToken);
        try
        {
            if (await OpenInvitationAsync(secret, cancellationToken) is not { } invitation)
            {
                return AccountResult<UserAccount>.Refused("This invitation link does not work any more: it was used, revoked or has expired. Ask an admin for a new one.");
            }

            var created = await CreateUserAsync(invitation.Email, name, password, invitation.Role, cancellationToken);
            if (created.Value is not { } user)
            {
                return created;
            }

            foreach (var projectId in invitation.ProjectIds)
            {
                if (await projects.GetProjectAsync(projectId, cancellationToken) is not null)
                {
                    await store.AddMemberAsync(projectId, user.Id, cancellationToken);
                }
            }

            await store.UpdateInvitationAsync(invitation with { AcceptedAt = clock.GetUtcNow() }, cancellationToken);
            return created;
        }
        finally
        {
            _createLock.Release();
        }
    }

    public async Task<bool> RevokeInvitationAsync(Guid adminId, Guid invitationId, CancellationToken cancellationToken = default)
    {
        if (await AdminAsync(adminId, cancellationToken) is null)
        {
            return false;
        }

        var invitation = (await store.GetInvitationsAsync(cancellationToken)).SingleOrDefault(i => i.Id == invitationId);
        if (invitation is null || !invitation.IsOpenAt(clock.GetUtcNow()))
        {
            return false;
        }

        await store.UpdateInvitationAsync(invitation with { RevokedAt = clock.GetUtcNow() }, cancellationToken);
        return true;
    }

    /// <summary>
    /// A fresh link for an open invitation (to mail it again): the invitation is revoked and an equal one made with a new
    /// link, at the same moment, so the old link stops working and its page can say it was replaced (<see cref="ReplacementOfAsync"/>).
    /// </summary>
    public async Task<AccountResult<(Invitation Invitation, string Secret)>> ReplaceInvitationAsync(Guid adminId, Guid invitationId, CancellationToken cancellationToken = default)
    {
        if (await AdminAsync(adminId, cancellationToken) is null)
        {
            return AccountResult<(Invitation, string)>.Refused("Only an admin can resend an invitation.");
        }

        var now = clock.GetUtcNow();
        var invitation = (await store.GetInvitationsAsync(cancellationToken)).SingleOrDefault(i => i.Id == invitationId);
        if (invitation is null || !invitation.IsOpenAt(now))
        {
            return AccountResult<(Invitation, string)>.Refused("This invitation is not open any more: it was used, revoked or has expired.");
        }

        if (await store.FindUserByEmailAsync(invitation.Email, cancellationToken) is not null)
        {
            return AccountResult<(Invitation, string)>.Refused($"{invitation.Email} has an account already.");
        }

        var secret = Secrets.New("");
        var fresh = new Invitation(Guid.NewGuid(), Secrets.Hash(secret), invitation.Email, invitation.Role, invitation.ProjectIds, adminId, now, now + Settings.InvitationLifetime);
        await store.CreateInvitationAsync(fresh, cancellationToken);
        await store.UpdateInvitationAsync(invitation with { RevokedAt = now }, cancellationToken);
        LogInvitationReplaced(logger, invitation.Email);
        return AccountResult<(Invitation, string)>.Ok((fresh, secret));
    }

    /// <summary>
    /// For a revoked invitation: the newer one for the same address made when (or after) it was revoked, which took its
    /// place; null when it was revoked for good.
    /// </summary>
    public async Task<Invitation?> ReplacementOfAsync(Invitation revoked, CancellationToken cancellationToken = default) =>
        revoked.RevokedAt is not { } revokedAt
            ? null
            : (await store.GetInvitationsAsync(cancellationToken))
                .Where(i => i.Id != revoked.Id && i.Email == revoked.Email && i.CreatedAt >= revokedAt)
                .MaxBy(i => i.CreatedAt);

    /// <summary>A new password ends every other sign-in of the account (a new security stamp): the caller signs in again with the returned account.</summary>
    public async Task<AccountResult<UserAccount>> ChangePasswordAsync(Guid userId, string? currentPassword, string? newPassword, CancellationToken cancellationToken = default)
    {
        if (await ActiveUserAsync(userId, cancellationToken) is not { } user)
        {
            return AccountResult<UserAccount>.Refused("Your account is not active.");
        }

        if (Verify(user, user.PasswordHash, currentPassword ?? "") == PasswordVerificationResult.Failed)
        {
            return AccountResult<UserAccount>.Refused("The current password is not right.");
        }

        if (AccessRules.PasswordProblem(newPassword) is { } problem)
        {
            return AccountResult<UserAccount>.Refused($"The new password {problem}.");
        }

        var changed = user with { PasswordHash = hasher.HashPassword(user, newPassword!), SecurityStamp = NewStamp(), FailedLogins = 0, LockedUntil = null };
        await store.UpdateUserAsync(changed, cancellationToken);
        return AccountResult<UserAccount>.Ok(changed);
    }

    /// <summary>
    /// A link an admin hands to someone who forgot their password (the Users page; nothing is mailed). It names the account and
    /// its current security stamp, signed and encrypted with the Data Protection keys of the sign-in cookies (a dashboard that
    /// takes another's cookies takes its links), and works for <see cref="PasswordResetLifetime"/>. No state is stored: a new password, a
    /// sign-out or a disable changes the stamp, and the link stops working.
    /// </summary>
    public async Task<AccountResult<string>> CreatePasswordResetAsync(Guid adminId, Guid userId, CancellationToken cancellationToken = default)
    {
        if (await AdminAsync(adminId, cancellationToken) is null)
        {
            return AccountResult<string>.Refused("Only an admin can make a password reset link.");
        }

        if (await ActiveUserAsync(userId, cancellationToken) is not { } user)
        {
            return AccountResult<string>.Refused("This account is disabled or gone: enable it first.");
        }

        var secret = ResetSecret(user);
        LogPasswordResetLink(logger, user.Email, adminId);
        return AccountResult<string>.Ok(secret);
    }

    /// <summary>The account a password reset link is for, while the link works; null for a forged, used or expired link.</summary>
    public async Task<UserAccount?> OpenPasswordResetAsync(string? secret, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > MaxResetSecretLength)
        {
            return null;
        }

        string payload;
        try
        {
            payload = ResetProtector.Unprotect(secret);
        }
        catch (CryptographicException)
        {
            return null;
        }

        var parts = payload.Split('|');
        if (parts.Length != 3 || !Guid.TryParseExact(parts[0], "N", out var userId)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || clock.GetUtcNow().ToUnixTimeSeconds() >= expires)
        {
            return null;
        }

        return await ActiveUserAsync(userId, cancellationToken) is { } user && user.SecurityStamp == parts[1] ? user : null;
    }

    /// <summary>Sets the password a reset link's holder chose; every sign-in of the account ends, the lockout too.</summary>
    public async Task<AccountResult<UserAccount>> ResetPasswordAsync(string? secret, string? newPassword, CancellationToken cancellationToken = default)
    {
        if (await OpenPasswordResetAsync(secret, cancellationToken) is not { } user)
        {
            return AccountResult<UserAccount>.Refused(PasswordResetGone);
        }

        if (AccessRules.PasswordProblem(newPassword) is { } problem)
        {
            return AccountResult<UserAccount>.Refused($"The new password {problem}.");
        }

        var changed = user with { PasswordHash = hasher.HashPassword(user, newPassword!), SecurityStamp = NewStamp(), FailedLogins = 0, LockedUntil = null };
        await store.UpdateUserAsync(changed, cancellationToken);
        LogPasswordReset(logger, user.Email);
        return AccountResult<UserAccount>.Ok(changed);
    }

    /// <summary>Reset mails one e-mail address gets before it gets none for <see cref="ResetMailWindow"/>.</summary>
    public const int ResetMailsPerEmail = 3;

    /// <summary>"Forgot password?" requests one client address may make per <see cref="ResetMailWindow"/>, whatever the e-mails.</summary>
    public const int ResetRequestsPerAddress = 10;

    public static readonly TimeSpan ResetMailWindow = TimeSpan.FromHours(1);

    // Longer than any real address (RFC 5321 allows 254): not worth a store query.
    private const int MaxEmailLength = 320;

    /// <summary>
    /// The sign-in page's "Forgot password?": when an active account has <paramref name="email"/>, makes it a reset link
    /// (the one <see cref="CreatePasswordResetAsync"/> makes) and hands it to <paramref name="mail"/>. The answer is the same
    /// whatever the address (no account enumeration): null, or, when the client address asked too often, the time it may
    /// ask again. An e-mail address that was sent <see cref="ResetMailsPerEmail"/> mails gets none for a while, silently.
    /// </summary>
    public async Task<DateTimeOffset?> RequestPasswordResetAsync(string? email, IPAddress? clientAddress, Action<UserAccount, string> mail, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mail);
        var now = clock.GetUtcNow();
        var address = ClientAddress.Of(clientAddress);
        if (!_resetRequests.TryBegin(address, now, ResetRequestsPerAddress, ResetMailWindow, out var attempt, out var retryAt))
        {
            return retryAt;
        }

        // Every request counts against its client address, whichever e-mail it names.
        _resetRequests.End(attempt, failed: true, now, ResetRequestsPerAddress, ResetMailWindow);
        if (string.IsNullOrWhiteSpace(email) || email.Length > MaxEmailLength)
        {
            return null;
        }

        var normalized = AccessRules.NormalizeEmail(email);
        if (_resetMails.LockedUntil(normalized, now) is not null)
        {
            return null;
        }

        _resetMails.Fail(normalized, now, ResetMailsPerEmail, ResetMailWindow);
        if (await store.FindUserByEmailAsync(normalized, cancellationToken) is { IsDisabled: false } user)
        {
            LogPasswordResetRequested(logger, user.Email);
            mail(user, ResetSecret(user));
        }

        return null;
    }

    private string ResetSecret(UserAccount user)
    {
        var expires = (clock.GetUtcNow() + PasswordResetLifetime).ToUnixTimeSeconds();
        return ResetProtector.Protect(string.Create(CultureInfo.InvariantCulture, $"{user.Id:N}|{user.SecurityStamp}|{expires}"));
    }

    public const string PasswordResetGone = "This password reset link does not work any more: it was used, or it expired, or the account changed since. Ask for a new one, or ask an admin.";

    // Data Protection's payloads for this one purpose; far longer input is not one of ours and is not worth decrypting.
    private const int MaxResetSecretLength = 1024;

    private IDataProtector ResetProtector => dataProtection.CreateProtector("ErrorHub.Dashboard.PasswordReset");

    /// <summary>Signing out: a new security stamp, so no cookie of the account (a copied one included) and no open circuit works afterwards.</summary>
    public async Task EndSignInsAsync(Guid? userId, CancellationToken cancellationToken = default)
    {
        if (userId is { } id && await store.GetUserAsync(id, cancellationToken) is { } user)
        {
            await store.UpdateUserAsync(user with { SecurityStamp = NewStamp() }, cancellationToken);
        }
    }

    /// <summary>A new token of the user: the secret is in the answer only (the store keeps its hash), so it is shown once.</summary>
    public async Task<AccountResult<(ApiToken Token, string Secret)>> CreateApiTokenAsync(Guid userId, string? name, CancellationToken cancellationToken = default)
    {
        if (await ActiveUserAsync(userId, cancellationToken) is null)
        {
            return AccountResult<(ApiToken, string)>.Refused("Your account is not active.");
        }

        if (TokenNameProblem(name) is { } problem)
        {
            return AccountResult<(ApiToken, string)>.Refused(problem);
        }

        var secret = Secrets.New(TokenPrefix);
        // Whole seconds, as every store keeps it: the answer that tells the secret shows the time the lists show.
        var createdAt = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds());
        var token = new ApiToken(Guid.NewGuid(), userId, name!.Trim(), Secrets.Hash(secret), createdAt);
        await store.CreateApiTokenAsync(token, cancellationToken);
        return AccountResult<(ApiToken, string)>.Ok((token, secret));
    }

    /// <summary>
    /// Why a token name is refused, or null. Names are shown on the account page and in the API's lists, so one rule
    /// for both: 1 to 100 characters after trimming (as a browser's maxlength counts them), no control characters (a
    /// line break or NUL would garble a list), no broken UTF-16 (it cannot be stored faithfully).
    /// </summary>
    public static string? TokenNameProblem(string? name)
    {
        var trimmed = name?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > MaxTokenNameLength)
        {
            return $"Name the token (up to {MaxTokenNameLength} characters), e.g. after the script that uses it.";
        }

        for (var i = 0; i < trimmed.Length; i++)
        {
            if (char.IsControl(trimmed[i]))
            {
                return "A token name is one line of text, without control characters.";
            }

            if (char.IsHighSurrogate(trimmed[i]) && i + 1 < trimmed.Length && char.IsLowSurrogate(trimmed[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(trimmed[i]))
            {
                return "A token name must be valid Unicode text.";
            }
        }

        return null;
    }

    /// <summary>The tokens of an active user, revoked ones included, newest first; none for anyone else.</summary>
    public async Task<IReadOnlyList<ApiToken>> GetApiTokensAsync(Guid userId, CancellationToken cancellationToken = default) =>
        await ActiveUserAsync(userId, cancellationToken) is null ? [] : await store.GetApiTokensAsync(userId, cancellationToken);

    /// <summary>The configured token (<c>ErrorHub:Admin:ApiToken</c>) for the configured admin, stored once.</summary>
    public async Task EnsureConfiguredApiTokenAsync(UserAccount admin, string secret, CancellationToken cancellationToken = default)
    {
        var hash = Secrets.Hash(secret);
        if (await store.FindApiTokenAsync(hash, cancellationToken) is null)
        {
            await store.CreateApiTokenAsync(new ApiToken(Guid.NewGuid(), admin.Id, "Configured (ErrorHub:Admin:ApiToken)", hash, clock.GetUtcNow()), cancellationToken);
        }
    }

    /// <summary>
    /// Revokes one of the user's own tokens; it fails from the next request on. Another user's token is
    /// <see cref="ApiTokenRevocation.NotFound"/>, like one that does not exist, so ids say nothing about other accounts.
    /// </summary>
    public async Task<ApiTokenRevocation> RevokeApiTokenAsync(Guid userId, Guid tokenId, CancellationToken cancellationToken = default)
    {
        if (await store.RevokeApiTokenAsync(userId, tokenId, clock.GetUtcNow(), cancellationToken))
        {
            return ApiTokenRevocation.Revoked;
        }

        return (await store.GetApiTokensAsync(userId, cancellationToken)).Any(token => token.Id == tokenId)
            ? ApiTokenRevocation.AlreadyRevoked
            : ApiTokenRevocation.NotFound;
    }

    /// <summary>The active owner of an active token; records the use at most once a minute (a store write per request would be too many).</summary>
    public async Task<UserAccount?> AuthenticateApiTokenAsync(string secret, CancellationToken cancellationToken = default)
    {
        if (await store.FindApiTokenAsync(Secrets.Hash(secret), cancellationToken) is not { IsActive: true } token
            || await ActiveUserAsync(token.UserId, cancellationToken) is not { } user)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        if (token.LastUsedAt is not { } last || now - last >= TimeSpan.FromMinutes(1))
        {
            await store.MarkApiTokenUsedAsync(token.Id, now, cancellationToken);
        }

        return user;
    }

    public async Task<AccountResult<UserAccount>> SetRoleAsync(Guid adminId, Guid userId, UserRole role, CancellationToken cancellationToken = default)
    {
        if (await AdminAsync(adminId, cancellationToken) is null || await store.GetUserAsync(userId, cancellationToken) is not { } user)
        {
            return AccountResult<UserAccount>.Refused("Only an admin can change roles.");
        }

        if (role != UserRole.Admin && await IsLastAdminAsync(user, cancellationToken))
        {
            return AccountResult<UserAccount>.Refused("The last admin stays an admin: make someone else admin first.");
        }

        var changed = user with { Role = role };
        await store.UpdateUserAsync(changed, cancellationToken);
        return AccountResult<UserAccount>.Ok(changed);
    }

    /// <summary>Disabling ends the user's sign-ins and API tokens at once; enabling lets them sign in again.</summary>
    public async Task<AccountResult<UserAccount>> SetDisabledAsync(Guid adminId, Guid userId, bool disabled, CancellationToken cancellationToken = default)
    {
        if (await AdminAsync(adminId, cancellationToken) is null || await store.GetUserAsync(userId, cancellationToken) is not { } user)
        {
            return AccountResult<UserAccount>.Refused("Only an admin can disable accounts.");
        }

        if (disabled && userId == adminId)
        {
            return AccountResult<UserAccount>.Refused("You cannot disable your own account.");
        }

        if (disabled && await IsLastAdminAsync(user, cancellationToken))
        {
            return AccountResult<UserAccount>.Refused("The last admin cannot be disabled.");
        }

        var changed = disabled
            ? user with { DisabledAt = user.DisabledAt ?? clock.GetUtcNow(), SecurityStamp = NewStamp() }
            : user with { DisabledAt = null, FailedLogins = 0, LockedUntil = null };
        await store.UpdateUserAsync(changed, cancellationToken);
        return AccountResult<UserAccount>.Ok(changed);
    }

    /// <summary>The acting user when they are an active admin, as the store says now.</summary>
    public async Task<UserAccount?> AdminAsync(Guid userId, CancellationToken cancellationToken = default) =>
        await ActiveUserAsync(userId, cancellationToken) is { Role: UserRole.Admin } admin ? admin : null;

    public void Dispose()
    {
        foreach (var gate in _signInLocks)
        {
            gate.Dispose();
        }

        _createLock.Dispose();
    }

    private static string NewStamp() => Guid.NewGuid().ToString("N");

    private async Task<bool> IsLastAdminAsync(UserAccount user, CancellationToken cancellationToken) =>
        user.Role == UserRole.Admin && !user.IsDisabled
        && (await store.GetUsersAsync(cancellationToken)).Count(u => u.Role == UserRole.Admin && !u.IsDisabled) == 1;

    private async Task<AccountResult<UserAccount>> CreateUserAsync(string? email, string? name, string? password, UserRole role, CancellationToken cancellationToken)
    {
        if (!AccessRules.IsEmail(email))
        {
            return AccountResult<UserAccount>.Refused("Enter an email address.");
        }

        if (string.IsNullOrWhiteSpace(name) || name.Trim().Length > 100)
        {
            return AccountResult<UserAccount>.Refused("Enter your name (up to 100 characters).");
        }

        if (AccessRules.PasswordProblem(password) is { } problem)
        {
            return AccountResult<UserAccount>.Refused($"The password {problem}.");
        }

        var user = new UserAccount(Guid.NewGuid(), AccessRules.NormalizeEmail(email!), name.Trim(), "", role, NewStamp(), clock.GetUtcNow());
        user = user with { PasswordHash = hasher.HashPassword(user, password!) };
        if (!await store.CreateUserAsync(user, cancellationToken))
        {
            return AccountResult<UserAccount>.Refused($"{user.Email} has an account already.");
        }

        LogUserCreated(logger, user.Email, role);
        return AccountResult<UserAccount>.Ok(user);
    }

    [LoggerMessage(1, LogLevel.Warning, "Account {Email} locked until {Until} after {Failures} failed sign-ins")]
    private static partial void LogLockedOut(ILogger logger, string email, int failures, DateTimeOffset until);

    private const string HintForProxies =
        ". If that is the address of a reverse proxy, every client behind it shares this limit: name the proxy in ErrorHub:ForwardedHeaders:KnownProxies (docs/deployment.md)";

    [LoggerMessage(4, LogLevel.Warning, "Sign-ins from {Address} are refused until {Until}: {Failures} failed sign-ins within {Window}{Hint}")]
    private static partial void LogAddressLimited(ILogger logger, string address, int failures, TimeSpan window, DateTimeOffset until, string hint);

    [LoggerMessage(2, LogLevel.Information, "Account {Email} created ({Role})")]
    private static partial void LogUserCreated(ILogger logger, string email, UserRole role);

    [LoggerMessage(3, LogLevel.Information, "Invited {Email} ({Role})")]
    private static partial void LogInvited(ILogger logger, string email, UserRole role);

    [LoggerMessage(8, LogLevel.Information, "The invitation of {Email} was replaced by one with a fresh link")]
    private static partial void LogInvitationReplaced(ILogger logger, string email);

    [LoggerMessage(5, LogLevel.Information, "A password reset link was made for {Email} by admin {AdminId}")]
    private static partial void LogPasswordResetLink(ILogger logger, string email, Guid adminId);

    [LoggerMessage(6, LogLevel.Information, "The password of {Email} was reset with a link")]
    private static partial void LogPasswordReset(ILogger logger, string email);

    [LoggerMessage(7, LogLevel.Information, "A password reset link was mailed to {Email}, who asked for it on the sign-in page")]
    private static partial void LogPasswordResetRequested(ILogger logger, string email);
}
