namespace ErrorHub.Storage.Sqlite;

/// <summary>Bookmarks on SQLite: one row per person and bookmarked fingerprint, deleted when the bookmark is removed.</summary>
internal sealed class SqliteIssueBookmarks(SqliteDatabase database, IIssueMerges merges) : IIssueBookmarks
{
    public async Task SetBookmarksAsync(int projectId, Guid userId, IReadOnlyCollection<string> fingerprints, bool bookmarked, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        IssueBookmarkRules.Validate(fingerprints);
        var rows = bookmarked ? [.. fingerprints.Distinct(StringComparer.Ordinal)] : IssueBookmarkRules.WithMerged(fingerprints, await merges.GetMergesAsync(projectId, cancellationToken));
        if (rows.Count == 0)
        {
            return;
        }

        await database.WriteAsync(
            async (connection, cancellationToken) =>
            {
                await using var transaction = connection.BeginTransaction();
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = bookmarked
                    ? "INSERT OR IGNORE INTO issue_bookmarks (project_id, user_id, fingerprint, created_at) VALUES ($project, $user, $fingerprint, $at)"
                    : "DELETE FROM issue_bookmarks WHERE project_id = $project AND user_id = $user AND fingerprint = $fingerprint";
                command.Parameters.AddWithValue("$project", projectId);
                command.Parameters.AddWithValue("$user", userId.ToString("D"));
                command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
                var fingerprint = command.Parameters.Add("$fingerprint", Microsoft.Data.Sqlite.SqliteType.Text);
                foreach (var row in rows)
                {
                    fingerprint.Value = row;
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            },
            cancellationToken);
    }

    public async Task<IReadOnlySet<string>> GetBookmarksAsync(int projectId, Guid userId, CancellationToken cancellationToken = default)
    {
        var stored = new List<string>();
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT fingerprint FROM issue_bookmarks WHERE project_id = $project AND user_id = $user";
            command.Parameters.AddWithValue("$project", projectId);
            command.Parameters.AddWithValue("$user", userId.ToString("D"));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(reader.GetString(0));
            }
        }

        return stored.Count == 0 ? new HashSet<string>() : IssueBookmarkRules.AsIssues(stored, await merges.GetMergesAsync(projectId, cancellationToken));
    }

    public Task DeleteBookmarksAsync(int projectId, CancellationToken cancellationToken = default) =>
        database.WriteAsync(
            (connection, cancellationToken) => SqliteDatabase.ExecuteAsync(connection, null, $"DELETE FROM issue_bookmarks WHERE project_id = {projectId.ToString(System.Globalization.CultureInfo.InvariantCulture)}", cancellationToken),
            cancellationToken);
}
