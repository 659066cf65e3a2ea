using System.Text.Json;
using ErrorHub.Storage.Events;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>Issues from the hourly aggregates (named by their first event's title, from issue_firsts), events from their payload column.</summary>
internal sealed class ClickHouseIssueReader(ClickHouseClient client, ClickHouseSchema schema) : IIssueReader
{
    public async Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        var orderAndPage = IssueOrdering.OrderAndPage(query);
        if (!query.Filter.IsEmpty)
        {
            return await GetFilteredIssuesAsync(query, orderAndPage, cancellationToken);
        }

        var project = ClickHouseSql.Literal(query.ProjectId);
        var keys = await KeysAsync(query.ProjectId, cancellationToken);

        // The page is chosen by its sort key alone; only its issues then merge every aggregate (users, latest title, level).
        var page = await PageByHourlyAsync(query, keys, $"project_id = {project}", orderAndPage, cancellationToken);
        var items = page.Count == 0
            ? []
            : await client.QueryAsync(
                IssuesQuery(
                    keys,
                    $"project_id = {project} AND fingerprint IN ({keys.Members(page)})",
                    $"project_id = {project} AND fingerprint IN ({string.Join(", ", page.Select(ClickHouseSql.Quote))})",
                    "",
                    IssueOrdering.OrderBy(query)),
                row => ReadIssue(query.ProjectId, row),
                cancellationToken);

        var total = await client.QueryAsync(
            $"SELECT uniqExact({keys.Key()}) AS total FROM {schema.IssueHourly} WHERE project_id = {project}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("total")),
            cancellationToken);

        return new IssuePage(items, total.Count == 0 ? 0 : total[0]);
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var keys = await KeysAsync(projectId, cancellationToken);
        if (keys.IsMerged(fingerprint))
        {
            return null;
        }

        var project = ClickHouseSql.Literal(projectId);
        var rows = await client.QueryAsync(
            IssuesQuery(keys, $"project_id = {project} AND fingerprint IN ({keys.Members([fingerprint])})", $"project_id = {project} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}", "", ""),
            row => ReadIssue(projectId, row),
            cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // LIMIT 1 BY: a duplicate that has not been merged away yet is still shown once.
        var keys = await KeysAsync(projectId, cancellationToken);
        return await client.QueryAsync(
            $"""
            SELECT payload
            FROM {schema.Events}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({keys.Members([fingerprint])})
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
    /// A time range alone is answered from the hourly aggregates (the range is in whole hours); any
    /// other filter reads the matching events. Either way the page is chosen first and then named by
    /// the issues' own title, culprit and level.
    /// </summary>
    private async Task<IssuePage> GetFilteredIssuesAsync(IssueQuery query, string orderAndPage, CancellationToken cancellationToken)
    {
        var filter = query.Filter;
        filter.ValidateFingerprints();
        if (filter.MatchesNothing)
        {
            return new IssuePage([], 0);
        }

        var project = ClickHouseSql.Literal(query.ProjectId);
        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var key = keys.Key();
        string with, from, columns, metrics;
        string? pageFrom = null, pageOrder = null;
        if (filter.NarrowsEvents)
        {
            // The search text is named once: repeated in each condition it could pass 18.x's 256 KiB query size.
            with = string.IsNullOrEmpty(filter.Search) ? "" : $"WITH {ClickHouseSql.Quote(filter.Search)} AS search_text";
            from = $"FROM {schema.Events} WHERE project_id = {project} {EventConditions(filter)} {FingerprintConditions(filter, key)}";
            columns = "user_hash, timestamp";
            metrics = $"""
                count() AS {IssueOrdering.EventsAlias},
                uniqIf(user_hash, user_hash != 0) AS {IssueOrdering.UsersAlias},
                min(toUnixTimestamp(timestamp)) AS {IssueOrdering.FirstSeenAlias},
                max(toUnixTimestamp(timestamp)) AS {IssueOrdering.LastSeenAlias}
                """;
        }
        else
        {
            // A range alone: the page by its sort key first, then every count for that page's issues only.
            var hourlyWhere = $"project_id = {project} {HourConditions(filter)} {FingerprintConditions(filter, key)}";
            var pageKeys = await PageByHourlyAsync(query, keys, hourlyWhere, orderAndPage, cancellationToken);
            with = "";
            from = $"FROM {schema.IssueHourly} WHERE {hourlyWhere}";
            columns = "event_count, user_count, first_seen, last_seen";
            metrics = $"""
                countMerge(event_count) AS {IssueOrdering.EventsAlias},
                uniqMerge(user_count) AS {IssueOrdering.UsersAlias},
                minMerge(first_seen) AS {IssueOrdering.FirstSeenAlias},
                maxMerge(last_seen) AS {IssueOrdering.LastSeenAlias}
                """;
            pageFrom = pageKeys.Count == 0 ? null : $"{from} AND fingerprint IN ({keys.Members(pageKeys)})";
            pageOrder = IssueOrdering.OrderBy(query);
        }

        // Events of merged issues count for the issue they were merged into (issue_key); without merges it is the fingerprint.
        var page = pageFrom is null && !filter.NarrowsEvents ? [] : await client.QueryAsync(
            $"""
            SELECT issue_key AS fingerprint, {metrics}
            FROM ({with} SELECT {key} AS issue_key, {columns} {pageFrom ?? from})
            GROUP BY fingerprint
            {pageOrder ?? orderAndPage}
            """,
            row => (
                Fingerprint: row.GetProperty("fingerprint").GetString() ?? "",
                Events: ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.EventsAlias)),
                Users: ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.UsersAlias)),
                FirstSeen: ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.FirstSeenAlias)),
                LastSeen: ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.LastSeenAlias))),
            cancellationToken);

        var total = await client.QueryAsync(
            $"{with} SELECT uniqExact({key}) AS total {from}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("total")),
            cancellationToken);

        var names = new Dictionary<string, IssueSummary>(StringComparer.Ordinal);
        if (page.Count > 0)
        {
            var fingerprints = string.Join(", ", page.Select(row => ClickHouseSql.Quote(row.Fingerprint)));
            foreach (var issue in await client.QueryAsync(
                IssuesQuery(keys, $"project_id = {project} AND fingerprint IN ({keys.Members(page.Select(row => row.Fingerprint))})", $"project_id = {project} AND fingerprint IN ({fingerprints})", "", ""),
                row => ReadIssue(query.ProjectId, row),
                cancellationToken))
            {
                names[issue.Fingerprint] = issue;
            }
        }

        var items = page
            .Select(row => names.TryGetValue(row.Fingerprint, out var issue)
                ? issue with
                {
                    EventCount = row.Events,
                    UserCount = row.Users,
                    FirstSeen = StoreTime.FromUnixSeconds(row.FirstSeen),
                    LastSeen = StoreTime.FromUnixSeconds(row.LastSeen),
                }
                : null)
            .OfType<IssueSummary>()
            .ToList();
        return new IssuePage(items, total.Count == 0 ? 0 : total[0]);
    }

    /// <summary>The filter's conditions on the events table (a missing environment or release is an empty string there).</summary>
    private static string EventConditions(IssueFilter filter)
    {
        var conditions = new System.Text.StringBuilder();
        if (filter.RangeStart is { } since)
        {
            conditions.Append(" AND timestamp >= ").Append(DateTimeLiteral(since));
        }

        if (filter.RangeEnd is { } until)
        {
            conditions.Append(" AND timestamp < ").Append(DateTimeLiteral(until));
        }

        if (filter.Environment is { } environment)
        {
            conditions.Append(" AND environment = ").Append(ClickHouseSql.Quote(environment));
        }

        if (filter.Release is { } release)
        {
            conditions.Append(" AND release = ").Append(ClickHouseSql.Quote(release));
        }

        if (filter.Level is { } level)
        {
            conditions.Append(" AND level = ").Append(ClickHouseSql.Quote(level));
        }

        if (!string.IsNullOrEmpty(filter.Search))
        {
            conditions.Append("""
                 AND (positionCaseInsensitiveUTF8(title, search_text) > 0
                      OR positionCaseInsensitiveUTF8(culprit, search_text) > 0
                      OR positionCaseInsensitiveUTF8(message, search_text) > 0
                      OR arrayExists(exception_type -> positionCaseInsensitiveUTF8(exception_type, search_text) > 0, exceptions.type)
                      OR arrayExists(exception_value -> positionCaseInsensitiveUTF8(exception_value, search_text) > 0, exceptions.value)
                      OR positionCaseInsensitiveUTF8(user_id, search_text) > 0
                      OR positionCaseInsensitiveUTF8(user_email, search_text) > 0
                      OR positionCaseInsensitiveUTF8(user_username, search_text) > 0)
                """);
        }

        return conditions.ToString();
    }

    /// <summary>The filter's issues (in or out) by <paramref name="key"/>, the issue a row belongs to.</summary>
    private static string FingerprintConditions(IssueFilter filter, string key)
    {
        var conditions = new System.Text.StringBuilder();
        if (filter.Fingerprints is { Count: > 0 } only)
        {
            conditions.Append($" AND {key} IN (").AppendJoin(", ", only.Select(ClickHouseSql.Quote)).Append(')');
        }

        if (filter.ExcludedFingerprints is { Count: > 0 } excluded)
        {
            conditions.Append($" AND {key} NOT IN (").AppendJoin(", ", excluded.Select(ClickHouseSql.Quote)).Append(')');
        }

        return conditions.ToString();
    }

    private static string HourConditions(IssueFilter filter)
    {
        var conditions = new System.Text.StringBuilder();
        if (filter.RangeStart is { } since)
        {
            conditions.Append(" AND hour >= ").Append(DateTimeLiteral(since));
        }

        if (filter.RangeEnd is { } until)
        {
            conditions.Append(" AND hour < ").Append(DateTimeLiteral(until));
        }

        return conditions.ToString();
    }

    private static string DateTimeLiteral(DateTimeOffset value) =>
        $"toDateTime({ClickHouseSql.Literal(Math.Clamp(value.ToUnixTimeSeconds(), 0, uint.MaxValue))}, 'UTC')";

    public async Task<IssueFilterValues> GetFilterValuesAsync(int projectId, CancellationToken cancellationToken = default)
    {
        async Task<IReadOnlyList<string>> DistinctAsync(string column) => await client.QueryAsync(
            $"""
            SELECT {column} AS value, max(timestamp) AS seen
            FROM {schema.Events}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND {column} != ''
            GROUP BY {column}
            ORDER BY seen DESC, value
            LIMIT {IssueFilterValues.MaxValues}
            """,
            row => row.GetProperty("value").GetString() ?? "",
            cancellationToken);

        return new IssueFilterValues(await DistinctAsync("environment"), await DistinctAsync("release"));
    }

    public async Task<IReadOnlyDictionary<string, long[]>> GetEventCountsAsync(EventCountQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var counts = query.EmptyCounts();
        if (counts.Count == 0)
        {
            return counts;
        }

        // Events of issues merged into an asked issue count for it.
        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var rows = await client.QueryAsync(
            $"""
            SELECT issue_key AS fingerprint, hour_start, countMerge(event_count) AS events
            FROM
            (
                SELECT {keys.Key()} AS issue_key, toUnixTimestamp(hour) AS hour_start, event_count
                FROM {schema.IssueHourly}
                WHERE project_id = {ClickHouseSql.Literal(query.ProjectId)}
                  AND fingerprint IN ({keys.Members(counts.Keys)})
                  AND hour >= {DateTimeLiteral(query.Start)} AND hour < {DateTimeLiteral(query.End)}
            )
            GROUP BY fingerprint, hour_start
            """,
            row => (
                Fingerprint: row.GetProperty("fingerprint").GetString() ?? "",
                Hour: ClickHouseClient.ReadInt64(row.GetProperty("hour_start")),
                Events: ClickHouseClient.ReadInt64(row.GetProperty("events"))),
            cancellationToken);
        foreach (var (fingerprint, hour, events) in rows)
        {
            var bucket = query.BucketOf(hour);
            if (bucket >= 0 && counts.TryGetValue(fingerprint, out var issueCounts))
            {
                issueCounts[bucket] += events;
            }
        }

        return counts;
    }

    public async Task<EventPage> GetEventPageAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return new EventPage([], null);
        }

        var conditions = new System.Text.StringBuilder();
        if (query.After is { } after)
        {
            // Cursors count milliseconds; this table keeps whole seconds (a stored time is its event's time cut to the second).
            var time = DateTimeLiteral(DateTimeOffset.FromUnixTimeSeconds(Math.DivRem(after.Time, 1000, out var rest) - (rest < 0 ? 1 : 0)));
            conditions.Append($" AND (timestamp {(query.OldestFirst ? ">" : "<")} {time} OR (timestamp = {time} AND event_id > {ClickHouseSql.Literal(after.EventId)}))");
        }

        var with = "";
        if (!string.IsNullOrEmpty(query.Search))
        {
            with = $"WITH {ClickHouseSql.Quote(query.Search)} AS search_text";
            conditions.Append("""
                 AND (positionCaseInsensitiveUTF8(user_id, search_text) > 0 OR positionCaseInsensitiveUTF8(user_email, search_text) > 0
                      OR positionCaseInsensitiveUTF8(user_username, search_text) > 0 OR positionCaseInsensitiveUTF8(url, search_text) > 0
                      OR positionCaseInsensitiveUTF8(release, search_text) > 0 OR positionCaseInsensitiveUTF8(environment, search_text) > 0)
                """);
        }

        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var rows = await client.QueryAsync(
            $"""
            {with}
            SELECT event_id, toUnixTimestamp(timestamp) AS seconds, level, user_id, user_email, user_username, url, release, environment
            FROM {schema.IssueEvents}
            WHERE project_id = {ClickHouseSql.Literal(query.ProjectId)} AND fingerprint IN ({keys.Members([query.Fingerprint])}) {conditions}
            ORDER BY timestamp {(query.OldestFirst ? "ASC" : "DESC")}, event_id ASC
            LIMIT 1 BY event_id
            LIMIT {ClickHouseSql.Literal(query.Limit + 1)}
            """,
            row =>
            {
                var eventId = Guid.Parse(row.GetProperty("event_id").GetString() ?? "");
                var seconds = ClickHouseClient.ReadInt64(row.GetProperty("seconds"));
                return new EventRow(
                    eventId,
                    StoreTime.FromUnixSeconds(seconds),
                    row.GetProperty("level").GetString() ?? "",
                    Text(row, "user_id"),
                    Text(row, "user_email"),
                    Text(row, "user_username"),
                    Text(row, "url"),
                    Text(row, "release"),
                    Text(row, "environment"),
                    new EventCursor(seconds * 1000, eventId));
            },
            cancellationToken);

        return rows.Count > query.Limit
            ? new EventPage([.. rows.Take(query.Limit)], rows[query.Limit - 1].Cursor)
            : new EventPage(rows, null);
    }

    public async Task<AffectedUserPage> GetAffectedUsersAsync(AffectedUserQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return new AffectedUserPage([], 0);
        }

        var with = "";
        var having = "";
        if (!string.IsNullOrEmpty(query.Search))
        {
            with = $"WITH {ClickHouseSql.Quote(query.Search)} AS search_text";
            having = """
                HAVING positionCaseInsensitiveUTF8(latest_id, search_text) > 0 OR positionCaseInsensitiveUTF8(latest_email, search_text) > 0
                    OR positionCaseInsensitiveUTF8(latest_username, search_text) > 0
                """;
        }

        // Each user's identity and URL are those of their latest event in the issue.
        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var users = $"""
            SELECT
                user_hash,
                count() AS events,
                min(toUnixTimestamp(timestamp)) AS first_seen,
                max(toUnixTimestamp(timestamp)) AS last_seen,
                argMax(user_id, timestamp) AS latest_id,
                argMax(user_email, timestamp) AS latest_email,
                argMax(user_username, timestamp) AS latest_username,
                argMax(user_ip, timestamp) AS latest_ip,
                argMax(url, timestamp) AS latest_url
            FROM {schema.IssueEvents}
            WHERE project_id = {ClickHouseSql.Literal(query.ProjectId)} AND fingerprint IN ({keys.Members([query.Fingerprint])}) AND user_hash != 0
            GROUP BY user_hash
            {having}
            """;

        var items = await client.QueryAsync(
            $"""
            {with}
            {users}
            ORDER BY last_seen DESC, user_hash
            LIMIT {ClickHouseSql.Literal(query.Offset)}, {ClickHouseSql.Literal(query.Limit)}
            """,
            row => new AffectedUser(
                Text(row, "latest_id"),
                Text(row, "latest_email"),
                Text(row, "latest_username"),
                Text(row, "latest_ip"),
                ClickHouseClient.ReadInt64(row.GetProperty("events")),
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("first_seen"))),
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("last_seen"))),
                Text(row, "latest_url")),
            cancellationToken);

        var total = await client.QueryAsync(
            $"SELECT count() AS total FROM ({with} {users})",
            row => ClickHouseClient.ReadInt64(row.GetProperty("total")),
            cancellationToken);
        return new AffectedUserPage(items, total.Count == 0 ? 0 : total[0]);
    }

    public async Task<IssueBreakdowns> GetBreakdownsAsync(BreakdownQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return IssueBreakdowns.Empty;
        }

        var where = new System.Text.StringBuilder($"project_id = {ClickHouseSql.Literal(query.ProjectId)} AND fingerprint = {ClickHouseSql.Quote(query.Fingerprint)}");
        if (query.RangeStart is { } since)
        {
            where.Append(" AND timestamp >= ").Append(DateTimeLiteral(since));
        }

        if (query.RangeEnd is { } until)
        {
            where.Append(" AND timestamp < ").Append(DateTimeLiteral(until));
        }

        // An empty value (an absent tag included) is "no value".
        var dimensions = new (BreakdownDimension Dimension, string Column)[]
        {
            (BreakdownDimension.Release, "release"),
            (BreakdownDimension.Environment, "environment"),
            (BreakdownDimension.Browser, "browser"),
            (BreakdownDimension.OperatingSystem, "client_os"),
            (BreakdownDimension.Server, "server_name"),
        };

        // One pass over the issue's rows (the sorting key of issue_events leads to them) gives every dimension's
        // totals, another their top values: each event becomes one (dimension, value) pair per dimension.
        var totals = await client.QueryAsync(
            $"""
            SELECT count() AS events, {string.Join(", ", dimensions.Select(d => $"countIf({d.Column} != '') AS with_{(int)d.Dimension}"))}
            FROM {schema.IssueEvents}
            WHERE {where}
            """,
            row => (Events: ClickHouseClient.ReadInt64(row.GetProperty("events")),
                    WithValue: dimensions.ToDictionary(d => d.Dimension, d => ClickHouseClient.ReadInt64(row.GetProperty($"with_{(int)d.Dimension}")))),
            cancellationToken);
        if (totals.Count == 0 || totals[0].Events == 0)
        {
            return IssueBreakdowns.Empty;
        }

        var pairs = string.Join(", ", dimensions.Select(d => $"({ClickHouseSql.Literal((int)d.Dimension)}, {d.Column})"));
        var (events, withValue) = totals[0];
        var rows = await client.QueryAsync(
            $"""
            SELECT dimension, value, count() AS events
            FROM
            (
                SELECT arrayJoin([{pairs}]) AS pair, tupleElement(pair, 1) AS dimension, tupleElement(pair, 2) AS value
                FROM {schema.IssueEvents}
                WHERE {where}
            )
            WHERE value != ''
            GROUP BY dimension, value
            ORDER BY dimension, events DESC, value
            LIMIT {ClickHouseSql.Literal(query.Limit)} BY dimension
            """,
            row =>
            {
                var dimension = (BreakdownDimension)(int)ClickHouseClient.ReadInt64(row.GetProperty("dimension"));
                return (dimension, row.GetProperty("value").GetString() ?? "", ClickHouseClient.ReadInt64(row.GetProperty("events")), withValue[dimension]);
            },
            cancellationToken);
        return IssueBreakdowns.From(events, rows);
    }

    /// <summary>
    /// The issues of one page of <paramref name="query"/>, chosen from the hourly rows <paramref name="hourlyWhere"/>
    /// selects by merging only the aggregate the list is sorted by: merging users' states and the latest titles of
    /// every issue-hour costs several times more, and the page needs them for its own issues only.
    /// </summary>
    private async Task<IReadOnlyList<string>> PageByHourlyAsync(IssueQuery query, ClickHouseIssueKeys keys, string hourlyWhere, string orderAndPage, CancellationToken cancellationToken)
    {
        var (column, metric, alias) = query.Sort switch
        {
            IssueSort.Events => ("event_count", "countMerge", IssueOrdering.EventsAlias),
            IssueSort.Users => ("user_count", "uniqMerge", IssueOrdering.UsersAlias),
            IssueSort.FirstSeen => ("first_seen", "minMerge", IssueOrdering.FirstSeenAlias),
            _ => ("last_seen", "maxMerge", IssueOrdering.LastSeenAlias),
        };
        return await client.QueryAsync(
            $"""
            SELECT issue_key AS fingerprint, {metric}({column}) AS {alias}
            FROM (SELECT {keys.Key()} AS issue_key, {column} FROM {schema.IssueHourly} WHERE {hourlyWhere})
            GROUP BY fingerprint
            {orderAndPage}
            """,
            row => row.GetProperty("fingerprint").GetString() ?? "",
            cancellationToken);
    }

    /// <summary>Missing strings are empty in the columns; callers see null, as from the payload.</summary>
    private static string? Text(JsonElement row, string column) =>
        row.GetProperty(column).GetString() is { Length: > 0 } text ? text : null;

    /// <summary>
    /// The issues <paramref name="where"/> selects, a page of them first, then joined to their first
    /// event's title and culprit; ordered again after the join, which does not keep the order.
    /// </summary>
    /// <remarks>
    /// The hourly rows <paramref name="hourlyWhere"/> selects are grouped by the issue they belong to (merged issues
    /// count for the issue they were merged into); the name is the issue's own, from the rows <paramref name="firstsWhere"/> selects.
    /// </remarks>
    private string IssuesQuery(ClickHouseIssueKeys keys, string hourlyWhere, string firstsWhere, string orderAndPage, string orderBy) => $"""
        SELECT *
        FROM
        (
            SELECT
                issue_key AS fingerprint,
                countMerge(event_count) AS {IssueOrdering.EventsAlias},
                uniqMerge(user_count) AS {IssueOrdering.UsersAlias},
                minMerge(first_seen) AS {IssueOrdering.FirstSeenAlias},
                maxMerge(last_seen) AS {IssueOrdering.LastSeenAlias},
                argMaxMerge(latest_title) AS issue_latest_title,
                argMaxMerge(latest_culprit) AS issue_latest_culprit,
                argMaxMerge(latest_level) AS issue_level
            FROM
            (
                SELECT {keys.Key()} AS issue_key, event_count, user_count, first_seen, last_seen, latest_title, latest_culprit, latest_level
                FROM {schema.IssueHourly}
                WHERE {hourlyWhere}
            )
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
            WHERE {firstsWhere}
            GROUP BY fingerprint
        ) USING fingerprint
        {orderBy}
        """;

    private async Task<ClickHouseIssueKeys> KeysAsync(int projectId, CancellationToken cancellationToken) =>
        new(await ClickHouseIssueMerges.ReadAsync(client, schema.Table("issue_merges"), projectId, cancellationToken));

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
