using System.Globalization;
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

    public async Task<ErrorEvent?> GetFirstEventAsync(int projectId, string fingerprint, EventFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentNullException.ThrowIfNull(filter);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT e.payload
            FROM events e
            WHERE e.project_id = $project AND e.fingerprint IN {SqliteIssueMerges.Members("$fingerprint")} {Filter(command, filter)}
            ORDER BY e.timestamp, e.received_at, e.event_id
            LIMIT 1
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
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
