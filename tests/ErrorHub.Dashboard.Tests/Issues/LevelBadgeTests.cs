using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class LevelBadgeTests : DashboardTestContext
{
    [Theory]
    [InlineData("fatal", "rz-badge-danger")]
    [InlineData("error", "rz-badge-danger")]
    [InlineData("warning", "rz-badge-warning")]
    [InlineData("info", "rz-badge-info")]
    [InlineData("debug", "rz-badge-base")]
    public void Shows_the_level_in_its_colour(string level, string colour)
    {
        var badge = Render<LevelBadge>(parameters => parameters.Add(component => component.Level, level)).Find(".level-badge");

        badge.TextContent.Should().Be(level);
        badge.ClassList.Should().Contain(colour);
    }

    [Fact]
    public void An_unexpected_level_is_shown_as_text_in_the_neutral_colour()
    {
        var cut = Render<LevelBadge>(parameters => parameters.Add(component => component.Level, "<i>critical</i>"));

        var badge = cut.Find(".level-badge");
        badge.TextContent.Should().Be("<i>critical</i>");
        badge.ClassList.Should().Contain("rz-badge-base");
        cut.FindAll("i").Should().BeEmpty();
    }
}
