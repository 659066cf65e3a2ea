using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The outbox, documents and leases as ReplacingMergeTree tables: a change is a new row, reads take the
/// latest version. ClickHouse has no conditional write, so two rules keep it right: only the lease holder
/// writes notifications (a key is checked before it is recorded, under this process's lock), and a lease
/// is taken by writing a claim and reading back whose claim is the latest.
/// </summary>
internal sealed class ClickHouseNotificationStore(ClickHouseClient client, ClickHouseNotificationSchema schema) : INotificationStore, IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public async Task<bool> AddNotificationAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var existing = await client.QueryAsync(
                $"SELECT count() AS n FROM {schema.Notifications} WHERE project_id = {ClickHouseSql.Literal(notification.ProjectId)} AND key = {ClickHouseSql.Quote(notification.Key)}",
                row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
                cancellationToken);
            if (existing.Count > 0 && existing[0] > 0)
            {
                return false;
            }

            await client.InsertAsync(schema.Notifications, [new ClickHouseNotificationRow(notification, RowVersion.Next())], cancellationToken);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public Task UpdateNotificationAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        return client.InsertAsync(schema.Notifications, [new ClickHouseNotificationRow(notification, RowVersion.Next())], cancellationToken);
    }

    public Task<IReadOnlyList<Notification>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync(
            "",
            $"HAVING latest_state = 'pending' AND latest_next <= {ClickHouseSql.Literal(now.ToUnixTimeMilliseconds())} ORDER BY created, id",
            limit,
            cancellationToken);

    public Task<IReadOnlyList<Notification>> GetNotificationsAsync(int projectId, int limit, CancellationToken cancellationToken = default) =>
        ReadAsync($"WHERE project_id = {ClickHouseSql.Literal(projectId)}", "ORDER BY created DESC, id DESC", limit, cancellationToken);

    public async Task<NotificationCounts> CountNotificationsAsync(int projectId, DateTimeOffset since, string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);

        // Id, creation time, group and being held back never change between a notification's versions: no need for the latest row.
        var project = ClickHouseSql.Literal(projectId);
        var rows = await client.QueryAsync(
            $"""
            SELECT
                uniqExactIf(id, state != 'held' AND created_at >= {ClickHouseSql.Literal(since.ToUnixTimeMilliseconds())}) AS since_count,
                uniqExactIf(id, state = 'held' AND created_at >= (SELECT max(created_at) FROM {schema.Notifications} WHERE project_id = {project} AND state != 'held')) AS held_count,
                countIf(state != 'held' AND grp = {ClickHouseSql.Quote(group)}) AS group_rows,
                maxIf(created_at, state != 'held' AND grp = {ClickHouseSql.Quote(group)}) AS group_last
            FROM {schema.Notifications}
            WHERE project_id = {project}
            """,
            row => new NotificationCounts(
                (int)ClickHouseClient.ReadInt64(row.GetProperty("since_count")),
                (int)ClickHouseClient.ReadInt64(row.GetProperty("held_count")),
                ClickHouseClient.ReadInt64(row.GetProperty("group_rows")) == 0
                    ? null
                    : DateTimeOffset.FromUnixTimeMilliseconds(ClickHouseClient.ReadInt64(row.GetProperty("group_last")))),
            cancellationToken);
        return rows.Count == 0 ? new NotificationCounts(0, 0, null) : rows[0];
    }

    public async Task<string?> GetDocumentAsync(int projectId, string kind, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var rows = await client.QueryAsync(
            $"""
            SELECT argMax(json, version) AS latest
            FROM {schema.Documents}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND kind = {ClickHouseSql.Quote(kind)}
            GROUP BY project_id, kind
            """,
            row => row.GetProperty("latest").GetString(),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public Task SaveDocumentAsync(int projectId, string kind, string json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(json);
        return client.InsertAsync(schema.Documents, [new ClickHouseDocumentRow(projectId, kind, json, RowVersion.Next())], cancellationToken);
    }

    public async Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(holder);
        if (await ReadLeaseAsync(name, cancellationToken) is { } current && current.Holder != holder && current.ExpiresAt > now.ToUnixTimeMilliseconds())
        {
            return false;
        }

        // Two claims racing: both are written, both read back the same latest one, and only its writer holds the lease.
        await client.InsertAsync(schema.Leases, [new ClickHouseLeaseRow(name, holder, (now + duration).ToUnixTimeMilliseconds(), RowVersion.Next())], cancellationToken);
        return (await ReadLeaseAsync(name, cancellationToken))?.Holder == holder;
    }

    public async Task<MailThread?> GetMailThreadAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var rows = await client.QueryAsync(
            $"""
            SELECT message_id, subject, started_at
            FROM {schema.MailThreads}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
            ORDER BY started_at, message_id
            LIMIT 1
            """,
            row => new MailThread(
                row.GetProperty("message_id").GetString() ?? "",
                row.GetProperty("subject").GetString() ?? "",
                DateTimeOffset.FromUnixTimeMilliseconds(ClickHouseClient.ReadInt64(row.GetProperty("started_at")))),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<MailThread> StartMailThreadAsync(int projectId, string fingerprint, MailThread thread, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(thread);
        if (await GetMailThreadAsync(projectId, fingerprint, cancellationToken) is { } existing)
        {
            return existing;
        }

        // No conditional write: both racers write, then read back the same earliest row.
        await client.InsertAsync(schema.MailThreads, [new ClickHouseMailThreadRow(projectId, fingerprint, thread)], cancellationToken);
        return await GetMailThreadAsync(projectId, fingerprint, cancellationToken) ?? thread;
    }

    // A choice by hand is above every implied row; of implied rows the earliest written is the highest.
    private const ulong ManualVersions = 1UL << 62;

    public Task AddParticipantsAsync(IReadOnlyList<IssueSubscription> participants, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(participants);
        return participants.Count == 0
            ? Task.CompletedTask
            : client.InsertAsync(schema.IssueSubscriptions, [.. participants.Select(participant => new ClickHouseSubscriptionRow(participant, ManualVersions - RowVersion.Next()))], cancellationToken);
    }

    public Task SetSubscriptionAsync(IssueSubscription subscription, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return client.InsertAsync(schema.IssueSubscriptions, [new ClickHouseSubscriptionRow(subscription, ManualVersions + RowVersion.Next())], cancellationToken);
    }

    public async Task<IReadOnlyList<IssueSubscription>> GetSubscriptionsAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        var found = new List<IssueSubscription>();
        foreach (var chunk in fingerprints.Distinct(StringComparer.Ordinal).Chunk(500))
        {
            found.AddRange(await client.QueryAsync(
                $"""
                SELECT
                    fingerprint,
                    user_id,
                    argMax(subscribed, version) AS latest_subscribed,
                    argMax(reason, version) AS latest_reason,
                    argMax(at_ms, version) AS latest_at
                FROM {schema.IssueSubscriptions}
                WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({string.Join(", ", chunk.Select(ClickHouseSql.Quote))})
                GROUP BY fingerprint, user_id
                """,
                row => new IssueSubscription(
                    projectId,
                    row.GetProperty("fingerprint").GetString() ?? "",
                    Guid.ParseExact(row.GetProperty("user_id").GetString() ?? "", "N"),
                    ClickHouseClient.ReadInt64(row.GetProperty("latest_subscribed")) == 1,
                    StoredNames.ParseSubscriptionReason(row.GetProperty("latest_reason").GetString() ?? ""),
                    DateTimeOffset.FromUnixTimeMilliseconds(ClickHouseClient.ReadInt64(row.GetProperty("latest_at")))),
                cancellationToken));
        }

        return found;
    }

    public async Task DeleteSubscriptionsAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await client.ExecuteAsync($"ALTER TABLE {schema.IssueSubscriptions} DELETE WHERE project_id = {ClickHouseSql.Literal(projectId)}", cancellationToken);
        await ClickHouseMutations.WaitAsync(client, schema.Database, cancellationToken);
    }

    public void Dispose() => _writeLock.Dispose();

    private async Task<(string Holder, long ExpiresAt)?> ReadLeaseAsync(string name, CancellationToken cancellationToken)
    {
        var rows = await client.QueryAsync(
            $"""
            SELECT argMax(holder, version) AS latest_holder, argMax(expires_at, version) AS latest_expires
            FROM {schema.Leases}
            WHERE name = {ClickHouseSql.Quote(name)}
            GROUP BY name
            """,
            row => (row.GetProperty("latest_holder").GetString() ?? "", ClickHouseClient.ReadInt64(row.GetProperty("latest_expires"))),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    private Task<IReadOnlyList<Notification>> ReadAsync(string where, string havingAndOrder, int limit, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                id,
                argMax(payload, version) AS latest_payload,
                argMax(state, version) AS latest_state,
                argMax(next_attempt_at, version) AS latest_next,
                min(created_at) AS created
            FROM {schema.Notifications}
            {where}
            GROUP BY project_id, id
            {havingAndOrder}
            LIMIT {ClickHouseSql.Literal(Math.Clamp(limit, 1, 10_000))}
            """,
            row => NotificationJson.Deserialize(row.GetProperty("latest_payload").GetString() ?? ""),
            cancellationToken);
}

/// <summary>One version of a notification in <c>notifications</c>.</summary>
internal sealed class ClickHouseNotificationRow(Notification notification, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)notification.ProjectId);
    [ClickHouseColumn(Name = "id", Type = "UUID")] public Guid Id => notification.Id;
    [ClickHouseColumn(Name = "key", Type = "String")] public string Key => notification.Key;
    [ClickHouseColumn(Name = "grp", Type = "String")] public string Group => notification.Group;
    [ClickHouseColumn(Name = "state", Type = "String")] public string State => StoredNames.Of(notification.State);
    [ClickHouseColumn(Name = "created_at", Type = "Int64")] public long CreatedAt => notification.CreatedAt.ToUnixTimeMilliseconds();
    [ClickHouseColumn(Name = "next_attempt_at", Type = "Int64")] public long NextAttemptAt => notification.NextAttemptAt.ToUnixTimeMilliseconds();
    [ClickHouseColumn(Name = "payload", Type = "String")] public string Payload => NotificationJson.Serialize(notification);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseDocumentRow(int projectId, string kind, string json, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)projectId);
    [ClickHouseColumn(Name = "kind", Type = "String")] public string Kind => kind;
    [ClickHouseColumn(Name = "json", Type = "String")] public string Json => json;
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseMailThreadRow(int projectId, string fingerprint, MailThread thread)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)projectId);
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => fingerprint;
    [ClickHouseColumn(Name = "message_id", Type = "String")] public string MessageId => thread.MessageId;
    [ClickHouseColumn(Name = "subject", Type = "String")] public string Subject => thread.Subject;
    [ClickHouseColumn(Name = "started_at", Type = "Int64")] public long StartedAt => thread.StartedAt.ToUnixTimeMilliseconds();
}

internal sealed class ClickHouseLeaseRow(string name, string holder, long expiresAt, ulong version)
{
    [ClickHouseColumn(Name = "name", Type = "String")] public string Name => name;
    [ClickHouseColumn(Name = "holder", Type = "String")] public string Holder => holder;
    [ClickHouseColumn(Name = "expires_at", Type = "Int64")] public long ExpiresAt => expiresAt;
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}

internal sealed class ClickHouseSubscriptionRow(IssueSubscription subscription, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)subscription.ProjectId);
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => subscription.Fingerprint;
    [ClickHouseColumn(Name = "user_id", Type = "String")] public string UserId => subscription.UserId.ToString("N");
    [ClickHouseColumn(Name = "subscribed", Type = "UInt8")] public byte Subscribed => subscription.IsSubscribed ? (byte)1 : (byte)0;
    [ClickHouseColumn(Name = "reason", Type = "String")] public string Reason => StoredNames.Of(subscription.Reason);
    [ClickHouseColumn(Name = "at_ms", Type = "Int64")] public long At => subscription.At.ToUnixTimeMilliseconds();
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}
