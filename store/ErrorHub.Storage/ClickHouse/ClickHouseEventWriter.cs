using System.Collections.Concurrent;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Ingest's writer on ClickHouse: one binary INSERT per batch into <c>events</c> (the views feed the
/// issue aggregates and the id table); an event id already stored is left out, so a retried batch
/// counts once; an event whose legacy fingerprint names an existing issue is filed under that issue.
/// Those look-ups are <see cref="PrepareInsertAsync"/>, which ingest runs while its previous insert is at the store.
/// Rows are sent as RowBinary that ErrorHub encodes (<see cref="ClickHouseEventEncoding"/>), from a
/// <see cref="ClickHouseEventBatch"/>: ingest's journal adds each event to one as soon as it is prepared.
/// </summary>
internal sealed class ClickHouseEventWriter(ClickHouseClient client, ClickHouseSchema schema) : IEventWriter
{
    /// <summary>Keys per look-up query: a query reads the granules of all its keys at once, so fewer, longer queries read less.</summary>
    internal const int IdLookupChunkSize = 10_000;

    /// <summary>Room for <see cref="IdLookupChunkSize"/> keys of the longest fingerprints (max_query_size, sent with the request).</summary>
    private const int LookupQueryBytes = 4 * 1024 * 1024;

    /// <summary>Legacy fingerprints whose answer is remembered; past this the memory is cleared and answers are asked again.</summary>
    internal const int MaxRememberedLegacyIssues = 100_000;

    /// <summary>
    /// How long "no issue has this legacy fingerprint" is believed: during a rolling upgrade a process still on the
    /// previous grouping version may make that issue a moment later. That an issue exists stays true.
    /// </summary>
    internal static readonly TimeSpan MissingLegacyIssueLifetime = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<(int ProjectId, string Fingerprint), long> _legacyIssues = new();

    internal ClickHouseClient Client => client;

    internal ClickHouseSchema Schema => schema;

    public EventBatch CreateBatch(int expectedEvents) => new ClickHouseEventBatch(this, expectedEvents);

