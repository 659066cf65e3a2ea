using System.Text.Json;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Projects and their keys as ReplacingMergeTree tables: every change is a new row with a higher version;
/// reads take the latest. A change that keeps other columns reads the row first, under a lock, so writes
/// from this process never undo each other (one dashboard writes projects; docs/storage.md).
/// </summary>
internal sealed class ClickHouseProjectStore(ClickHouseClient client, ClickHouseSchema schema, ClickHouseAccessSchema accessSchema) : IProjectStore, IDisposable
{
    private readonly ClickHouseWriteLock _writeLock = new();

    public Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentOutOfRangeException.ThrowIfNegative(project.Id, nameof(project.Id));
        return WriteAsync(async () =>
        {
            // Replacing a project renames it; its creation time stays the first one recorded; a deleted one stays deleted.
            var existing = (await ReadRowsAsync(project.Id, cancellationToken)).SingleOrDefault();
            if (existing?.DeletedAt is not null)
            {
                return;
            }

            var row = existing is null
                ? project
                : existing.Project with { Name = project.Name };
            await client.InsertAsync(schema.Projects, [new ClickHouseProjectRow(row, RowVersion.Next(), existing?.Settings)], cancellationToken);
            if (project.PublicKey.Length > 0 && !(await ReadKeysAsync(project.Id, cancellationToken)).Any(key => key.PublicKey == project.PublicKey))
            {
                await InsertKeyAsync(new ProjectKey(project.Id, project.PublicKey, "Default", project.CreatedAt, null), cancellationToken);
            }
        });
    }

    public async Task<Project> CreateProjectAsync(string name, string publicKey, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKey);
        Project? created = null;
        await WriteAsync(async () =>
        {
            var ids = await client.QueryAsync(
                $"SELECT max(id) AS last_id FROM {schema.Projects}",
                row => ClickHouseClient.ReadInt64(row.GetProperty("last_id")),
                cancellationToken);
            var project = new Project(checked((int)(ids.Count == 0 ? 0 : ids[0]) + 1), name, publicKey, AccessRoles.ToWholeSeconds(createdAt));
            await client.InsertAsync(schema.Projects, [new ClickHouseProjectRow(project, RowVersion.Next())], cancellationToken);
            await InsertKeyAsync(new ProjectKey(project.Id, publicKey, "Default", project.CreatedAt, null), cancellationToken);
            created = project;
        });
        return created!;
    }

    public Task<bool> RenameProjectAsync(int projectId, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return ChangeRowAsync(projectId, row => row with { Project = row.Project with { Name = name } }, cancellationToken);
    }

    public Task<bool> DeleteProjectAsync(int projectId, DateTimeOffset deletedAt, CancellationToken cancellationToken = default) =>
        ChangeRowAsync(projectId, row => row with { DeletedAt = deletedAt }, cancellationToken);

    public async Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var rows = await ReadRowsAsync(projectId, cancellationToken);
        if (rows.SingleOrDefault() is not { DeletedAt: null } row)
        {
            return null;
        }

        return WithNewestKey(row.Project, await ReadKeysAsync(projectId, cancellationToken));
    }

    public async Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await ReadRowsAsync(null, cancellationToken);
        var keys = (await ReadKeysAsync(null, cancellationToken)).ToLookup(key => key.ProjectId);
        return [.. rows.Where(row => row.DeletedAt is null).Select(row => WithNewestKey(row.Project, keys[row.Project.Id]))];
    }

    public async Task<IReadOnlyList<ProjectKey>> GetKeysAsync(int projectId, CancellationToken cancellationToken = default) =>
        await GetProjectAsync(projectId, cancellationToken) is null ? [] : await ReadKeysAsync(projectId, cancellationToken);

    public async Task<bool> AddKeyAsync(int projectId, string publicKey, string label, DateTimeOffset createdAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKey);
        ArgumentNullException.ThrowIfNull(label);
        var added = false;
        await WriteAsync(async () =>
        {
            if (await GetProjectAsync(projectId, cancellationToken) is null
                || (await ReadKeysAsync(projectId, cancellationToken)).Any(key => key.PublicKey == publicKey))
            {
                return;
            }

            await InsertKeyAsync(new ProjectKey(projectId, publicKey, label, createdAt, null), cancellationToken);
            added = true;
        });
        return added;
    }

    public async Task<bool> RevokeKeyAsync(int projectId, string publicKey, DateTimeOffset revokedAt, CancellationToken cancellationToken = default)
    {
        var revoked = false;
        await WriteAsync(async () =>
        {
            var key = (await ReadKeysAsync(projectId, cancellationToken)).SingleOrDefault(k => k.PublicKey == publicKey && k.IsActive);
            if (key is null)
            {
                return;
            }

            await InsertKeyAsync(key with { RevokedAt = revokedAt }, cancellationToken);
            revoked = true;
        });
        return revoked;
    }

    public async Task<ProjectSettings?> GetSettingsAsync(int projectId, CancellationToken cancellationToken = default) =>
        (await ReadRowsAsync(projectId, cancellationToken)).SingleOrDefault() is { DeletedAt: null } row ? row.Settings : null;

    public Task<bool> SaveSettingsAsync(int projectId, ProjectSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return ChangeRowAsync(projectId, row => row with { Settings = settings }, cancellationToken);
    }

    public Task AddDropsAsync(IReadOnlyCollection<ProjectDrops> drops, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(drops);
        return drops.Count == 0
            ? Task.CompletedTask
            : client.InsertAsync(accessSchema.ProjectDrops, drops.Select(drop => new ClickHouseProjectDropsRow(drop)).ToList(), cancellationToken);
    }

    public Task<IReadOnlyList<ProjectDrops>> GetDropsAsync(int projectId, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        client.QueryAsync(
            $"""
            SELECT toUnixTimestamp(hour) AS drop_hour, reason, sum(batches) AS drop_batches, sum(events) AS drop_events
            FROM {accessSchema.ProjectDrops}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND hour >= toDateTime({ClickHouseSql.Literal(StoreTime.StartOfHour(since).ToUnixTimeSeconds())}, 'UTC')
            GROUP BY hour, reason
            ORDER BY hour, reason
            """,
            row => new ProjectDrops(
                projectId,
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("drop_hour"))),
                row.GetProperty("reason").GetString() ?? "",
                ClickHouseClient.ReadInt64(row.GetProperty("drop_batches")),
                ClickHouseClient.ReadInt64(row.GetProperty("drop_events"))),
            cancellationToken);

    public void Dispose() => _writeLock.Dispose();

    private static Project WithNewestKey(Project project, IEnumerable<ProjectKey> keys) =>
        project with
        {
            PublicKey = keys.Where(key => key.IsActive).OrderByDescending(key => key.CreatedAt).ThenByDescending(key => key.PublicKey, StringComparer.Ordinal)
                .FirstOrDefault()?.PublicKey ?? "",
        };

    private async Task<bool> ChangeRowAsync(int projectId, Func<ProjectRow, ProjectRow> change, CancellationToken cancellationToken)
    {
        var changed = false;
        await WriteAsync(async () =>
        {
            if ((await ReadRowsAsync(projectId, cancellationToken)).SingleOrDefault() is not { DeletedAt: null } row)
            {
                return;
            }

            var next = change(row);
            await client.InsertAsync(schema.Projects, [new ClickHouseProjectRow(next.Project, RowVersion.Next(), next.Settings, next.DeletedAt)], cancellationToken);
            changed = true;
        });
        return changed;
    }

    private Task WriteAsync(Func<Task> write) => _writeLock.RunAsync(write);

    private Task InsertKeyAsync(ProjectKey key, CancellationToken cancellationToken) =>
        client.InsertAsync(accessSchema.ProjectKeys, [new ClickHouseProjectKeyRow(key, RowVersion.Next())], cancellationToken);

    private Task<IReadOnlyList<ProjectRow>> ReadRowsAsync(int? projectId, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                id,
                argMax(name, version) AS project_name,
                argMax(public_key, version) AS project_key,
                toUnixTimestamp(argMax(created_at, version)) AS created,
                argMax(deleted, version) AS project_deleted,
                toUnixTimestamp(argMax(deleted_at, version)) AS project_deleted_at,
                argMax(rate_limit_per_minute, version) AS project_rate_limit,
                argMax(retention_days, version) AS project_retention
            FROM {schema.Projects}
            {(projectId is { } id ? $"WHERE id = {ClickHouseSql.Literal(id)}" : "")}
            GROUP BY id
            ORDER BY id
            """,
            ReadRow,
            cancellationToken);

    private static ProjectRow ReadRow(JsonElement row)
    {
        var rate = (int)ClickHouseClient.ReadInt64(row.GetProperty("project_rate_limit"));
        var retention = (int)ClickHouseClient.ReadInt64(row.GetProperty("project_retention"));
        var deleted = ClickHouseClient.ReadInt64(row.GetProperty("project_deleted")) != 0;
        return new ProjectRow(
            new Project(
                (int)ClickHouseClient.ReadInt64(row.GetProperty("id")),
                row.GetProperty("project_name").GetString() ?? "",
                row.GetProperty("project_key").GetString() ?? "",
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("created")))),
            new ProjectSettings(rate == 0 ? null : rate, retention == 0 ? null : retention),
            deleted ? ClickHouseTimes.Read(ClickHouseClient.ReadInt64(row.GetProperty("project_deleted_at"))) ?? DateTimeOffset.UnixEpoch : null);
    }

    private Task<IReadOnlyList<ProjectKey>> ReadKeysAsync(int? projectId, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                project_id,
                public_key,
                argMax(label, version) AS key_label,
                toUnixTimestamp(argMax(created_at, version)) AS key_created,
                argMax(revoked, version) AS key_revoked,
                toUnixTimestamp(argMax(revoked_at, version)) AS key_revoked_at
            FROM {accessSchema.ProjectKeys}
            {(projectId is { } id ? $"WHERE project_id = {ClickHouseSql.Literal(id)}" : "")}
            GROUP BY project_id, public_key
            ORDER BY key_created, public_key
            """,
            row => new ProjectKey(
                (int)ClickHouseClient.ReadInt64(row.GetProperty("project_id")),
                row.GetProperty("public_key").GetString() ?? "",
                row.GetProperty("key_label").GetString() ?? "",
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("key_created"))),
                ClickHouseClient.ReadInt64(row.GetProperty("key_revoked")) == 0
                    ? null
                    : ClickHouseTimes.Read(ClickHouseClient.ReadInt64(row.GetProperty("key_revoked_at"))) ?? DateTimeOffset.UnixEpoch),
            cancellationToken);

    /// <summary>A project as its latest row says, with what <see cref="Project"/> does not carry.</summary>
    private sealed record ProjectRow(Project Project, ProjectSettings Settings, DateTimeOffset? DeletedAt);
}
