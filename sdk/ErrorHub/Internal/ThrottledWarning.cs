namespace ErrorHub.Internal;

/// <summary>
/// A warning about the app's own hook (<c>BeforeSend</c>, the user provider) that fails on every event, or a cache
/// directory the disk refuses for every batch, would otherwise be a line per event or batch in the app's log, a storm's
/// worth in a storm: the first failure is written, then at most one a minute, saying how many were not.
/// </summary>
internal sealed class ThrottledWarning(TimeProvider timeProvider)
{
    private static readonly long IntervalTicks = TimeSpan.FromMinutes(1).Ticks;

    private long _nextAt = long.MinValue;
    private long _notWritten;

    /// <summary>True when this failure is to be written; <paramref name="notWritten"/> the failures left out since the last one written.</summary>
    public bool TryTake(out long notWritten)
    {
        var now = timeProvider.GetUtcNow().UtcTicks;
        var next = Interlocked.Read(ref _nextAt);
        if (now < next || Interlocked.CompareExchange(ref _nextAt, now + IntervalTicks, next) != next)
        {
            Interlocked.Increment(ref _notWritten);
            notWritten = 0;
            return false;
        }

        notWritten = Interlocked.Exchange(ref _notWritten, 0);
        return true;
    }
}
