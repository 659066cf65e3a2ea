using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// Retention on SQLite: deletes expired events in chunks of <see cref="ChunkSize"/>, each chunk in its own short
/// write transaction (so ingest's batches wait for one chunk at most, never for the whole clean-up), with their
/// tags, and brings the issues they belonged to up to date in the same transaction (counts, users, first seen;
/// an issue left without events is removed).
/// </summary>
internal sealed class SqliteRetention(SqliteDatabase database) : IEventRetention
{
    internal const int ChunkSize = 2000;

    public async Task<long> DeleteExpiredAsync(RetentionPlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        long deleted = 0;
        foreach (var projectId in await ProjectsWithEventsAsync(cancellationToken))
        {
            var cutoff = plan.CutoffByProject.TryGetValue(projectId, out var own) ? own : plan.OthersCutoff;
            if (cutoff is not { } before)
            {
                continue;
            }

            while (true)
            {
                var chunk = 0;
                await database.WriteAsync(
                    async (connection, cancellationToken) => chunk = await DeleteChunkAsync(connection, projectId, before.ToUnixTimeMilliseconds(), cancellationToken),
                    cancellationToken);
                deleted += chunk;
                if (chunk < ChunkSize)
                {
                    break;
                }
            }
        }

        return deleted;
    }

    private async Task<List<int>> ProjectsWithEventsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT project_id FROM events";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<int>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt32(0));
        }

        return ids;
    }

    private static async Task<int> DeleteChunkAsync(SqliteConnection connection, int projectId, long beforeMilliseconds, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await Execute(connection, transaction, """
            CREATE TEMP TABLE IF NOT EXISTS expired_events (event_rowid INTEGER PRIMARY KEY, event_id BLOB NOT NULL, fingerprint TEXT NOT NULL, timestamp INTEGER NOT NULL, user_hash INTEGER NOT NULL);
            CREATE TEMP TABLE IF NOT EXISTS expired_users (fingerprint TEXT NOT NULL, user_hash INTEGER NOT NULL, PRIMARY KEY (fingerprint, user_hash)) WITHOUT ROWID;
            DELETE FROM temp.expired_events;
            DELETE FROM temp.expired_users;
            """, cancellationToken);
        var count = await Execute(connection, transaction, """
            INSERT INTO temp.expired_events (event_rowid, event_id, fingerprint, timestamp, user_hash)
            SELECT rowid, event_id, fingerprint, timestamp, user_hash FROM events
            WHERE project_id = $project AND timestamp < $before
            LIMIT $chunk
            """, cancellationToken, ("$project", projectId), ("$before", beforeMilliseconds), ("$chunk", ChunkSize));
        if (count > 0)
        {
            await Execute(connection, transaction, """
                DELETE FROM event_tags WHERE project_id = $project AND event_id IN (SELECT event_id FROM temp.expired_events);
                DELETE FROM events WHERE rowid IN (SELECT event_rowid FROM temp.expired_events);
                DELETE FROM issue_events
                WHERE project_id = $project AND (fingerprint, timestamp, event_id) IN (SELECT fingerprint, timestamp, event_id FROM temp.expired_events);

                -- Only the users of the deleted events can have lost their last event of an issue; those still in one of
                -- its events are found in one pass over the issue's narrow rows (a covering index). Asking the events
                -- for each of the issue's users took seconds per chunk on a small database, and held the write lock
                -- (ingest's batches waited, answered 503) for all of it.
                INSERT OR IGNORE INTO temp.expired_users (fingerprint, user_hash)
                SELECT fingerprint, user_hash FROM temp.expired_events;
                DELETE FROM temp.expired_users
                WHERE (fingerprint, user_hash) IN (SELECT ie.fingerprint, ie.user_hash FROM issue_events AS ie
                                                   WHERE ie.project_id = $project AND ie.fingerprint IN (SELECT fingerprint FROM temp.expired_users));
                DELETE FROM issue_users
                WHERE project_id = $project AND (fingerprint, user_hash) IN (SELECT fingerprint, user_hash FROM temp.expired_users);

                UPDATE issues SET
                    event_count = (SELECT count(*) FROM events e WHERE e.project_id = issues.project_id AND e.fingerprint = issues.fingerprint),
                    first_seen = coalesce((SELECT min(e.timestamp) FROM events e WHERE e.project_id = issues.project_id AND e.fingerprint = issues.fingerprint), first_seen),
                    user_count = (SELECT count(*) FROM issue_users u WHERE u.project_id = issues.project_id AND u.fingerprint = issues.fingerprint)
                WHERE project_id = $project AND fingerprint IN (SELECT fingerprint FROM temp.expired_events);

                DELETE FROM issues WHERE project_id = $project AND fingerprint IN (SELECT fingerprint FROM temp.expired_events) AND event_count = 0;
                DELETE FROM temp.expired_events;
                DELETE FROM temp.expired_users;
                """, cancellationToken, ("$project", projectId));
        }

        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    private static async Task<int> Execute(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
