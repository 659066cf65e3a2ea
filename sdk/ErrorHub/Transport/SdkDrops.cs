namespace ErrorHub.Transport;

/// <summary>Why the SDK gave up on events. The names travel to the server (docs/protocol.md, <c>dropped</c>).</summary>
internal enum SdkDropReason
{
    /// <summary>The queue was full when the event was captured.</summary>
    QueueFull,

    /// <summary>The event alone is larger than MaxBatchBytes, or ingest answered 413 for it alone.</summary>
    TooLarge,

    /// <summary>Ingest refused the batch for good (a 4xx other than 401, 403, 408, 413, 429).</summary>
    Rejected,

    /// <summary>Ingest refused the key (401 or 403): the SDK stopped sending.</summary>
    Unauthorized,

    /// <summary>Still queued or in flight when ShutdownTimeout ended the stop, with no CacheDirectory to keep them.</summary>
    Shutdown,

    /// <summary>The oldest spooled batches were deleted to keep the CacheDirectory within MaxCacheBytes.</summary>
    SpoolFull,

    /// <summary>BeforeSend returned null, or the app captured from inside BeforeSend (or another hook of its own the SDK runs).</summary>
    BeforeSend,

    /// <summary>
    /// Ingest stayed unreachable or failing through every retry, with no CacheDirectory to keep them; or the CacheDirectory
    /// kept them in a file found cut short or damaged.
    /// </summary>
    SendFailed,
}

/// <summary>
/// Counts of dropped events by reason, kept until the server has them: a report is taken with a batch and settled
/// when ingest accepts that batch; a batch that fails leaves the counts for the next one.
/// </summary>
internal sealed class SdkDrops
{
    private static readonly string[] Names =
        ["queue_full", "too_large", "rejected", "unauthorized", "shutdown", "spool_full", "before_send", "send_failed"];

    private readonly long[] _total = new long[Names.Length];
    private readonly long[] _unreported = new long[Names.Length];

    public static string Name(SdkDropReason reason) => Names[(int)reason];

    /// <summary>The reason names this SDK sends.</summary>
    public static IReadOnlySet<string> KnownNames { get; } = new HashSet<string>(Names, StringComparer.Ordinal);

    /// <summary>
    /// Counts an earlier run of the app dropped and could not report before it stopped: reported with the next batch,
    /// not added to this run's totals.
    /// </summary>
    public void AddUnreportedFromEarlierRun(string name, long events)
    {
        var index = Array.IndexOf(Names, name);
        if (index >= 0 && events > 0)
        {
            AddSaturating(ref _unreported[index], events);
        }
    }

    public void Add(SdkDropReason reason, long events)
    {
        if (events <= 0)
        {
            return;
        }

        AddSaturating(ref _total[(int)reason], events);
        AddSaturating(ref _unreported[(int)reason], events);
    }

    /// <summary>All events dropped for <paramref name="reason"/> since the SDK started.</summary>
    public long Total(SdkDropReason reason) => Interlocked.Read(ref _total[(int)reason]);

    /// <summary>All events dropped since the SDK started, whatever the reason.</summary>
    public long Total()
    {
        long sum = 0;
        for (var i = 0; i < _total.Length; i++)
        {
            sum += Interlocked.Read(ref _total[i]);
        }

        return sum;
    }

    /// <summary>What the server has not been told yet; empty when nothing was dropped.</summary>
    public List<KeyValuePair<string, long>> TakeReport()
    {
        var report = new List<KeyValuePair<string, long>>();
        for (var i = 0; i < _unreported.Length; i++)
        {
            var count = Interlocked.Read(ref _unreported[i]);
            if (count > 0)
            {
                report.Add(new(Names[i], count));
            }
        }

        return report;
    }

    /// <summary>The server stored <paramref name="report"/>: drops counted after it was taken stay for the next one.</summary>
    public void Reported(IReadOnlyList<KeyValuePair<string, long>> report)
    {
        foreach (var (name, count) in report)
        {
            Interlocked.Add(ref _unreported[Array.IndexOf(Names, name)], -count);
        }
    }

    /// <summary>All the events of <paramref name="report"/>, at most <see cref="long.MaxValue"/> (a checked sum would throw).</summary>
    public static long Sum(IEnumerable<KeyValuePair<string, long>> report)
    {
        long sum = 0;
        foreach (var (_, count) in report)
        {
            sum = count > 0 && sum > long.MaxValue - count ? long.MaxValue : sum + Math.Max(0, count);
        }

        return sum;
    }

    // Counts read back from a CacheDirectory anyone may have written to can be as large as a long: a wrapped sum would be
    // negative, and a negative count is never reported, so that reason's drops would go unreported for the rest of the run.
    private static void AddSaturating(ref long count, long events)
    {
        var seen = Interlocked.Read(ref count);
        while (true)
        {
            var sum = seen > long.MaxValue - events ? long.MaxValue : seen + events;
            var before = Interlocked.CompareExchange(ref count, sum, seen);
            if (before == seen)
            {
                return;
            }

            seen = before;
        }
    }
}
