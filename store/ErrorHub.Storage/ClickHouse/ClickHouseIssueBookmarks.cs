using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Bookmarks as a ReplacingMergeTree keyed by project, person and fingerprint: each change is a row (bookmarked 1 or 0),
/// reads take the latest row of each.
/// </summary>
internal sealed class ClickHouseIssueBookmarks(ClickHouseClient client, ClickHouseNotificationSchema schema, IIssueMerges merges) : IIssueBookmarks
{
    public async Task SetBookmarksAsync(int projectId, Guid userId, IReadOnlyCollection<string> fingerprints, bool bookmarked, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        IssueBookmarkRules.Validate(fingerprints);
        var rows = bookmarked ? [.. fingerprints.Distinct(StringComparer.Ordinal)] : IssueBookmarkRules.WithMerged(fingerprints, await merges.GetMergesAsync(projectId, cancellationToken));
        if (rows.Count > 0)
        {
            await client.InsertAsync(schema.IssueBookmarks, [.. rows.Select(fingerprint => new ClickHouseIssueBookmarkRow(projectId, userId, fingerprint, bookmarked, at, RowVersion.Next()))], cancellationToken);
        }
    }

    public async Task<IReadOnlySet<string>> GetBookmarksAsync(int projectId, Guid userId, CancellationToken cancellationToken = default)
    {
        var stored = await client.QueryAsync(
            $"""
            SELECT fingerprint, argMax(bookmarked, version) AS is_bookmarked
            FROM {schema.IssueBookmarks}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND user_id = {ClickHouseSql.Quote(userId.ToString("D"))}
            GROUP BY fingerprint
            HAVING is_bookmarked = 1
            """,
            row => row.GetProperty("fingerprint").GetString() ?? "",
            cancellationToken);
        return stored.Count == 0 ? new HashSet<string>() : IssueBookmarkRules.AsIssues(stored, await merges.GetMergesAsync(projectId, cancellationToken));
    }

    public async Task DeleteBookmarksAsync(int projectId, CancellationToken cancellationToken = default)
    {
        await client.ExecuteAsync($"ALTER TABLE {schema.IssueBookmarks} DELETE WHERE project_id = {ClickHouseSql.Literal(projectId)}", cancellationToken);
        await ClickHouseMutations.WaitAsync(client, schema.Database, cancellationToken);
    }
}

/// <summary>One row of <c>issue_bookmarks</c>.</summary>
internal sealed class ClickHouseIssueBookmarkRow(int projectId, Guid userId, string fingerprint, bool bookmarked, DateTimeOffset changedAt, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)projectId);
    [ClickHouseColumn(Name = "user_id", Type = "String")] public string UserId => userId.ToString("D");
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => fingerprint;
    [ClickHouseColumn(Name = "bookmarked", Type = "UInt8")] public byte Bookmarked => bookmarked ? (byte)1 : (byte)0;
    [ClickHouseColumn(Name = "changed_at", Type = "DateTime('UTC')")] public DateTimeOffset ChangedAt => ClickHouseEventRow.ClampToDateTime(changedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}
