using System.Text.Json;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Issue lists from the aggregates (named by their first event's title, from issue_firsts), one issue's counts and events pages
/// from its rows in issue_events, events from their payload column.
/// </summary>
internal sealed class ClickHouseIssueReader(ClickHouseClient client, ClickHouseSchema schema, ClickHouseMergeCache merges, ILogger logger) : IIssueReader
{
    private readonly string _issueStates = new ClickHouseNotificationSchema(schema).IssueStates;

    private readonly ClickHouseIssueExtents _extents = new();

    public async Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        var orderAndPage = IssueOrdering.OrderAndPage(query);
        var filter = query.Filter;
        filter.ValidateFingerprints();
        if (filter.MatchesNothing)
        {
            return new IssuePage([], 0);
        }

        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        IReadOnlyList<IssueCounts> page;
        long? total;
        string count;
        if (!string.IsNullOrEmpty(filter.Search))
        {
            // Each matching event read once: its counts are the page's, and the number of issues before the LIMIT the total.
            var events = SearchedEvents(query.ProjectId, filter, keys);
            (page, total) = await client.QueryPageAsync(
                $"""
                SELECT issue_key AS fingerprint,
                       count() AS {IssueOrdering.EventsAlias},
                       uniqIf(user_hash, user_hash != 0) AS {IssueOrdering.UsersAlias},
                       min(toUnixTimestamp(timestamp)) AS {IssueOrdering.FirstSeenAlias},
                       max(toUnixTimestamp(timestamp)) AS {IssueOrdering.LastSeenAlias}
                FROM ({events})
                GROUP BY fingerprint
                {orderAndPage}
                {ScanWithoutPrewhere}
                """,
                ReadCounts,
                cancellationToken);
            count = $"SELECT uniqExact(issue_key) AS total FROM ({events}) {ScanWithoutPrewhere}";
        }
        else
        {
            // The page is chosen by its sort key alone; only its issues then merge every aggregate: merging the users'
            // states of every issue costs several times more, and the page needs them for its own issues only.
            var (filterRows, whole) = await AggregateRowsAsync(query.ProjectId, filter, keys, cancellationToken);
            var (column, metric, alias) = query.Sort switch
            {
                IssueSort.Events => ("event_count", "countMerge", IssueOrdering.EventsAlias),
                IssueSort.Users => ("user_count", "uniqMerge", IssueOrdering.UsersAlias),
                IssueSort.FirstSeen => ("first_seen", "minMerge", IssueOrdering.FirstSeenAlias),
                _ => ("last_seen", "maxMerge", IssueOrdering.LastSeenAlias),
            };
            var byIssueTotals = whole && query.Sort == IssueSort.LastSeen && ReadsIssueTotals;
            (var pageKeys, total) = await client.QueryPageAsync(
                byIssueTotals
                    ? IssueTotalsPage(query.ProjectId, filter, keys, alias, orderAndPage)
                    : $"""
                      SELECT issue_key AS fingerprint, {metric}({column}) AS {alias}
                      FROM ({filterRows("")})
                      GROUP BY fingerprint
                      {orderAndPage}
                      """,
                row => row.GetProperty("fingerprint").GetString() ?? "",
                cancellationToken);
            page = pageKeys.Count == 0 ? [] : await client.QueryAsync(
                $"""
                SELECT issue_key AS fingerprint, {MergedCounts}
                FROM ({filterRows($" AND fingerprint IN ({keys.Members(pageKeys)})")})
                GROUP BY fingerprint
                {IssueOrdering.OrderBy(query)}
                """,
                ReadCounts,
                cancellationToken);
            count = byIssueTotals
                ? $"SELECT count() AS total FROM ({IssueTotalsPage(query.ProjectId, filter, keys, alias, "")})"
                : $"SELECT uniqExact(issue_key) AS total FROM ({filterRows("")})";
        }

        var names = await NamesAsync(query.ProjectId, keys, page.Select(row => row.Fingerprint).ToList(), cancellationToken);
        var items = page
            .Select(row => names.TryGetValue(row.Fingerprint, out var name) ? row.ToSummary(query.ProjectId, name) : null)
            .OfType<IssueSummary>()
            .ToList();
        if (total is null)
        {
            var totals = await client.QueryAsync(count, row => ClickHouseClient.ReadInt64(row.GetProperty("total")), cancellationToken);
            total = totals.Count == 0 ? 0 : totals[0];
        }

        return new IssuePage(items, total.Value);
    }

    /// <summary>
    /// Whether the list's default order (last seen, no environment, release, level or range) chooses its page from
    /// <c>issue_totals</c>, one row per issue, rather than by grouping <c>issue_days</c>' rows per issue and day. Off only
    /// in the tests that compare both.
    /// </summary>
    internal bool ReadsIssueTotals { get; set; } = true;

    /// <summary>
    /// The page's issues and their last seen from <c>issue_totals</c> (the total: the rows before the LIMIT). Without merges
    /// on one server its rows are read <c>FINAL</c> (folded per issue as they stream in key order; every condition is on
    /// the key, so it holds for each row of an issue alike) and nothing is grouped; otherwise grouped per issue, merged
    /// issues under their target. The page's counts are merged from <c>issue_days</c> afterwards, as for every order.
    /// </summary>
    private string IssueTotalsPage(int projectId, IssueFilter filter, ClickHouseIssueKeys keys, string alias, string orderAndPage)
    {
        var project = ClickHouseSql.Literal(projectId);
        var key = keys.Key();
        var fingerprints = FingerprintConditions(projectId, filter, key);
        return keys.IsEmpty && client.Cluster is null
            ? $"""
              SELECT fingerprint, finalizeAggregation(last_seen) AS {alias}
              FROM {schema.IssueTotals} FINAL
              WHERE project_id = {project} {fingerprints}
              {orderAndPage}
              """
            : $"""
              SELECT issue_key AS fingerprint, maxMerge(last_seen) AS {alias}
              FROM (SELECT {key} AS issue_key, last_seen FROM {schema.IssueTotals} WHERE project_id = {project} {fingerprints})
              GROUP BY fingerprint
              {orderAndPage}
              """;
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var keys = await KeysAsync(projectId, cancellationToken);
        if (keys.IsMerged(fingerprint))
        {
            return null;
        }

        // Counts, level and time span from issue_events (one range of its key; issue_hourly's rows of one issue lie in
        // granules of 8,192 rows of uniq states, which cost ClickHouse 18.16 two to three times more CPU to read for an issue
        // of any size: docs/benchmarks.md §18), the name from issue_firsts: one round trip. The span is kept for the events pages that follow
        // (ClickHouseIssueExtents). No constant named fingerprint here: an alias would hide the column of that name in WHERE.
        var project = ClickHouseSql.Literal(projectId);
        var members = keys.Members([fingerprint]);
        var rows = await client.QueryAsync(
            $"""
            SELECT *
            FROM
            (
                SELECT
                    count() AS {IssueOrdering.EventsAlias},
                    uniqIf(user_hash, user_hash != 0) AS {IssueOrdering.UsersAlias},
                    toUnixTimestamp(min(timestamp)) AS {IssueOrdering.FirstSeenAlias},
                    toUnixTimestamp(max(timestamp)) AS {IssueOrdering.LastSeenAlias},
                    argMax(level, timestamp) AS issue_level,
                    1 AS joined
                FROM {schema.IssueEvents}
                WHERE project_id = {project} AND fingerprint IN ({members})
                HAVING {IssueOrdering.EventsAlias} > 0
            )
            ANY INNER JOIN
            (
                SELECT
                    argMinMerge(first_title) AS issue_first_title,
                    argMinMerge(first_culprit) AS issue_first_culprit,
                    argMinMerge(first_grouping) AS issue_first_grouping,
                    1 AS joined
                FROM {schema.IssueFirsts}
                WHERE project_id = {project} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
                GROUP BY fingerprint
            ) USING joined
            """,
            row => ReadCounts(row, fingerprint).ToSummary(projectId, new IssueName(
                row.GetProperty("issue_first_title").GetString() ?? "",
                row.GetProperty("issue_first_culprit").GetString() ?? "",
                row.GetProperty("issue_level").GetString() ?? "",
                EventPayloadJson.DeserializeGrouping(row.GetProperty("issue_first_grouping").GetString()))),
            cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        var issue = rows[0];
        _extents.Remember(projectId, members, new IssueExtent(issue.EventCount, issue.FirstSeen.ToUnixTimeSeconds(), issue.LastSeen.ToUnixTimeSeconds()));
        return issue;
    }

    public async Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // LIMIT 1 BY: a duplicate that has not been merged away yet is still shown once.
        var keys = await KeysAsync(projectId, cancellationToken);
        var events = await client.QueryAsync(
            $"""
            SELECT {ClickHousePayload.Columns}
            FROM {schema.Events}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({keys.Members([fingerprint])})
            ORDER BY timestamp DESC, received_at DESC, event_id
            LIMIT 1 BY event_id
            LIMIT {ClickHouseSql.Literal(limit)}
            """,
            row => ClickHousePayload.Read(row, projectId, logger),
            cancellationToken);
        return events.OfType<ErrorEvent>().ToList();
    }

    public Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default) =>
        // Scans the project's narrow id column in issue_events (docs/storage.md, "Finding an event by its id"); the issue
        // page and the API, which know the issue, use GetIssueEventAsync.
        FindEventAsync(projectId, eventId, "", cancellationToken);

    public async Task<ErrorEvent?> GetIssueEventAsync(int projectId, string fingerprint, Guid eventId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var keys = await KeysAsync(projectId, cancellationToken);
        return keys.IsMerged(fingerprint)
            ? null
            : await FindEventAsync(projectId, eventId, $" AND fingerprint IN ({keys.Members([fingerprint])})", cancellationToken);
    }

    /// <summary>
    /// Two small reads instead of a scan of the events: <c>issue_events</c> (within <paramref name="issueCondition"/>'s
    /// issues, one range of its key, when given) gives the time and fingerprint that lead the events table's sorting key,
    /// and the payload is read there.
    /// </summary>
    private async Task<ErrorEvent?> FindEventAsync(int projectId, Guid eventId, string issueCondition, CancellationToken cancellationToken)
    {
        var project = ClickHouseSql.Literal(projectId);
        var id = ClickHouseSql.Literal(eventId);
        var locations = await client.QueryAsync(
            $"""
            SELECT toUnixTimestamp(timestamp) AS seconds, fingerprint
            FROM {schema.IssueEvents}
            PREWHERE project_id = {project}{issueCondition} AND event_id = {id}
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
            SELECT {ClickHousePayload.Columns}
            FROM {schema.Events}
            WHERE project_id = {project}
              AND timestamp = toDateTime({ClickHouseSql.Literal(seconds)}, 'UTC')
              AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
              AND event_id = {id}
            LIMIT 1
            """,
            row => ClickHousePayload.Read(row, projectId, logger),
            cancellationToken);
        return events.Count == 0 ? null : events[0];
    }

    private const string MergedCounts = $"""
        countMerge(event_count) AS {IssueOrdering.EventsAlias},
        uniqMerge(user_count) AS {IssueOrdering.UsersAlias},
        minMerge(first_seen) AS {IssueOrdering.FirstSeenAlias},
        maxMerge(last_seen) AS {IssueOrdering.LastSeenAlias}
        """;

    /// <summary>
    /// The aggregate rows (<c>issue_key</c> and the states <c>event_count, user_count, first_seen, last_seen</c>) of the
    /// events a filter without a search selects, as a function of a further condition on them: the issue list merges them.
    /// Whole days come from <c>issue_days</c>, which holds several times fewer rows than <c>issue_hourly</c>; the hours of a
    /// range's first and last day that the range cuts come from <c>issue_hourly</c>, or, with an environment, release or
    /// level, from the events' own rows in <c>issue_events</c>, made into the same states. A range that holds every event
    /// of the project reads as no range. <c>Whole</c>: no environment, release, level or range (every event of the project).
    /// </summary>
    private async Task<(Func<string, string> Rows, bool Whole)> AggregateRowsAsync(int projectId, IssueFilter filter, ClickHouseIssueKeys keys, CancellationToken cancellationToken)
    {
        var project = ClickHouseSql.Literal(projectId);
        var key = keys.Key();
        var facets = FacetConditions(filter);
        var fingerprints = FingerprintConditions(projectId, filter, key);
        var (start, end) = (filter.RangeStart, filter.RangeEnd);
        if (start is not null || end is not null)
        {
            var seen = await client.QueryAsync(
                $"SELECT minMerge(first_seen) AS first_second, maxMerge(last_seen) AS last_second FROM {schema.IssueDays} WHERE project_id = {project}",
                row => (First: ClickHouseClient.ReadInt64(row.GetProperty("first_second")), Last: ClickHouseClient.ReadInt64(row.GetProperty("last_second"))),
                cancellationToken);
            if (seen.Count == 0 || ((start is null || start.Value.ToUnixTimeSeconds() <= seen[0].First) && (end is null || end.Value.ToUnixTimeSeconds() > seen[0].Last)))
            {
                (start, end) = (null, null);
            }
        }

        // Whole days inside the range; the cut days' hours beside them.
        var firstWholeDay = start is { } since ? DayCeiling(since) : (DateTimeOffset?)null;
        var endOfWholeDays = end is { } until ? DayFloor(until) : (DateTimeOffset?)null;
        if (firstWholeDay is { } from && endOfWholeDays is { } to && to < from)
        {
            // The range lies within one day: its hours only.
            (firstWholeDay, endOfWholeDays) = (from, from);
        }

        var days = new System.Text.StringBuilder();
        if (firstWholeDay is { } dayFrom)
        {
            days.Append(" AND day >= ").Append(DateTimeLiteral(dayFrom));
        }

        if (endOfWholeDays is { } dayTo)
        {
            days.Append(" AND day < ").Append(DateTimeLiteral(dayTo));
        }

        var cuts = new List<(DateTimeOffset From, DateTimeOffset To)>();
        if (start is { } rangeStart && firstWholeDay is { } wholeFrom && rangeStart < wholeFrom)
        {
            cuts.Add((rangeStart, end is { } rangeEnd && rangeEnd < wholeFrom ? rangeEnd : wholeFrom));
        }

        if (end is { } rangeUntil && endOfWholeDays is { } wholeTo && wholeTo < rangeUntil && (cuts.Count == 0 || cuts[0].To <= wholeTo))
        {
            cuts.Add((start is { } cutStart && cutStart > wholeTo ? cutStart : wholeTo, rangeUntil));
        }

        var whole = facets.Length == 0 && start is null && end is null;
        return (more =>
        {
            var parts = new List<string>();
            if (firstWholeDay is null || endOfWholeDays is null || firstWholeDay < endOfWholeDays)
            {
                parts.Add($"""
                    SELECT {key} AS issue_key, event_count, user_count, first_seen, last_seen
                    FROM {schema.IssueDays}
                    WHERE project_id = {project} {facets}{days} {fingerprints}{more}
                    """);
            }

            foreach (var (cutFrom, cutTo) in cuts)
            {
                parts.Add(facets.Length == 0
                    ? $"""
                      SELECT {key} AS issue_key, event_count, user_count, first_seen, last_seen
                      FROM {schema.IssueHourly}
                      WHERE project_id = {project} AND hour >= {DateTimeLiteral(cutFrom)} AND hour < {DateTimeLiteral(cutTo)} {fingerprints}{more}
                      """
                    : $"""
                      SELECT {key} AS issue_key,
                             countState() AS event_count,
                             uniqStateIf(user_hash, user_hash != 0) AS user_count,
                             minState(toUnixTimestamp(timestamp)) AS first_seen,
                             maxState(toUnixTimestamp(timestamp)) AS last_seen
                      FROM {schema.IssueEvents}
                      WHERE project_id = {project} {facets} AND timestamp >= {DateTimeLiteral(cutFrom)} AND timestamp < {DateTimeLiteral(cutTo)} {fingerprints}{more}
                      GROUP BY issue_key
                      """);
            }

            return string.Join("\nUNION ALL\n", parts);
        }, whole);
    }

    /// <summary>
    /// A search reads every event of the project (or of its time range): a scan. ClickHouse 18.16 moves its conditions to
    /// <c>PREWHERE</c> by itself, and on <c>issue_events</c>, indexed every 1,024 rows for the issue page's point reads,
    /// that scan then runs in small blocks: 530-620 ms for 1,000,000 events against 130-170 ms without the move
    /// (docs/benchmarks.md §20). Every row is read either way, so nothing is gained by the move.
    /// </summary>
    private const string ScanWithoutPrewhere = "SETTINGS optimize_move_to_prewhere = 0";

    /// <summary>
    /// The events a search selects (<c>issue_key, user_hash, timestamp</c>), the search text named once as
    /// <c>searched</c> (repeated in each condition it could pass 18.x's 256 KiB query size): from <c>issue_events</c>'
    /// joined text, or, for a search that holds its separator, from the events' own columns.
    /// </summary>
    private string SearchedEvents(int projectId, IssueFilter filter, ClickHouseIssueKeys keys)
    {
        var search = filter.Search!;
        var (table, condition) = search.Contains(ClickHouseSchema.SearchSeparator, StringComparison.Ordinal)
            ? (schema.Events, EventSearchCondition)
            : (schema.IssueEvents, " AND positionCaseInsensitiveUTF8(search_text, searched) > 0");
        return $"""
            WITH {ClickHouseSql.Quote(search)} AS searched
            SELECT {keys.Key()} AS issue_key, user_hash, timestamp
            FROM {table}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} {EventConditions(filter)}{condition} {FingerprintConditions(projectId, filter, keys.Key())}
            """;
    }

    /// <summary>
    /// The issues' own names and levels, whatever the list's filter: the title, culprit and grouping of the first event
    /// (issue_firsts), the level of the latest (the level of the issue's most recent row in issue_days).
    /// </summary>
    private async Task<Dictionary<string, IssueName>> NamesAsync(int projectId, ClickHouseIssueKeys keys, List<string> issues, CancellationToken cancellationToken)
    {
        var names = new Dictionary<string, IssueName>(StringComparer.Ordinal);
        if (issues.Count == 0)
        {
            return names;
        }

        var project = ClickHouseSql.Literal(projectId);
        foreach (var name in await client.QueryAsync(
            $"""
            SELECT *
            FROM
            (
                SELECT issue_key AS fingerprint, argMax(level, level_seen) AS issue_level
                FROM
                (
                    SELECT {keys.Key()} AS issue_key, level, maxMerge(last_seen) AS level_seen
                    FROM {schema.IssueDays}
                    WHERE project_id = {project} AND fingerprint IN ({keys.Members(issues)})
                    GROUP BY issue_key, level
                )
                GROUP BY fingerprint
            )
            ANY LEFT JOIN
            (
                SELECT
                    fingerprint,
                    argMinMerge(first_title) AS issue_first_title,
                    argMinMerge(first_culprit) AS issue_first_culprit,
                    argMinMerge(first_grouping) AS issue_first_grouping
                FROM {schema.IssueFirsts}
                WHERE project_id = {project} AND fingerprint IN ({string.Join(", ", issues.Select(ClickHouseSql.Quote))})
                GROUP BY fingerprint
            ) USING fingerprint
            """,
            row => (
                Fingerprint: row.GetProperty("fingerprint").GetString() ?? "",
                Name: new IssueName(
                    row.GetProperty("issue_first_title").GetString() ?? "",
                    row.GetProperty("issue_first_culprit").GetString() ?? "",
                    row.GetProperty("issue_level").GetString() ?? "",
                    EventPayloadJson.DeserializeGrouping(row.GetProperty("issue_first_grouping").GetString()))),
            cancellationToken))
        {
            names[name.Fingerprint] = name.Name;
        }

        return names;
    }

    private static IssueCounts ReadCounts(JsonElement row) => ReadCounts(row, row.GetProperty("fingerprint").GetString() ?? "");

    private static IssueCounts ReadCounts(JsonElement row, string fingerprint) => new(
        fingerprint,
        ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.EventsAlias)),
        ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.UsersAlias)),
        ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.FirstSeenAlias)),
        ClickHouseClient.ReadInt64(row.GetProperty(IssueOrdering.LastSeenAlias)));

    private static DateTimeOffset DayFloor(DateTimeOffset value)
    {
        var seconds = Math.Clamp(value.ToUnixTimeSeconds(), 0, uint.MaxValue);
        return DateTimeOffset.FromUnixTimeSeconds(seconds - (seconds % 86_400));
    }

    private static DateTimeOffset DayCeiling(DateTimeOffset value)
    {
        var floor = DayFloor(value);
        return floor < value ? floor.AddDays(1) : floor;
    }

    /// <summary>An issue's counts in a list (of the events its filter selects), in unix seconds.</summary>
    private sealed record IssueCounts(string Fingerprint, long Events, long Users, long FirstSeen, long LastSeen)
    {
        public IssueSummary ToSummary(int projectId, IssueName name) => new(
            projectId,
            Fingerprint,
            name.Title,
            name.Culprit,
            name.Level,
            Events,
            Users,
            StoreTime.FromUnixSeconds(FirstSeen),
            StoreTime.FromUnixSeconds(LastSeen))
        {
            Grouping = name.Grouping,
        };
    }

    /// <summary>What names an issue whatever a list's filter: its first event's title, culprit and grouping, its latest event's level.</summary>
    private sealed record IssueName(string Title, string Culprit, string Level, IssueGrouping? Grouping);

    /// <summary>
    /// The search on the events' own columns (<c>searched</c> is the search text): for a search that holds the
    /// separator of <c>issue_events.search_text</c>'s joined text, where a match across two fields must not count.
    /// </summary>
    private const string EventSearchCondition = """
         AND (positionCaseInsensitiveUTF8(title, searched) > 0
              OR positionCaseInsensitiveUTF8(culprit, searched) > 0
              OR positionCaseInsensitiveUTF8(message, searched) > 0
              OR arrayExists(exception_type -> positionCaseInsensitiveUTF8(exception_type, searched) > 0, exceptions.type)
              OR arrayExists(exception_value -> positionCaseInsensitiveUTF8(exception_value, searched) > 0, exceptions.value)
              OR positionCaseInsensitiveUTF8(user_id, searched) > 0
              OR positionCaseInsensitiveUTF8(user_email, searched) > 0
              OR positionCaseInsensitiveUTF8(user_username, searched) > 0)
        """;

    /// <summary>The filter's environment, release and level: columns of the events table, issue_events and issue_days alike.</summary>
    private static string FacetConditions(IssueFilter filter)
    {
        var conditions = new System.Text.StringBuilder();
        if (filter.Environment is { } environment)
        {
            conditions.Append(" AND environment = ").Append(ClickHouseSql.Quote(environment));
        }

        if (filter.Level is { } level)
        {
            conditions.Append(" AND level = ").Append(ClickHouseSql.Quote(level));
        }

        if (filter.Release is { } release)
        {
            conditions.Append(" AND release = ").Append(ClickHouseSql.Quote(release));
        }

        return conditions.ToString();
    }

    /// <summary>The filter's time range and facets on a table of events (a missing environment or release is an empty string there).</summary>
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

        return conditions.Append(FacetConditions(filter)).ToString();
    }

    /// <summary>The filter's issues (in or out, and by their stored triage status) by <paramref name="key"/>, the issue a row belongs to.</summary>
    private string FingerprintConditions(int projectId, IssueFilter filter, string key)
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

        if (filter.Statuses is { } statuses)
        {
            // A set ClickHouse builds once per query from the states' latest rows (ClickHouseIssueStates.LatestRows).
            string StatesNamed(IEnumerable<string> names) =>
                $"SELECT fingerprint FROM {ClickHouseIssueStates.LatestRows(_issueStates)} " +
                $"WHERE project_id = {ClickHouseSql.Literal(projectId)} AND status IN ({string.Join(", ", names.Select(ClickHouseSql.Quote))})";
            var byStatus = statuses.Contains(IssueStatus.Unresolved)
                ? filter.ExcludedStatusNames is { Count: > 0 } excludedNames ? $"{key} NOT IN ({StatesNamed(excludedNames)})" : "1"
                : statuses.Count > 0 ? $"{key} IN ({StatesNamed(statuses.Distinct().Select(StoredNames.Of))})" : "0";
            conditions.Append(filter.StatusExceptions is { Count: > 0 } also
                ? $" AND ({byStatus} OR {key} IN ({string.Join(", ", also.Select(ClickHouseSql.Quote))}))"
                : $" AND {byStatus}");
        }

        return conditions.ToString();
    }

    private static string DateTimeLiteral(DateTimeOffset value) =>
        $"toDateTime({ClickHouseSql.Literal(Math.Clamp(value.ToUnixTimeSeconds(), 0, uint.MaxValue))}, 'UTC')";

    public async Task<IssueFilterValues> GetFilterValuesAsync(int projectId, CancellationToken cancellationToken = default)
    {
        async Task<IReadOnlyList<string>> DistinctAsync(string column) => await client.QueryAsync(
            $"""
            SELECT {column} AS value, maxMerge(last_seen) AS seen
            FROM {schema.IssueDays}
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

    /// <summary>An issue with at most this many stored rows has an events page read from all of them in one query.</summary>
    private const long WholeIssueReadLimit = 20_000;

    public async Task<EventPage> GetEventPageAsync(EventQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return new EventPage([], null);
        }

        // The issue's rows, the cursor and a window (narrow columns of the key) go in PREWHERE: ClickHouse then reads the
        // wide columns (user, URL, ...) for the rows that pass them only, which cut the CPU of reading a small issue's page
        // on 18.16 by about a third (its rows are a few in each of dozens of parts' granules). A search reads them anyway.
        var conditions = new System.Text.StringBuilder();
        if (query.After is { } after)
        {
            // Cursors count milliseconds; this table keeps whole seconds (a stored time is its event's time cut to the second).
            var time = DateTimeLiteral(DateTimeOffset.FromUnixTimeSeconds(Math.DivRem(after.Time, 1000, out var rest) - (rest < 0 ? 1 : 0)));
            conditions.Append($" AND (timestamp {(query.OldestFirst ? ">" : "<")} {time} OR (timestamp = {time} AND event_id > {ClickHouseSql.Literal(after.EventId)}))");
        }

        var with = "";
        var searched = "";
        if (!string.IsNullOrEmpty(query.Search))
        {
            with = $"WITH {ClickHouseSql.Quote(query.Search)} AS search_text";
            searched = """
                WHERE positionCaseInsensitiveUTF8(user_id, search_text) > 0 OR positionCaseInsensitiveUTF8(user_email, search_text) > 0
                      OR positionCaseInsensitiveUTF8(user_username, search_text) > 0 OR positionCaseInsensitiveUTF8(url, search_text) > 0
                      OR positionCaseInsensitiveUTF8(release, search_text) > 0 OR positionCaseInsensitiveUTF8(environment, search_text) > 0
                """;
        }

        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var members = keys.Members([query.Fingerprint]);
        var issueRows = $"project_id = {ClickHouseSql.Literal(query.ProjectId)} AND fingerprint IN ({members})";
        async Task<IReadOnlyList<EventRow>> ReadAsync(string window) => await client.QueryAsync(
            $"""
            {with}
            SELECT {EventRowColumns}
            FROM {schema.IssueEvents}
            PREWHERE {issueRows} {conditions}{window}
            {searched}
            ORDER BY timestamp {(query.OldestFirst ? "ASC" : "DESC")}, event_id ASC
            LIMIT 1 BY event_id
            LIMIT {ClickHouseSql.Literal(query.Limit + 1)}
            """,
            ReadEventRow,
            cancellationToken);

        // 18.16 sorts every row a query reads, and an issue's rows are in time order in the table's key: a page of a large
        // issue is read first within an hour, a day, a month of its starting point (the cursor, else the issue's newest or
        // oldest event), which reads a few granules instead of all of its events. A window that holds more rows than the
        // page holds the page (every row outside it lies beyond every row inside); otherwise the next, wider one. One
        // look at the issue's rows first gives its size and starting point: a small issue (most of them) is read whole at
        // once, since each window is a round trip. A search may match few rows anywhere: it reads the whole issue at once.
        // That look is skipped when this reader saw the issue's rows within the last few seconds (the issue page reads the
        // issue first, then five pages): the size and ends only choose the reads, never what a page holds.
        IReadOnlyList<EventRow> rows = [];
        if (string.IsNullOrEmpty(query.Search))
        {
            if (!_extents.TryGet(query.ProjectId, members, out var extent))
            {
                var sizes = await client.QueryAsync(
                    $"""
                    SELECT count() AS events, toUnixTimestamp(min(timestamp)) AS oldest, toUnixTimestamp(max(timestamp)) AS newest
                    FROM {schema.IssueEvents}
                    WHERE {issueRows}
                    """,
                    row => new IssueExtent(
                        ClickHouseClient.ReadInt64(row.GetProperty("events")),
                        ClickHouseClient.ReadInt64(row.GetProperty("oldest")),
                        ClickHouseClient.ReadInt64(row.GetProperty("newest"))),
                    cancellationToken);
                extent = sizes.Count == 0 ? default : sizes[0];
                if (extent.Rows == 0)
                {
                    return new EventPage([], null);
                }

                _extents.Remember(query.ProjectId, members, extent);
            }

            var anchor = DateTimeLiteral(query.After is { } cursor
                ? DateTimeOffset.FromUnixTimeSeconds(Math.DivRem(cursor.Time, 1000, out var remainder) - (remainder < 0 ? 1 : 0))
                : DateTimeOffset.FromUnixTimeSeconds(query.OldestFirst ? extent.OldestSecond : extent.NewestSecond));
            var windows = extent.Rows > WholeIssueReadLimit ? new long[] { 3_600, 86_400, 30 * 86_400 } : [];
            foreach (var span in windows)
            {
                rows = await ReadAsync(query.OldestFirst
                    ? $" AND timestamp <= {anchor} + {ClickHouseSql.Literal(span)}"
                    : $" AND timestamp >= {anchor} - {ClickHouseSql.Literal(span)}");
                if (rows.Count > query.Limit)
                {
                    break;
                }
            }
        }

        if (rows.Count <= query.Limit)
        {
            rows = await ReadAsync("");
        }

        return rows.Count > query.Limit
            ? new EventPage([.. rows.Take(query.Limit)], rows[query.Limit - 1].Cursor)
            : new EventPage(rows, null);
    }

    private const string EventRowColumns = "event_id, toUnixTimestamp(timestamp) AS seconds, level, user_id, user_email, user_username, url, release, environment";

    private static EventRow ReadEventRow(JsonElement row)
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
    }

    /// <summary>Each user's identity and URL are those of their latest event in the issue.</summary>
    private const string AffectedUserIdentity = """
        argMax(user_id, timestamp) AS latest_id,
        argMax(user_email, timestamp) AS latest_email,
        argMax(user_username, timestamp) AS latest_username,
        argMax(user_ip, timestamp) AS latest_ip,
        argMax(url, timestamp) AS latest_url
        """;

    private const string AffectedUserCounts = "count() AS events, min(toUnixTimestamp(timestamp)) AS first_seen, max(toUnixTimestamp(timestamp)) AS last_seen";

    public async Task<AffectedUserPage> GetAffectedUsersAsync(AffectedUserQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return new AffectedUserPage([], 0);
        }

        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var issueUsers = $"project_id = {ClickHouseSql.Literal(query.ProjectId)} AND fingerprint IN ({keys.Members([query.Fingerprint])}) AND user_hash != 0";
        var page = $"ORDER BY last_seen DESC, user_hash LIMIT {ClickHouseSql.Literal(query.Offset)}, {ClickHouseSql.Literal(query.Limit)}";

        if (!string.IsNullOrEmpty(query.Search))
        {
            // A search matches the identity, so every user's identity is needed to choose the page.
            var (found, foundTotal) = await client.QueryPageAsync(
                $"""
                WITH {ClickHouseSql.Quote(query.Search)} AS search_text
                SELECT user_hash, {AffectedUserCounts}, {AffectedUserIdentity}
                FROM {schema.IssueEvents}
                WHERE {issueUsers}
                GROUP BY user_hash
                HAVING positionCaseInsensitiveUTF8(latest_id, search_text) > 0 OR positionCaseInsensitiveUTF8(latest_email, search_text) > 0
                    OR positionCaseInsensitiveUTF8(latest_username, search_text) > 0
                {page}
                """,
                row => ReadAffectedUser(row, row),
                cancellationToken);
            return new AffectedUserPage(found, foundTotal ?? found.Count);
        }

        // The page is chosen by numbers alone (one pass over the issue's user_hash and timestamp columns); only its
        // users' identities are then read: five argMax of strings over every user of a large issue cost several times more.
        var (counts, total) = await client.QueryPageAsync(
            $"""
            SELECT user_hash, {AffectedUserCounts}
            FROM {schema.IssueEvents}
            WHERE {issueUsers}
            GROUP BY user_hash
            {page}
            """,
            row => (Hash: UserHashOf(row), Row: row.Clone()),
            cancellationToken);
        if (counts.Count == 0)
        {
            return new AffectedUserPage([], total ?? 0);
        }

        // PREWHERE: the five strings are read for the page's users' rows only (on 18.16 this cut the query's CPU by a third
        // to a half for an issue of any size).
        var identities = (await client.QueryAsync(
            $"""
            SELECT user_hash, {AffectedUserIdentity}
            FROM {schema.IssueEvents}
            PREWHERE {issueUsers} AND user_hash IN ({string.Join(", ", counts.Select(c => c.Hash.ToString(System.Globalization.CultureInfo.InvariantCulture)))})
            GROUP BY user_hash
            """,
            row => (Hash: UserHashOf(row), Row: row.Clone()),
            cancellationToken)).ToDictionary(i => i.Hash, i => i.Row);
        var items = counts
            .Where(c => identities.ContainsKey(c.Hash))
            .Select(c => ReadAffectedUser(identities[c.Hash], c.Row))
            .ToList();
        return new AffectedUserPage(items, total ?? items.Count);
    }

    public async IAsyncEnumerable<AffectedUser> ReadAllAffectedUsersAsync(
        int projectId, string fingerprint, string? search, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new AffectedUserQuery(projectId, fingerprint) { Search = search };
        query.Validate();
        if (query.MatchesNothing)
        {
            yield break;
        }

        // Every user's counts and identity in one pass (a page's two steps would read the issue once per page); ClickHouse
        // sorts the groups and then streams them, and the rows are handed on as they arrive.
        var keys = await KeysAsync(projectId, cancellationToken);
        var matching = string.IsNullOrEmpty(search)
            ? ""
            : $"""
                HAVING positionCaseInsensitiveUTF8(latest_id, {ClickHouseSql.Quote(search)}) > 0 OR positionCaseInsensitiveUTF8(latest_email, {ClickHouseSql.Quote(search)}) > 0
                    OR positionCaseInsensitiveUTF8(latest_username, {ClickHouseSql.Quote(search)}) > 0
                """;
        var users = client.QueryRowsAsStreamedAsync(
            $"""
            SELECT user_hash, {AffectedUserCounts}, {AffectedUserIdentity}
            FROM {schema.IssueEvents}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint IN ({keys.Members([fingerprint])}) AND user_hash != 0
            GROUP BY user_hash
            {matching}
            ORDER BY last_seen DESC, user_hash
            """,
            row => ReadAffectedUser(row, row),
            cancellationToken);
        await foreach (var user in users)
        {
            yield return user;
        }
    }

    private static ulong UserHashOf(JsonElement row) =>
        ulong.Parse(row.GetProperty("user_hash").GetString() ?? "", System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);

    private static AffectedUser ReadAffectedUser(JsonElement identity, JsonElement counts) => new(
        Text(identity, "latest_id"),
        Text(identity, "latest_email"),
        Text(identity, "latest_username"),
        Text(identity, "latest_ip"),
        ClickHouseClient.ReadInt64(counts.GetProperty("events")),
        StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(counts.GetProperty("first_seen"))),
        StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(counts.GetProperty("last_seen"))),
        Text(identity, "latest_url"));

    public async Task<IssueBreakdowns> GetBreakdownsAsync(BreakdownQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return IssueBreakdowns.Empty;
        }

        // The issue's own events and those of the issues merged into it.
        var keys = await KeysAsync(query.ProjectId, cancellationToken);
        var where = new System.Text.StringBuilder($"project_id = {ClickHouseSql.Literal(query.ProjectId)} AND fingerprint IN ({keys.Members([query.Fingerprint])})");
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

        // One query: each event becomes one (dimension, value) pair per dimension, counted per value; then per dimension
        // the events (every event gives each dimension one pair, empty or not), those with a value, and the top values
        // (most events first, then by value). It was two queries, one for the totals; on 18.16 each query costs a fixed
        // few milliseconds of CPU however few rows it reads.
        var pairs = string.Join(", ", dimensions.Select(d => $"({ClickHouseSql.Literal((int)d.Dimension)}, {d.Column})"));
        var perDimension = await client.QueryAsync(
            $"""
            SELECT dimension,
                   sum(events) AS dimension_events,
                   sumIf(events, value != '') AS with_value,
                   arraySlice(arraySort(counted -> (-tupleElement(counted, 2), tupleElement(counted, 1)), groupArrayIf((value, events), value != '')), 1, {ClickHouseSql.Literal(query.Limit)}) AS top_values
            FROM
            (
                SELECT dimension, value, count() AS events
                FROM
                (
                    SELECT arrayJoin([{pairs}]) AS pair, tupleElement(pair, 1) AS dimension, tupleElement(pair, 2) AS value
                    FROM {schema.IssueEvents}
                    WHERE {where}
                )
                GROUP BY dimension, value
            )
            GROUP BY dimension
            """,
            row =>
            {
                var dimension = (BreakdownDimension)(int)ClickHouseClient.ReadInt64(row.GetProperty("dimension"));
                var withValue = ClickHouseClient.ReadInt64(row.GetProperty("with_value"));
                return (
                    Events: ClickHouseClient.ReadInt64(row.GetProperty("dimension_events")),
                    Values: row.GetProperty("top_values").EnumerateArray()
                        .Select(counted => (dimension, counted[0].GetString() ?? "", ClickHouseClient.ReadInt64(counted[1]), withValue))
                        .ToList());
            },
            cancellationToken);
        var events = perDimension.Count == 0 ? 0 : perDimension[0].Events;
        return events == 0 ? IssueBreakdowns.Empty : IssueBreakdowns.From(events, perDimension.SelectMany(d => d.Values));
    }

    /// <summary>Missing strings are empty in the columns; callers see null, as from the payload.</summary>
    private static string? Text(JsonElement row, string column) =>
        row.GetProperty(column).GetString() is { Length: > 0 } text ? text : null;

    private Task<ClickHouseIssueKeys> KeysAsync(int projectId, CancellationToken cancellationToken) =>
        merges.KeysAsync(projectId, cancellationToken);


}
