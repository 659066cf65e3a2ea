using System.Globalization;
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
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);

        var items = new List<IssueSummary>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                SELECT {IssueColumns}
                FROM issues
                WHERE project_id = $project
                {orderAndPage}
                """;
            command.Parameters.AddWithValue("$project", query.ProjectId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadIssue(query.ProjectId, reader));
            }
        }

        await using (var count = connection.CreateCommand())
        {
            count.Transaction = transaction;
            count.CommandText = "SELECT count(*) FROM issues WHERE project_id = $project";
            count.Parameters.AddWithValue("$project", query.ProjectId);
            var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            return new IssuePage(items, total);
        }
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {IssueColumns}
            FROM issues
            WHERE project_id = $project AND fingerprint = $fingerprint
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
        command.CommandText = """
            SELECT payload
            FROM events
            WHERE project_id = $project AND fingerprint = $fingerprint
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
