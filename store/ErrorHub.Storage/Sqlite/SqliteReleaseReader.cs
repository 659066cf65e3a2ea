using System.Globalization;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Releases on SQLite: one grouping pass over the project's events for the page, one for the issues' first events.</summary>
internal sealed class SqliteReleaseReader(SqliteDatabase database) : IReleaseReader
{
    public async Task<ReleasePage> GetReleasesAsync(ReleaseQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);
        var key = await SqliteIssueMerges.AnyAsync(connection, transaction, query.ProjectId, cancellationToken) ? SqliteIssueMerges.IssueKey("e") : "e.fingerprint";

        var items = new List<ReleaseSummary>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                WITH page AS (
                    SELECT release, min(timestamp) AS first_seen, max(timestamp) AS last_seen, count(*) AS events
                    FROM events
                    WHERE project_id = $project AND release IS NOT NULL AND release <> ''
                    GROUP BY release
                    ORDER BY first_seen DESC, release
                    LIMIT $offset, $limit
                ),
                firsts AS (
                    SELECT release, row_number() OVER (PARTITION BY {key} ORDER BY e.timestamp, e.event_id) AS position
                    FROM events AS e
                    WHERE e.project_id = $project
                )
                SELECT page.release, page.first_seen, page.last_seen, page.events,
                       (SELECT count(*) FROM firsts WHERE firsts.position = 1 AND firsts.release = page.release)
                FROM page
                ORDER BY page.first_seen DESC, page.release
                """;
            command.Parameters.AddWithValue("$project", query.ProjectId);
            command.Parameters.AddWithValue("$offset", query.Offset);
            command.Parameters.AddWithValue("$limit", query.Limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(new ReleaseSummary(
                    reader.GetString(0),
                    StoreTime.ToWholeSeconds(reader.GetInt64(1)),
                    StoreTime.ToWholeSeconds(reader.GetInt64(2)),
                    reader.GetInt64(3),
                    reader.GetInt64(4)));
            }
        }

        await using var count = connection.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = "SELECT count(DISTINCT release) FROM events WHERE project_id = $project AND release IS NOT NULL AND release <> ''";
        count.Parameters.AddWithValue("$project", query.ProjectId);
        return new ReleasePage(items, Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }
}
