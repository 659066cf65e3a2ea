namespace ErrorHub.Internal;

/// <summary>
/// Log entries outside a request whose exception has not reached the app's code yet, held briefly so that the event gets
/// the app's frames. EF Core logs a failed query at Error in its own catch block and then throws the exception on: on a
/// Blazor circuit or in a background service no response waits to be completed, so the event was sent at once with
/// only the driver's and EF Core's frames, and the circuit's own log entry of the same exception (by then with the
/// component's frames) was dropped as a second report. Now such an event waits until the same exception is seen again
/// (the circuit's or the host's entry: it is then sent at once with the frames it has by then) or until
/// <see cref="Delay"/> has passed (an app that caught it: the frames it unwound through until then). At most
/// <see cref="MaxHeld"/> wait (more are sent at once, as before); all are sent by a flush and at shutdown.
/// </summary>
internal sealed class UnwindingEvents : IDisposable
{
    /// <summary>How long an event waits for its exception to unwind: far longer than an exception takes to leave a query.</summary>
    internal static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(500);

    /// <summary>How many events wait at once; in a storm of such failures the rest are sent at once, as before.</summary>
    internal const int MaxHeld = 64;

    /// <summary>How deep a wrapper seen later is searched for the held exception (a chain may be long, never endless).</summary>
    private const int MaxWrappedDepth = 16;

    private readonly ErrorHubClient _client;
    private readonly TimeProvider _timeProvider;
    private readonly object _gate = new(); // not Lock: the package also targets net8.0
    private readonly List<HeldEvent> _held = [];
    private ITimer? _timer; // made at the first hold: most clients never hold an event
    private int _count; // read without the lock: a second sighting with nothing held costs one read
    private bool _stopped;

    public UnwindingEvents(ErrorHubClient client, TimeProvider timeProvider)
    {
        _client = client;
        _timeProvider = timeProvider;
    }

    /// <summary>Holds the event until its exception is seen again or <see cref="Delay"/> passed; false when full or stopped (the caller sends it).</summary>
    public bool TryHold(ErrorHubEvent errorEvent, ErrorHubHint hint)
    {
        lock (_gate)
        {
            if (_stopped || _held.Count >= MaxHeld)
            {
                return false;
            }

            _held.Add(new HeldEvent(errorEvent, hint, _timeProvider.GetUtcNow() + Delay));
            Volatile.Write(ref _count, _held.Count);
            if (_held.Count == 1)
            {
                Arm(Delay);
            }
        }

        return true;
    }

    /// <summary>
    /// <paramref name="exception"/> (or a wrapper of it) was reported again: once it has reached the app's code, a held
    /// event of it takes the frames it has now and is sent at once. A library that logs the same failure twice on its way
    /// out (EF Core: the failed command, then the failed query) has not reached the app yet: the event waits on.
    /// </summary>
    public void SeenAgain(Exception exception)
    {
        if (Volatile.Read(ref _count) == 0 || _client.NotYetInApp(exception))
        {
            return;
        }

        List<HeldEvent>? due = null;
        lock (_gate)
        {
            for (var i = _held.Count - 1; i >= 0; i--)
            {
                if (IsOrWraps(exception, _held[i].Hint.Exception!))
                {
                    (due ??= []).Add(_held[i]);
                    _held.RemoveAt(i);
                }
            }

            Volatile.Write(ref _count, _held.Count);
        }

        Send(due);
    }

    /// <summary>Sends every held event now (a flush, the app's shutdown); after <see cref="Stop"/>, nothing is held any more.</summary>
    public void SendAll() => Send(Take(DateTimeOffset.MaxValue, stop: false));

    /// <summary>At shutdown: sends what is held and holds nothing after, so that nothing waits for a timer that no longer runs.</summary>
    public void Stop() => Send(Take(DateTimeOffset.MaxValue, stop: true));

    public void Dispose()
    {
        Stop();
        lock (_gate)
        {
            _timer?.Dispose();
        }
    }

    /// <summary>Under the lock: the timer fires once after <paramref name="wait"/>.</summary>
    private void Arm(TimeSpan wait)
    {
        if (_timer is null)
        {
            // The timer must not carry the flow that first armed it (a circuit's, a request's) into the sends it makes. The
            // app's thread may already suppress it (SuppressFlow would then throw into the app's log call).
            if (ExecutionContext.IsFlowSuppressed())
            {
                _timer = CreateTimer(wait);
            }
            else
            {
                using (ExecutionContext.SuppressFlow())
                {
                    _timer = CreateTimer(wait);
                }
            }

            return;
        }

        _timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    private ITimer CreateTimer(TimeSpan wait) =>
        _timeProvider.CreateTimer(static state => ((UnwindingEvents)state!).SendDue(), this, wait, Timeout.InfiniteTimeSpan);

    private void SendDue()
    {
        try
        {
            Send(Take(_timeProvider.GetUtcNow(), stop: false));
        }
        catch (Exception)
        {
            // A timer callback must never throw: Send already logs its own failures.
        }
    }

    private List<HeldEvent>? Take(DateTimeOffset dueBy, bool stop)
    {
        List<HeldEvent>? due = null;
        lock (_gate)
        {
            _stopped |= stop;
            var kept = 0;
            foreach (var held in _held)
            {
                if (held.Due <= dueBy)
                {
                    (due ??= []).Add(held);
                }
                else
                {
                    _held[kept++] = held;
                }
            }

            _held.RemoveRange(kept, _held.Count - kept);
            Volatile.Write(ref _count, _held.Count);
            if (_held.Count > 0 && !_stopped)
            {
                var wait = _held[0].Due - _timeProvider.GetUtcNow();
                Arm(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
            }
        }

        return due;
    }

    /// <summary>Each event takes its exception's frames as they are now, then goes the way every event goes (outside the lock: BeforeSend is the app's).</summary>
    private void Send(List<HeldEvent>? due)
    {
        foreach (var (errorEvent, hint, _) in due ?? [])
        {
            _client.RecaptureExceptions(errorEvent, hint.Exception!);
            _client.Send(errorEvent, hint);
        }
    }

    private static bool IsOrWraps(Exception seen, Exception held)
    {
        var current = seen;
        for (var depth = 0; depth < MaxWrappedDepth && current is not null; depth++)
        {
            if (ReferenceEquals(current, held))
            {
                return true;
            }

            current = current.InnerException;
        }

        return false;
    }

    private readonly record struct HeldEvent(ErrorHubEvent Event, ErrorHubHint Hint, DateTimeOffset Due);
}
