using ErrorHub.Storage.Events;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// Ingest's writer on SQLite: one transaction per batch, in which the issue aggregates are updated too
/// (where ClickHouse uses a materialized view), so a committed batch is counted exactly once. An event
/// whose legacy fingerprint names an existing issue is filed under that issue (docs/grouping.md).
/// </summary>
internal sealed class SqliteEventWriter(SqliteDatabase database) : IEventWriter
{
    public Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return Task.CompletedTask;
        }

        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                using var writer = new BatchWriter(connection, transaction);
                foreach (var errorEvent in events)
                {
                    await writer.WriteAsync(errorEvent, cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    /// <summary>Prepared statements reused for every event of one batch.</summary>
    private sealed class BatchWriter : IDisposable
    {
        private readonly SqliteCommand _findIssue;
        private readonly SqliteCommand _insertEvent;
        private readonly SqliteCommand _insertTag;
        private readonly SqliteCommand _upsertIssue;
        private readonly SqliteCommand _insertIssueUser;
        private readonly SqliteCommand _countIssueUser;
        private readonly SqliteCommand _insertIssueEvent;

        public BatchWriter(SqliteConnection connection, SqliteTransaction transaction)
        {
            _findIssue = Create(connection, transaction,
                "SELECT 1 FROM issues WHERE project_id = $project AND fingerprint = $fingerprint",
                "$project", "$fingerprint");

            // OR IGNORE on the (project, event id) key is what makes a retried event count once:
            // the aggregates below are only touched when the event row is new.
            _insertEvent = Create(connection, transaction, """
                INSERT OR IGNORE INTO events (
                    project_id, event_id, timestamp, received_at, fingerprint, grouping_version, level, title, culprit,
                    message, release, environment, server_name, exception_type, user_key, user_hash, url, payload)
                VALUES (
                    $project, $event, $timestamp, $received, $fingerprint, $grouping, $level, $title, $culprit,
                    $message, $release, $environment, $server, $exception, $user_key, $user_hash, $url, $payload)
                """,
                "$project", "$event", "$timestamp", "$received", "$fingerprint", "$grouping", "$level", "$title", "$culprit",
                "$message", "$release", "$environment", "$server", "$exception", "$user_key", "$user_hash", "$url", "$payload");

            _insertTag = Create(connection, transaction,
                "INSERT OR REPLACE INTO event_tags (project_id, event_id, key, value) VALUES ($project, $event, $key, $value)",
                "$project", "$event", "$key", "$value");

            // The first event (by its own timestamp, not arrival order) names the issue, so its title
            // does not change with every event; the latest event's level says how bad it is now.
            // (SET expressions read the row as it was before this update.)
            _upsertIssue = Create(connection, transaction, """
                INSERT INTO issues (project_id, fingerprint, title, culprit, grouping, level, event_count, user_count, first_seen, last_seen)
                VALUES ($project, $fingerprint, $title, $culprit, $grouping, $level, 1, 0, $timestamp, $timestamp)
                ON CONFLICT (project_id, fingerprint) DO UPDATE SET
                    event_count = event_count + 1,
                    first_seen = min(first_seen, excluded.first_seen),
                    last_seen = max(last_seen, excluded.last_seen),
                    title = CASE WHEN excluded.first_seen < first_seen THEN excluded.title ELSE title END,
                    culprit = CASE WHEN excluded.first_seen < first_seen THEN excluded.culprit ELSE culprit END,
                    grouping = CASE WHEN excluded.first_seen < first_seen THEN excluded.grouping ELSE grouping END,
                    level = CASE WHEN excluded.last_seen >= last_seen THEN excluded.level ELSE level END
                """,
                "$project", "$fingerprint", "$title", "$culprit", "$grouping", "$level", "$timestamp");

            _insertIssueUser = Create(connection, transaction,
                "INSERT OR IGNORE INTO issue_users (project_id, fingerprint, user_hash) VALUES ($project, $fingerprint, $user_hash)",
                "$project", "$fingerprint", "$user_hash");

            _countIssueUser = Create(connection, transaction,
                "UPDATE issues SET user_count = user_count + 1 WHERE project_id = $project AND fingerprint = $fingerprint",
                "$project", "$fingerprint");

            _insertIssueEvent = SqliteIssueEvents.CreateInsert(connection, transaction);
        }

        public async Task WriteAsync(ErrorEvent e, CancellationToken cancellationToken)
        {
            e = await IntoExistingIssueAsync(e, cancellationToken);
            var timestamp = e.Timestamp.ToUnixTimeMilliseconds();
            var userKey = e.User?.Key;
            var userHash = UserHash.Of(userKey);
            Set(_insertEvent,
                e.ProjectId, e.EventId, timestamp, e.ReceivedAt.ToUnixTimeMilliseconds(), e.Fingerprint, e.GroupingVersion,
                e.Level, e.Title, e.Culprit, e.Message, e.Release, e.Environment, e.ServerName,
                e.Exceptions.Count > 0 ? e.Exceptions[0].Type : null,
                userHash == UserHash.NoUser ? null : userKey,
                unchecked((long)userHash),
                e.Request?.Url,
                EventPayloadJson.Serialize(e));
            if (await _insertEvent.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return;
            }

            SqliteIssueEvents.Set(_insertIssueEvent, e, unchecked((long)userHash));
            await _insertIssueEvent.ExecuteNonQueryAsync(cancellationToken);

            foreach (var (key, value) in e.Tags)
            {
                Set(_insertTag, e.ProjectId, e.EventId, key, value);
                await _insertTag.ExecuteNonQueryAsync(cancellationToken);
            }

            Set(_upsertIssue, e.ProjectId, e.Fingerprint, e.Title, e.Culprit, EventPayloadJson.SerializeGrouping(e), e.Level, timestamp);
            await _upsertIssue.ExecuteNonQueryAsync(cancellationToken);

            if (userHash != UserHash.NoUser)
            {
                Set(_insertIssueUser, e.ProjectId, e.Fingerprint, unchecked((long)userHash));
                if (await _insertIssueUser.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    Set(_countIssueUser, e.ProjectId, e.Fingerprint);
                    await _countIssueUser.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }

        /// <summary>An issue made by an earlier grouping version keeps the events that version would have put in it.</summary>
        private async Task<ErrorEvent> IntoExistingIssueAsync(ErrorEvent e, CancellationToken cancellationToken)
        {
            foreach (var legacy in e.LegacyCandidates())
            {
                Set(_findIssue, e.ProjectId, legacy);
                if (await _findIssue.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    return e with { Fingerprint = legacy };
                }
            }

            return e;
        }

        public void Dispose()
        {
            _findIssue.Dispose();
            _insertEvent.Dispose();
            _insertTag.Dispose();
            _upsertIssue.Dispose();
            _insertIssueUser.Dispose();
            _countIssueUser.Dispose();
            _insertIssueEvent.Dispose();
        }

        private static SqliteCommand Create(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameterNames)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var name in parameterNames)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            return command;
        }

        private static void Set(SqliteCommand command, params object?[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }
        }
    }
}
