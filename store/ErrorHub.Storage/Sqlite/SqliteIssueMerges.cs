namespace ErrorHub.Storage.Sqlite;

/// <summary>Merged issues on SQLite: one row per merged fingerprint, deleted when it is unmerged.</summary>
internal sealed class SqliteIssueMerges(SqliteDatabase database) : IIssueMerges
{
    public Task MergeAsync(int projectId, string target, IReadOnlyCollection<string> sources, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var transaction = connection.BeginTransaction();
                var current = await ReadAsync(connection, transaction, projectId, cancellationToken);
                var (effective, pointing) = IssueMergeRules.Plan(current, target, sources);
                foreach (var source in pointing)
                {
                    await using var command = connection.CreateCommand();
                    command.Transaction = transaction;
                    command.CommandText = """
                        INSERT INTO issue_merges (project_id, fingerprint, target, merged_at) VALUES ($project, $fingerprint, $target, $at)
                        ON CONFLICT (project_id, fingerprint) DO UPDATE SET target = excluded.target, merged_at = excluded.merged_at
                        """;
                    command.Parameters.AddWithValue("$project", projectId);
                    command.Parameters.AddWithValue("$fingerprint", source);
                    command.Parameters.AddWithValue("$target", effective);
                    command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    public Task UnmergeAsync(int projectId, string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM issue_merges WHERE project_id = $project AND fingerprint = $fingerprint";
                command.Parameters.AddWithValue("$project", projectId);
                command.Parameters.AddWithValue("$fingerprint", source);
                await command.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, string>> GetMergesAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadAsync(connection, null, projectId, cancellationToken);
    }

    private static async Task<Dictionary<string, string>> ReadAsync(
        Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction? transaction, int projectId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT fingerprint, target FROM issue_merges WHERE project_id = $project";
        command.Parameters.AddWithValue("$project", projectId);
        var merges = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            merges[reader.GetString(0)] = reader.GetString(1);
        }

        return merges;
    }

    /// <summary>
    /// The issue an event or issue row aliased <paramref name="alias"/> belongs to: the one its fingerprint was merged
    /// into, else its own (a primary-key look-up per row).
    /// </summary>
    public static string IssueKey(string alias) =>
        $"coalesce((SELECT m.target FROM issue_merges AS m WHERE m.project_id = {alias}.project_id AND m.fingerprint = {alias}.fingerprint), {alias}.fingerprint)";

    /// <summary>The fingerprints of the issue named by parameter <paramref name="fingerprint"/>: its own and those merged into it.</summary>
    public static string Members(string fingerprint, string project = "$project") =>
        $"(SELECT {fingerprint} UNION ALL SELECT m.fingerprint FROM issue_merges AS m WHERE m.project_id = {project} AND m.target = {fingerprint})";

    /// <summary>True when the fingerprint named by the parameter is merged into another issue (and so is no issue of its own).</summary>
    public static string IsMerged(string fingerprint, string project = "$project") =>
        $"EXISTS (SELECT 1 FROM issue_merges AS m WHERE m.project_id = {project} AND m.fingerprint = {fingerprint})";

    public static async Task<bool> AnyAsync(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction? transaction, int projectId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM issue_merges WHERE project_id = $project)";
        command.Parameters.AddWithValue("$project", projectId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }
}
