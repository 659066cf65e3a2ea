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

        return JoinAsync(read, projectId, cancellationToken);
    }

    /// <summary>
    /// A shared read runs with the bound of whoever started it: one started outside a page (no PageTimeout: up to the whole
    /// RequestTimeout), or by a page whose node hung after its headers, held every page that joined it past the page's own
    /// bound. A joiner waits at most its own <see cref="ClickHouseAnswerHandler.AnswerWithin"/>; the read goes on for the others.
    /// </summary>
    private async Task<ClickHouseIssueKeys> JoinAsync(Task<ClickHouseIssueKeys> read, int projectId, CancellationToken cancellationToken)
    {
        if (read.IsCompleted || ClickHouseAnswerHandler.AnswerWithin.Value is not { } bound)
        {
            return await read.WaitAsync(cancellationToken);
        }

        try
        {
            return await read.WaitAsync(bound, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new ClickHouseException(
                $"ClickHouse at {client.Url} did not answer within {bound} (ErrorHub:Store:ClickHouse:PageTimeout) the read of project {projectId}'s merged issues " +
                "that another request started; is the node hung?",
                errorCode: null,
                statusCode: null,
                ex);
        }
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
