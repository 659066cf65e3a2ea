using System.Globalization;
using System.Runtime.CompilerServices;
using ErrorHub.Storage.Events;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Issues and events on SQLite: the issue list reads the aggregates the writer keeps, events their payload.</summary>
internal sealed class SqliteIssueReader(SqliteDatabase database) : IIssueReader
{
    private const string IssueColumns = $"""
        fingerprint, title, culprit, level,
        event_count AS {IssueOrdering.EventsAlias}, user_count AS {IssueOrdering.UsersAlias},
        first_seen AS {IssueOrdering.FirstSeenAlias}, last_seen AS {IssueOrdering.LastSeenAlias},
        grouping
        """;

    public async Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        var orderAndPage = IssueOrdering.OrderAndPage(query);
        if (!query.Filter.IsEmpty)
        {
            return await GetFilteredIssuesAsync(query, orderAndPage, cancellationToken);
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        if (await SqliteIssueMerges.AnyAsync(connection, transaction, query.ProjectId, cancellationToken))
        {
            return await GetMergedIssuesAsync(connection, transaction, query, orderAndPage, cancellationToken);
        }

        return await GetIssuesByFingerprintAsync(connection, transaction, query, orderAndPage, cancellationToken);
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // The issue with the issues merged into it: their counts add up, users are counted once; a merged issue is no issue of its own.
        command.CommandText = $"""
            SELECT t.fingerprint, t.title, t.culprit, t.level,
                   sum(i.event_count),
                   CASE WHEN count(*) = 1 THEN max(i.user_count)
                        ELSE (SELECT count(DISTINCT u.user_hash) FROM issue_users AS u WHERE u.project_id = $project AND u.fingerprint IN {SqliteIssueMerges.Members("$fingerprint")}) END,
                   min(i.first_seen), max(i.last_seen), t.grouping
            FROM issues AS t
            JOIN issues AS i ON i.project_id = t.project_id AND i.fingerprint IN {SqliteIssueMerges.Members("$fingerprint")}
            WHERE t.project_id = $project AND t.fingerprint = $fingerprint AND NOT {SqliteIssueMerges.IsMerged("$fingerprint")}
            GROUP BY t.fingerprint
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadIssue(projectId, reader) : null;
    }

    public async Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT payload
            FROM events
            WHERE project_id = $project AND fingerprint IN {SqliteIssueMerges.Members("$fingerprint")}
            ORDER BY timestamp DESC, received_at DESC, event_id
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$limit", limit);
        var events = new List<ErrorEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(EventPayloadJson.Deserialize(reader.GetString(0)));
        }

        return events;
    }

    public async Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM events WHERE project_id = $project AND event_id = $event";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$event", eventId);
        var payload = await command.ExecuteScalarAsync(cancellationToken);
        return payload is string json ? EventPayloadJson.Deserialize(json) : null;
    }

    public async Task<ErrorEvent?> GetIssueEventAsync(int projectId, string fingerprint, Guid eventId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT payload FROM events
            WHERE project_id = $project AND event_id = $event AND fingerprint IN {SqliteIssueMerges.Members("$fingerprint")}
              AND NOT {SqliteIssueMerges.IsMerged("$fingerprint")}
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$event", eventId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        var payload = await command.ExecuteScalarAsync(cancellationToken);
        return payload is string json ? EventPayloadJson.Deserialize(json) : null;
    }

    /// <summary>Issues counted from their matching events (the per-issue aggregates count all of them).</summary>
    private async Task<IssuePage> GetFilteredIssuesAsync(IssueQuery query, string orderAndPage, CancellationToken cancellationToken)
    {
        var filter = query.Filter;
        filter.ValidateFingerprints();
        if (filter.MatchesNothing)
        {
            return new IssuePage([], 0);
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        var merged = await SqliteIssueMerges.AnyAsync(connection, transaction, query.ProjectId, cancellationToken);
        if (filter.OnlyFingerprints)
        {
            return merged
                ? await GetMergedIssuesAsync(connection, transaction, query, orderAndPage, cancellationToken)
                : await GetIssuesByFingerprintAsync(connection, transaction, query, orderAndPage, cancellationToken);
        }

        // Events of merged issues count for the issue they were merged into.
        var key = merged ? SqliteIssueMerges.IssueKey("e") : "e.fingerprint";
        return await ReadIssuePageAsync(
            connection,
            transaction,
            query.ProjectId,
            command =>
            {
                AddFilterParameters(command, query.ProjectId, filter);
                return $"""
                    SELECT k.issue_key AS fingerprint, i.title, i.culprit, i.level,
                           count(*) AS {IssueOrdering.EventsAlias},
                           count(DISTINCT nullif(k.user_hash, 0)) AS {IssueOrdering.UsersAlias},
                           min(k.timestamp) AS {IssueOrdering.FirstSeenAlias},
                           max(k.timestamp) AS {IssueOrdering.LastSeenAlias},
                           i.grouping
                    FROM (
                        SELECT {key} AS issue_key, e.user_hash AS user_hash, e.timestamp AS timestamp
                        FROM issue_events AS e
                        WHERE e.project_id = $project {EventConditions(filter)} {FingerprintConditions(command, filter, key)}
                    ) AS k
                    JOIN issues AS i ON i.project_id = $project AND i.fingerprint = k.issue_key
                    GROUP BY k.issue_key
                    {orderAndPage}
                    """;
            },
            count =>
            {
                AddFilterParameters(count, query.ProjectId, filter);
                return $"SELECT count(DISTINCT {key}) FROM issue_events AS e WHERE e.project_id = $project {EventConditions(filter)} {FingerprintConditions(count, filter, key)}";
            },
            cancellationToken);
    }

    /// <summary>A triage tab without other filters: the per-issue aggregates, narrowed to (or short of) some issues.</summary>
    private static async Task<IssuePage> GetIssuesByFingerprintAsync(
        SqliteConnection connection, SqliteTransaction transaction, IssueQuery query, string orderAndPage, CancellationToken cancellationToken)
    {
        return await ReadIssuePageAsync(
            connection,
            transaction,
            query.ProjectId,
            command => WithProject(command, query.ProjectId, $"""
                SELECT {IssueColumns}
                FROM issues AS e
                WHERE project_id = $project {FingerprintConditions(command, query.Filter)}
                {orderAndPage}
                """),
            count => WithProject(count, query.ProjectId, $"SELECT count(*) FROM issues AS e WHERE project_id = $project {FingerprintConditions(count, query.Filter)}"),
            cancellationToken);
    }

    /// <summary>
    /// A project with merged issues: the per-issue aggregates of each issue and those merged into it, added up (users
    /// counted once across them), named by the issue itself; narrowed to (or short of) the filter's issues.
    /// </summary>
    private static async Task<IssuePage> GetMergedIssuesAsync(
        SqliteConnection connection, SqliteTransaction transaction, IssueQuery query, string orderAndPage, CancellationToken cancellationToken)
    {
        var key = SqliteIssueMerges.IssueKey("i");
        return await ReadIssuePageAsync(
            connection,
            transaction,
            query.ProjectId,
            command => WithProject(command, query.ProjectId, $"""
                SELECT k.issue_key AS fingerprint, t.title, t.culprit, t.level,
                       sum(k.event_count) AS {IssueOrdering.EventsAlias},
                       CASE WHEN count(*) = 1 THEN max(k.user_count)
                            ELSE (SELECT count(DISTINCT u.user_hash) FROM issue_users AS u
                                  WHERE u.project_id = $project AND u.fingerprint IN {SqliteIssueMerges.Members("k.issue_key")}) END AS {IssueOrdering.UsersAlias},
                       min(k.first_seen) AS {IssueOrdering.FirstSeenAlias},
                       max(k.last_seen) AS {IssueOrdering.LastSeenAlias},
                       t.grouping
                FROM (
                    SELECT {key} AS issue_key, i.event_count, i.user_count, i.first_seen, i.last_seen
                    FROM issues AS i
                    WHERE i.project_id = $project {FingerprintConditions(command, query.Filter, key)}
                ) AS k
                JOIN issues AS t ON t.project_id = $project AND t.fingerprint = k.issue_key
                GROUP BY k.issue_key
                {orderAndPage}
                """),
            count => WithProject(count, query.ProjectId, $"SELECT count(DISTINCT {key}) FROM issues AS i WHERE i.project_id = $project {FingerprintConditions(count, query.Filter, key)}"),
            cancellationToken);
    }

    private static string WithProject(SqliteCommand command, int projectId, string sql)
    {
        command.Parameters.AddWithValue("$project", projectId);
        return sql;
    }

    /// <summary>
    /// A page of issues and the total count, each from its own statement in the caller's read transaction.
    /// <paramref name="items"/> and <paramref name="total"/> write a statement and add all its parameters.
    /// </summary>
    private static async Task<IssuePage> ReadIssuePageAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        int projectId,
        Func<SqliteCommand, string> items,
        Func<SqliteCommand, string> total,
        CancellationToken cancellationToken)
    {
        var page = new List<IssueSummary>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = items(command);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                page.Add(ReadIssue(projectId, reader));
            }
        }

        await using var count = connection.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = total(count);
        return new IssuePage(page, Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// IN and NOT IN conditions on <paramref name="column"/> (the issue an event belongs to). Each list of names is one parameter,
    /// a JSON array read as a set (any number of names: a parameter per name stopped at SQLite's limit on parameters).
    /// </summary>
    private static string FingerprintConditions(SqliteCommand command, IssueFilter filter, string column = "e.fingerprint")
    {
        var conditions = new System.Text.StringBuilder();
        string? Named(IReadOnlyCollection<string>? fingerprints, string name)
        {
            if (fingerprints is not { Count: > 0 })
            {
                return null;
            }

            command.Parameters.AddWithValue(name, System.Text.Json.JsonSerializer.Serialize(fingerprints, FingerprintJson.Default.IReadOnlyCollectionString));
            return $"(SELECT value FROM json_each({name}))";
        }

        if (Named(filter.Fingerprints, "$only") is { } only)
        {
            conditions.Append($" AND {column} IN {only}");
        }

        if (Named(filter.ExcludedFingerprints, "$not") is { } excludedNames)
        {
            conditions.Append($" AND {column} NOT IN {excludedNames}");
        }

        if (filter.Statuses is { } statuses)
        {
            // The states table is read as a set (SQLite builds it once per statement), whatever its size.
            var byStatus = statuses.Contains(IssueStatus.Unresolved)
                ? filter.ExcludedStatusNames is { Count: > 0 } excluded ? $"{column} NOT IN ({StatesNamed(excluded)})" : "1"
                : statuses.Count > 0 ? $"{column} IN ({StatesNamed([.. statuses.Distinct().Select(StoredNames.Of)])})" : "0";
            conditions.Append(Named(filter.StatusExceptions, "$also") is { } also ? $" AND ({byStatus} OR {column} IN {also})" : $" AND {byStatus}");
        }

        return conditions.ToString();
    }

    /// <summary>The fingerprints of the project's stored states with one of these statuses (fixed names, never user input).</summary>
    private static string StatesNamed(IReadOnlyList<string> statuses) =>
        $"SELECT s.fingerprint FROM issue_states AS s WHERE s.project_id = $project AND s.status IN ({string.Join(", ", statuses.Select(status => $"'{status}'"))})";

    /// <summary>
    /// The filter's conditions on <c>issue_events AS e</c>, each with a parameter. A missing environment or
    /// release is NULL here and an empty string on ClickHouse: both match an empty filter value.
    /// </summary>
    private static string EventConditions(IssueFilter filter)
    {
        var conditions = new System.Text.StringBuilder();
        if (filter.RangeStart is not null)
        {
            conditions.Append(" AND e.timestamp >= $since");
        }

        if (filter.RangeEnd is not null)
        {
            conditions.Append(" AND e.timestamp < $until");
        }

        if (filter.Environment is not null)
        {
            conditions.Append(" AND coalesce(e.environment, '') = $environment");
        }

        if (filter.Release is not null)
        {
            conditions.Append(" AND coalesce(e.release, '') = $release");
        }

        if (filter.Level is not null)
        {
            conditions.Append(" AND e.level = $level");
        }

        if (!string.IsNullOrEmpty(filter.Search))
        {
            const string contains = SqliteDatabase.ContainsFunction;
            conditions.Append(SqliteIssueEvents.CanSearchJoinedTextNatively(filter.Search)
                ? " AND e.search_text LIKE $search_pattern ESCAPE '\\'"
                : SqliteIssueEvents.CanSearchJoinedText(filter.Search)
                ? $" AND {contains}(e.search_text, $search)"
                : $"""
                   AND EXISTS (SELECT 1 FROM events AS p WHERE p.project_id = e.project_id AND p.event_id = e.event_id
                      AND ({contains}(p.title, $search) OR {contains}(p.culprit, $search) OR {contains}(p.message, $search)
                           OR {contains}(e.user_id, $search) OR {contains}(e.user_email, $search) OR {contains}(e.user_username, $search)
                           OR EXISTS (SELECT 1 FROM json_each(p.payload, '$.exceptions') AS x
                                      WHERE {contains}(json_extract(x.value, '$.type'), $search) OR {contains}(json_extract(x.value, '$.value'), $search))))
                  """);
        }

        return conditions.ToString();
    }

    private static void AddFilterParameters(SqliteCommand command, int projectId, IssueFilter filter)
    {
        command.Parameters.AddWithValue("$project", projectId);
        if (filter.RangeStart is { } since)
        {
            command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        }

        if (filter.RangeEnd is { } until)
        {
            command.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
        }

        if (filter.Environment is { } environment)
        {
            command.Parameters.AddWithValue("$environment", environment);
        }

        if (filter.Release is { } release)
        {
            command.Parameters.AddWithValue("$release", release);
        }

        if (filter.Level is { } level)
        {
            command.Parameters.AddWithValue("$level", level);
        }

        if (!string.IsNullOrEmpty(filter.Search))
        {
            if (SqliteIssueEvents.CanSearchJoinedTextNatively(filter.Search))
            {
                command.Parameters.AddWithValue("$search_pattern", SqliteIssueEvents.LikePattern(filter.Search));
            }
            else
            {
                command.Parameters.AddWithValue("$search", filter.Search);
            }
        }
    }

    public async Task<IssueFilterValues> GetFilterValuesAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        return new IssueFilterValues(
            await DistinctValuesAsync(connection, transaction, projectId, "environment", cancellationToken),
            await DistinctValuesAsync(connection, transaction, projectId, "release", cancellationToken));
    }

    private static async Task<IReadOnlyList<string>> DistinctValuesAsync(
        SqliteConnection connection, SqliteTransaction transaction, int projectId, string column, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT {column}, max(timestamp) AS seen
            FROM issue_events
            WHERE project_id = $project AND {column} IS NOT NULL AND {column} <> ''
            GROUP BY {column}
            ORDER BY seen DESC, {column}
            LIMIT {IssueFilterValues.MaxValues}
            """;
        command.Parameters.AddWithValue("$project", projectId);
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
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

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // One range look-up per issue on the key of issue_events (project, fingerprint, timestamp): one IN list, as an
        // OR of two would make SQLite read every event.
        var fingerprints = counts.Keys.ToList();
        var names = string.Join(", ", fingerprints.Select((_, i) => "$f" + i.ToString(CultureInfo.InvariantCulture)));
        var values = string.Join(", ", fingerprints.Select((_, i) => "($f" + i.ToString(CultureInfo.InvariantCulture) + ")"));
        // Events of issues merged into an asked issue count for it.
        command.CommandText = $"""
            SELECT {SqliteIssueMerges.IssueKey("e")} AS issue_key, (e.timestamp / 1000 - $start) / $width AS bucket, count(*)
            FROM issue_events AS e
            WHERE e.project_id = $project
              AND e.fingerprint IN (SELECT column1 FROM (VALUES {values})
                                    UNION ALL SELECT m.fingerprint FROM issue_merges AS m WHERE m.project_id = $project AND m.target IN ({names}))
              AND e.timestamp >= $start * 1000 AND e.timestamp < $end * 1000
            GROUP BY issue_key, bucket
            """;
        command.Parameters.AddWithValue("$project", query.ProjectId);
        for (var i = 0; i < fingerprints.Count; i++)
        {
            command.Parameters.AddWithValue("$f" + i.ToString(CultureInfo.InvariantCulture), fingerprints[i]);
        }

        command.Parameters.AddWithValue("$start", query.Start.ToUnixTimeSeconds());
        command.Parameters.AddWithValue("$end", query.End.ToUnixTimeSeconds());
        command.Parameters.AddWithValue("$width", query.WidthSeconds);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var bucket = reader.GetInt64(1);
            if (counts.TryGetValue(reader.GetString(0), out var issueCounts) && bucket >= 0 && bucket < issueCounts.Length)
            {
                issueCounts[bucket] += reader.GetInt64(2);
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

        const string contains = SqliteDatabase.ContainsFunction;
        var conditions = new System.Text.StringBuilder();
        if (query.After is not null)
        {
            // The plain range beside the OR lets the issue's rows be read from the cursor on, not from the start.
            conditions.Append(query.OldestFirst
                ? " AND timestamp >= $time AND (timestamp > $time OR (timestamp = $time AND event_id > $event))"
                : " AND timestamp <= $time AND (timestamp < $time OR (timestamp = $time AND event_id > $event))");
        }

        if (!string.IsNullOrEmpty(query.Search))
        {
            conditions.Append($"""
                 AND ({contains}(user_id, $search) OR {contains}(user_email, $search) OR {contains}(user_username, $search)
                      OR {contains}(url, $search) OR {contains}(release, $search) OR {contains}(environment, $search))
                """);
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT event_id, timestamp, level, user_id, user_email, user_username, url, release, environment
            FROM issue_events
            WHERE project_id = $project AND fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} {conditions}
            ORDER BY timestamp {(query.OldestFirst ? "ASC" : "DESC")}, event_id ASC
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$project", query.ProjectId);
        command.Parameters.AddWithValue("$fingerprint", query.Fingerprint);
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        if (query.After is { } after)
        {
            command.Parameters.AddWithValue("$time", after.Time);
            command.Parameters.AddWithValue("$event", after.EventId);
        }

        if (!string.IsNullOrEmpty(query.Search))
        {
            command.Parameters.AddWithValue("$search", query.Search);
        }

        var rows = new List<EventRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var eventId = reader.GetGuid(0);
            var time = reader.GetInt64(1);
            rows.Add(new EventRow(
                eventId,
                StoreTime.ToWholeSeconds(time),
                reader.GetString(2),
                Text(reader, 3),
                Text(reader, 4),
                Text(reader, 5),
                Text(reader, 6),
                Text(reader, 7),
                Text(reader, 8),
                new EventCursor(time, eventId)));
        }

        return rows.Count > query.Limit
            ? new EventPage(rows[..query.Limit], rows[query.Limit - 1].Cursor)
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

        var latest = LatestEventOfEachUser(query.Search);

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        var users = new List<AffectedUser>();
        long? total = null;
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                SELECT user_id, user_email, user_username, user_ip, events, first_seen, last_seen, url, count(*) OVER () AS total
                FROM ({latest})
                ORDER BY last_seen DESC, user_hash
                LIMIT $offset, $limit
                """;
            AddUserParameters(command, query);
            command.Parameters.AddWithValue("$offset", query.Offset);
            command.Parameters.AddWithValue("$limit", query.Limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                users.Add(ReadAffectedUser(reader));
                total = reader.GetInt64(8);
            }
        }

        if (total is null)
        {
            // A page past the end has no row to carry the total.
            await using var count = connection.CreateCommand();
            count.Transaction = transaction;
            count.CommandText = $"SELECT count(*) FROM ({latest})";
            AddUserParameters(count, query);
            total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        return new AffectedUserPage(users, total.Value);
    }

    public async IAsyncEnumerable<AffectedUser> ReadAllAffectedUsersAsync(
        int projectId, string fingerprint, string? search, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new AffectedUserQuery(projectId, fingerprint) { Search = search };
        query.Validate();
        if (query.MatchesNothing)
        {
            yield break;
        }

        // One statement, stepped row by row: SQLite hands out each row as it comes, and the read transaction keeps one snapshot
        // however long the reader takes.
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT user_id, user_email, user_username, user_ip, events, first_seen, last_seen, url
            FROM ({LatestEventOfEachUser(search)})
            ORDER BY last_seen DESC, user_hash
            """;
        AddUserParameters(command, query);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadAffectedUser(reader);
        }
    }

    /// <summary>Each user's latest event in the issue (by window, one pass over the issue's rows): it gives the identity and URL.</summary>
    private static string LatestEventOfEachUser(string? search)
    {
        const string contains = SqliteDatabase.ContainsFunction;
        var matching = string.IsNullOrEmpty(search)
            ? ""
            : $" AND ({contains}(u.user_id, $search) OR {contains}(u.user_email, $search) OR {contains}(u.user_username, $search))";
        return $"""
            SELECT u.*
            FROM (
                SELECT user_hash, user_id, user_email, user_username, user_ip, url,
                       count(*) OVER per_user AS events,
                       min(timestamp) OVER per_user AS first_seen,
                       max(timestamp) OVER per_user AS last_seen,
                       row_number() OVER (PARTITION BY user_hash ORDER BY timestamp DESC, event_id) AS position
                FROM issue_events
                WHERE project_id = $project AND fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} AND user_hash != 0
                WINDOW per_user AS (PARTITION BY user_hash)
            ) AS u
            WHERE u.position = 1 {matching}
            """;
    }

    private static AffectedUser ReadAffectedUser(SqliteDataReader reader) => new(
        Text(reader, 0),
        Text(reader, 1),
        Text(reader, 2),
        Text(reader, 3),
        reader.GetInt64(4),
        StoreTime.ToWholeSeconds(reader.GetInt64(5)),
        StoreTime.ToWholeSeconds(reader.GetInt64(6)),
        Text(reader, 7));

    public async Task<IssueBreakdowns> GetBreakdownsAsync(BreakdownQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        if (query.MatchesNothing)
        {
            return IssueBreakdowns.Empty;
        }

        var range = (query.RangeStart is null ? "" : " AND timestamp >= $since") + (query.RangeEnd is null ? "" : " AND timestamp < $until");
        void AddParameters(SqliteCommand command)
        {
            command.Parameters.AddWithValue("$project", query.ProjectId);
            command.Parameters.AddWithValue("$fingerprint", query.Fingerprint);
            command.Parameters.AddWithValue("$limit", query.Limit);
            if (query.RangeStart is { } since)
            {
                command.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
            }

            if (query.RangeEnd is { } until)
            {
                command.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
            }
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        long events;
        await using (var count = connection.CreateCommand())
        {
            count.Transaction = transaction;
            count.CommandText = $"SELECT count(*) FROM issue_events WHERE project_id = $project AND fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} {range}";
            AddParameters(count);
            events = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        if (events == 0)
        {
            return IssueBreakdowns.Empty;
        }

        // The issue's rows (its own and those of the issues merged into it), each giving one (dimension, value) pair per dimension.
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            WITH issue_rows AS (
                SELECT release, environment, server_name, browser, client_os
                FROM issue_events
                WHERE project_id = $project AND fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} {range}
            ),
            pairs AS (
                SELECT {(int)BreakdownDimension.Release} AS dimension, release AS value FROM issue_rows
                UNION ALL SELECT {(int)BreakdownDimension.Environment}, environment FROM issue_rows
                UNION ALL SELECT {(int)BreakdownDimension.Server}, server_name FROM issue_rows
                UNION ALL SELECT {(int)BreakdownDimension.Browser}, browser FROM issue_rows
                UNION ALL SELECT {(int)BreakdownDimension.OperatingSystem}, client_os FROM issue_rows
            ),
            counted AS (
                SELECT dimension, value, count(*) AS events
                FROM pairs
                WHERE value IS NOT NULL AND value <> ''
                GROUP BY dimension, value
            ),
            ranked AS (
                SELECT dimension, value, events,
                       sum(events) OVER (PARTITION BY dimension) AS with_value,
                       row_number() OVER (PARTITION BY dimension ORDER BY events DESC, value) AS position
                FROM counted
            )
            SELECT dimension, value, events, with_value FROM ranked WHERE position <= $limit
            """;
        AddParameters(command);
        var rows = new List<(BreakdownDimension, string, long, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(((BreakdownDimension)reader.GetInt32(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return IssueBreakdowns.From(events, rows);
    }

    private static void AddUserParameters(SqliteCommand command, AffectedUserQuery query)
    {
        command.Parameters.AddWithValue("$project", query.ProjectId);
        command.Parameters.AddWithValue("$fingerprint", query.Fingerprint);
        if (!string.IsNullOrEmpty(query.Search))
        {
            command.Parameters.AddWithValue("$search", query.Search);
        }
    }

    /// <summary>A missing and an empty value are the same (ClickHouse stores both as an empty string).</summary>
    private static string? Text(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Convert.ToString(reader.GetValue(ordinal), CultureInfo.InvariantCulture) is { Length: > 0 } text ? text : null;

    private static IssueSummary ReadIssue(int projectId, SqliteDataReader reader) => new(
        projectId,
        Fingerprint: reader.GetString(0),
        Title: reader.GetString(1),
        Culprit: reader.GetString(2),
        Level: reader.GetString(3),
        EventCount: reader.GetInt64(4),
        UserCount: reader.GetInt64(5),
        FirstSeen: StoreTime.ToWholeSeconds(reader.GetInt64(6)),
        LastSeen: StoreTime.ToWholeSeconds(reader.GetInt64(7)))
    {
        Grouping = EventPayloadJson.DeserializeGrouping(reader.GetString(8)),
    };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyCollection<string>))]
internal sealed partial class FingerprintJson : System.Text.Json.Serialization.JsonSerializerContext;
