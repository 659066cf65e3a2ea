using System.Text.Json;
using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Issue timelines as a ReplacingMergeTree keyed by issue and entry: an entry is written once, and deleting it
/// writes a newer row that marks it deleted; reads take each entry's latest row.
/// </summary>
internal sealed class ClickHouseIssueHistory(ClickHouseClient client, ClickHouseNotificationSchema schema) : IIssueHistory
{
    public Task AddAsync(IssueChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        change.Validate();
        return client.InsertAsync(schema.IssueHistory, [new ClickHouseIssueChangeRow(change, deleted: false, RowVersion.Next())], cancellationToken);
    }

    public async Task<IssueChangePage> GetChangesAsync(IssueChangeQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var after = query.After is { } cursor
            ? $"AND (change_at < {ClickHouseSql.Literal(cursor.Time)} OR (change_at = {ClickHouseSql.Literal(cursor.Time)} AND id < {ClickHouseSql.Quote(cursor.Id.ToString("N"))}))"
            : "";
        var items = await ReadAsync(
            query.ProjectId,
            $"AND fingerprint = {ClickHouseSql.Quote(query.Fingerprint)}",
            $"{after} ORDER BY change_at DESC, id DESC LIMIT {ClickHouseSql.Literal(query.Limit + 1)}",
            cancellationToken);
        return items.Count > query.Limit
            ? new IssueChangePage([.. items.Take(query.Limit)], items[query.Limit - 1].Cursor)
            : new IssueChangePage(items, null);
    }

    public async Task<IssueChange?> GetChangeAsync(int projectId, Guid id, CancellationToken cancellationToken = default) =>
        (await ReadAsync(projectId, $"AND id = {ClickHouseSql.Quote(id.ToString("N"))}", "", cancellationToken)) is [var change] ? change : null;

    // By the table's sorting key (project, issue, entry): a few granules, not every row of the project's timeline.
    public async Task<IssueChange?> GetChangeAsync(int projectId, string fingerprint, Guid id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        return (await ReadAsync(projectId, $"AND fingerprint = {ClickHouseSql.Quote(fingerprint)} AND id = {ClickHouseSql.Quote(id.ToString("N"))}", "", cancellationToken)) is [var change] ? change : null;
    }

    public async Task DeleteAsync(int projectId, Guid id, CancellationToken cancellationToken = default)
    {
        if (await GetChangeAsync(projectId, id, cancellationToken) is { } change)
        {
            await client.InsertAsync(schema.IssueHistory, [new ClickHouseIssueChangeRow(change, deleted: true, RowVersion.Next())], cancellationToken);
        }
    }

    private Task<IReadOnlyList<IssueChange>> ReadAsync(int projectId, string where, string orderAndLimit, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT fingerprint, id, change_at, change_kind, change_actor_id, change_actor_name, change_text, change_value
            FROM
            (
                SELECT
                    fingerprint,
                    id,
                    argMax(at_ms, version) AS change_at,
                    argMax(kind, version) AS change_kind,
                    argMax(actor_id, version) AS change_actor_id,
                    argMax(actor_name, version) AS change_actor_name,
                    argMax(text, version) AS change_text,
                    argMax(value, version) AS change_value,
                    argMax(deleted, version) AS change_deleted
                FROM {schema.IssueHistory}
                WHERE project_id = {ClickHouseSql.Literal(projectId)} {where}
                GROUP BY fingerprint, id
            )
            WHERE change_deleted = 0 {orderAndLimit}
            """,
            row => Read(projectId, row),
            cancellationToken);

    private static IssueChange Read(int projectId, JsonElement row) => new(
        projectId,
        row.GetProperty("fingerprint").GetString() ?? "",
        Guid.ParseExact(row.GetProperty("id").GetString() ?? "", "N"),
        DateTimeOffset.FromUnixTimeMilliseconds(ClickHouseClient.ReadInt64(row.GetProperty("change_at"))),
        IssueChangeKinds.Parse(row.GetProperty("change_kind").GetString() ?? ""),
        Guid.TryParseExact(row.GetProperty("change_actor_id").GetString(), "N", out var actor) ? actor : null,
        row.GetProperty("change_actor_name").GetString() ?? "")
    {
        Text = row.GetProperty("change_text").GetString() ?? "",
        Value = row.GetProperty("change_value").GetString() ?? "",
    };
}

/// <summary>One row of <c>issue_history</c>.</summary>
internal sealed class ClickHouseIssueChangeRow(IssueChange change, bool deleted, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)change.ProjectId);
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => change.Fingerprint;
    [ClickHouseColumn(Name = "id", Type = "String")] public string Id => change.Id.ToString("N");
    [ClickHouseColumn(Name = "at_ms", Type = "Int64")] public long AtMilliseconds => change.At.ToUnixTimeMilliseconds();
    [ClickHouseColumn(Name = "kind", Type = "String")] public string Kind => IssueChangeKinds.Of(change.Kind);
    [ClickHouseColumn(Name = "actor_id", Type = "String")] public string ActorId => change.ActorId?.ToString("N") ?? "";
    [ClickHouseColumn(Name = "actor_name", Type = "String")] public string ActorName => change.ActorName;
    [ClickHouseColumn(Name = "text", Type = "String")] public string Text => change.Text;
    [ClickHouseColumn(Name = "value", Type = "String")] public string Value => change.Value;
    [ClickHouseColumn(Name = "deleted", Type = "UInt8")] public byte IsDeleted => deleted ? (byte)1 : (byte)0;
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}
