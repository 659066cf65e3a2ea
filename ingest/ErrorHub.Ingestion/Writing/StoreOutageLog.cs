using Microsoft.Extensions.Logging;

namespace ErrorHub.Ingestion.Writing;

/// <summary>
/// What ingest writes to its log while the store refuses inserts. An outage (ClickHouse down, ZooKeeper lost and the
/// replicated tables read-only) fails every insert, and a line with a stack trace per insert would fill the log with one
/// entry per batch for as long as it lasts. Instead: the first failure with its exception, then at most one line a minute
/// with how many failed since, and one line when an insert succeeds again.
/// </summary>
internal sealed partial class StoreOutageLog(ILogger logger, TimeProvider timeProvider)
{
    private static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private bool _failing;
    private DateTimeOffset _since;
    private DateTimeOffset _nextSummary;
    private long _failedInserts;
    private long _failedEvents;
    private long _failedSinceSummary;

    /// <summary>The last insert failed, and none succeeded since.</summary>
    public bool IsFailing => Volatile.Read(ref _failing);

    public void Failed(int events, Exception exception)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            _failedInserts++;
            _failedEvents += events;
            if (!_failing)
            {
                (_failing, _since, _nextSummary, _failedSinceSummary) = (true, now, now + SummaryInterval, 0);
                LogFailing(logger, events, exception);
                return;
            }

            _failedSinceSummary++;
            if (now < _nextSummary)
            {
                return;
            }

            _nextSummary = now + SummaryInterval;
            LogStillFailing(logger, _failedSinceSummary, _failedInserts, _failedEvents, now - _since, exception.Message);
            _failedSinceSummary = 0;
        }
    }

    public void Succeeded()
    {
        if (!IsFailing)
        {
            return;
        }

        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!_failing)
            {
                return;
            }

            LogRecovered(logger, _failedInserts, _failedEvents, now - _since);
            (_failing, _failedInserts, _failedEvents, _failedSinceSummary) = (false, 0, 0, 0);
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Storing {Count} events failed; batches are answered 503 with Retry-After (clients keep them and retry) until the store takes inserts again. Further failures are summed up once a minute")]
    private static partial void LogFailing(ILogger logger, int count, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "The store still refuses inserts: {Recent} more failed in the last minute, {Inserts} inserts ({Events} events) answered 503 since it began {Duration} ago; latest: {Reason}")]
    private static partial void LogStillFailing(ILogger logger, long recent, long inserts, long events, TimeSpan duration, string reason);

    [LoggerMessage(11, LogLevel.Information, "The store takes inserts again, after {Inserts} failed inserts ({Events} events answered 503 for clients to retry) over {Duration}")]
    private static partial void LogRecovered(ILogger logger, long inserts, long events, TimeSpan duration);
}
