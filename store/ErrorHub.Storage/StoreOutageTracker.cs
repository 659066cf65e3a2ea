namespace ErrorHub.Storage;

/// <summary>
/// Decides what a process writes to its log while the store fails it (ClickHouse down, ZooKeeper lost and the
/// replicated tables read-only, a node hung): a line with a stack trace per failed insert or request would fill the
/// log for as long as the outage lasts. So: the first failure with its exception, then at most one summary a minute,
/// and one line when the store works again. Ingest (inserts) and the dashboard (page requests) share it; each writes
/// its own words for the three moments.
/// </summary>
internal sealed class StoreOutageTracker(TimeProvider timeProvider)
{
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private bool _failing;
    private DateTimeOffset _since;
    private DateTimeOffset _nextSummary;
    private long _failures;
    private long _items;
    private long _failuresSinceSummary;

    /// <summary>The last operation failed, and none succeeded since.</summary>
    public bool IsFailing => Volatile.Read(ref _failing);

    /// <summary>Counts a failed operation (of <paramref name="items"/> events, or 1) and says whether to log it.</summary>
    public StoreOutageReport Failed(long items = 1)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            _failures++;
            _items += items;
            if (!_failing)
            {
                (_since, _nextSummary, _failuresSinceSummary) = (now, now + SummaryInterval, 0);
                Volatile.Write(ref _failing, true);
                return Report(StoreOutageMoment.Began, now);
            }

            _failuresSinceSummary++;
            if (now < _nextSummary)
            {
                return default;
            }

            _nextSummary = now + SummaryInterval;
            var summary = Report(StoreOutageMoment.StillFailing, now);
            _failuresSinceSummary = 0;
            return summary;
        }
    }

    /// <summary>Notes an operation that worked; says so (once) when it ends an outage.</summary>
    public StoreOutageReport Succeeded()
    {
        if (!IsFailing)
        {
            return default;
        }

        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!_failing)
            {
                return default;
            }

            var recovered = Report(StoreOutageMoment.Recovered, now);
            (_failures, _items, _failuresSinceSummary) = (0, 0, 0);
            Volatile.Write(ref _failing, false);
            return recovered;
        }
    }

    private StoreOutageReport Report(StoreOutageMoment moment, DateTimeOffset now) =>
        new(moment, _failures, _items, _failuresSinceSummary, now - _since);
}

/// <summary>What to log, if anything (<see cref="StoreOutageMoment.None"/>), after a store operation.</summary>
/// <param name="Failures">Failed operations since the outage began.</param>
/// <param name="Items">Events (or requests) in those operations.</param>
/// <param name="FailuresSinceSummary">Failed operations since the previous summary.</param>
internal readonly record struct StoreOutageReport(StoreOutageMoment Moment, long Failures, long Items, long FailuresSinceSummary, TimeSpan Duration);

internal enum StoreOutageMoment
{
    None,
    Began,
    StillFailing,
    Recovered,
}
