using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The count of each project's events per hour of event time, kept by triggers as rows are added to and removed from
/// <c>events</c> (any writer, retention, a project's deletion, an earlier build writing to the same file): the
/// notifier's late-event watch reads 24 rows here where it counted one index entry per event of the last day
/// (docs/benchmarks.md §97, §104).
/// </summary>
internal static class SqliteEventHours
{
    public const long HourMilliseconds = 3_600_000;

    private const string CreateStatements = """
        CREATE TABLE event_hours (
            project_id  INTEGER NOT NULL,
            hour        INTEGER NOT NULL, -- unix milliseconds / 3,600,000 (events before 1970 are never counted here)
            events      INTEGER NOT NULL,
            PRIMARY KEY (project_id, hour)
        ) WITHOUT ROWID;

        CREATE TRIGGER IF NOT EXISTS event_hours_added AFTER INSERT ON events WHEN NEW.timestamp >= 0
        BEGIN
            INSERT INTO event_hours (project_id, hour, events) VALUES (NEW.project_id, NEW.timestamp / 3600000, 1)
            ON CONFLICT (project_id, hour) DO UPDATE SET events = events + 1;
        END;

        CREATE TRIGGER IF NOT EXISTS event_hours_removed AFTER DELETE ON events WHEN OLD.timestamp >= 0
        BEGIN
            UPDATE event_hours SET events = events - 1 WHERE project_id = OLD.project_id AND hour = OLD.timestamp / 3600000;
        END;

        CREATE TRIGGER IF NOT EXISTS event_hours_moved AFTER UPDATE OF project_id, timestamp ON events
        BEGIN
            UPDATE event_hours SET events = events - 1 WHERE OLD.timestamp >= 0 AND project_id = OLD.project_id AND hour = OLD.timestamp / 3600000;
            INSERT INTO event_hours (project_id, hour, events) SELECT NEW.project_id, NEW.timestamp / 3600000, 1 WHERE NEW.timestamp >= 0
            ON CONFLICT (project_id, hour) DO UPDATE SET events = events + 1;
        END;

        -- What the file already holds, counted once, in the transaction that adds the triggers.
        INSERT INTO event_hours (project_id, hour, events)
        SELECT project_id, timestamp / 3600000, count(*) FROM events WHERE timestamp >= 0 GROUP BY project_id, timestamp / 3600000;
        """;

    /// <summary>Creates the table, its triggers and its counts of the events already stored, once (in the schema's transaction).</summary>
    public static async Task EnsureAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        await using var exists = connection.CreateCommand();
        exists.Transaction = transaction;
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'event_hours'";
        if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
        {
            await SqliteDatabase.ExecuteAsync(connection, transaction, CreateStatements, cancellationToken);
        }
    }
}
