using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The embedded store's tables. They mirror the ClickHouse model: append-only events with the full
/// payload, and per-issue aggregates that the insert maintains in the same transaction (where
/// ClickHouse uses a materialized view).
/// </summary>
internal static class SqliteSchema
{
    /// <summary>
    /// Adds the issue columns a database made by an earlier release lacks: its issues were made by
    /// grouping version 1 and keep an empty grouping.
    /// </summary>
    public static async Task UpgradeAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using var columns = connection.CreateCommand();
        columns.Transaction = transaction;
        columns.CommandText = "SELECT count(*) FROM pragma_table_info('issues') WHERE name = 'grouping'";
        if (Convert.ToInt64(await columns.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
        {
            await SqliteDatabase.ExecuteAsync(connection, transaction, "ALTER TABLE issues ADD COLUMN grouping TEXT NOT NULL DEFAULT '';", cancellationToken);
        }
    }

    /// <summary>
    /// Recorded in <c>PRAGMA user_version</c> so a later release can migrate, and an earlier one refuses a file it does not
    /// know (<see cref="StoreSchemaTooNewException"/>). Raise it with every change an earlier build could not work with.
    /// </summary>
    public const int Version = 2;

    /// <summary>The version the file's schema was last migrated to; 0 for a new file (or one made before versions were recorded).</summary>
    public static async Task<long> StoredVersionAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using var version = connection.CreateCommand();
        version.Transaction = transaction;
        version.CommandText = "PRAGMA user_version";
        return Convert.ToInt64(await version.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>The version that added <c>issue_events</c>: an older database has its events copied there once.</summary>
    public const int IssueEventsVersion = 2;

    public const string CreateStatements = """
        CREATE TABLE IF NOT EXISTS projects (
            id          INTEGER PRIMARY KEY,
            name        TEXT    NOT NULL,
            public_key  TEXT    NOT NULL,
            created_at  INTEGER NOT NULL -- unix seconds
        );

        CREATE TABLE IF NOT EXISTS events (
            project_id        INTEGER NOT NULL,
            event_id          BLOB    NOT NULL,
            timestamp         INTEGER NOT NULL, -- unix milliseconds
            received_at       INTEGER NOT NULL, -- unix milliseconds
            fingerprint       TEXT    NOT NULL,
            grouping_version  INTEGER NOT NULL,
            level             TEXT    NOT NULL,
            title             TEXT    NOT NULL,
            culprit           TEXT    NOT NULL,
            message           TEXT,
            release           TEXT,
            environment       TEXT,
            server_name       TEXT,
            exception_type    TEXT,
            user_key          TEXT,
            user_hash         INTEGER NOT NULL, -- 0 when the event has no user
            url               TEXT,
            payload           TEXT    NOT NULL, -- the whole normalized event as JSON
            PRIMARY KEY (project_id, event_id)
        );

        CREATE INDEX IF NOT EXISTS events_by_issue ON events (project_id, fingerprint, timestamp DESC);
        CREATE INDEX IF NOT EXISTS events_by_time ON events (project_id, timestamp); -- retention finds old events by it

        CREATE TABLE IF NOT EXISTS event_tags (
            project_id  INTEGER NOT NULL,
            event_id    BLOB    NOT NULL,
            key         TEXT    NOT NULL,
            value       TEXT    NOT NULL,
            PRIMARY KEY (project_id, event_id, key)
        ) WITHOUT ROWID;

        CREATE INDEX IF NOT EXISTS event_tags_by_value ON event_tags (project_id, key, value);

        CREATE TABLE IF NOT EXISTS issues (
            project_id   INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            title        TEXT    NOT NULL, -- of the first event, like culprit and grouping
            culprit      TEXT    NOT NULL,
            grouping     TEXT    NOT NULL DEFAULT '', -- IssueGrouping as JSON; '' when made by grouping version 1
            level        TEXT    NOT NULL,
            event_count  INTEGER NOT NULL,
            user_count   INTEGER NOT NULL,
            first_seen   INTEGER NOT NULL, -- unix milliseconds
            last_seen    INTEGER NOT NULL,
            PRIMARY KEY (project_id, fingerprint)
        ) WITHOUT ROWID;

        CREATE INDEX IF NOT EXISTS issues_by_last_seen ON issues (project_id, last_seen);
        CREATE INDEX IF NOT EXISTS issues_by_first_seen ON issues (project_id, first_seen);
        CREATE INDEX IF NOT EXISTS issues_by_event_count ON issues (project_id, event_count);
        CREATE INDEX IF NOT EXISTS issues_by_user_count ON issues (project_id, user_count);

        CREATE TABLE IF NOT EXISTS issue_users (
            project_id   INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            user_hash    INTEGER NOT NULL,
            PRIMARY KEY (project_id, fingerprint, user_hash)
        ) WITHOUT ROWID;
        """;
}
