using System.Text.Json;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>Issues from the hourly aggregates (named by their first event's title, from issue_firsts), events from their payload column.</summary>
internal sealed class ClickHouseIssueReader(ClickHouseClient client, ClickHouseSchema schema) : IIssueReader
{
    public async Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        var project = ClickHouseSql.Literal(query.ProjectId);

        var items = await client.QueryAsync(
            IssuesQuery($"project_id = {project}", IssueOrdering.OrderAndPage(query), IssueOrdering.OrderBy(query)),
            row => ReadIssue(query.ProjectId, row),
            cancellationToken);

        var total = await client.QueryAsync(
            $"SELECT uniqExact(fingerprint) AS total FROM {schema.IssueHourly} WHERE project_id = {project}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("total")),
            cancellationToken);

        return new IssuePage(items, total.Count == 0 ? 0 : total[0]);
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var rows = await client.QueryAsync(
            IssuesQuery($"project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}", "", ""),
            row => ReadIssue(projectId, row),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // LIMIT 1 BY: a duplicate that has not been merged away yet is still shown once.
        return await client.QueryAsync(
            $"""
            SELECT payload
            FROM {schema.Events}
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
        var locations = await client.QueryAsync(
            $"""
            SELECT toUnixTimestamp(timestamp) AS seconds, fingerprint
            FROM {schema.EventsById}
            WHERE project_id = {project} AND event_id = {id}
            LIMIT 1
            """,
            row => (Seconds: ClickHouseClient.ReadInt64(row.GetProperty("seconds")), Fingerprint: row.GetProperty("fingerprint").GetString() ?? ""),
            cancellationToken);
        if (locations.Count == 0)
        {
            return null;
        }

        var (seconds, fingerprint) = locations[0];
        var events = await client.QueryAsync(
            $"""
            SELECT payload
            FROM {schema.Events}
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

    /// <summary>
    /// The issues <paramref name="where"/> selects, a page of them first, then joined to their first
    /// event's title and culprit; ordered again after the join, which does not keep the order.
    /// </summary>
    private string IssuesQuery(string where, string orderAndPage, string orderBy) => $"""
        SELECT *
        FROM
        (
            SELECT
                fingerprint,
                countMerge(event_count) AS {IssueOrdering.EventsAlias},
                uniqMerge(user_count) AS {IssueOrdering.UsersAlias},
                minMerge(first_seen) AS {IssueOrdering.FirstSeenAlias},
                maxMerge(last_seen) AS {IssueOrdering.LastSeenAlias},
                argMaxMerge(latest_title) AS issue_latest_title,
                argMaxMerge(latest_culprit) AS issue_latest_culprit,
                argMaxMerge(latest_level) AS issue_level
            FROM {schema.IssueHourly}
            WHERE {where}
            GROUP BY fingerprint
            {orderAndPage}
        )
        ANY LEFT JOIN
        (
            SELECT
                fingerprint,
                argMinMerge(first_title) AS issue_first_title,
                argMinMerge(first_culprit) AS issue_first_culprit,
                argMinMerge(first_grouping) AS issue_first_grouping
            FROM {schema.IssueFirsts}
            WHERE {where}
            GROUP BY fingerprint
        ) USING fingerprint
        {orderBy}
        """;

    private static IssueSummary ReadIssue(int projectId, JsonElement row) => new(
        projectId,
        Fingerprint: row.GetProperty("fingerprint").GetString() ?? "",
        Title: FirstOrLatest(row, "issue_first_title", "issue_latest_title"),
        Culprit: FirstOrLatest(row, "issue_first_culprit", "issue_latest_culprit"),
        Level: row.GetProperty("issue_level").GetString() ?? "",
        EventCount: ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.EventsAlias)),
        UserCount: ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.UsersAlias)),
        FirstSeen: StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.FirstSeenAlias))),
        LastSeen: StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.LastSeenAlias))))
    {
        Grouping = EventPayloadJson.DeserializeGrouping(row.TryGetProperty("issue_first_grouping", out var grouping) ? grouping.GetString() : null),
    };

    /// <summary>The first event's value; the latest event's while issue_firsts has no row for the issue yet.</summary>
    private static string FirstOrLatest(JsonElement row, string first, string latest) =>
        row.TryGetProperty(first, out var value) && value.GetString() is { Length: > 0 } text ? text : row.GetProperty(latest).GetString() ?? "";

    private static ErrorEvent ReadPayload(JsonElement row) =>
        EventPayloadJson.Deserialize(row.GetProperty("payload").GetString() ?? "");
}
