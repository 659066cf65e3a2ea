using System.Text.Json;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Users, memberships, invitations and API tokens as ReplacingMergeTree tables (see
/// <see cref="ClickHouseAccessSchema"/>). Reads filter only on columns a row never changes (id, email,
/// token hash, owner), so the latest version of each row is what is compared. Checks before writes (a
/// unique email, an active token) run under one lock: one dashboard process writes these tables.
/// </summary>
internal sealed class ClickHouseAccessStore(ClickHouseClient client, ClickHouseAccessSchema schema) : IAccessStore, IDisposable
{
    private readonly ClickHouseWriteLock _writeLock = new();

    public async Task<bool> CreateUserAsync(UserAccount user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        var created = false;
        await WriteAsync(async () =>
        {
            if (await FindUserByEmailAsync(user.Email, cancellationToken) is not null || await GetUserAsync(user.Id, cancellationToken) is not null)
            {
                return;
            }

            await client.InsertAsync(schema.Users, [new ClickHouseUserRow(user, RowVersion.Next())], cancellationToken);
            created = true;
        });
        return created;
    }

    public Task UpdateUserAsync(UserAccount user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return WriteAsync(async () =>
        {
            // Id, email and creation time never change: keep the stored ones.
            if (await GetUserAsync(user.Id, cancellationToken) is { } stored)
            {
                var row = user with { Email = stored.Email, CreatedAt = stored.CreatedAt };
                await client.InsertAsync(schema.Users, [new ClickHouseUserRow(row, RowVersion.Next())], cancellationToken);
            }
        });
    }

    public async Task<UserAccount?> GetUserAsync(Guid userId, CancellationToken cancellationToken = default) =>
        (await ReadUsersAsync($"WHERE id = {ClickHouseSql.Literal(userId)}", cancellationToken)).SingleOrDefault();

    public async Task<UserAccount?> FindUserByEmailAsync(string email, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(email);
        return (await ReadUsersAsync($"WHERE email = {ClickHouseSql.Quote(email)}", cancellationToken)) is [var first, ..] ? first : null;
    }

    public Task<IReadOnlyList<UserAccount>> GetUsersAsync(CancellationToken cancellationToken = default) =>
        ReadUsersAsync("", cancellationToken);

    public Task AddMemberAsync(int projectId, Guid userId, CancellationToken cancellationToken = default) =>
        WriteAsync(() => client.InsertAsync(schema.ProjectMembers, [new ClickHouseMemberRow(projectId, userId, member: true, RowVersion.Next())], cancellationToken));

    public Task RemoveMemberAsync(int projectId, Guid userId, CancellationToken cancellationToken = default) =>
        WriteAsync(() => client.InsertAsync(schema.ProjectMembers, [new ClickHouseMemberRow(projectId, userId, member: false, RowVersion.Next())], cancellationToken));

    public async Task<IReadOnlyList<Guid>> GetMembersAsync(int projectId, CancellationToken cancellationToken = default) =>
        [.. (await ReadMembersAsync($"WHERE project_id = {ClickHouseSql.Literal(projectId)}", cancellationToken)).Select(m => m.UserId).Order()];

    public async Task<IReadOnlyList<int>> GetMembershipsAsync(Guid userId, CancellationToken cancellationToken = default) =>
        [.. (await ReadMembersAsync($"WHERE user_id = {ClickHouseSql.Literal(userId)}", cancellationToken)).Select(m => m.ProjectId).Order()];

    public Task CreateInvitationAsync(Invitation invitation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        return WriteAsync(() => client.InsertAsync(schema.Invitations, [new ClickHouseInvitationRow(invitation, RowVersion.Next())], cancellationToken));
    }

    public async Task<Invitation?> FindInvitationAsync(string tokenHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        return (await ReadInvitationsAsync($"WHERE token_hash = {ClickHouseSql.Quote(tokenHash)}", cancellationToken)) is [var first, ..] ? first : null;
    }

    public Task<IReadOnlyList<Invitation>> GetInvitationsAsync(CancellationToken cancellationToken = default) =>
        ReadInvitationsAsync("", cancellationToken);

    public Task UpdateInvitationAsync(Invitation invitation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        return WriteAsync(async () =>
        {
            var stored = (await ReadInvitationsAsync($"WHERE id = {ClickHouseSql.Literal(invitation.Id)}", cancellationToken)).SingleOrDefault();
            if (stored is not null)
            {
                var row = stored with { AcceptedAt = invitation.AcceptedAt, RevokedAt = invitation.RevokedAt };
                await client.InsertAsync(schema.Invitations, [new ClickHouseInvitationRow(row, RowVersion.Next())], cancellationToken);
            }
        });
    }

    public Task CreateApiTokenAsync(ApiToken token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        return WriteAsync(() => client.InsertAsync(schema.ApiTokens, [new ClickHouseApiTokenRow(token, RowVersion.Next())], cancellationToken));
    }

    public async Task<ApiToken?> FindApiTokenAsync(string tokenHash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        return (await ReadTokensAsync($"WHERE token_hash = {ClickHouseSql.Quote(tokenHash)}", cancellationToken)) is [var first, ..] ? first : null;
    }

    public Task<IReadOnlyList<ApiToken>> GetApiTokensAsync(Guid userId, CancellationToken cancellationToken = default) =>
        ReadTokensAsync($"WHERE user_id = {ClickHouseSql.Literal(userId)}", cancellationToken);

    public async Task<bool> RevokeApiTokenAsync(Guid userId, Guid tokenId, DateTimeOffset revokedAt, CancellationToken cancellationToken = default)
    {
        var revoked = false;
        await WriteAsync(async () =>
        {
            var token = (await ReadTokensAsync($"WHERE id = {ClickHouseSql.Literal(tokenId)}", cancellationToken)).SingleOrDefault();
            if (token is null || token.UserId != userId || !token.IsActive)
            {
                return;
            }

            await client.InsertAsync(schema.ApiTokens, [new ClickHouseApiTokenRow(token with { RevokedAt = revokedAt }, RowVersion.Next())], cancellationToken);
            revoked = true;
        });
        return revoked;
    }

    /// <summary>Writes only the use (<see cref="ClickHouseAccessSchema.ApiTokenUses"/>), never a copy of the token: that could undo a revocation made meanwhile by another process.</summary>
    public Task MarkApiTokenUsedAsync(Guid tokenId, DateTimeOffset usedAt, CancellationToken cancellationToken = default) =>
        client.InsertAsync(schema.ApiTokenUses, [new ClickHouseApiTokenUseRow(tokenId, usedAt)], cancellationToken);

    public void Dispose() => _writeLock.Dispose();

    private Task WriteAsync(Func<Task> write) => _writeLock.RunAsync(write);

    private static long Int(JsonElement row, string name) => ClickHouseClient.ReadInt64(row.GetProperty(name));

    private static string Text(JsonElement row, string name) => row.GetProperty(name).GetString() ?? "";

    private static Guid Uuid(JsonElement row, string name) => Guid.Parse(Text(row, name));

    private Task<IReadOnlyList<UserAccount>> ReadUsersAsync(string where, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                toString(id) AS user_id,
                argMax(email, version) AS user_email,
                argMax(name, version) AS user_name,
                argMax(password_hash, version) AS user_password_hash,
                argMax(role, version) AS user_role,
                argMax(security_stamp, version) AS user_stamp,
                argMax(failed_logins, version) AS user_failed_logins,
                toUnixTimestamp(argMax(locked_until, version)) AS user_locked_until,
                toUnixTimestamp(argMax(created_at, version)) AS user_created_at,
                toUnixTimestamp(argMax(disabled_at, version)) AS user_disabled_at
            FROM {schema.Users}
            {where}
            GROUP BY id
            ORDER BY user_email
            """,
            row => new UserAccount(
                Uuid(row, "user_id"),
                Text(row, "user_email"),
                Text(row, "user_name"),
                Text(row, "user_password_hash"),
                AccessRoles.FromText(Text(row, "user_role")),
                Text(row, "user_stamp"),
                StoreTime.FromUnixSeconds(Int(row, "user_created_at")))
            {
                FailedLogins = (int)Int(row, "user_failed_logins"),
                LockedUntil = ClickHouseTimes.Read(Int(row, "user_locked_until")),
                DisabledAt = ClickHouseTimes.Read(Int(row, "user_disabled_at")),
            },
            cancellationToken);

    private async Task<IReadOnlyList<(int ProjectId, Guid UserId)>> ReadMembersAsync(string where, CancellationToken cancellationToken) =>
        await client.QueryAsync(
            $"""
            SELECT project_id, toString(user_id) AS member_id
            FROM {schema.ProjectMembers}
            {where}
            GROUP BY project_id, user_id
            HAVING argMax(member, version) = 1
            """,
            row => ((int)Int(row, "project_id"), Uuid(row, "member_id")),
            cancellationToken);

    private Task<IReadOnlyList<Invitation>> ReadInvitationsAsync(string where, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                toString(id) AS invitation_id,
                argMax(token_hash, version) AS invitation_token_hash,
                argMax(email, version) AS invitation_email,
                argMax(role, version) AS invitation_role,
                argMax(project_ids, version) AS invitation_projects,
                toString(argMax(created_by, version)) AS invitation_created_by,
                toUnixTimestamp(argMax(created_at, version)) AS invitation_created_at,
                toUnixTimestamp(argMax(expires_at, version)) AS invitation_expires_at,
                toUnixTimestamp(argMax(accepted_at, version)) AS invitation_accepted_at,
                toUnixTimestamp(argMax(revoked_at, version)) AS invitation_revoked_at
            FROM {schema.Invitations}
            {where}
            GROUP BY id
            ORDER BY invitation_created_at DESC, invitation_id
            """,
            row => new Invitation(
                Uuid(row, "invitation_id"),
                Text(row, "invitation_token_hash"),
                Text(row, "invitation_email"),
                AccessRoles.FromText(Text(row, "invitation_role")),
                [.. row.GetProperty("invitation_projects").EnumerateArray().Select(id => (int)ClickHouseClient.ReadInt64(id))],
                Uuid(row, "invitation_created_by"),
                StoreTime.FromUnixSeconds(Int(row, "invitation_created_at")),
                StoreTime.FromUnixSeconds(Int(row, "invitation_expires_at")))
            {
                AcceptedAt = ClickHouseTimes.Read(Int(row, "invitation_accepted_at")),
                RevokedAt = ClickHouseTimes.Read(Int(row, "invitation_revoked_at")),
            },
            cancellationToken);

    private Task<IReadOnlyList<ApiToken>> ReadTokensAsync(string where, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                token_id,
                token_user_id,
                token_name,
                token_token_hash,
                token_created_at,
                greatest(token_last_used_at, token_used_at) AS token_last_use,
                token_revoked_at
            FROM
            (
                SELECT
                    id,
                    toString(id) AS token_id,
                    toString(argMax(user_id, version)) AS token_user_id,
                    argMax(name, version) AS token_name,
                    argMax(token_hash, version) AS token_token_hash,
                    toUnixTimestamp(argMax(created_at, version)) AS token_created_at,
                    toUnixTimestamp(argMax(last_used_at, version)) AS token_last_used_at,
                    toUnixTimestamp(argMax(revoked_at, version)) AS token_revoked_at
                FROM {schema.ApiTokens}
                {where}
                GROUP BY id
            )
            ANY LEFT JOIN
            (
                SELECT id, toUnixTimestamp(max(used_at)) AS token_used_at
                FROM {schema.ApiTokenUses}
                WHERE id IN (SELECT id FROM {schema.ApiTokens} {where})
                GROUP BY id
            ) USING id
            ORDER BY token_created_at DESC, token_id
            """,
            row => new ApiToken(
                Uuid(row, "token_id"),
                Uuid(row, "token_user_id"),
                Text(row, "token_name"),
                Text(row, "token_token_hash"),
                StoreTime.FromUnixSeconds(Int(row, "token_created_at")))
            {
                LastUsedAt = ClickHouseTimes.Read(Int(row, "token_last_use")),
                RevokedAt = ClickHouseTimes.Read(Int(row, "token_revoked_at")),
            },
            cancellationToken);
}
