using System.Text;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Ingest's writer on ClickHouse: one binary INSERT per batch into <c>events</c> (the views feed the
/// issue aggregates and the id table); an event id already stored is left out, so a retried batch
/// counts once; an event whose legacy fingerprint names an existing issue is filed under that issue.
/// </summary>
internal sealed class ClickHouseEventWriter(ClickHouseClient client, ClickHouseSchema schema) : IEventWriter
{
    /// <summary>Event ids per look-up query: well inside 18.x's default max_query_size (256 KiB).</summary>
    internal const int IdLookupChunkSize = 2000;

    public async Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var fresh = DistinctByEventId(events);
        if (fresh.Count == 0)
        {
            return;
        }

        // Two primary-key look-ups, sent together: the ids already stored, and the legacy issues that exist.
        var storedIds = FindStoredEventIdsAsync(fresh, cancellationToken);
        var legacyIssues = FindLegacyIssuesAsync(fresh, cancellationToken);
        await Task.WhenAll(storedIds, legacyIssues);
        var stored = await storedIds;
        var existingIssues = await legacyIssues;
        if (stored.Count > 0)
        {
            fresh.RemoveAll(e => stored.Contains((e.ProjectId, e.EventId)));
        }

        if (fresh.Count == 0)
        {
            return;
        }

        var rows = fresh.ConvertAll(e => new ClickHouseEventRow(
            e.LegacyFingerprint is { } legacy && legacy != e.Fingerprint && existingIssues.Contains((e.ProjectId, legacy)) ? e with { Fingerprint = legacy } : e));
        await client.InsertAsync(schema.Events, rows, cancellationToken);
    }

    /// <summary>
    /// Which of the batch's legacy fingerprints are issues already: those keep receiving the events the
    /// previous grouping version would have put in them (docs/grouping.md). Only issues made before the
    /// grouping change can carry a legacy fingerprint, so the answer does not change once every ingest
    /// process runs the new version.
    /// </summary>
    private async Task<HashSet<(int ProjectId, string Fingerprint)>> FindLegacyIssuesAsync(List<ErrorEvent> events, CancellationToken cancellationToken)
    {
        var wanted = events
            .Where(e => e.LegacyFingerprint is { } legacy && legacy != e.Fingerprint)
            .Select(e => (e.ProjectId, Fingerprint: e.LegacyFingerprint!))
            .Distinct()
            .ToList();
        var existing = new HashSet<(int, string)>();
        for (var start = 0; start < wanted.Count; start += IdLookupChunkSize)
        {
            var keys = string.Join(", ", wanted.Skip(start).Take(IdLookupChunkSize)
                .Select(k => $"({ClickHouseSql.Literal(k.ProjectId)}, {ClickHouseSql.Quote(k.Fingerprint)})"));
            var rows = await client.QueryAsync(
                $"""
                SELECT DISTINCT project_id, fingerprint
                FROM {schema.IssueHourly}
                WHERE (project_id, fingerprint) IN ({keys})
                """,
                row => ((int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")), row.GetProperty("fingerprint").GetString() ?? ""),
                cancellationToken);
            existing.UnionWith(rows);
        }

        return existing;
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

            var rows = await client.QueryAsync(
                $"""
                SELECT DISTINCT project_id, toString(event_id) AS id
                FROM {schema.EventsById}
                WHERE (project_id, event_id) IN ({keys})
                """,
                row => ((int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")), Guid.Parse(row.GetProperty("id").GetString() ?? "")),
                cancellationToken);
            stored.UnionWith(rows);
        }

        return stored;
    }
}
