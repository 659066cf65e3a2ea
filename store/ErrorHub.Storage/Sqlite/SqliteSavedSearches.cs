using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Saved searches and pins on SQLite: one row each, deleted with what they belong to; checks and writes under the write lock.</summary>
internal sealed class SqliteSavedSearches(SqliteDatabase database) : ISavedSearches
{
    private const string Columns = "id, project_id, owner_id, name, query, created_by, created_at";

    public async Task<IReadOnlyList<SavedSearch>> GetSearchesAsync(int projectId, Guid userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return SavedSearchRules.InListOrder(await ReadAsync(connection, "project_id = $project AND owner_id IN ('', $owner)", projectId, SavedSearchRules.OwnerText(userId), null, cancellationToken));
    }

    public async Task<SavedSearch?> GetSearchAsync(int projectId, Guid searchId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await ReadAsync(connection, "project_id = $project AND id = $id", projectId, null, searchId, cancellationToken)).SingleOrDefault();
    }

    public async Task<SavedSearchChange> CreateAsync(SavedSearch search, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        SavedSearchRules.Validate(search.Name, search.Query);
        var result = SavedSearchChange.Done;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                var owners = await ReadAsync(connection, "project_id = $project AND owner_id = $owner", search.ProjectId, SavedSearchRules.OwnerText(search.OwnerId), null, cancellationToken);
                result = SavedSearchRules.Check(search, owners, isNew: true);
                if (result == SavedSearchChange.Done)
                {
                    await ExecuteAsync(
                        connection,
                        $"INSERT INTO saved_searches ({Columns}) VALUES ($id, $project, $owner, $name, $query, $by, $at)",
                        cancellationToken,
                        ("$id", search.Id.ToString("D")),
                        ("$project", search.ProjectId),
                        ("$owner", SavedSearchRules.OwnerText(search.OwnerId)),
                        ("$name", search.Name),
                        ("$query", search.Query),
                        ("$by", search.CreatedBy.ToString("D")),
                        ("$at", search.CreatedAt.ToUnixTimeMilliseconds()));
                }
            },
            cancellationToken);
        return result;
    }

    public async Task<SavedSearchChange> UpdateAsync(int projectId, Guid searchId, string name, string query, CancellationToken cancellationToken = default)
    {
        SavedSearchRules.Validate(name, query);
        var result = SavedSearchChange.NotFound;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                if ((await ReadAsync(connection, "project_id = $project AND id = $id", projectId, null, searchId, cancellationToken)).SingleOrDefault() is not { } stored)
                {
                    return;
                }

                var changed = stored with { Name = name, Query = query };
                result = SavedSearchRules.Check(changed, await ReadAsync(connection, "project_id = $project AND owner_id = $owner", projectId, SavedSearchRules.OwnerText(stored.OwnerId), null, cancellationToken), isNew: false);
                if (result == SavedSearchChange.Done)
                {
                    await ExecuteAsync(connection, "UPDATE saved_searches SET name = $name, query = $query WHERE id = $id", cancellationToken, ("$id", searchId.ToString("D")), ("$name", name), ("$query", query));
                }
            },
            cancellationToken);
        return result;
    }

    public async Task<bool> DeleteAsync(int projectId, Guid searchId, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var deleted = false;
        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                // A pin left behind by a failure in between reads as no pin (the dashboard finds no such search).
                deleted = await ExecuteAsync(connection, "DELETE FROM saved_searches WHERE project_id = $project AND id = $id", cancellationToken, ("$project", projectId), ("$id", searchId.ToString("D"))) > 0;
                await ExecuteAsync(connection, "DELETE FROM pinned_searches WHERE project_id = $project AND pinned = $id", cancellationToken, ("$project", projectId), ("$id", searchId.ToString("D")));
            },
            cancellationToken);
        return deleted;
    }

    public async Task<string?> GetPinAsync(int projectId, Guid userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT pinned FROM pinned_searches WHERE project_id = $project AND user_id = $user";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$user", userId.ToString("D"));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public Task SetPinAsync(int projectId, Guid userId, string? pinned, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        SavedSearchRules.ValidatePin(pinned);
        return database.WriteAsync(
            (connection, cancellationToken) => ExecuteAsync(
                connection,
                pinned is null
                    ? "DELETE FROM pinned_searches WHERE project_id = $project AND user_id = $user"
                    : "INSERT INTO pinned_searches (project_id, user_id, pinned, pinned_at) VALUES ($project, $user, $pinned, $at) ON CONFLICT (project_id, user_id) DO UPDATE SET pinned = excluded.pinned, pinned_at = excluded.pinned_at",
                cancellationToken,
                ("$project", projectId),
                ("$user", userId.ToString("D")),
                ("$pinned", pinned ?? ""),
                ("$at", at.ToUnixTimeMilliseconds())),
            cancellationToken);
    }

    public Task ForgetProjectAsync(int projectId, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            (connection, cancellationToken) => ExecuteAsync(
                connection, "DELETE FROM saved_searches WHERE project_id = $project; DELETE FROM pinned_searches WHERE project_id = $project", cancellationToken, ("$project", projectId)),
            cancellationToken);

    private static async Task<IReadOnlyList<SavedSearch>> ReadAsync(SqliteConnection connection, string where, int projectId, string? owner, Guid? id, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM saved_searches WHERE {where}";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$owner", owner ?? "");
        command.Parameters.AddWithValue("$id", id?.ToString("D") ?? "");
        var searches = new List<SavedSearch>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            searches.Add(new SavedSearch(
                Guid.Parse(reader.GetString(0)),
                reader.GetInt32(1),
                SavedSearchRules.OwnerFromText(reader.GetString(2)),
                reader.GetString(3),
                reader.GetString(4),
                Guid.Parse(reader.GetString(5)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        }

        return searches;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
