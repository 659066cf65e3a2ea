namespace ErrorHub.Transport;

/// <summary>
/// The sender loop's polling slices (see <see cref="BackgroundSender.LingerSliceFor"/>), one timer at a time: a slice
/// that is still running when one wait ends is what the next wait waits for, instead of being cancelled and another
/// timer started. In a storm, a batch's delivery and the next batch's collection each waited a slice of their own, and
/// each slice is a timer: the runtime's timer thread is woken to arm it and again when it fires, and that wakes a
/// pool thread. A slice cancelled because its delivery ended first still fired once, and the next one had to be
/// armed again (docs/benchmarks.md, section "storm11"). Only the sender loop touches it.
/// </summary>
internal sealed class PollingSlices(TimeSpan length, TimeProvider clock)
{
    private Task? _running;
    private DateTimeOffset _endsAt;

    /// <summary>The slice under way, or a new one when none is; it ends when its length is up, or is cancelled at stop.</summary>
    public Task Current(CancellationToken stopping)
    {
        if (_running is { IsCompleted: false } running)
        {
            return running;
        }

        _endsAt = clock.GetUtcNow() + length;
        _running = Task.Delay(length, clock, stopping);
        return _running;
    }

    /// <summary>The slice under way when it ends by <paramref name="deadline"/>; otherwise null.</summary>
    public Task? RunningUntil(DateTimeOffset deadline) =>
        _running is { IsCompleted: false } running && _endsAt <= deadline ? running : null;
}
