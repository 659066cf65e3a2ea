using Microsoft.Data.Sqlite;
using static ErrorHub.Storage.Sqlite.SqliteProjectStore;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Users, memberships, invitations and API tokens on SQLite. Times are unix seconds.</summary>
internal sealed class SqliteAccessStore(SqliteDatabase database) : IAccessStore
{
    private const string UserColumns = "id, email, name, password_hash, role, security_stamp, created_at, failed_logins, locked_until, disabled_at";
    private const string InvitationColumns = "id, token_hash, email, role, project_ids, created_by, created_at, expires_at, accepted_at, revoked_at";
    private const string TokenColumns = "id, user_id, name, token_hash, created_at, last_used_at, revoked_at";

    public async Task<bool> CreateUserAsync(UserAccount user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var inserted = 0;
        await database.WriteAsync(
            async (connection, cancellationToken) => inserted = await ExecuteAsync(
                connection,
                null,
                $"INSERT OR IGNORE INTO users ({UserColumns}) VALUES ($id, $email, $name, $hash, $role, $stamp, $created, $failed, $locked, $disabled)",
                cancellationToken,
                UserParameters(user)),
            cancellationToken);
        return inserted > 0;
    }

    public Task UpdateUserAsync(UserAccount user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return database.WriteAsync(
            (connection, cancellationToken) => ExecuteAsync(
                connection,
                null,
                """
                UPDATE users SET name = $name, password_hash = $hash, role = $role, security_stamp = $stamp,
                    failed_logins = $failed, locked_until = $locked, disabled_at = $disabled
                WHERE id = $id
                """,
                cancellationToken,
                UserParameters(user)),
            cancellationToken);
    }

