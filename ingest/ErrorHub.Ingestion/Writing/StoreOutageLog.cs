using ErrorHub.Storage;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Ingestion.Writing;

/// <summary>
/// What ingest writes to its log while the store refuses inserts: the first failure with its exception, then at most
/// one line a minute with how many failed since, and one line when an insert succeeds again (the throttle is
/// <see cref="StoreOutageTracker"/>, shared with the dashboard).
/// </summary>
internal sealed partial class StoreOutageLog(ILogger logger, TimeProvider timeProvider)
{
    private readonly StoreOutageTracker _tracker = new(timeProvider);

    /// <summary>The last insert failed, and none succeeded since.</summary>
    public bool IsFailing => _tracker.IsFailing;

    public void Failed(int events, Exception exception)
    {
        var report = _tracker.Failed(events);
        switch (report.Moment)
        {
            case StoreOutageMoment.Began:
                LogFailing(logger, events, exception);
                break;
            case StoreOutageMoment.StillFailing:
                LogStillFailing(logger, report.FailuresSinceSummary, report.Failures, report.Items, report.Duration, exception.Message);
                break;
        }
    }

    public void Succeeded()
    {
        var report = _tracker.Succeeded();
        if (report.Moment == StoreOutageMoment.Recovered)
        {
            LogRecovered(logger, report.Failures, report.Items, report.Duration);
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Storing {Count} events failed; batches are answered 503 with Retry-After (clients keep them and retry) until the store takes inserts again. Further failures are summed up once a minute")]
    private static partial void LogFailing(ILogger logger, int count, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "The store still refuses inserts: {Recent} more failed in the last minute, {Inserts} inserts ({Events} events) answered 503 since it began {Duration} ago; latest: {Reason}")]
    private static partial void LogStillFailing(ILogger logger, long recent, long inserts, long events, TimeSpan duration, string reason);

    [LoggerMessage(11, LogLevel.Information, "The store takes inserts again, after {Inserts} failed inserts ({Events} events answered 503 for clients to retry) over {Duration}")]
    private static partial void LogRecovered(ILogger logger, long inserts, long events, TimeSpan duration);
}
