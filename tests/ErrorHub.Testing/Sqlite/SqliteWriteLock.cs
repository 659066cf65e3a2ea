using Microsoft.Data.Sqlite;

namespace ErrorHub.Testing.Sqlite;

/// <summary>
/// Another process's write transaction on a SQLite store (a backup, a <c>sqlite3</c> shell left in <c>BEGIN</c>): while it
/// is held, reads go on and every write waits out the busy timeout.
/// </summary>
public static class SqliteWriteLock
{
    /// <summary>Takes the write lock of the database at <paramref name="databasePath"/>; disposing the connection lets go.</summary>
    public static async Task<SqliteConnection> HoldAsync(string databasePath)
    {
        // Unpooled: a connection of its own, as another process's would be, closed for good when disposed.
        var holder = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        try
        {
            await holder.OpenAsync();
            await using var begin = holder.CreateCommand();
            begin.CommandText = "BEGIN IMMEDIATE;";
            await begin.ExecuteNonQueryAsync();
            return holder;
        }
        catch
        {
            await holder.DisposeAsync();
            throw;
        }
    }
}
