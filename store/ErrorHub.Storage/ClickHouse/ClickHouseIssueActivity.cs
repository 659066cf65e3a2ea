using System.Text.Json;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Activity on ClickHouse: windows are counted from the per-minute aggregate (<c>issue_minutely</c>),
/// issues' first times and titles from the hourly one (<c>issue_hourly</c>); only an issue's first event
/// and the events after a triage change (of one issue, or of the issues triage names) read events. Events of a merged issue count for the
/// issue it was merged into (<see cref="IIssueMerges"/>), as every reader counts them.
/// </summary>
internal sealed class ClickHouseIssueActivity(ClickHouseClient client, ClickHouseNotificationSchema schema, ClickHouseMergeCache merges, ILogger logger) : IIssueActivity
{
    public async Task<IReadOnlyList<NewIssue>> GetNewIssuesAsync(int projectId, EventFilter filter, DateTimeOffset since, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ActivityWindow.CheckLimit(limit);
        var project = ClickHouseSql.Literal(projectId);
        var keys = await KeysAsync(projectId, cancellationToken);
        var notMerged = keys.IsEmpty ? "" : $"AND fingerprint NOT IN ({keys.Sources()})";

        // Every event of an issue first seen at or after `since` is in a minute at or after since's minute, so
        // the issues with a passing event there are the candidates; their first time needs all of their hours.
        return await client.QueryAsync(
            $"""
            SELECT fingerprint, minMerge(first_seen) AS issue_first_seen
            FROM {schema.IssueHourly}
            WHERE project_id = {project} {notMerged}
              AND fingerprint IN
              (
                  SELECT fingerprint FROM {schema.IssueMinutely}
                  WHERE project_id = {project} AND minute >= {Time(ActivityWindow.MinuteSeconds(since))} {Filter(filter)}
              )
            GROUP BY fingerprint
            HAVING issue_first_seen >= {ClickHouseSql.Literal(since.ToUnixTimeSeconds())}
            ORDER BY issue_first_seen, fingerprint
            LIMIT {ClickHouseSql.Literal(limit)}
            """,
            row => new NewIssue(
                row.GetProperty("fingerprint").GetString() ?? "",
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("issue_first_seen")))),
            cancellationToken);
    }

    public async Task<IReadOnlyList<IssueActivity>> GetActivityAsync(ActivityQuery query, CancellationToken cancellationToken = default)
    {
        ActivityWindow.Validate(query);
        var order = query.Sort == ActivitySort.Users
            ? "activity_users DESC, activity_events DESC"
            : "activity_events DESC, activity_users DESC";
        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        return await client.QueryAsync(
            $"""
            SELECT {keys.Key()} AS issue_key, countMerge(event_count) AS activity_events, uniqMerge(user_count) AS activity_users
            FROM {schema.IssueMinutely}
            WHERE {Window(query.ProjectId, query.From, query.To)} {Filter(query.Filter)}
            GROUP BY issue_key
            HAVING activity_events >= {ClickHouseSql.Literal(query.MinEvents)} AND activity_users >= {ClickHouseSql.Literal(query.MinUsers)}
            ORDER BY {order}, issue_key
            LIMIT {ClickHouseSql.Literal(query.Limit)}
            """,
            row => new IssueActivity(
                row.GetProperty("issue_key").GetString() ?? "",
                ClickHouseClient.ReadInt64(row.GetProperty("activity_events")),
                ClickHouseClient.ReadInt64(row.GetProperty("activity_users"))),
            cancellationToken);
    }

    public async Task<ActivityTotals> GetTotalsAsync(int projectId, EventFilter filter, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var keys = await KeysAsync(projectId, cancellationToken);
        var rows = await client.QueryAsync(
            $"""
            SELECT countMerge(event_count) AS total_events, uniqMerge(user_count) AS total_users, uniqExact({keys.Key()}) AS total_issues
            FROM {schema.IssueMinutely}
            WHERE {Window(projectId, from, to)} {Filter(filter)}
            """,
            row => new ActivityTotals(
                ClickHouseClient.ReadInt64(row.GetProperty("total_events")),
                ClickHouseClient.ReadInt64(row.GetProperty("total_users")),
                ClickHouseClient.ReadInt64(row.GetProperty("total_issues"))),
            cancellationToken);
        return rows.Count == 0 ? new ActivityTotals(0, 0, 0) : rows[0];
    }

    public async Task<long[]> GetEventsPerHourAsync(int projectId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        var hours = new long[ActivityWindow.Hours(from, to)];
        if (hours.Length == 0)
        {
            return hours;
        }

        var start = from.ToUnixTimeSeconds();
        var rows = await client.QueryAsync(
            $"""
            SELECT intDiv(toUnixTimestamp(minute) - {ClickHouseSql.Literal(start)}, 3600) AS hour, countMerge(event_count) AS events
            FROM {schema.IssueMinutely}
            WHERE {Window(projectId, from, to)}
            GROUP BY hour
            """,
            row => (Hour: ClickHouseClient.ReadInt64(row.GetProperty("hour")), Events: ClickHouseClient.ReadInt64(row.GetProperty("events"))),
            cancellationToken);
        foreach (var (hour, events) in rows)
        {
            if (hour >= 0 && hour < hours.Length)
            {
                hours[hour] = events;
            }
        }

        return hours;
    }

    public Task<ErrorEvent?> GetFirstEventAsync(int projectId, string fingerprint, EventFilter filter, CancellationToken cancellationToken = default) =>
        FirstEventAsync(projectId, fingerprint, filter, since: null, cancellationToken);

    public Task<ErrorEvent?> GetFirstEventSinceAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        FirstEventAsync(projectId, fingerprint, filter, since, cancellationToken);

    private async Task<ErrorEvent?> FirstEventAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(filter);
        var keys = await KeysAsync(projectId, cancellationToken);
        var events = await client.QueryAsync(
            $"""
            SELECT {ClickHousePayload.Columns}
            FROM {schema.Events}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({keys.Members([fingerprint])})
              {(since is { } from ? $"AND timestamp >= {Time(from.ToUnixTimeSeconds())}" : "")} {Filter(filter)}
            ORDER BY timestamp, received_at, event_id
            LIMIT 1
            """,
            row => ClickHousePayload.Read(row, projectId, logger),
            cancellationToken);
        return events.Count == 0 ? null : events[0];
    }

    public async Task<IReadOnlyList<ReleaseActivity>> GetReleasesAfterAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset after, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(filter);
        var keys = await KeysAsync(projectId, cancellationToken);

        // LIMIT 1 BY: a duplicate that has not been merged away yet counts once.
        return await client.QueryAsync(
            $"""
            SELECT release, count() AS release_events, toUnixTimestamp(min(timestamp)) AS release_first
            FROM
            (
                SELECT event_id, release, timestamp
                FROM {schema.Events}
                WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({keys.Members([fingerprint])})
                  AND timestamp > {Time(after.ToUnixTimeSeconds())} {Filter(filter)}
                LIMIT 1 BY event_id
            )
            GROUP BY release
            ORDER BY release_first, release
            """,
            row => new ReleaseActivity(
                row.GetProperty("release").GetString() ?? "",
                ClickHouseClient.ReadInt64(row.GetProperty("release_events")),
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("release_first")))),
            cancellationToken);
    }

    public async Task<IssueActivity> GetIssueActivityAfterAsync(int projectId, string fingerprint, DateTimeOffset after, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var keys = await KeysAsync(projectId, cancellationToken);

        // From the events themselves, to the second (the per-minute aggregate cannot tell what came after the change
        // within its minute); LIMIT 1 BY: a duplicate that has not been merged away yet counts once.
        var rows = await client.QueryAsync(
            $"""
            SELECT count() AS issue_events, uniqExactIf(user_hash, user_hash != 0) AS issue_users
            FROM
            (
                SELECT event_id, user_hash
                FROM {schema.Events}
                WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({keys.Members([fingerprint])})
                  AND timestamp > {Time(after.ToUnixTimeSeconds())}
                LIMIT 1 BY event_id
            )
            """,
            row => new IssueActivity(fingerprint, ClickHouseClient.ReadInt64(row.GetProperty("issue_events")), ClickHouseClient.ReadInt64(row.GetProperty("issue_users"))),
            cancellationToken);
        return rows.Count == 0 ? new IssueActivity(fingerprint, 0, 0) : rows[0];
    }

    public async Task<IReadOnlyList<IssueSeenAfterChange>> GetIssuesSeenAfterChangesAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var keys = await KeysAsync(projectId, cancellationToken);
        var project = ClickHouseSql.Literal(projectId);
        var resolved = ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Resolved));
        var ignored = ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Ignored));

        // The states that can end by events: resolved, or ignored with a count of events or users in their triage (an
        // unreadable triage reads as ignored for good, as the state does). Ignored for good or until a time: left out here,
        // so their events, however many, are never read.
        var states = $"""
            SELECT fingerprint AS fp, toUnixTimestamp(changed_at) AS state_changed
            FROM {ClickHouseIssueStates.LatestRows(schema.IssueStates)}
            WHERE project_id = {project}
              AND (status = {resolved}
                   OR (status = {ignored}
                       AND (visitParamHas(triage, {ClickHouseSql.Quote(IssueTriageJson.IgnoredUntilEventsField)})
                            OR visitParamHas(triage, {ClickHouseSql.Quote(IssueTriageJson.IgnoredUntilUsersField)}))))
            """;
        var key = keys.Key();

        // Two steps, so that neither groups the project's whole issue_days nor reads the states twice. First the issues that
        // have a per-day row holding an event after their change (a row's own latest second, finalizeAggregation, against the
        // state it meets in the join: the latest second of an issue is past its change exactly when one of its rows' is),
        // with no grouping; then only those issues' rows are merged into their latest second and events. A merged issue's
        // rows carry the key of the issue they were merged into, so they meet that issue's state and count for it.
        // ALL, though each issue has one state: an issue has many rows, and servers after 18.x join each right row to one left
        // row only under ANY INNER (any_join_distinct_right_table_keys = 0), which could pick a row from before the change.
        // GLOBAL: on a cluster the first step runs on every shard (each node holds every state), and its few issues are then
        // sent to the shards whose rows the second step merges; on one server it is a plain IN. In issue order, as SQLite answers.
        return await client.QueryAsync(
            $"""
            SELECT {key} AS fp, maxMerge(last_seen) AS issue_last_seen, countMerge(event_count) AS issue_events
            FROM {schema.IssueDays}
            WHERE project_id = {project} AND {key} GLOBAL IN
            (
                SELECT {key} AS fp
                FROM {schema.IssueDays}
                ALL INNER JOIN ({states}) USING fp
                WHERE project_id = {project} AND finalizeAggregation(last_seen) > state_changed
            )
            GROUP BY fp
            ORDER BY fp
            """,
            row => new IssueSeenAfterChange(
                row.GetProperty("fp").GetString() ?? "",
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("issue_last_seen"))),
                ClickHouseClient.ReadInt64(row.GetProperty("issue_events"))),
            cancellationToken);
    }

    public async Task<IReadOnlyList<ActivityAfterChange>> GetActivityAfterChangesAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        if (fingerprints.Count == 0)
        {
            return [];
        }

        var keys = await KeysAsync(projectId, cancellationToken);
        var project = ClickHouseSql.Literal(projectId);
        var key = keys.Key();
        var names = string.Join(", ", fingerprints.Distinct(StringComparer.Ordinal).Select(ClickHouseSql.Quote));
        var states = $"""
            SELECT fingerprint AS fp, toUnixTimestamp(argMax(changed_at, version)) AS state_changed
            FROM {schema.IssueStates}
            WHERE project_id = {project} AND fingerprint IN ({names})
            GROUP BY fingerprint
            HAVING argMax(status, version) IN ({ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Resolved))}, {ClickHouseSql.Quote(StoredNames.Of(IssueStatus.Ignored))})
            """;

        // Only the named issues' rows of the table of events in issue order (their own and those merged into them), from the
        // earliest of their changes on; each row is then held against its issue's own change where the rows meet (after each
        // shard's part on a cluster; every node holds every state). LIMIT 1 BY: a duplicate not merged away yet counts once.
        // A merged issue's events carry the key of the issue they were merged into, so a merged-away issue's state never matches.
        // Any number of names: a long query is sent with limits of its own (ClickHouseClient).
        return await client.QueryAsync(
            $"""
            SELECT fp AS fingerprint,
                   groupArray(release) AS releases, groupArray(release_first) AS firsts, groupArray(release_events) AS counts,
                   sum(release_events) AS issue_events, uniqExactIfMerge(release_users) AS issue_users
            FROM
            (
                SELECT fp, release, min(ts) AS release_first, count() AS release_events, uniqExactIfState(user_hash, user_hash != 0) AS release_users
                FROM
                (
                    SELECT {key} AS fp, release, toUnixTimestamp(timestamp) AS ts, user_hash
                    FROM
                    (
                        SELECT fingerprint, event_id, release, timestamp, user_hash
                        FROM {schema.IssueEvents}
                        WHERE project_id = {project} AND fingerprint IN ({keys.Members(fingerprints)})
                          AND timestamp > (SELECT toDateTime(min(state_changed), 'UTC') FROM ({states}))
                        LIMIT 1 BY event_id
                    )
                )
                ALL INNER JOIN ({states}) USING fp
                WHERE ts > state_changed
                GROUP BY fp, release
            )
            GROUP BY fp
            """,
            ReadActivityAfterChange,
            cancellationToken);
    }

    private static ActivityAfterChange ReadActivityAfterChange(JsonElement row)
    {
        var fingerprint = row.GetProperty("fingerprint").GetString() ?? "";
        var releases = row.GetProperty("releases").EnumerateArray().Select(value => value.GetString() ?? "").ToList();
        var firsts = row.GetProperty("firsts").EnumerateArray().Select(ClickHouseClient.ReadInt64).ToList();
        var counts = row.GetProperty("counts").EnumerateArray().Select(ClickHouseClient.ReadInt64).ToList();
        return new ActivityAfterChange(
            fingerprint,
            ActivityAfterChanges.InOrder(releases.Select((release, i) => new ReleaseActivity(release, counts[i], StoreTime.FromUnixSeconds(firsts[i])))),
            new IssueActivity(fingerprint, ClickHouseClient.ReadInt64(row.GetProperty("issue_events")), ClickHouseClient.ReadInt64(row.GetProperty("issue_users"))));
    }

    private Task<ClickHouseIssueKeys> KeysAsync(int projectId, CancellationToken cancellationToken) =>
        merges.KeysAsync(projectId, cancellationToken);

    private static string Window(int projectId, DateTimeOffset from, DateTimeOffset to) =>
        $"project_id = {ClickHouseSql.Literal(projectId)} AND minute >= {Time(ActivityWindow.MinuteSeconds(from))} AND minute < {Time(ActivityWindow.MinuteSeconds(to))}";

    private static string Time(long unixSeconds) => $"toDateTime({ClickHouseSql.Literal(Math.Max(0, unixSeconds))}, 'UTC')";

    /// <summary>The filter's conditions, for both <c>events</c> and <c>issue_minutely</c> (same column names).</summary>
    private static string Filter(EventFilter filter)
    {
        var sql = "";
        if (filter.Environment is { } environment)
        {
            sql += $" AND environment = {ClickHouseSql.Quote(environment)}";
        }

        if (filter.Levels is { } levels)
        {
            sql += levels.Count == 0 ? " AND 0" : $" AND level IN ({string.Join(", ", levels.Select(ClickHouseSql.Quote))})";
        }

        return sql;
    }
}
