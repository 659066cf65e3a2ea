using ErrorHub.Dashboard.Formatting;

namespace ErrorHub.Dashboard.Tests.Formatting;

public sealed class RelativeTimeTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 2, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, "just now")]
    [InlineData(44, "just now")]
    [InlineData(45, "a minute ago")]
    [InlineData(89, "a minute ago")]
    [InlineData(90, "2 minutes ago")]
    [InlineData(3 * 60, "3 minutes ago")]
    [InlineData(44 * 60, "44 minutes ago")]
    [InlineData(45 * 60, "an hour ago")]
    [InlineData(89 * 60, "an hour ago")]
    [InlineData(90 * 60, "2 hours ago")]
    [InlineData(21 * 3600, "21 hours ago")]
    [InlineData(22 * 3600, "a day ago")]
    [InlineData(35 * 3600, "a day ago")]
    [InlineData(36 * 3600, "2 days ago")]
    [InlineData(25 * 86400, "25 days ago")]
    [InlineData(26 * 86400, "a month ago")]
    [InlineData(44 * 86400, "a month ago")]
    [InlineData(45 * 86400, "2 months ago")]
    [InlineData(46 * 86400, "2 months ago")]
    [InlineData(200 * 86400, "7 months ago")]
    [InlineData(319 * 86400, "10 months ago")]
    [InlineData(320 * 86400, "a year ago")]
    [InlineData(547 * 86400, "a year ago")]
    [InlineData(548 * 86400, "2 years ago")]
    [InlineData(3653 * 86400, "10 years ago")]
    public void Describes_how_long_ago_in_words(int secondsAgo, string expected)
    {
        RelativeTime.Describe(Now.AddSeconds(-secondsAgo), Now).Should().Be(expected);
    }

    [Fact]
    public void A_timestamp_from_a_clock_running_ahead_reads_just_now()
    {
        RelativeTime.Describe(Now.AddMinutes(5), Now).Should().Be("just now");
    }

    [Theory]
    [InlineData(7 * 86400, "in 7 days")]
    [InlineData(7 * 86400 - 5, "in 7 days")]
    [InlineData(30 * 3600, "in a day")]
    [InlineData(3 * 60, "in 3 minutes")]
    [InlineData(10, "in under a minute")]
    [InlineData(-3 * 60, "3 minutes ago")]
    public void A_deadline_ahead_reads_in_so_long(int secondsAhead, string expected)
    {
        RelativeTime.DescribeAhead(Now.AddSeconds(secondsAhead), Now).Should().Be(expected);
    }

    [Fact]
    public void Never_says_one_in_the_plural()
    {
        for (var seconds = 0; seconds < 800 * 86400; seconds += 600)
        {
            RelativeTime.Describe(Now.AddSeconds(-seconds), Now).Should().NotMatchRegex(@"^1 \w+s ago$", $"{seconds} seconds ago");
        }
    }

    [Fact]
    public void The_exact_time_is_utc_whatever_offset_the_event_carried()
    {
        var value = new DateTimeOffset(2025, 1, 31, 23, 30, 5, TimeSpan.FromHours(-2));

        RelativeTime.ExactUtc(value).Should().Be("2025-02-01 01:30:05 UTC");
        RelativeTime.MachineReadable(value).Should().Be("2025-02-01T01:30:05Z");
    }
}
