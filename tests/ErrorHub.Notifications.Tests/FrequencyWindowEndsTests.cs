using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// Which windows a frequency rule looks at after rounds were missed: none more while rounds come within a window of each
/// other, every half window after a short outage, and a bounded number over at most the last day after a long one.
/// </summary>
public sealed class FrequencyWindowEndsTests
{
    private static readonly DateTimeOffset Now = NotificationHarness.Start;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    [Fact]
    public void Rounds_within_a_window_of_each_other_look_at_the_window_ending_now_only()
    {
        NotificationCycle.FrequencyWindowEnds(null, Now, Window).Should().Equal(Now);
        NotificationCycle.FrequencyWindowEnds(Now - Window, Now, Window).Should().Equal(Now);
        NotificationCycle.FrequencyWindowEnds(Now + TimeSpan.FromHours(1), Now, Window).Should().Equal([Now], "a clock set back looks at no windows of the future");
    }

    [Fact]
    public void After_a_short_outage_every_half_window_since_the_last_complete_round_is_looked_at()
    {
        var from = Now - TimeSpan.FromMinutes(20);
        NotificationCycle.FrequencyWindowEnds(from, Now, Window).Should().Equal(
            [.. Enumerable.Range(1, 7).Select(i => from + (i * Window / 2)), Now]);
    }

    [Fact]
    public void After_a_long_outage_a_bounded_number_of_windows_over_at_most_the_last_day_is_looked_at()
    {
        var ends = NotificationCycle.FrequencyWindowEnds(Now - TimeSpan.FromDays(10), Now, TimeSpan.FromMinutes(1)).ToList();
        ends.Should().HaveCountLessThanOrEqualTo(NotificationCycle.MaxMissedWindows + 1).And.BeInAscendingOrder().And.OnlyHaveUniqueItems();
        ends[0].Should().BeAfter(Now - NotificationCycle.MaxMissedSpan);
        ends[^1].Should().Be(Now);
    }

    [Fact]
    public void Late_events_in_an_hour_look_at_every_half_window_that_holds_a_part_of_it_and_a_whole_day_of_them_at_a_bounded_number()
    {
        var hour = Now - TimeSpan.FromHours(3);
        NotificationCycle.LateWindowEnds([new(hour, hour.AddHours(1))], Now, Window).Should().Equal(
            Enumerable.Range(1, 26).Select(i => hour + (i * Window / 2)), "from the first window that ends in the hour to the last that starts in it");

        var day = Enumerable.Range(0, 24).Select(h => new NotificationCycle.LateRange(Now.AddHours(h - 24), Now.AddHours(h - 23))).ToList();
        NotificationCycle.LateWindowEnds(day, Now, TimeSpan.FromMinutes(1)).Should().HaveCountLessThanOrEqualTo(NotificationCycle.MaxMissedWindows)
            .And.BeInAscendingOrder().And.OnlyContain(end => end < Now, "the window ending now is looked at anyway");
    }
}
