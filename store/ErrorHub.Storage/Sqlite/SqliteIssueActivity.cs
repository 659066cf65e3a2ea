using System.Globalization;
using System.Text.Json;
using ErrorHub.Storage.Events;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// Activity on SQLite, counted from the events themselves (exactly; the index on project and time keeps
/// windows cheap); first times from the issue aggregates. Events of a merged issue count for the issue it was
/// merged into (<see cref="IIssueMerges"/>), as every reader counts them.
/// </summary>
internal sealed class SqliteIssueActivity(SqliteDatabase database) : IIssueActivity
{
    private const string DistinctUsers = "count(DISTINCT CASE WHEN e.user_hash != 0 THEN e.user_hash END)";

    public async Task<IReadOnlyList<NewIssue>> GetNewIssuesAsync(int projectId, EventFilter filter, DateTimeOffset since, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ActivityWindow.CheckLimit(limit);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT i.fingerprint, i.first_seen
            FROM issues i
            WHERE i.project_id = $project AND i.first_seen >= $since
              AND NOT {SqliteIssueMerges.IsMerged("i.fingerprint")}
              AND EXISTS (SELECT 1 FROM events e WHERE e.project_id = i.project_id AND e.fingerprint = i.fingerprint {Filter(command, filter)})
            ORDER BY i.first_seen, i.fingerprint
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$since", since.ToUnixTimeSeconds() * 1000);
        command.Parameters.AddWithValue("$limit", limit);
        var issues = new List<NewIssue>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            issues.Add(new NewIssue(reader.GetString(0), StoreTime.ToWholeSeconds(reader.GetInt64(1))));
        }

