using System.Text;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Ingest's writer on ClickHouse: one binary INSERT per batch into <c>events</c> (the views feed the
/// issue aggregates and the id table); an event id already stored is left out, so a retried batch
/// counts once.
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

        var stored = await FindStoredEventIdsAsync(fresh, cancellationToken);
        if (stored.Count > 0)
        {
            fresh.RemoveAll(e => stored.Contains((e.ProjectId, e.EventId)));
        }

        if (fresh.Count == 0)
        {
            return;
        }

        await client.InsertAsync(schema.Events, fresh.ConvertAll(e => new ClickHouseEventRow(e)), cancellationToken);
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
