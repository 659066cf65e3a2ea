using System.Globalization;
using System.Text;
using System.Text.Json;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The production store. Ingest only appends to <c>events</c>; issue lists come from
/// <c>issue_hourly</c>, which a materialized view keeps, so any number of ingest processes write
/// without coordinating. How duplicates are kept out of the counts: docs/storage.md.
/// </summary>
internal sealed class ClickHouseStore : IStoreSchema, IEventWriter, IIssueReader, IProjectStore
{
    /// <summary>Event ids per look-up query: well inside 18.x's default max_query_size (256 KiB).</summary>
    internal const int IdLookupChunkSize = 2000;

    private const int TableAlreadyExists = 57;
    private const int DatabaseAlreadyExists = 82;

    private readonly ClickHouseClient _client;
    private readonly ClickHouseSchema _schema;
    private readonly ILogger _logger;
    private long _lastProjectVersion;

    public ClickHouseStore(ClickHouseClient client, string database, ILogger<ClickHouseStore>? logger = null)
    {
        _client = client;
        _schema = new ClickHouseSchema(database);
        _logger = logger ?? NullLogger<ClickHouseStore>.Instance;
    }

    public string Kind => StoreOptions.ClickHouseKind;

    /// <summary>This store seen through each of its users' contracts.</summary>
    public ErrorHubStore AsStore() => new(this, this, this, this);