        return issues;
    }

    public async Task<IReadOnlyList<IssueActivity>> GetActivityAsync(ActivityQuery query, CancellationToken cancellationToken = default)
    {
        ActivityWindow.Validate(query);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var order = query.Sort == ActivitySort.Users
            ? "activity_users DESC, activity_events DESC"
            : "activity_events DESC, activity_users DESC";
        var key = await IssueKeyAsync(connection, query.ProjectId, cancellationToken);
        command.CommandText = $"""
            SELECT {key} AS issue_key, count(*) AS activity_events, {DistinctUsers} AS activity_users
            FROM events e
            WHERE e.project_id = $project AND e.timestamp >= $from AND e.timestamp < $to {Filter(command, query.Filter)}
            GROUP BY issue_key
            HAVING activity_events >= $min_events AND activity_users >= $min_users
            ORDER BY {order}, issue_key
            LIMIT $limit
            """;
        AddWindow(command, query.ProjectId, query.From, query.To);
        command.Parameters.AddWithValue("$min_events", query.MinEvents);
        command.Parameters.AddWithValue("$min_users", query.MinUsers);
        command.Parameters.AddWithValue("$limit", query.Limit);
        var activity = new List<IssueActivity>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            activity.Add(new IssueActivity(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return activity;
    }

    public async Task<ActivityTotals> GetTotalsAsync(int projectId, EventFilter filter, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var key = await IssueKeyAsync(connection, projectId, cancellationToken);
        command.CommandText = $"""
            SELECT count(*), {DistinctUsers}, count(DISTINCT {key})
            FROM events e
            WHERE e.project_id = $project AND e.timestamp >= $from AND e.timestamp < $to {Filter(command, filter)}
            """;
        AddWindow(command, projectId, from, to);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ActivityTotals(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    public async Task<long[]> GetEventsPerHourAsync(int projectId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        var hours = new long[ActivityWindow.Hours(from, to)];
        if (hours.Length == 0)
        {
            return hours;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // A whole hour of event time that starts on the hour is read from event_hours, one row the triggers keep as events
        // are added and removed: the late-event watch's 24 hours no longer count one index entry per event of the day
        // (docs/benchmarks.md §97, §104). A part of an hour (the unfinished one) is counted in the index events_by_time
        // (covering: no row is read), one range per hour.
        command.CommandText = """
            WITH RECURSIVE hours(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM hours WHERE n + 1 < $hours)
            SELECT n, CASE
                WHEN $from >= 0 AND $from % 3600000 = 0 AND $from + (n + 1) * 3600000 <= $to
                    THEN coalesce((SELECT h.events FROM event_hours h WHERE h.project_id = $project AND h.hour = $from / 3600000 + n), 0)
                ELSE (SELECT count(*) FROM events e
                      WHERE e.project_id = $project AND e.timestamp >= $from + n * 3600000 AND e.timestamp < min($from + (n + 1) * 3600000, $to))
                END
            FROM hours
            """;
        AddWindow(command, projectId, from, to);
        command.Parameters.AddWithValue("$hours", hours.Length);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var hour = reader.GetInt64(0);
            if (hour >= 0 && hour < hours.Length)
            {
                hours[hour] = reader.GetInt64(1);
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
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT e.payload
            FROM events e
            WHERE e.project_id = $project AND e.fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} {(since is null ? "" : "AND e.timestamp >= $since")} {Filter(command, filter)}
            ORDER BY e.timestamp, e.received_at, e.event_id
            LIMIT 1
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        if (since is { } from)
        {
            // From the start of its second, as ClickHouse compares its seconds.
            command.Parameters.AddWithValue("$since", from.ToUnixTimeSeconds() * 1000);
        }

        return await command.ExecuteScalarAsync(cancellationToken) is string json ? EventPayloadJson.Deserialize(json) : null;
    }

    public async Task<IReadOnlyList<ReleaseActivity>> GetReleasesAfterAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset after, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // After a whole second, as ClickHouse compares its seconds: an event in the same second is not after.
        command.CommandText = $"""
            SELECT coalesce(e.release, '') AS event_release, count(*), min(e.timestamp) AS release_first
            FROM events e
            WHERE e.project_id = $project AND e.fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} AND e.timestamp >= $after {Filter(command, filter)}
            GROUP BY event_release
            ORDER BY release_first, event_release
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$after", (after.ToUnixTimeSeconds() + 1) * 1000);
        var releases = new List<ReleaseActivity>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            releases.Add(new ReleaseActivity(reader.GetString(0), reader.GetInt64(1), StoreTime.ToWholeSeconds(reader.GetInt64(2))));
        }

        return releases;
    }

    public async Task<IssueActivity> GetIssueActivityAfterAsync(int projectId, string fingerprint, DateTimeOffset after, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT count(*), {DistinctUsers}
            FROM events e
            WHERE e.project_id = $project AND e.fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} AND e.timestamp >= $after
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$after", (after.ToUnixTimeSeconds() + 1) * 1000);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new IssueActivity(fingerprint, reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<IReadOnlyList<IssueSeenAfterChange>> GetIssuesSeenAfterChangesAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();

        // The per-issue aggregates (a look-up by key per fingerprint), never the events. An ignore ends with events when its
        // triage names a count of events or users; an unreadable triage reads as ignored for good, as the state does.
        var endsWithEvents = $"""
            (s.status = '{StoredNames.Of(IssueStatus.Resolved)}'
             OR s.status = '{StoredNames.Of(IssueStatus.Ignored)}' AND json_valid(s.triage)
                AND (json_extract(s.triage, '$.{IssueTriageJson.IgnoredUntilEventsField}') IS NOT NULL
                     OR json_extract(s.triage, '$.{IssueTriageJson.IgnoredUntilUsersField}') IS NOT NULL))
            """;
        command.CommandText = $"""
            {Members(endsWithEvents)}
            SELECT k.issue, max(i.last_seen) AS seen, sum(i.event_count), max(k.after) AS after
            FROM members AS k JOIN issues AS i ON i.project_id = $project AND i.fingerprint = k.member
            GROUP BY k.issue
            HAVING seen >= after
            """;
        command.Parameters.AddWithValue("$project", projectId);
        var answer = new List<IssueSeenAfterChange>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            answer.Add(new IssueSeenAfterChange(reader.GetString(0), StoreTime.ToWholeSeconds(reader.GetInt64(1)), reader.GetInt64(2)));
        }

        return answer;
    }

    public async Task<IReadOnlyList<ActivityAfterChange>> GetActivityAfterChangesAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        if (fingerprints.Count == 0)
        {
            return [];
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);

        // Each named issue's events from the second after its change on: one range of the index on issue and time per
        // fingerprint (its own and those merged into it), not the issue's history. The names are one parameter, a JSON array.
        var names = JsonSerializer.Serialize(fingerprints, FingerprintJson.Default.IReadOnlyCollectionString);
        var members = Members($"s.status IN ('{StoredNames.Of(IssueStatus.Resolved)}', '{StoredNames.Of(IssueStatus.Ignored)}') AND s.fingerprint IN (SELECT value FROM json_each($names))");
        const string After = "FROM members AS k JOIN events AS e ON e.project_id = $project AND e.fingerprint = k.member AND e.timestamp >= k.after";

        SqliteCommand Command(string select)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"{members} {select}";
            command.Parameters.AddWithValue("$project", projectId);
            command.Parameters.AddWithValue("$names", names);
            return command;
        }

        var releases = new Dictionary<string, List<ReleaseActivity>>(StringComparer.Ordinal);
        await using (var command = Command($"SELECT k.issue, coalesce(e.release, '') AS event_release, count(*), min(e.timestamp) {After} GROUP BY k.issue, event_release"))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var issue = reader.GetString(0);
                if (!releases.TryGetValue(issue, out var list))
                {
                    releases[issue] = list = [];
                }

                list.Add(new ReleaseActivity(reader.GetString(1), reader.GetInt64(2), StoreTime.ToWholeSeconds(reader.GetInt64(3))));
            }
        }

        var answer = new List<ActivityAfterChange>(releases.Count);
        await using (var command = Command($"SELECT k.issue, count(*), {DistinctUsers} {After} GROUP BY k.issue"))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var issue = reader.GetString(0);
                answer.Add(new ActivityAfterChange(
                    issue,
                    ActivityAfterChanges.InOrder(releases.GetValueOrDefault(issue) ?? []),
                    new IssueActivity(issue, reader.GetInt64(1), reader.GetInt64(2))));
            }
        }

        return answer;
    }

    /// <summary>
    /// <c>members</c>: the project's stored states (aliased <c>s</c>) that pass <paramref name="states"/>, not merged away, each
    /// with the fingerprints whose events are its own (its own, those merged into it) and the first millisecond after its change.
    /// </summary>
    private static string Members(string states) => $"""
        WITH triaged AS (
            SELECT s.fingerprint, (s.changed_at + 1) * 1000 AS after
            FROM issue_states AS s
            WHERE s.project_id = $project AND {states}
              AND NOT EXISTS (SELECT 1 FROM issue_merges AS m WHERE m.project_id = $project AND m.fingerprint = s.fingerprint)
        ),
        members AS (
            SELECT t.fingerprint AS issue, t.fingerprint AS member, t.after FROM triaged AS t
            UNION ALL
            SELECT t.fingerprint, m.fingerprint, t.after FROM triaged AS t JOIN issue_merges AS m ON m.project_id = $project AND m.target = t.fingerprint
        )
        """;

    /// <summary>The issue of an event aliased <c>e</c>: a look-up per event only where the project has merged issues.</summary>
    private static async Task<string> IssueKeyAsync(SqliteConnection connection, int projectId, CancellationToken cancellationToken) =>
        await SqliteIssueMerges.AnyAsync(connection, null, projectId, cancellationToken) ? SqliteIssueMerges.IssueKey("e") : "e.fingerprint";

    private static void AddWindow(SqliteCommand command, int projectId, DateTimeOffset from, DateTimeOffset to)
    {
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$from", ActivityWindow.MinuteSeconds(from) * 1000);
        command.Parameters.AddWithValue("$to", ActivityWindow.MinuteSeconds(to) * 1000);
    }

    /// <summary>The filter's conditions on events aliased <c>e</c>, with their parameters added to <paramref name="command"/>.</summary>
    private static string Filter(SqliteCommand command, EventFilter filter)
    {
        var sql = "";
        if (filter.Environment is { } environment)
        {
            sql += " AND e.environment = $environment";
            command.Parameters.AddWithValue("$environment", environment);
        }

        if (filter.Levels is { } levels)
        {
            var names = new List<string>();
            for (var i = 0; i < levels.Count; i++)
            {
                var name = "$level" + i.ToString(CultureInfo.InvariantCulture);
                names.Add(name);
                command.Parameters.AddWithValue(name, levels[i]);
            }

            sql += names.Count == 0 ? " AND 0" : $" AND e.level IN ({string.Join(", ", names)})";
        }

        return sql;
    }
}
