using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Projects, their keys and settings on SQLite. A deleted project keeps its row (marked), so its id is never reused.</summary>
internal sealed class SqliteProjectStore(SqliteDatabase database) : IProjectStore
{
    // The newest active key is the one the DSN shows.
    private const string ProjectColumns = """
        p.id, p.name, p.created_at,
        coalesce((SELECT k.public_key FROM project_keys k
                  WHERE k.project_id = p.id AND k.revoked_at IS NULL
                  ORDER BY k.created_at DESC, k.public_key DESC LIMIT 1), '')
        """;

    public Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);

                // The creation time is the first one recorded; a deleted project stays deleted.
                await ExecuteAsync(connection, transaction, """
                    INSERT INTO projects (id, name, public_key, created_at)
                    VALUES ($id, $name, $key, $created)
                    ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE deleted_at IS NULL
                    """,
                    cancellationToken,
                    ("$id", project.Id), ("$name", project.Name), ("$key", project.PublicKey), ("$created", project.CreatedAt.ToUnixTimeSeconds()));
                if (project.PublicKey.Length > 0)
                {
                    await ExecuteAsync(connection, transaction, """
                        INSERT OR IGNORE INTO project_keys (project_id, public_key, label, created_at)
                        SELECT id, $key, 'Default', $now FROM projects WHERE id = $id AND deleted_at IS NULL
                        """,
                        cancellationToken,
                        ("$id", project.Id), ("$key", project.PublicKey), ("$now", project.CreatedAt.ToUnixTimeSeconds()));
                }

                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<Project> CreateProjectAsync(string name, string publicKey, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKey);
        var id = 0;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                await using (var next = connection.CreateCommand())
                {
                    next.Transaction = transaction;
                    next.CommandText = "SELECT coalesce(max(id), 0) + 1 FROM projects";
                    id = Convert.ToInt32(await next.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
                }

                await ExecuteAsync(connection, transaction, "INSERT INTO projects (id, name, public_key, created_at) VALUES ($id, $name, '', $created)",
                    cancellationToken, ("$id", id), ("$name", name), ("$created", createdAt.ToUnixTimeSeconds()));
                await ExecuteAsync(connection, transaction, "INSERT INTO project_keys (project_id, public_key, label, created_at) VALUES ($id, $key, 'Default', $created)",
                    cancellationToken, ("$id", id), ("$key", publicKey), ("$created", createdAt.ToUnixTimeSeconds()));
                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
        return new Project(id, name, publicKey, DateTimeOffset.FromUnixTimeSeconds(createdAt.ToUnixTimeSeconds()));
    }

    public Task<bool> RenameProjectAsync(int projectId, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return ChangeAsync("UPDATE projects SET name = $name WHERE id = $id AND deleted_at IS NULL", cancellationToken, ("$id", projectId), ("$name", name));
    }

    public Task<bool> DeleteProjectAsync(int projectId, DateTimeOffset deletedAt, CancellationToken cancellationToken = default) =>
        ChangeAsync("UPDATE projects SET deleted_at = $at WHERE id = $id AND deleted_at IS NULL", cancellationToken, ("$id", projectId), ("$at", deletedAt.ToUnixTimeSeconds()));

    public async Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var projects = await ReadProjectsAsync(projectId, cancellationToken);
        return projects.Count == 0 ? null : projects[0];
    }

    public Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default) =>
        ReadProjectsAsync(null, cancellationToken);

    public async Task<IReadOnlyList<ProjectKey>> GetKeysAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT k.public_key, k.label, k.created_at, k.revoked_at
            FROM project_keys k JOIN projects p ON p.id = k.project_id
            WHERE k.project_id = $id AND p.deleted_at IS NULL
            ORDER BY k.created_at, k.public_key
            """;
        command.Parameters.AddWithValue("$id", projectId);
        var keys = new List<ProjectKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new ProjectKey(
                projectId,
                reader.GetString(0),
                reader.GetString(1),
                DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2)),
                reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(3))));
        }

        return keys;
    }

    public Task<bool> AddKeyAsync(int projectId, string publicKey, string label, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKey);
        ArgumentNullException.ThrowIfNull(label);
        return ChangeAsync(
            """
            INSERT OR IGNORE INTO project_keys (project_id, public_key, label, created_at)
            SELECT id, $key, $label, $created FROM projects WHERE id = $id AND deleted_at IS NULL
            """,
            cancellationToken,
            ("$id", projectId), ("$key", publicKey), ("$label", label), ("$created", createdAt.ToUnixTimeSeconds()));
    }

    public Task<bool> RevokeKeyAsync(int projectId, string publicKey, DateTimeOffset revokedAt, CancellationToken cancellationToken = default) =>
        ChangeAsync(
            "UPDATE project_keys SET revoked_at = $at WHERE project_id = $id AND public_key = $key AND revoked_at IS NULL",
            cancellationToken,
            ("$id", projectId), ("$key", publicKey), ("$at", revokedAt.ToUnixTimeSeconds()));

    public async Task<ProjectSettings?> GetSettingsAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT rate_limit_per_minute, retention_days FROM projects WHERE id = $id AND deleted_at IS NULL";
        command.Parameters.AddWithValue("$id", projectId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new ProjectSettings(reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt32(1));
    }

    public Task<bool> SaveSettingsAsync(int projectId, ProjectSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return ChangeAsync(
            "UPDATE projects SET rate_limit_per_minute = $rate, retention_days = $retention WHERE id = $id AND deleted_at IS NULL",
            cancellationToken,
            ("$id", projectId), ("$rate", settings.RateLimitPerMinute), ("$retention", settings.RetentionDays));
    }

    public Task AddDropsAsync(IReadOnlyCollection<ProjectDrops> drops, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(drops);
        if (drops.Count == 0)
        {
            return Task.CompletedTask;
        }

        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
                foreach (var drop in drops)
                {
                    await ExecuteAsync(connection, transaction, """
                        INSERT INTO project_drops (project_id, hour, reason, batches, events)
                        VALUES ($id, $hour, $reason, $batches, $events)
                        ON CONFLICT (project_id, hour, reason) DO UPDATE SET
                            batches = batches + excluded.batches,
                            events = events + excluded.events
                        """,
                        cancellationToken,
                        ("$id", drop.ProjectId), ("$hour", StoreTime.StartOfHour(drop.Hour).ToUnixTimeSeconds()), ("$reason", drop.Reason),
                        ("$batches", drop.Batches), ("$events", drop.Events));
                }

                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<IReadOnlyList<ProjectDrops>> GetDropsAsync(int projectId, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT hour, reason, batches, events FROM project_drops
            WHERE project_id = $id AND hour >= $since
            ORDER BY hour, reason
            """;
        command.Parameters.AddWithValue("$id", projectId);
        command.Parameters.AddWithValue("$since", StoreTime.StartOfHour(since).ToUnixTimeSeconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var drops = new List<ProjectDrops>();
        while (await reader.ReadAsync(cancellationToken))
        {
            drops.Add(new ProjectDrops(projectId, StoreTime.FromUnixSeconds(reader.GetInt64(0)), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return drops;
    }

    private async Task<IReadOnlyList<Project>> ReadProjectsAsync(int? projectId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = projectId is null
            ? $"SELECT {ProjectColumns} FROM projects p WHERE p.deleted_at IS NULL ORDER BY p.id"
            : $"SELECT {ProjectColumns} FROM projects p WHERE p.id = $id AND p.deleted_at IS NULL";
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
                reader.GetString(3),
                DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2))));
        }

        return projects;
    }

    private async Task<bool> ChangeAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var changed = 0;
        await database.WriteAsync(
            async (connection, cancellationToken) => changed = await ExecuteAsync(connection, null, sql, cancellationToken, parameters),
            cancellationToken);
        return changed > 0;
    }

    internal static async Task<int> ExecuteAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