    public async Task<UserAccount?> GetUserAsync(Guid userId, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {UserColumns} FROM users WHERE id = $id", ReadUser, cancellationToken, ("$id", Id(userId)))).SingleOrDefault();

    public async Task<UserAccount?> FindUserByEmailAsync(string email, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {UserColumns} FROM users WHERE email = $email", ReadUser, cancellationToken, ("$email", email))).SingleOrDefault();

    public Task<IReadOnlyList<UserAccount>> GetUsersAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {UserColumns} FROM users ORDER BY email", ReadUser, cancellationToken);

    public Task AddMemberAsync(int projectId, Guid userId, CancellationToken cancellationToken = default) =>
        WriteAsync("INSERT OR IGNORE INTO project_members (project_id, user_id) VALUES ($project, $user)", cancellationToken, ("$project", projectId), ("$user", Id(userId)));

    public Task RemoveMemberAsync(int projectId, Guid userId, CancellationToken cancellationToken = default) =>
        WriteAsync("DELETE FROM project_members WHERE project_id = $project AND user_id = $user", cancellationToken, ("$project", projectId), ("$user", Id(userId)));

    public Task<IReadOnlyList<Guid>> GetMembersAsync(int projectId, CancellationToken cancellationToken = default) =>
        ReadAsync("SELECT user_id FROM project_members WHERE project_id = $project ORDER BY user_id", r => Guid.Parse(r.GetString(0)), cancellationToken, ("$project", projectId));

    public Task<IReadOnlyList<int>> GetMembershipsAsync(Guid userId, CancellationToken cancellationToken = default) =>
        ReadAsync("SELECT project_id FROM project_members WHERE user_id = $user ORDER BY project_id", r => r.GetInt32(0), cancellationToken, ("$user", Id(userId)));

    public Task CreateInvitationAsync(Invitation invitation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        return WriteAsync(
            $"INSERT INTO invitations ({InvitationColumns}) VALUES ($id, $hash, $email, $role, $projects, $by, $created, $expires, $accepted, $revoked)",
            cancellationToken,
            InvitationParameters(invitation));
    }

    public async Task<Invitation?> FindInvitationAsync(string tokenHash, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {InvitationColumns} FROM invitations WHERE token_hash = $hash", ReadInvitation, cancellationToken, ("$hash", tokenHash))).SingleOrDefault();

    public Task<IReadOnlyList<Invitation>> GetInvitationsAsync(CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {InvitationColumns} FROM invitations ORDER BY created_at DESC, id", ReadInvitation, cancellationToken);

    public Task UpdateInvitationAsync(Invitation invitation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        return WriteAsync("UPDATE invitations SET accepted_at = $accepted, revoked_at = $revoked WHERE id = $id", cancellationToken, InvitationParameters(invitation));
    }

    public Task CreateApiTokenAsync(ApiToken token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        return WriteAsync(
            $"INSERT INTO api_tokens ({TokenColumns}) VALUES ($id, $user, $name, $hash, $created, $used, $revoked)",
            cancellationToken,
            ("$id", Id(token.Id)), ("$user", Id(token.UserId)), ("$name", token.Name), ("$hash", token.TokenHash),
            ("$created", Seconds(token.CreatedAt)), ("$used", Seconds(token.LastUsedAt)), ("$revoked", Seconds(token.RevokedAt)));
    }

    public async Task<ApiToken?> FindApiTokenAsync(string tokenHash, CancellationToken cancellationToken = default) =>
        (await ReadAsync($"SELECT {TokenColumns} FROM api_tokens WHERE token_hash = $hash", ReadToken, cancellationToken, ("$hash", tokenHash))).SingleOrDefault();

    public Task<IReadOnlyList<ApiToken>> GetApiTokensAsync(Guid userId, CancellationToken cancellationToken = default) =>
        ReadAsync($"SELECT {TokenColumns} FROM api_tokens WHERE user_id = $user ORDER BY created_at DESC, id", ReadToken, cancellationToken, ("$user", Id(userId)));

    public async Task<bool> RevokeApiTokenAsync(Guid userId, Guid tokenId, DateTimeOffset revokedAt, CancellationToken cancellationToken = default)
    {
        var changed = 0;
        await database.WriteAsync(
            async (connection, cancellationToken) => changed = await ExecuteAsync(
                connection,
                null,
                "UPDATE api_tokens SET revoked_at = $at WHERE id = $id AND user_id = $user AND revoked_at IS NULL",
                cancellationToken,
                ("$id", Id(tokenId)), ("$user", Id(userId)), ("$at", Seconds(revokedAt))),
            cancellationToken);
        return changed > 0;
    }

    public Task MarkApiTokenUsedAsync(Guid tokenId, DateTimeOffset usedAt, CancellationToken cancellationToken = default) =>
        WriteAsync("UPDATE api_tokens SET last_used_at = MAX(IFNULL(last_used_at, $at), $at) WHERE id = $id", cancellationToken, ("$id", Id(tokenId)), ("$at", Seconds(usedAt)));

    private static string Id(Guid id) => id.ToString("D");

    private static long? Seconds(DateTimeOffset? value) => value?.ToUnixTimeSeconds();

    private static DateTimeOffset? Time(SqliteDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(column));

    private static (string, object?)[] UserParameters(UserAccount user) =>
    [
        ("$id", Id(user.Id)), ("$email", user.Email), ("$name", user.Name), ("$hash", user.PasswordHash), ("$role", AccessRoles.ToText(user.Role)),
        ("$stamp", user.SecurityStamp), ("$created", Seconds(user.CreatedAt)), ("$failed", user.FailedLogins),
        ("$locked", Seconds(user.LockedUntil)), ("$disabled", Seconds(user.DisabledAt)),
    ];

    private static UserAccount ReadUser(SqliteDataReader r) =>
        new(Guid.Parse(r.GetString(0)), r.GetString(1), r.GetString(2), r.GetString(3), AccessRoles.FromText(r.GetString(4)), r.GetString(5), Time(r, 6)!.Value)
        {
            FailedLogins = r.GetInt32(7),
            LockedUntil = Time(r, 8),
            DisabledAt = Time(r, 9),
        };

    private static (string, object?)[] InvitationParameters(Invitation i) =>
    [
        ("$id", Id(i.Id)), ("$hash", i.TokenHash), ("$email", i.Email), ("$role", AccessRoles.ToText(i.Role)),
        ("$projects", AccessRoles.ProjectIdsToText(i.ProjectIds)), ("$by", Id(i.CreatedBy)), ("$created", Seconds(i.CreatedAt)),
        ("$expires", Seconds(i.ExpiresAt)), ("$accepted", Seconds(i.AcceptedAt)), ("$revoked", Seconds(i.RevokedAt)),
    ];

    private static Invitation ReadInvitation(SqliteDataReader r) =>
        new(Guid.Parse(r.GetString(0)), r.GetString(1), r.GetString(2), AccessRoles.FromText(r.GetString(3)), AccessRoles.ProjectIdsFromText(r.GetString(4)),
            Guid.Parse(r.GetString(5)), Time(r, 6)!.Value, Time(r, 7)!.Value)
        {
            AcceptedAt = Time(r, 8),
            RevokedAt = Time(r, 9),
        };

    private static ApiToken ReadToken(SqliteDataReader r) =>
        new(Guid.Parse(r.GetString(0)), Guid.Parse(r.GetString(1)), r.GetString(2), r.GetString(3), Time(r, 4)!.Value)
        {
            LastUsedAt = Time(r, 5),
            RevokedAt = Time(r, 6),
        };

    private Task WriteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        database.WriteAsync((connection, cancellationToken) => ExecuteAsync(connection, null, sql, cancellationToken, parameters), cancellationToken);

    private async Task<IReadOnlyList<T>> ReadAsync<T>(string sql, Func<SqliteDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
