using ErrorHub.Transport;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// The sender loop's polling slices: one timer at a time, shared by a delivery's waits and the next collection's, and
/// a new one only once the last has ended (in a storm each timer wakes the runtime's timer thread and a pool thread).
/// </summary>
public sealed class PollingSlicesTests
{
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(20);

    [Fact]
    public void A_wait_while_a_slice_runs_waits_for_that_slice_and_starts_no_timer()
    {
        var clock = new CountingClock();
        var slices = new PollingSlices(Slice, clock);

        var first = slices.Current(CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(5)); // a delivery ended early, its slice still running
        var next = slices.Current(CancellationToken.None);

        next.Should().BeSameAs(first);
        clock.Timers.Should().Be(1);
        next.IsCompleted.Should().BeFalse();
        clock.Advance(TimeSpan.FromMilliseconds(15));
        next.IsCompletedSuccessfully.Should().BeTrue("the slice ends when its length is up, counted from its start");
    }

    [Fact]
    public void Once_a_slice_has_ended_the_next_wait_gets_a_new_one_that_runs_its_whole_length()
    {
        var clock = new CountingClock();
        var slices = new PollingSlices(Slice, clock);
        var first = slices.Current(CancellationToken.None);
        clock.Advance(Slice);
        first.IsCompleted.Should().BeTrue();

        var second = slices.Current(CancellationToken.None);

        second.IsCompleted.Should().BeFalse("an ended slice is never waited for again: the loop would spin");
        clock.Timers.Should().Be(2);
        clock.Advance(Slice - TimeSpan.FromMilliseconds(1));
        second.IsCompleted.Should().BeFalse();
        clock.Advance(TimeSpan.FromMilliseconds(1));
        second.IsCompleted.Should().BeTrue();
    }

    [Fact]
    public void A_linger_takes_over_only_a_running_slice_that_ends_by_its_deadline()
    {
        var clock = new CountingClock();
        var slices = new PollingSlices(Slice, clock);
        var start = clock.GetUtcNow();
        slices.RunningUntil(start + TimeSpan.FromSeconds(1)).Should().BeNull("no slice runs");

        var running = slices.Current(CancellationToken.None);

        slices.RunningUntil(start + Slice).Should().BeSameAs(running);
        slices.RunningUntil(start + Slice - TimeSpan.FromMilliseconds(1)).Should().BeNull("it would keep the linger past its deadline");
        clock.Advance(Slice);
        slices.RunningUntil(start + TimeSpan.FromSeconds(1)).Should().BeNull("it has ended");
    }

    [Fact]
    public void The_slice_under_way_ends_at_stop()
    {
        using var stopping = new CancellationTokenSource();
        var slices = new PollingSlices(Slice, new CountingClock());
        var running = slices.Current(stopping.Token);

        stopping.Cancel();

        running.IsCanceled.Should().BeTrue();
    }

    private sealed class CountingClock : FakeTimeProvider
    {
        public int Timers { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Timers++;
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
