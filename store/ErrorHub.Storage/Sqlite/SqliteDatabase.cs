using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The embedded store's file: one SQLite database in WAL mode, so the dashboard reads while ingest
/// writes. Writes from this process are serialized (SQLite has one writer at a time anyway; queueing
/// here avoids busy-waiting on the file lock); other processes are waited for by the busy timeout.
/// The writer, the readers, the project store and the access store share it.
/// </summary>
internal sealed class SqliteDatabase : IStoreSchema, IDisposable
{
    private const int BusyTimeoutMilliseconds = 30_000;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public SqliteDatabase(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMilliseconds / 1000,
        }.ToString();
    }

    public string Kind => StoreOptions.SqliteKind;

    public string DatabasePath { get; }

    /// <summary>The whole store on one file: its parts share this database.</summary>
    public static ErrorHubStore Open(string databasePath)
    {
        var database = new SqliteDatabase(databasePath);
        return new ErrorHubStore(database, new SqliteEventWriter(database), new SqliteIssueReader(database), new SqliteProjectStore(database), new SqliteAccessStore(database), new SqliteRetention(database), database)
        {
            Notifications = new NotificationStores(new SqliteIssueStates(database), new SqliteIssueActivity(database), new SqliteNotificationStore(database)),
            History = new SqliteIssueHistory(database),
            Merges = new SqliteIssueMerges(database),
            Releases = new SqliteReleaseReader(database),
        };
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await WriteAsync(
            async (connection, cancellationToken) =>
            {
                // WAL is a property of the file: set once, every later connection uses it.
                await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);

                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, transaction, SqliteSchema.CreateStatements, cancellationToken);
                await SqliteSchema.UpgradeAsync(connection, transaction, cancellationToken);
                await SqliteIssueEvents.EnsureAsync(connection, transaction, cancellationToken);
                await SqliteAccessSchema.EnsureAsync(connection, transaction, cancellationToken);
                await ExecuteAsync(connection, transaction, SqliteNotificationSchema.CreateStatements, cancellationToken);
                await ExecuteAsync(connection, transaction, $"PRAGMA user_version = {SqliteSchema.Version.ToString(CultureInfo.InvariantCulture)};", cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task CheckAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM projects WHERE id = 0";
        await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>Runs <paramref name="write"/> on a fresh connection while holding this process's write lock.</summary>
    public async Task WriteAsync(Func<SqliteConnection, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await write(connection, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            RegisterFunctions(connection);
            // FULL: a committed batch survives a power cut; ingest answers 202 only after that.
            await ExecuteAsync(
                connection,
                null,
                $"PRAGMA busy_timeout = {BusyTimeoutMilliseconds.ToString(CultureInfo.InvariantCulture)}; PRAGMA synchronous = FULL;",
                cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>The name of <c>contains(text, search)</c>: case-insensitive as .NET and ClickHouse see case (SQLite's own LIKE folds ASCII only), and no wildcards to escape.</summary>
    public const string ContainsFunction = "errorhub_contains";

    private static void RegisterFunctions(SqliteConnection connection) =>
        connection.CreateFunction<string?, string?, bool>(
            ContainsFunction,
            (text, search) => text is not null && search is not null && text.Contains(search, StringComparison.OrdinalIgnoreCase),
            isDeterministic: true);

    public static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose()
    {
        // Pooled connections keep the file (and its -wal/-shm companions) open; let them go with the store.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writeLock.Dispose();
    }
}
