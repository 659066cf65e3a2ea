using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The embedded store's file: one SQLite database in WAL mode, so the dashboard reads while ingest
/// writes. Writes from this process are serialized (SQLite has one writer at a time anyway; queueing
/// here avoids busy-waiting on the file lock); other processes are waited for by the busy timeout.
/// The writer, the readers, the project store and the access store share it. Only the schema's creation creates the file:
/// a database file deleted under a running server is refused, never written to (see <see cref="OpenAsync(CancellationToken)"/>).
/// </summary>
internal sealed class SqliteDatabase : IStoreSchema, IDisposable
{
    private const int BusyTimeoutMilliseconds = 30_000;

    private readonly string _connectionString;
    private readonly string _createConnectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>
    /// How long, in all, a write started in this async flow waits for the file's write lock: behind this process's earlier
    /// writes, then for another process's transaction (SQLite's busy timeout). Null: each write waits the busy timeout of 30
    /// seconds, which ingest's commits need under ordinary contention. The dashboard sets it around its users' requests and
    /// clicks (<c>ErrorHub:Store:Sqlite:PageWriteTimeout</c>): during another process's long lock, several changes at once
    /// would otherwise queue here and each wait out the whole busy timeout, the last for minutes.
    /// </summary>
    public static readonly AsyncLocal<TimeSpan?> WriteWithin = new();

