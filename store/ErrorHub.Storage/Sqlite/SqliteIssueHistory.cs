using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>Issue timelines on SQLite: one row per entry, read newest first through an index.</summary>
internal sealed class SqliteIssueHistory(SqliteDatabase database) : IIssueHistory
{
    public Task AddAsync(IssueChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        change.Validate();
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO issue_history (project_id, fingerprint, id, at, kind, actor_id, actor_name, text, value)
                    VALUES ($project, $fingerprint, $id, $at, $kind, $actor, $actorName, $text, $value)
                    ON CONFLICT (project_id, id) DO NOTHING
                    """;
                command.Parameters.AddWithValue("$project", change.ProjectId);
                command.Parameters.AddWithValue("$fingerprint", change.Fingerprint);
                command.Parameters.AddWithValue("$id", change.Id.ToString("N"));
                command.Parameters.AddWithValue("$at", change.At.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$kind", IssueChangeKinds.Of(change.Kind));
                command.Parameters.AddWithValue("$actor", change.ActorId?.ToString("N") ?? "");
                command.Parameters.AddWithValue("$actorName", change.ActorName);
                command.Parameters.AddWithValue("$text", change.Text);
                command.Parameters.AddWithValue("$value", change.Value);
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<IssueChangePage> GetChangesAsync(IssueChangeQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {Columns}
            FROM issue_history
            WHERE project_id = $project AND fingerprint = $fingerprint
            {(query.After is null ? "" : "AND (at < $afterAt OR (at = $afterAt AND id < $afterId))")}
            ORDER BY at DESC, id DESC
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$project", query.ProjectId);
        command.Parameters.AddWithValue("$fingerprint", query.Fingerprint);
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        if (query.After is { } after)
        {
            command.Parameters.AddWithValue("$afterAt", after.Time);
            command.Parameters.AddWithValue("$afterId", after.Id.ToString("N"));
        }

        var items = await ReadAsync(command, cancellationToken);
        return items.Count > query.Limit
            ? new IssueChangePage(items[..query.Limit], items[query.Limit - 1].Cursor)
            : new IssueChangePage(items, null);
    }

    public async Task<IssueChange?> GetChangeAsync(int projectId, Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM issue_history WHERE project_id = $project AND id = $id";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$id", id.ToString("N"));
        return (await ReadAsync(command, cancellationToken)) is [var change] ? change : null;
    }

    public async Task<IssueChange?> GetChangeAsync(int projectId, string fingerprint, Guid id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM issue_history WHERE project_id = $project AND fingerprint = $fingerprint AND id = $id";
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$id", id.ToString("N"));
        return (await ReadAsync(command, cancellationToken)) is [var change] ? change : null;
    }

    public Task DeleteAsync(int projectId, Guid id, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM issue_history WHERE project_id = $project AND id = $id";
                command.Parameters.AddWithValue("$project", projectId);
                command.Parameters.AddWithValue("$id", id.ToString("N"));
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);

    private const string Columns = "project_id, fingerprint, id, at, kind, actor_id, actor_name, text, value";

    private static async Task<List<IssueChange>> ReadAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var items = new List<IssueChange>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new IssueChange(
                reader.GetInt32(0),
                reader.GetString(1),
                Guid.ParseExact(reader.GetString(2), "N"),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                IssueChangeKinds.Parse(reader.GetString(4)),
                Guid.TryParseExact(reader.GetString(5), "N", out var actor) ? actor : null,
                reader.GetString(6))
            {
                Text = reader.GetString(7),
                Value = reader.GetString(8),
            });
        }

        return items;
    }
}
