using ClickHouse.Driver;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Merged issues as a ReplacingMergeTree keyed by the merged fingerprint: a merge writes the target, an unmerge a
/// newer row with an empty target; reads take the latest row of each. One dashboard process writes it.
/// </summary>
internal sealed class ClickHouseIssueMerges(ClickHouseClient client, ClickHouseNotificationSchema schema, ClickHouseMergeCache readers) : IIssueMerges, IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public void Dispose() => _writeLock.Dispose();

    public async Task MergeAsync(int projectId, string target, IReadOnlyCollection<string> sources, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var (effective, pointing) = IssueMergeRules.Plan(await GetMergesAsync(projectId, cancellationToken), target, sources);
            if (pointing.Count > 0)
            {
                await client.InsertAsync(schema.IssueMerges, [.. pointing.Select(source => new ClickHouseIssueMergeRow(projectId, source, effective, at, RowVersion.Next()))], cancellationToken);
            }
        }
        finally
        {
            // Also when the insert failed: ClickHouse may have taken it and lost its answer.
            readers.Forget(projectId);
            _writeLock.Release();
        }
    }

    public async Task UnmergeAsync(int projectId, string source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await client.InsertAsync(schema.IssueMerges, [new ClickHouseIssueMergeRow(projectId, source, "", DateTimeOffset.UnixEpoch, RowVersion.Next())], cancellationToken);
        }
        finally
        {
            readers.Forget(projectId);
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyDictionary<string, string>> GetMergesAsync(int projectId, CancellationToken cancellationToken = default) =>
        (await ReadAsync(client, schema.IssueMerges, projectId, cancellationToken)).ToDictionary(pair => pair.Source, pair => pair.Target, StringComparer.Ordinal);

    internal static Task<IReadOnlyList<(string Source, string Target)>> ReadAsync(ClickHouseClient client, string table, int projectId, CancellationToken cancellationToken) =>
        client.QueryAsync(
            $"""
            SELECT fingerprint, argMax(target, version) AS merge_target
            FROM {table}
            WHERE project_id = {ClickHouseSql.Literal(projectId)}
            GROUP BY fingerprint
            HAVING merge_target != ''
            """,
            row => (row.GetProperty("fingerprint").GetString() ?? "", row.GetProperty("merge_target").GetString() ?? ""),
            cancellationToken);
}

/// <summary>
/// A project's merged issues as query text: the expression that names the issue an event belongs to, and the
/// fingerprints of one issue. Without merges both are the plain fingerprint.
/// </summary>
internal sealed class ClickHouseIssueKeys(IReadOnlyList<(string Source, string Target)> merges)
{
    public bool IsEmpty => merges.Count == 0;

    /// <summary>The issue of the row's <paramref name="column"/>: the one it was merged into, else its own.</summary>
    public string Key(string column = "fingerprint") => merges.Count == 0
        ? column
        : $"transform({column}, [{string.Join(", ", merges.Select(pair => ClickHouseSql.Quote(pair.Source)))}], [{string.Join(", ", merges.Select(pair => ClickHouseSql.Quote(pair.Target)))}], {column})";

    /// <summary>The fingerprints of the given issues and of those merged into them, quoted for an IN list.</summary>
    public string Members(IEnumerable<string> issues)
    {
        var wanted = issues.ToHashSet(StringComparer.Ordinal);
        return string.Join(", ", wanted.Concat(merges.Where(pair => wanted.Contains(pair.Target)).Select(pair => pair.Source)).Distinct(StringComparer.Ordinal).Select(ClickHouseSql.Quote));
    }

    public bool IsMerged(string fingerprint) => merges.Any(pair => pair.Source == fingerprint);

    /// <summary>The merged fingerprints (no issues of their own), quoted for an IN list; call only when not <see cref="IsEmpty"/>.</summary>
    public string Sources() => string.Join(", ", merges.Select(pair => ClickHouseSql.Quote(pair.Source)));
}

/// <summary>One row of <c>issue_merges</c> (an empty target: unmerged).</summary>
internal sealed class ClickHouseIssueMergeRow(int projectId, string fingerprint, string target, DateTimeOffset mergedAt, ulong version)
{
    [ClickHouseColumn(Name = "project_id", Type = "UInt32")] public uint ProjectId => checked((uint)projectId);
    [ClickHouseColumn(Name = "fingerprint", Type = "String")] public string Fingerprint => fingerprint;
    [ClickHouseColumn(Name = "target", Type = "String")] public string Target => target;
    [ClickHouseColumn(Name = "merged_at", Type = "DateTime('UTC')")] public DateTimeOffset MergedAt => ClickHouseEventRow.ClampToDateTime(mergedAt);
    [ClickHouseColumn(Name = "version", Type = "UInt64")] public ulong Version => version;
}
