using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>Times that may be missing: the epoch stands for "none" (DateTime has no null without Nullable, which we avoid).</summary>
internal static class ClickHouseTimes
{
    public static DateTimeOffset Write(DateTimeOffset? value) => value is { } time ? ClickHouseEventRow.ClampToDateTime(time) : DateTimeOffset.UnixEpoch;

    public static DateTimeOffset? Read(long unixSeconds) => unixSeconds == 0 ? null : StoreTime.FromUnixSeconds(unixSeconds);
}

/// <summary>
/// Versions of rows in the ReplacingMergeTree tables: increasing within this process even when the clock is
/// not, and near the clock so that another process's later write (ingest's start-up, a second dashboard) wins.
/// </summary>
internal static class RowVersion
{
    private static long s_last;

    public static ulong Next()
    {
        while (true)
        {
            var last = Interlocked.Read(ref s_last);
            var next = Math.Max(last + 1, DateTime.UtcNow.Ticks);
            if (Interlocked.CompareExchange(ref s_last, next, last) == last)
            {
                return (ulong)next;
            }
        }
    }
}

internal sealed class ClickHouseProjectKeyRow(ProjectKey key, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)key.ProjectId);
    [ClickHouseColumn(Name = "public_key", Type = "String")] public string PublicKey => key.PublicKey;
    [ClickHouseColumn(Name = "label", Type = "String")] public string Label => key.Label;
    [ClickHouseColumn(Name = "created_at", Type = "DateTime('UTC')")] public DateTimeOffset CreatedAt => ClickHouseEventRow.ClampToDateTime(key.CreatedAt);
    [ClickHouseColumn(Name = "revoked", Type = "UInt8")] public byte Revoked => key.RevokedAt is null ? (byte)0 : (byte)1;
    [ClickHouseColumn(Name = "revoked_at", Type = "DateTime('UTC')")] public DateTimeOffset RevokedAt => ClickHouseTimes.Write(key.RevokedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseUserRow(UserAccount user, ulong version)
{
    [ClickHouseColumn(Name = "id", Type = "UUID")] public Guid Id => user.Id;
    [ClickHouseColumn(Name = "email", Type = "String")] public string Email => user.Email;
    [ClickHouseColumn(Name = "name", Type = "String")] public string Name => user.Name;
    [ClickHouseColumn(Name = "password_hash", Type = "String")] public string PasswordHash => user.PasswordHash;
    [ClickHouseColumn(Name = "role", Type = "String")] public string Role => AccessRoles.ToText(user.Role);
    [ClickHouseColumn(Name = "security_stamp", Type = "String")] public string SecurityStamp => user.SecurityStamp;
    [ClickHouseColumn(Name = "failed_logins", Type = "UInt32")] public uint FailedLogins => (uint)Math.Max(user.FailedLogins, 0);
    [ClickHouseColumn(Name = "locked_until", Type = "DateTime('UTC')")] public DateTimeOffset LockedUntil => ClickHouseTimes.Write(user.LockedUntil);
    [ClickHouseColumn(Name = "created_at", Type = "DateTime('UTC')")] public DateTimeOffset CreatedAt => ClickHouseEventRow.ClampToDateTime(user.CreatedAt);
    [ClickHouseColumn(Name = "disabled_at", Type = "DateTime('UTC')")] public DateTimeOffset DisabledAt => ClickHouseTimes.Write(user.DisabledAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseMemberRow(int projectId, Guid userId, bool member, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)projectId);
    [ClickHouseColumn(Name = "user_id", Type = "UUID")] public Guid UserId => userId;
    [ClickHouseColumn(Name = "member", Type = "UInt8")] public byte Member => member ? (byte)1 : (byte)0;
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseInvitationRow(Invitation invitation, ulong version)
{
    [ClickHouseColumn(Name = "id", Type = "UUID")] public Guid Id => invitation.Id;
    [ClickHouseColumn(Name = "token_hash", Type = "String")] public string TokenHash => invitation.TokenHash;
    [ClickHouseColumn(Name = "email", Type = "String")] public string Email => invitation.Email;
    [ClickHouseColumn(Name = "role", Type = "String")] public string Role => AccessRoles.ToText(invitation.Role);
    [ClickHouseColumn(Name = "project_ids", Type = "Array(UInt32)")] public uint[] ProjectIds => [.. invitation.ProjectIds.Select(id => checked((uint)id))];
    [ClickHouseColumn(Name = "created_by", Type = "UUID")] public Guid CreatedBy => invitation.CreatedBy;
    [ClickHouseColumn(Name = "created_at", Type = "DateTime('UTC')")] public DateTimeOffset CreatedAt => ClickHouseEventRow.ClampToDateTime(invitation.CreatedAt);
    [ClickHouseColumn(Name = "expires_at", Type = "DateTime('UTC')")] public DateTimeOffset ExpiresAt => ClickHouseEventRow.ClampToDateTime(invitation.ExpiresAt);
    [ClickHouseColumn(Name = "accepted_at", Type = "DateTime('UTC')")] public DateTimeOffset AcceptedAt => ClickHouseTimes.Write(invitation.AcceptedAt);
    [ClickHouseColumn(Name = "revoked_at", Type = "DateTime('UTC')")] public DateTimeOffset RevokedAt => ClickHouseTimes.Write(invitation.RevokedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseApiTokenRow(ApiToken token, ulong version)
{
    [ClickHouseColumn(Name = "id", Type = "UUID")] public Guid Id => token.Id;
    [ClickHouseColumn(Name = "user_id", Type = "UUID")] public Guid UserId => token.UserId;
    [ClickHouseColumn(Name = "name", Type = "String")] public string Name => token.Name;
    [ClickHouseColumn(Name = "token_hash", Type = "String")] public string TokenHash => token.TokenHash;
    [ClickHouseColumn(Name = "created_at", Type = "DateTime('UTC')")] public DateTimeOffset CreatedAt => ClickHouseEventRow.ClampToDateTime(token.CreatedAt);
    [ClickHouseColumn(Name = "last_used_at", Type = "DateTime('UTC')")] public DateTimeOffset LastUsedAt => ClickHouseTimes.Write(token.LastUsedAt);
    [ClickHouseColumn(Name = "revoked_at", Type = "DateTime('UTC')")] public DateTimeOffset RevokedAt => ClickHouseTimes.Write(token.RevokedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseApiTokenUseRow(Guid tokenId, DateTimeOffset usedAt)
{
    [ClickHouseColumn(Name = "id", Type = "UUID")] public Guid Id => tokenId;
    [ClickHouseColumn(Name = "used_at", Type = "DateTime('UTC')")] public DateTimeOffset UsedAt => ClickHouseEventRow.ClampToDateTime(usedAt);
}

internal sealed class ClickHouseProjectDropsRow(ProjectDrops drops)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)drops.ProjectId);
    [ClickHouseColumn(Name = "hour", Type = "DateTime('UTC')")] public DateTimeOffset Hour => ClickHouseEventRow.ClampToDateTime(StoreTime.StartOfHour(drops.Hour));
    [ClickHouseColumn(Name = "reason", Type = "String")] public string Reason => drops.Reason;
    [ClickHouseColumn(Name = "batches", Type = "UInt64")] public ulong Batches => (ulong)Math.Max(drops.Batches, 0);
    [ClickHouseColumn(Name = "events", Type = "UInt64")] public ulong Events => (ulong)Math.Max(drops.Events, 0);
}
