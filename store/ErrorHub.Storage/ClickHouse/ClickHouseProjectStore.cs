namespace ErrorHub.Storage.ClickHouse;

/// <summary>Projects as a ReplacingMergeTree: every change is a new row with a higher version; reads take the latest.</summary>
internal sealed class ClickHouseProjectStore(ClickHouseClient client, ClickHouseSchema schema) : IProjectStore
{
    private long _lastProjectVersion;

    public async Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentOutOfRangeException.ThrowIfNegative(project.Id, nameof(project.Id));

        // Replacing a project renames or re-keys it; its creation time stays the first one recorded.
        var existing = await GetProjectAsync(project.Id, cancellationToken);
        var row = project with { CreatedAt = existing?.CreatedAt ?? project.CreatedAt };
        await client.InsertAsync(schema.Projects, [new ClickHouseProjectRow(row, NextProjectVersion())], cancellationToken);
    }

    public async Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var projects = await ReadProjectsAsync($"WHERE id = {ClickHouseSql.Literal(projectId)}", cancellationToken);
        return projects.Count == 0 ? null : projects[0];
    }

    public Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default) =>
        ReadProjectsAsync("", cancellationToken);

    private Task<IReadOnlyList<Project>> ReadProjectsAsync(string where, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT
                id,
                argMax(name, version) AS project_name,
                argMax(public_key, version) AS project_key,
                toUnixTimestamp(argMax(created_at, version)) AS created
            FROM {schema.Projects}
            {where}
            GROUP BY id
            ORDER BY id
            """,
            row => new Project(
                (int)ClickHouseClient.ReadInt64(row.GetProperty("id")),
                row.GetProperty("project_name").GetString() ?? "",
                row.GetProperty("project_key").GetString() ?? "",
                StoreTime.FromUnixSeconds(ClickHouseClient.ReadInt64(row.GetProperty("created")))),
            cancellationToken);

    /// <summary>Versions of project rows: increasing within this process even when the clock is not.</summary>
    private ulong NextProjectVersion()
    {
        while (true)
        {
            var last = Interlocked.Read(ref _lastProjectVersion);
            var next = Math.Max(last + 1, DateTime.UtcNow.Ticks);
            if (Interlocked.CompareExchange(ref _lastProjectVersion, next, last) == last)
            {
                return (ulong)next;
            }
        }
    }
}