    public SqliteDatabase(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMilliseconds / 1000,
        };
        _connectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        _createConnectionString = builder.ToString();
    }

    public string Kind => StoreOptions.SqliteKind;

    public string DatabasePath { get; }

    /// <summary>The whole store on one file: its parts share this database.</summary>
    public static ErrorHubStore Open(string databasePath)
    {
        var database = new SqliteDatabase(databasePath);
        var merges = new SqliteIssueMerges(database);
        return new ErrorHubStore(database, new SqliteEventWriter(database), new SqliteIssueReader(database), new SqliteProjectStore(database), new SqliteAccessStore(database), new SqliteRetention(database), database)
        {
            Notifications = new NotificationStores(new SqliteIssueStates(database), new SqliteIssueActivity(database), new SqliteNotificationStore(database)),
            History = new SqliteIssueHistory(database),
            Merges = merges,
            Bookmarks = new SqliteIssueBookmarks(database, merges),
            SavedSearches = new SqliteSavedSearches(database),
            Releases = new SqliteReleaseReader(database),
        };
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // .NET's own words ("Read-only file system : '<path>'") say what failed, not what the database needs.
                throw new IOException(
                    $"the database directory {directory} cannot be created ({ex.Message}): it, or the directory it is made in, must be writable by this process (SQLite keeps its -wal and -shm files beside the database), not on a read-only file system or a full disk",
                    ex);
            }
        }

        try
        {
            await CreateSchemaAsync(cancellationToken);
        }
        catch (SqliteException ex) when (UnusableFile(ex) is { } reason)
        {
            // SQLite's own words name neither the file nor a way out, and this is what stops the start.
            throw new DatabaseFileUnusableException(DatabasePath, reason, ex);
        }
    }

    /// <summary>What an operator must know about a database file SQLite cannot work with; null for other failures.</summary>
    private string? UnusableFile(SqliteException ex) => UnusableFileReason(ex, Path.GetFileName(DatabasePath));

    private static string? UnusableFileReason(SqliteException ex, string fileName) => ex.SqliteErrorCode switch
    {
        SQLitePCL.raw.SQLITE_CORRUPT or SQLitePCL.raw.SQLITE_NOTADB =>
            "is damaged or is no SQLite database: restore it from a backup (or recover what it holds with sqlite3's .recover), or move it away to start with an empty one",
        SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM =>
            $"cannot be opened for writing: the file and its directory must be writable by this process (SQLite keeps {fileName}-wal and -shm beside it), not on a read-only file system",
        SQLitePCL.raw.SQLITE_FULL => "cannot grow: its disk is full",
        SQLitePCL.raw.SQLITE_IOERR => "cannot be read or written: the disk failed",
        _ => null,
    };

    /// <summary>
    /// Whether <paramref name="exception"/> says the file cannot be used right now (locked by another process's write past the
    /// busy timeout, read-only, damaged, on a full or failing disk, deleted): what a request should answer with 503 and
    /// <c>Retry-After</c>, as for a ClickHouse node that is down, not as a bug.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        DatabaseFileMissingException or DatabaseFileUnusableException => true,
        SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED } => true,
        SqliteException sqlite => UnusableFileReason(sqlite, "") is not null,
        _ => false,
    };

    private async Task CreateSchemaAsync(CancellationToken cancellationToken)
    {
        await WriteAsync(
            create: true,
            async (connection, cancellationToken) =>
            {
                // WAL is a property of the file: set once, every later connection uses it.
                await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);

                // Immediate: a second process creating the schema at the same time waits here, then finds it made and
                // its version recorded, so the version read below is never one another process is about to change.
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                var storedVersion = await SqliteSchema.StoredVersionAsync(connection, transaction, cancellationToken);
                StoreSchemaVersionUnknownException.ThrowIfNegative(storedVersion, DatabasePath);
                StoreSchemaTooNewException.ThrowIfNewer(Kind, storedVersion, SqliteSchema.Version);
                await ExecuteAsync(connection, transaction, SqliteSchema.CreateStatements, cancellationToken);
                await SqliteSchema.UpgradeAsync(connection, transaction, cancellationToken);
                await SqliteIssueEvents.EnsureAsync(connection, transaction, storedVersion, cancellationToken);
                await SqliteAccessSchema.EnsureAsync(connection, transaction, cancellationToken);
                await ExecuteAsync(connection, transaction, SqliteNotificationSchema.CreateStatements, cancellationToken);
                await SqliteEventHours.EnsureAsync(connection, transaction, cancellationToken);
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

    /// <summary>
    /// Runs <paramref name="write"/> on a fresh connection while holding this process's write lock. Throws when the file was
    /// deleted before or while it ran: what it committed then went into a file nobody can open again.
    /// </summary>
    public Task WriteAsync(Func<SqliteConnection, CancellationToken, Task> write, CancellationToken cancellationToken) =>
        WriteAsync(create: false, write, cancellationToken);

    private async Task WriteAsync(bool create, Func<SqliteConnection, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var busyTimeout = TimeSpan.FromMilliseconds(BusyTimeoutMilliseconds);
        if (WriteWithin.Value is { } bound && !create)
        {
            var waiting = Stopwatch.GetTimestamp();
            if (!await _writeLock.WaitAsync(bound, cancellationToken))
            {
                // The same error as SQLite's own when another process holds the lock, so that callers answer it alike (503).
                throw new SqliteException(
                    $"SQLite Error 5: 'database is locked': this process's earlier writes to {Path.GetFileName(DatabasePath)} still wait for its write lock after {bound} (ErrorHub:Store:Sqlite:PageWriteTimeout); does another process hold a write transaction on it?",
                    SQLitePCL.raw.SQLITE_BUSY);
            }

            busyTimeout = bound - Stopwatch.GetElapsedTime(waiting);
        }
        else
        {
            await _writeLock.WaitAsync(cancellationToken);
        }

        try
        {
            await using (var connection = await OpenAsync(create, busyTimeout, cancellationToken))
            {
                await write(connection, cancellationToken);
            }

            EnsureFileExists();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// A connection to the database file; throws (<see cref="DatabaseFileMissingException"/>, or SQLite's "unable to open") when
    /// the file is gone. Pooled connections would otherwise go on reading and writing the deleted file, which the kernel keeps
    /// for them while they are open: ingest would acknowledge events that no restart finds, and a new connection would make
    /// an empty database in its place.
    /// </summary>
    /// <summary>Runs on each connection as it opens: tests count the work a read does with it.</summary>
    internal Action<SqliteConnection>? ConnectionOpenedForTests { get; set; }

    public Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) =>
        OpenAsync(create: false, TimeSpan.FromMilliseconds(BusyTimeoutMilliseconds), cancellationToken);

    /// <param name="busyTimeout">How long each statement waits for another process's lock (SQLite's busy timeout and the driver's own retries).</param>
    private async Task<SqliteConnection> OpenAsync(bool create, TimeSpan busyTimeout, CancellationToken cancellationToken)
    {
        if (!create)
        {
            EnsureFileExists();
        }

        var busyMilliseconds = Math.Clamp((int)Math.Ceiling(busyTimeout.TotalMilliseconds), 1, BusyTimeoutMilliseconds);
        var connection = new SqliteConnection(create ? _createConnectionString : _connectionString)
        {
            // The driver retries a busy statement for this long on top of SQLite's wait (whole seconds; 0 would be forever).
            DefaultTimeout = Math.Max(1, busyMilliseconds / 1000),
        };
        try
        {
            await connection.OpenAsync(cancellationToken);
            RegisterFunctions(connection);
            ConnectionOpenedForTests?.Invoke(connection);
            // FULL: a committed batch survives a power cut; ingest answers 202 only after that.
            await ExecuteAsync(
                connection,
                null,
                $"PRAGMA busy_timeout = {busyMilliseconds.ToString(CultureInfo.InvariantCulture)}; PRAGMA synchronous = FULL;",
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

    /// <summary>Throws, and lets the pooled connections to a deleted file go, when the database file is no longer there.</summary>
    private void EnsureFileExists()
    {
        if (File.Exists(DatabasePath))
        {
            return;
        }

        ClearPools();
        throw new DatabaseFileMissingException(DatabasePath);
    }

    /// <summary>Pooled connections keep the file (and its -wal/-shm companions) open.</summary>
    private void ClearPools()
    {
        foreach (var connectionString in new[] { _connectionString, _createConnectionString })
        {
            using var connection = new SqliteConnection(connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    public void Dispose()
    {
        ClearPools();
        _writeLock.Dispose();
    }
}

/// <summary>The embedded store's database file is there but SQLite cannot work with it: damaged, read-only, on a full or failing disk.</summary>
internal sealed class DatabaseFileUnusableException(string path, string reason, SqliteException inner)
    : IOException($"the database file {path} {reason} ({inner.Message})", inner);

/// <summary>The embedded store's database file is not there: deleted or moved while the server ran, or never created.</summary>
internal sealed class DatabaseFileMissingException(string path)
    : IOException($"the database file {path} is missing: deleted or moved while the server ran, or never created (ErrorHub:Store:EnsureSchemaOnStartup is off); restore it, or restart the server to create an empty one");
