using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class TimestampTests : DashboardTestContext
{
    [Fact]
    public void Reads_how_long_ago_with_the_exact_utc_time_on_hover()
    {
        var time = Render<Timestamp>(parameters => parameters.Add(component => component.Value, Now.AddMinutes(-3))).Find("time");

        time.TextContent.Should().Be("3 minutes ago");
        time.GetAttribute("title").Should().Be("2025-06-02 11:57:00 UTC");
        time.GetAttribute("datetime").Should().Be("2025-06-02T11:57:00Z");
    }

    [Fact]
    public void A_time_reported_with_an_offset_is_shown_in_utc()
    {
        var reported = new DateTimeOffset(2025, 6, 2, 7, 0, 0, TimeSpan.FromHours(-4));

        var time = Render<Timestamp>(parameters => parameters.Add(component => component.Value, reported)).Find("time");

        time.TextContent.Should().Be("an hour ago");
        time.GetAttribute("title").Should().Be("2025-06-02 11:00:00 UTC");
    }
}