    public string Database => _schema.Database;

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        var version = await _client.GetServerVersionAsync(cancellationToken);
        StoreLog.UsingClickHouse(_logger, version, _client.Url, _schema.Database);
        // A database made by an administrator may be used by an account that may not create databases.
        var databases = await _client.QueryAsync(
            $"SELECT name FROM system.databases WHERE name = {ClickHouseSql.Quote(_schema.Database)}",
            row => row.GetProperty("name").GetString(),
            cancellationToken);
        var statements = databases.Count == 0 ? _schema.Statements : _schema.Statements.Skip(1);
        foreach (var statement in statements)
        {
            try
            {
                await _client.ExecuteAsync(statement, cancellationToken);
            }
            catch (ClickHouseException ex) when (ex.ErrorCode is TableAlreadyExists or DatabaseAlreadyExists)
            {
                // Another process created it between our IF NOT EXISTS check and the create: the goal is met.
            }
        }
    }

    public async Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var fresh = DistinctByEventId(events);
        if (fresh.Count == 0)
        {
            return;
        }

        var stored = await FindStoredEventIdsAsync(fresh, cancellationToken);
        if (stored.Count > 0)
        {
            fresh.RemoveAll(e => stored.Contains((e.ProjectId, e.EventId)));
        }

        if (fresh.Count == 0)
        {
            return;
        }

        await _client.InsertAsync(_schema.Events, fresh.ConvertAll(e => new ClickHouseEventRow(e)), cancellationToken);
    }

    public async Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        var orderAndPage = IssueOrdering.OrderAndPage(query);
        var project = ClickHouseSql.Literal(query.ProjectId);

        var items = await _client.QueryAsync(
            $"""
            {IssueSelect}
            WHERE project_id = {project}
            GROUP BY fingerprint
            {orderAndPage}
            """,
            row => ReadIssue(query.ProjectId, row),
            cancellationToken);

        var total = await _client.QueryAsync(
            $"SELECT uniqExact(fingerprint) AS total FROM {_schema.IssueHourly} WHERE project_id = {project}",
            row => ReadInt64(row.GetProperty("total")),
            cancellationToken);

        return new IssuePage(items, total.Count == 0 ? 0 : total[0]);
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var rows = await _client.QueryAsync(
            $"""
            {IssueSelect}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
            GROUP BY fingerprint
            """,
            row => ReadIssue(projectId, row),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // LIMIT 1 BY: a duplicate that has not been merged away yet is still shown once.
        return await _client.QueryAsync(
            $"""
            SELECT payload
            FROM {_schema.Events}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
            ORDER BY timestamp DESC, received_at DESC, event_id
            LIMIT 1 BY event_id
            LIMIT {ClickHouseSql.Literal(limit)}
            """,
            ReadPayload,
            cancellationToken);
    }

    public async Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default)
    {
        var project = ClickHouseSql.Literal(projectId);
        var id = ClickHouseSql.Literal(eventId);

        // Two indexed look-ups instead of one scan: the id table gives the day and fingerprint
        // that lead the events table's sorting key.
        var locations = await _client.QueryAsync(
            $"""
            SELECT toUnixTimestamp(timestamp) AS seconds, fingerprint
            FROM {_schema.EventsById}
            WHERE project_id = {project} AND event_id = {id}
            LIMIT 1
            """,
            row => (Seconds: ReadInt64(row.GetProperty("seconds")), Fingerprint: row.GetProperty("fingerprint").GetString() ?? ""),
            cancellationToken);
        if (locations.Count == 0)
        {
            return null;
        }

        var (seconds, fingerprint) = locations[0];
        var events = await _client.QueryAsync(
            $"""
            SELECT payload
            FROM {_schema.Events}
            WHERE project_id = {project}
              AND timestamp = toDateTime({ClickHouseSql.Literal(seconds)}, 'UTC')
              AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
              AND event_id = {id}
            LIMIT 1
            """,
            ReadPayload,
            cancellationToken);
        return events.Count == 0 ? null : events[0];
    }

    public async Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentOutOfRangeException.ThrowIfNegative(project.Id, nameof(project.Id));

        // Replacing a project renames or re-keys it; its creation time stays the first one recorded.
        var existing = await GetProjectAsync(project.Id, cancellationToken);
        var row = project with { CreatedAt = existing?.CreatedAt ?? project.CreatedAt };
        await _client.InsertAsync(_schema.Projects, [new ClickHouseProjectRow(row, NextProjectVersion())], cancellationToken);
    }

    public async Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var projects = await ReadProjectsAsync($"WHERE id = {ClickHouseSql.Literal(projectId)}", cancellationToken);
        return projects.Count == 0 ? null : projects[0];
    }

    public Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default) =>
        ReadProjectsAsync("", cancellationToken);

    private string IssueSelect => $"""
        SELECT
            fingerprint,
            countMerge(event_count) AS {IssueOrdering.EventsAlias},
            uniqMerge(user_count) AS {IssueOrdering.UsersAlias},
            minMerge(first_seen) AS {IssueOrdering.FirstSeenAlias},
            maxMerge(last_seen) AS {IssueOrdering.LastSeenAlias},
            argMaxMerge(latest_title) AS issue_title,
            argMaxMerge(latest_culprit) AS issue_culprit,
            argMaxMerge(latest_level) AS issue_level
        FROM {_schema.IssueHourly}
        """;

    private Task<IReadOnlyList<Project>> ReadProjectsAsync(string where, CancellationToken cancellationToken) =>
        _client.QueryAsync(
            $"""
            SELECT
                id,
                argMax(name, version) AS project_name,
                argMax(public_key, version) AS project_key,
                toUnixTimestamp(argMax(created_at, version)) AS created
            FROM {_schema.Projects}
            {where}
            GROUP BY id
            ORDER BY id
            """,
            row => new Project(
                (int)ReadInt64(row.GetProperty("id")),
                row.GetProperty("project_name").GetString() ?? "",
                row.GetProperty("project_key").GetString() ?? "",
                StoreTime.FromUnixSeconds(ReadInt64(row.GetProperty("created")))),
            cancellationToken);

    /// <summary>Versions of project rows: increasing within this process even when the clock is not.</summary>
    private ulong NextProjectVersion()
    {
        while (true)
        {
            var last = Interlocked.Read(ref _lastProjectVersion);
            var next = Math.Max(last + 1, DateTime.UtcNow.Ticks);
            if (Interlocked.CompareExchange(ref _lastProjectVersion, next, last) == last)
            {
                return (ulong)next;
            }
        }
    }

    private static List<ErrorEvent> DistinctByEventId(IReadOnlyList<ErrorEvent> events)
    {
        var seen = new HashSet<(int, Guid)>(events.Count);
        var distinct = new List<ErrorEvent>(events.Count);
        foreach (var e in events)
        {
            if (seen.Add((e.ProjectId, e.EventId)))
            {
                distinct.Add(e);
            }
        }

        return distinct;
    }

    /// <summary>Which of these events are already stored (a retried batch, a replayed write-ahead log).</summary>
    private async Task<HashSet<(int ProjectId, Guid EventId)>> FindStoredEventIdsAsync(List<ErrorEvent> events, CancellationToken cancellationToken)
    {
        var stored = new HashSet<(int, Guid)>();
        for (var start = 0; start < events.Count; start += IdLookupChunkSize)
        {
            var chunk = events.GetRange(start, Math.Min(IdLookupChunkSize, events.Count - start));
            var keys = new StringBuilder(chunk.Count * 48);
            foreach (var e in chunk)
            {
                keys.Append(keys.Length == 0 ? "(" : ", (")
                    .Append(ClickHouseSql.Literal(e.ProjectId)).Append(", ").Append(ClickHouseSql.Literal(e.EventId)).Append(')');
            }

            var rows = await _client.QueryAsync(
                $"""
                SELECT DISTINCT project_id, toString(event_id) AS id
                FROM {_schema.EventsById}
                WHERE (project_id, event_id) IN ({keys})
                """,
                row => ((int)ReadInt64(row.GetProperty("project_id")), Guid.Parse(row.GetProperty("id").GetString() ?? "")),
                cancellationToken);
            stored.UnionWith(rows);
        }

        return stored;
    }

    private static IssueSummary ReadIssue(int projectId, JsonElement row) => new(
        projectId,
        Fingerprint: row.GetProperty("fingerprint").GetString() ?? "",
        Title: row.GetProperty("issue_title").GetString() ?? "",
        Culprit: row.GetProperty("issue_culprit").GetString() ?? "",
        Level: row.GetProperty("issue_level").GetString() ?? "",
        EventCount: ReadInt64(row.GetProperty(IssueOrdering.EventsAlias)),
        UserCount: ReadInt64(row.GetProperty(IssueOrdering.UsersAlias)),
        FirstSeen: StoreTime.FromUnixSeconds(ReadInt64(row.GetProperty(IssueOrdering.FirstSeenAlias))),
        LastSeen: StoreTime.FromUnixSeconds(ReadInt64(row.GetProperty(IssueOrdering.LastSeenAlias))));

    private static ErrorEvent ReadPayload(JsonElement row) =>
        EventPayloadJson.Deserialize(row.GetProperty("payload").GetString() ?? "");

    /// <summary>ClickHouse quotes 64-bit integers in JSON (they exceed JavaScript's precision); smaller ones come as numbers.</summary>
    internal static long ReadInt64(JsonElement value) => value.ValueKind == JsonValueKind.String
        ? long.Parse(value.GetString() ?? "", NumberStyles.Integer, CultureInfo.InvariantCulture)
        : value.GetInt64();
}
