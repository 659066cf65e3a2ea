using ErrorHub.Storage;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The outage log's throttle, shared by ingest and the dashboard: an outage that lasts an hour must give its first
/// failure, one summary a minute and one recovery line, not a line per failed insert or page.
/// </summary>
public sealed class StoreOutageTrackerTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 5, 6, 0, 0, TimeSpan.Zero));

    [Fact]
    public void The_first_failure_is_reported_then_at_most_one_summary_a_minute_then_the_recovery_once()
    {
        var tracker = new StoreOutageTracker(_clock);

        tracker.Succeeded().Moment.Should().Be(StoreOutageMoment.None, "nothing failed yet");
        tracker.Failed(10).Moment.Should().Be(StoreOutageMoment.Began);
        tracker.IsFailing.Should().BeTrue();

        // A storm within the first minute: silent.
        for (var i = 0; i < 50; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            tracker.Failed(2).Moment.Should().Be(StoreOutageMoment.None, $"failure {i + 2} came before a minute passed");
        }

        _clock.Advance(TimeSpan.FromSeconds(10));
        var summary = tracker.Failed(3);
        summary.Moment.Should().Be(StoreOutageMoment.StillFailing);
        summary.Failures.Should().Be(52);
        summary.Items.Should().Be(10 + 50 * 2 + 3);
        summary.FailuresSinceSummary.Should().Be(51, "the first failure was reported on its own");
        summary.Duration.Should().Be(TimeSpan.FromSeconds(60));

        // The next summary waits a whole minute after this one, and counts only what came since.
        _clock.Advance(TimeSpan.FromSeconds(59));
        tracker.Failed().Moment.Should().Be(StoreOutageMoment.None);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var second = tracker.Failed();
        second.Moment.Should().Be(StoreOutageMoment.StillFailing);
        second.FailuresSinceSummary.Should().Be(2);
        second.Failures.Should().Be(54);

        _clock.Advance(TimeSpan.FromSeconds(5));
        var recovered = tracker.Succeeded();
        recovered.Moment.Should().Be(StoreOutageMoment.Recovered);
        recovered.Failures.Should().Be(54);
        recovered.Duration.Should().Be(TimeSpan.FromSeconds(125));
        tracker.IsFailing.Should().BeFalse();
        tracker.Succeeded().Moment.Should().Be(StoreOutageMoment.None, "the recovery is said once");
    }

    [Fact]
    public void A_new_outage_after_a_recovery_starts_its_own_count_and_is_reported_again()
    {
        var tracker = new StoreOutageTracker(_clock);
        tracker.Failed(5);
        tracker.Failed(5);
        tracker.Succeeded();

        _clock.Advance(TimeSpan.FromSeconds(10));
        tracker.Failed(7).Moment.Should().Be(StoreOutageMoment.Began, "a second outage gets its first line with its exception");
        _clock.Advance(TimeSpan.FromSeconds(30));
        var recovered = tracker.Succeeded();
        recovered.Failures.Should().Be(1);
        recovered.Items.Should().Be(7);
        recovered.Duration.Should().Be(TimeSpan.FromSeconds(30));
    }
}
