using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Projects and their keys on SQLite.</summary>
internal sealed class SqliteProjectStore(SqliteDatabase database) : IProjectStore
{
    public Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
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
            },
            cancellationToken);
    }

    public async Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var projects = await ReadProjectsAsync(projectId, cancellationToken);
        return projects.Count == 0 ? null : projects[0];
    }

    public Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default) =>
        ReadProjectsAsync(null, cancellationToken);

    private async Task<IReadOnlyList<Project>> ReadProjectsAsync(int? projectId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
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
}
