namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// How many rows an issue has in <c>issue_events</c> and its oldest and newest second, as one of this store's readers last
/// read them, for at most <see cref="MaxAge"/>. An events page needs them only to choose how to read (the whole issue at
/// once, or windows around its newest or oldest event): any value gives the same page, a stale one at most a slower read
/// (docs/storage.md). On ClickHouse 18.16 each query costs a fixed few milliseconds of CPU however little it reads, and
/// the issue page asks for five events pages after reading the issue's counts from the same rows: without this, each page
/// asked for them again. Kept per issue and its merged issues (the key changes with a merge); an empty issue is never
/// kept, so an issue's first event is seen at once. At most <see cref="MaxEntries"/> issues are held.
/// </summary>
internal sealed class ClickHouseIssueExtents
{
    /// <summary>Long enough for one page's reads on a busy server (they spread over several seconds under load), and the
    /// ends only choose the reads.</summary>
    internal static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);
    internal const int MaxEntries = 1_000;

    private readonly Dictionary<(int ProjectId, string Members), Entry> _entries = [];
    private readonly Lock _lock = new();

    public bool TryGet(int projectId, string members, out IssueExtent extent)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue((projectId, members), out var entry) && !entry.IsOld)
            {
                extent = entry.Extent;
                return true;
            }
        }

        extent = default;
        return false;
    }

    public void Remember(int projectId, string members, IssueExtent extent)
    {
        if (extent.Rows <= 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_entries.Count >= MaxEntries && !_entries.ContainsKey((projectId, members)))
            {
                foreach (var old in _entries.Where(pair => pair.Value.IsOld).Select(pair => pair.Key).ToList())
                {
                    _entries.Remove(old);
                }

                if (_entries.Count >= MaxEntries)
                {
                    // A thousand issues read within a second: not a page's reads; keep nothing rather than grow.
                    _entries.Clear();
                }
            }

            _entries[(projectId, members)] = new Entry(extent, Environment.TickCount64);
        }
    }

    private sealed record Entry(IssueExtent Extent, long ReadAt)
    {
        public bool IsOld => Environment.TickCount64 - ReadAt > (long)MaxAge.TotalMilliseconds;
    }
}

/// <summary>An issue's number of rows in <c>issue_events</c> and its oldest and newest second (unix seconds).</summary>
internal readonly record struct IssueExtent(long Rows, long OldestSecond, long NewestSecond);
