using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The tables of projects' keys and of who may read them (users, memberships, invitations, API tokens),
/// and the columns projects gained with them. Every step is idempotent, so a database made by an older
/// ErrorHub is brought up to date at start-up, and keys it kept in <c>projects.public_key</c> keep working.
/// </summary>
internal static class SqliteAccessSchema
{
    private const string CreateStatements = """
        CREATE TABLE IF NOT EXISTS project_keys (
            project_id  INTEGER NOT NULL,
            public_key  TEXT    NOT NULL,
            label       TEXT    NOT NULL,
            created_at  INTEGER NOT NULL, -- unix seconds
            revoked_at  INTEGER,
            PRIMARY KEY (project_id, public_key)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS users (
            id              TEXT    PRIMARY KEY, -- a GUID
            email           TEXT    NOT NULL UNIQUE,
            name            TEXT    NOT NULL,
            password_hash   TEXT    NOT NULL,
            role            TEXT    NOT NULL, -- 'admin' or 'member'
            security_stamp  TEXT    NOT NULL,
            failed_logins   INTEGER NOT NULL,
            locked_until    INTEGER,
            created_at      INTEGER NOT NULL,
            disabled_at     INTEGER
        );

        CREATE TABLE IF NOT EXISTS project_members (
            project_id  INTEGER NOT NULL,
            user_id     TEXT    NOT NULL,
            PRIMARY KEY (project_id, user_id)
        ) WITHOUT ROWID;

        CREATE INDEX IF NOT EXISTS project_members_by_user ON project_members (user_id);

        CREATE TABLE IF NOT EXISTS invitations (
            id           TEXT    PRIMARY KEY,
            token_hash   TEXT    NOT NULL UNIQUE,
            email        TEXT    NOT NULL,
            role         TEXT    NOT NULL,
            project_ids  TEXT    NOT NULL, -- comma-separated
            created_by   TEXT    NOT NULL,
            created_at   INTEGER NOT NULL,
            expires_at   INTEGER NOT NULL,
            accepted_at  INTEGER,
            revoked_at   INTEGER
        );

        CREATE TABLE IF NOT EXISTS api_tokens (
            id            TEXT    PRIMARY KEY,
            user_id       TEXT    NOT NULL,
            name          TEXT    NOT NULL,
            token_hash    TEXT    NOT NULL UNIQUE,
            created_at    INTEGER NOT NULL,
            last_used_at  INTEGER,
            revoked_at    INTEGER
        );

        CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens (user_id);

        CREATE TABLE IF NOT EXISTS project_drops (
            project_id  INTEGER NOT NULL,
            hour        INTEGER NOT NULL, -- unix seconds, start of the hour
            reason      TEXT    NOT NULL,
            batches     INTEGER NOT NULL,
            events      INTEGER NOT NULL,
            PRIMARY KEY (project_id, hour, reason)
        ) WITHOUT ROWID;
        """;

    private static readonly (string Name, string Definition)[] ProjectColumns =
    [
        ("deleted_at", "INTEGER"),
        ("rate_limit_per_minute", "INTEGER"),
        ("retention_days", "INTEGER"),
    ];

    /// <summary>Runs inside the schema transaction, after the base tables exist.</summary>
    public static async Task EnsureAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await SqliteDatabase.ExecuteAsync(connection, transaction, CreateStatements, cancellationToken);

        var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await using (var columns = connection.CreateCommand())
        {
            columns.Transaction = transaction;
            columns.CommandText = "SELECT name FROM pragma_table_info('projects')";
            await using var reader = await columns.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                existing.Add(reader.GetString(0));
            }
        }

        foreach (var (name, definition) in ProjectColumns.Where(column => !existing.Contains(column.Name)))
        {
            await SqliteDatabase.ExecuteAsync(connection, transaction, $"ALTER TABLE projects ADD COLUMN {name} {definition};", cancellationToken);
        }

        // Keys used to live in projects.public_key; a key that is there but not among the project's keys
        // becomes one (OR IGNORE: one that was revoked since stays revoked).
        await SqliteDatabase.ExecuteAsync(
            connection,
            transaction,
            """
            INSERT OR IGNORE INTO project_keys (project_id, public_key, label, created_at, revoked_at)
            SELECT id, public_key, 'Default', created_at, NULL FROM projects WHERE public_key <> '';
            """,
            cancellationToken);
    }
}