    public async Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default) =>
        await InsertPreparedAsync(await PrepareInsertAsync(events, cancellationToken), cancellationToken);

    public async Task<IReadOnlyList<ErrorEvent>> PrepareInsertAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var fresh = DistinctByEventId(events);
        if (fresh.Count == 0)
        {
            return fresh;
        }

        // The issue each event is filed under first (mostly answered from memory), then the duplicate check by that issue.
        var existingIssues = await FindLegacyIssuesAsync(fresh, cancellationToken);
        var filed = fresh.ConvertAll(e => FiledUnder(e, existingIssues));
        var stored = await FindStoredEventIdsAsync(filed, ClickHouseEventKey.Of, cancellationToken);
        if (stored.Count > 0)
        {
            filed.RemoveAll(e => stored.Contains((e.ProjectId, e.EventId)));
        }

        return filed;
    }

    public async Task InsertPreparedAsync(IReadOnlyList<ErrorEvent> prepared, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prepared);

        if (prepared.Count == 0)
        {
            return;
        }

        // Batches prepared apart may both carry an id that neither found stored (a retry arriving beside its original): the
        // batch writes an id once.
        using var batch = new ClickHouseEventBatch(this, prepared.Count);
        foreach (var e in prepared)
        {
            batch.AddFiled(e);
        }

        await batch.InsertAsync(lookUpStored: false, cancellationToken);
    }

    /// <summary>
    /// Which of the batch's legacy fingerprints are issues already: those keep receiving the events the
    /// previous grouping version would have put in them (docs/grouping.md). Only issues made before the
    /// grouping change can carry a legacy fingerprint, so answers are remembered (see <see cref="MissingLegacyIssueLifetime"/>):
    /// a steady stream of events asks the store about each legacy fingerprint about once.
    /// </summary>
    internal async Task<HashSet<(int ProjectId, string Fingerprint)>> FindLegacyIssuesAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken)
    {
        var existing = new HashSet<(int, string)>();
        var unknown = new List<(int ProjectId, string Fingerprint)>();
        var now = Environment.TickCount64;
        foreach (var key in events
            .SelectMany(e => e.LegacyCandidates().Select(legacy => (e.ProjectId, Fingerprint: legacy)))
            .Distinct())
        {
            if (!_legacyIssues.TryGetValue(key, out var missingUntil) || (missingUntil != long.MaxValue && missingUntil <= now))
            {
                unknown.Add(key);
            }
            else if (missingUntil == long.MaxValue)
            {
                existing.Add(key);
            }
        }

        for (var start = 0; start < unknown.Count; start += IdLookupChunkSize)
        {
            var chunk = unknown.Skip(start).Take(IdLookupChunkSize).ToList();
            using var keys = new ClickHouseKeyTable("keys", "project_id UInt32, fingerprint String");
            foreach (var (projectId, fingerprint) in chunk)
            {
                keys.Add(projectId).Add(fingerprint).EndRow();
            }

            var rows = await client.QueryWithKeysAsync(
                $"""
                SELECT DISTINCT project_id, fingerprint
                FROM {schema.IssueHourly}
                WHERE (project_id, fingerprint) IN keys
                """,
                keys,
                row => ((int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")), row.GetProperty("fingerprint").GetString() ?? ""),
                cancellationToken);
            existing.UnionWith(rows);
            if (_legacyIssues.Count + chunk.Count > MaxRememberedLegacyIssues)
            {
                _legacyIssues.Clear();
            }

            var missingUntil = Environment.TickCount64 + (long)MissingLegacyIssueLifetime.TotalMilliseconds;
            foreach (var key in chunk)
            {
                _legacyIssues[key] = existing.Contains(key) ? long.MaxValue : missingUntil;
            }
        }

        return existing;
    }

    /// <summary>The event under the first of its legacy fingerprints that is an issue already, else as grouped.</summary>
    internal static ErrorEvent FiledUnder(ErrorEvent e, HashSet<(int ProjectId, string Fingerprint)> existingIssues)
    {
        foreach (var legacy in e.LegacyCandidates())
        {
            if (existingIssues.Contains((e.ProjectId, legacy)))
            {
                return e with { Fingerprint = legacy };
            }
        }

        return e;
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

    /// <summary>
    /// Which of these events are already stored (a retried batch, a replayed write-ahead log). Asked of
    /// <c>issue_events</c> by its whole sorting key (project, fingerprint, time, id): the time a client sent with an event
    /// comes back with its retry, and so does the issue it is filed under, so each event is looked for in the few
    /// granules of its issue around that time. Asked by id alone, every id of a batch is a random point in the key, and
    /// the look-up reads most of the table on every insert.
    /// An event whose time is not before its receipt may have had its time replaced on an earlier try (the client sent
    /// none, or one too far ahead): those are looked for by id among their issues' rows, whatever their time.
    /// </summary>
    internal async Task<HashSet<(int ProjectId, Guid EventId)>> FindStoredEventIdsAsync<T>(IReadOnlyList<T> items, Func<T, ClickHouseEventKey> keyOf, CancellationToken cancellationToken)
    {
        var stored = new HashSet<(int, Guid)>();

        // Positions, not copies of the keys: 10,000 keys copied would be a large object per insert.
        var byKey = new List<int>(items.Count);
        var byIssue = new List<int>();
        for (var i = 0; i < items.Count; i++)
        {
            // Not before its receipt: ingest may have replaced the time on an earlier try (none sent, or too far ahead by
            // that try's clock), and that try's time is not this one's.
            var key = keyOf(items[i]);
            (key.Timestamp >= key.ReceivedAt ? byIssue : byKey).Add(i);
        }

        // The keys go as a table beside the query (ClickHouseKeyTable), read into the set that also bounds the granules read.
        foreach (var chunk in byKey.Chunk(IdLookupChunkSize))
        {
            using var keys = new ClickHouseKeyTable("keys", "project_id UInt32, fingerprint String, timestamp DateTime, event_id UUID");
            foreach (var e in chunk.Select(i => keyOf(items[i])))
            {
                keys.Add(e.ProjectId).Add(e.Fingerprint).AddUnixSeconds(e.Timestamp).Add(e.EventId).EndRow();
            }

            stored.UnionWith(await client.QueryWithKeysAsync(
                $"""
                SELECT DISTINCT project_id, toString(event_id) AS id
                FROM {schema.IssueEvents}
                WHERE (project_id, fingerprint, timestamp, event_id) IN keys
                """,
                keys,
                ReadStoredId,
                cancellationToken));
        }

        // Rare (events sent without a time, or with one ahead of ingest's clock): the key's first two columns (project, issue)
        // bound what is read; the ids are then matched in those rows only.
        foreach (var project in byIssue.Select(i => keyOf(items[i])).GroupBy(e => e.ProjectId))
        {
            foreach (var chunk in project.Chunk(IdLookupChunkSize))
            {
                stored.UnionWith(await client.QueryLongAsync(
                    $"""
                    SELECT DISTINCT project_id, toString(event_id) AS id
                    FROM {schema.IssueEvents}
                    WHERE project_id = {ClickHouseSql.Literal(project.Key)}
                      AND fingerprint IN ({string.Join(", ", chunk.Select(e => e.Fingerprint).Distinct(StringComparer.Ordinal).Select(ClickHouseSql.Quote))})
                      AND event_id IN ({string.Join(", ", chunk.Select(e => ClickHouseSql.Literal(e.EventId)))})
                    """,
                    LookupQueryBytes,
                    ReadStoredId,
                    cancellationToken));
            }
        }

        return stored;
    }

    private static (int ProjectId, Guid EventId) ReadStoredId(System.Text.Json.JsonElement row) =>
        ((int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")), Guid.Parse(row.GetProperty("id").GetString() ?? ""));
}
