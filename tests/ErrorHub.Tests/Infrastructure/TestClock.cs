using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells the test when the code under test starts a wait (a delay, a
/// timeout: anything that asks the clock for a timer). Tests advance the clock only once the SDK is waiting, so
/// nothing depends on how fast the background loop happens to run.
/// </summary>
internal sealed class TestClock : FakeTimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan Length, bool Taken)> _waits = [];
    private TaskCompletionSource _waitStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        TaskCompletionSource started;
        lock (_gate)
        {
            _waits.Add((dueTime, false));
            started = _waitStarted;
            _waitStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        started.TrySetResult();
        return timer;
    }

    /// <summary>
    /// Disposes something that may still be waiting on this clock: a test that failed half-way can leave events queued
    /// behind a flush or a back-off that only the clock ends. Each time the disposal starts a wait, the clock jumps an
    /// hour, past every timeout the SDK has, so tearing down never hangs.
    /// </summary>
    public async Task DisposeAdvancingAsync(Func<ValueTask> dispose)
    {
        var disposal = dispose().AsTask();
        using var guard = new CancellationTokenSource(TestGuard.Timeout);
        while (!disposal.IsCompleted)
        {
            Task started;
            lock (_gate)
            {
                started = _waitStarted.Task;
            }

            // A wait started before this jump ends with it; one started after it completes `started`, and we jump again.
            Advance(TimeSpan.FromHours(1));
            await Task.WhenAny(disposal, started).WaitAsync(guard.Token);
        }

        await disposal;
    }

    /// <summary>The length of every wait the code started so far, in order.</summary>
    public IReadOnlyList<TimeSpan> WaitsStarted
    {
        get
        {
            lock (_gate)
            {
                return [.. _waits.Select(w => w.Length)];
            }
        }
    }

    /// <summary>The next wait of exactly <paramref name="length"/> that the code started and no earlier call returned.</summary>
    public Task<TimeSpan> WaitStartedAsync(TimeSpan length) => WaitStartedAsync(w => w == length, $"a wait of {length}");

    /// <summary>
    /// The first wait started by the code that matches <paramref name="which"/> and that no earlier call returned.
    /// Fails, naming every wait seen, when none starts within <see cref="TestGuard.Timeout"/> of real time.
    /// </summary>
    public async Task<TimeSpan> WaitStartedAsync(Func<TimeSpan, bool> which, string description)
    {
        using var guard = new CancellationTokenSource(TestGuard.Timeout);
        while (true)
        {
            Task started;
            lock (_gate)
            {
                for (var i = 0; i < _waits.Count; i++)
                {
                    if (!_waits[i].Taken && which(_waits[i].Length))
                    {
                        _waits[i] = (_waits[i].Length, true);
                        return _waits[i].Length;
                    }
                }

                started = _waitStarted.Task;
            }

            try
            {
                await started.WaitAsync(guard.Token);
            }
            catch (OperationCanceledException)
            {
                string seen;
                lock (_gate)
                {
                    seen = string.Join(", ", _waits.Select(w => w.Length));
                }

                throw new TimeoutException($"The code never started {description}; waits it started: [{seen}].");
            }
        }
    }
}
