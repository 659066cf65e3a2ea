using System.Globalization;
using ErrorHub.Storage.Events;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, so the dashboard reads while ingest writes.
/// Writes from this process are serialized (SQLite has one writer at a time anyway; queueing here
/// avoids busy-waiting on the file lock); other processes are waited for by the busy timeout.
/// </summary>
internal sealed class SqliteStore : IErrorHubStore, IDisposable
{
    private const int BusyTimeoutMilliseconds = 30_000;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public SqliteStore(string databasePath)
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

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);

            // WAL is a property of the file: set once, every later connection uses it.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);

            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await ExecuteAsync(connection, transaction, SqliteSchema.CreateStatements, cancellationToken);
            await ExecuteAsync(connection, transaction, $"PRAGMA user_version = {SqliteSchema.Version.ToString(CultureInfo.InvariantCulture)};", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            using var writer = new BatchWriter(connection, transaction);
            foreach (var errorEvent in events)
            {
                await writer.WriteAsync(errorEvent, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        IssueQueryValidation.Validate(query);
        var orderColumn = query.Sort switch
        {
            IssueSort.LastSeen => "last_seen",
            IssueSort.FirstSeen => "first_seen",
            IssueSort.Events => "event_count",
            IssueSort.Users => "user_count",
            _ => throw new ArgumentOutOfRangeException(nameof(query), query.Sort, "Unknown sort."),
        };
        var direction = query.Descending ? "DESC" : "ASC";

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: true);

        var items = new List<IssueSummary>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                SELECT fingerprint, title, culprit, level, event_count, user_count, first_seen, last_seen
                FROM issues
                WHERE project_id = $project
                ORDER BY {orderColumn} {direction}, fingerprint ASC
                LIMIT $limit OFFSET $offset
                """;
            command.Parameters.AddWithValue("$project", query.ProjectId);
            command.Parameters.AddWithValue("$limit", query.Limit);
            command.Parameters.AddWithValue("$offset", query.Offset);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(ReadIssue(query.ProjectId, reader));
            }
        }

        await using (var count = connection.CreateCommand())
        {
            count.Transaction = transaction;
            count.CommandText = "SELECT count(*) FROM issues WHERE project_id = $project";
            count.Parameters.AddWithValue("$project", query.ProjectId);
            var total = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            return new IssuePage(items, total);
        }
    }

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT fingerprint, title, culprit, level, event_count, user_count, first_seen, last_seen
            FROM issues
            WHERE project_id = $project AND fingerprint = $fingerprint
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadIssue(projectId, reader) : null;
    }

    public async Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT payload
            FROM events
            WHERE project_id = $project AND fingerprint = $fingerprint
            ORDER BY timestamp DESC, received_at DESC, event_id
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$limit", limit);
        var events = new List<ErrorEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(EventPayloadJson.Deserialize(reader.GetString(0)));
        }

        return events;
    }

    public async Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM events WHERE project_id = $project AND event_id = $event";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$event", eventId);
        var payload = await command.ExecuteScalarAsync(cancellationToken);
        return payload is string json ? EventPayloadJson.Deserialize(json) : null;
    }

    public async Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();

            // The creation time is the first one recorded: replacing a project renames or re-keys it.
            command.CommandText = """
                INSERT INTO projects (id, name, public_key, created_at)
                VALUES ($id, $name, $key, $created)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key
                """;
            command.Parameters.AddWithValue("$id", project.Id);
            command.Parameters.AddWithValue("$name", project.Name);
            command.Parameters.AddWithValue("$key", project.PublicKey);
            command.Parameters.AddWithValue("$created", project.CreatedAt.ToUnixTimeSeconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var projects = await ReadProjectsAsync(projectId, cancellationToken);
        return projects.Count == 0 ? null : projects[0];
    }

    public Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default) =>
        ReadProjectsAsync(null, cancellationToken);

    public void Dispose()
    {
        // Pooled connections keep the file (and its -wal/-shm companions) open; let them go with the store.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writeLock.Dispose();
    }

    private async Task<IReadOnlyList<Project>> ReadProjectsAsync(int? projectId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = projectId is null
            ? "SELECT id, name, public_key, created_at FROM projects ORDER BY id"
            : "SELECT id, name, public_key, created_at FROM projects WHERE id = $id";
        if (projectId is { } id)
        {
            command.Parameters.AddWithValue("$id", id);
        }

        var projects = new List<Project>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            projects.Add(new Project(
                reader.GetInt32(0),
                reader.GetString(1),
                reader.GetString(2),
                DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(3))));
        }

        return projects;
    }

    private static IssueSummary ReadIssue(int projectId, SqliteDataReader reader) => new(
        projectId,
        Fingerprint: reader.GetString(0),
        Title: reader.GetString(1),
        Culprit: reader.GetString(2),
        Level: reader.GetString(3),
        EventCount: reader.GetInt64(4),
        UserCount: reader.GetInt64(5),
        FirstSeen: StoreTime.ToWholeSeconds(reader.GetInt64(6)),
        LastSeen: StoreTime.ToWholeSeconds(reader.GetInt64(7)));

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            // FULL: a committed batch survives a power cut; ingest checkpoints its own log only after that.
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

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Prepared statements reused for every event of one batch.</summary>
    private sealed class BatchWriter : IDisposable
    {
        private readonly SqliteCommand _insertEvent;
        private readonly SqliteCommand _insertTag;
        private readonly SqliteCommand _upsertIssue;
        private readonly SqliteCommand _insertIssueUser;
        private readonly SqliteCommand _countIssueUser;

        public BatchWriter(SqliteConnection connection, SqliteTransaction transaction)
        {
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

            // The latest event (by its own timestamp, not arrival order) names the issue.
            _upsertIssue = Create(connection, transaction, """
                INSERT INTO issues (project_id, fingerprint, title, culprit, level, event_count, user_count, first_seen, last_seen)
                VALUES ($project, $fingerprint, $title, $culprit, $level, 1, 0, $timestamp, $timestamp)
                ON CONFLICT (project_id, fingerprint) DO UPDATE SET
                    event_count = event_count + 1,
                    first_seen = min(first_seen, excluded.first_seen),
                    last_seen = max(last_seen, excluded.last_seen),
                    title = CASE WHEN excluded.last_seen >= last_seen THEN excluded.title ELSE title END,
                    culprit = CASE WHEN excluded.last_seen >= last_seen THEN excluded.culprit ELSE culprit END,
                    level = CASE WHEN excluded.last_seen >= last_seen THEN excluded.level ELSE level END
                """,
                "$project", "$fingerprint", "$title", "$culprit", "$level", "$timestamp");

            _insertIssueUser = Create(connection, transaction,
                "INSERT OR IGNORE INTO issue_users (project_id, fingerprint, user_hash) VALUES ($project, $fingerprint, $user_hash)",
                "$project", "$fingerprint", "$user_hash");

            _countIssueUser = Create(connection, transaction,
                "UPDATE issues SET user_count = user_count + 1 WHERE project_id = $project AND fingerprint = $fingerprint",
                "$project", "$fingerprint");
        }

        public async Task WriteAsync(ErrorEvent e, CancellationToken cancellationToken)
        {
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

            foreach (var (key, value) in e.Tags)
            {
                Set(_insertTag, e.ProjectId, e.EventId, key, value);
                await _insertTag.ExecuteNonQueryAsync(cancellationToken);
            }

            Set(_upsertIssue, e.ProjectId, e.Fingerprint, e.Title, e.Culprit, e.Level, timestamp);
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

        public void Dispose()
        {
            _insertEvent.Dispose();
            _insertTag.Dispose();
            _upsertIssue.Dispose();
            _insertIssueUser.Dispose();
            _countIssueUser.Dispose();
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
