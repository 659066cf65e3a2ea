namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// A project's merged issues as the readers of one store see them. Every issue read needs them (an issue's events
/// include those of the issues merged into it), and a dashboard page makes a dozen reads: without this each read
/// was one more round trip to ClickHouse for the same few rows. The dashboard process that merges forgets its copy
/// at once (<see cref="Forget"/>); another process (a second dashboard, notifications elsewhere) sees a merge at
/// most <see cref="MaxAge"/> later. Concurrent reads of one project share one query.
/// </summary>
internal sealed class ClickHouseMergeCache(ClickHouseClient client, string table)
{
    /// <summary>How long a read copy serves: long enough for one page's reads, short enough that a merge made by another process shows on the next click.</summary>
    internal static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Lock _lock = new();

    public Task<ClickHouseIssueKeys> KeysAsync(int projectId, CancellationToken cancellationToken)
    {
        Task<ClickHouseIssueKeys> read;
        lock (_lock)
        {
            if (!_entries.TryGetValue(projectId, out var entry) || entry.IsOld || entry.Read.IsFaulted || entry.Read.IsCanceled)
            {
                entry = new Entry(ReadAsync(projectId), Environment.TickCount64);
                _entries[projectId] = entry;
            }

            read = entry.Read;
        }

        return read.WaitAsync(cancellationToken);
    }

    /// <summary>After this process merged or unmerged: the next read asks the store.</summary>
    public void Forget(int projectId)
    {
        lock (_lock)
        {
            _entries.Remove(projectId);
        }
    }

    // Not the caller's token: the read is shared, and one caller leaving must not fail the others.
    private async Task<ClickHouseIssueKeys> ReadAsync(int projectId) =>
        new(await ClickHouseIssueMerges.ReadAsync(client, table, projectId, CancellationToken.None));

    private sealed record Entry(Task<ClickHouseIssueKeys> Read, long ReadAt)
    {
        public bool IsOld => Environment.TickCount64 - ReadAt > (long)MaxAge.TotalMilliseconds;
    }
}
