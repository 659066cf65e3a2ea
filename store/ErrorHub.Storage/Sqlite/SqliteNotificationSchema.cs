namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The embedded store's tables for notifications and the issue states they read, created with the
/// rest of the schema (every statement is idempotent, so an existing file gains them at its next start).
/// </summary>
internal static class SqliteNotificationSchema
{
    public const string CreateStatements = """
        -- Windows of activity (alert rules, the daily digest) are ranges of event time per project.
        CREATE INDEX IF NOT EXISTS events_by_time ON events (project_id, timestamp);

        CREATE TABLE IF NOT EXISTS issue_states (
            project_id           INTEGER NOT NULL,
            fingerprint          TEXT    NOT NULL,
            status               TEXT    NOT NULL, -- unresolved, resolved, ignored
            changed_at           INTEGER NOT NULL, -- unix seconds
            resolved_in_release  TEXT,
            PRIMARY KEY (project_id, fingerprint)
        ) WITHOUT ROWID;
        """;
}
