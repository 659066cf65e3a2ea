using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class WhyGroupedTests : DashboardTestContext
{
    private static readonly ErrorEvent Grouped = Event(Fingerprint("fk"), "SqliteException: SQLite Error 19: 'FOREIGN KEY constraint failed'.", Now) with
    {
        GroupingVersion = 2,
        GroupingComponents =
        [
            new GroupingComponent(GroupingComponent.Wrapper, "DbUpdateException", Counts: false),
            new GroupingComponent(GroupingComponent.Type, "SqliteException"),
            new GroupingComponent(GroupingComponent.ThrowSite, "SqliteDataReader"),
            new GroupingComponent(GroupingComponent.AppFrame, "Shop.Orders.OrderService.PlaceAsync"),
        ],
    };

    private IRenderedComponent<WhyGrouped> RenderFor(ErrorEvent e) => Render<WhyGrouped>(parameters => parameters.Add(component => component.Event, e));

    private static List<string> Rows(IRenderedComponent<WhyGrouped> cut) =>
        cut.FindAll(".grouping-components > div").Select(row => $"{row.QuerySelector("dt")!.TextContent}={row.QuerySelector("dd")!.TextContent}").ToList();

    [Fact]
    public void Lists_what_the_fingerprint_is_made_of_in_order_and_marks_what_was_left_out()
    {
        var cut = RenderFor(Grouped);

        Rows(cut).Should().Equal(
            "Wrapper (not counted)=DbUpdateException",
            "Root cause type=SqliteException",
            "Throw site=SqliteDataReader",
            "First app frame=Shop.Orders.OrderService.PlaceAsync");
        cut.FindAll(".not-counted").Should().ContainSingle();
        cut.Find(".why-grouped").TextContent.Should().Contain("grouping version 2").And.NotContain("version 1");
    }

    [Fact]
    public void An_event_that_joined_an_issue_of_grouping_version_1_says_so()
    {
        var cut = RenderFor(Grouped with { Fingerprint = "fp-v1", LegacyFingerprint = "fp-v1" });

        cut.Find(".why-grouped p").TextContent.Should().Contain("made by grouping version 1");
        Rows(cut).Should().HaveCount(4, "what version 2 made of it is still shown");
    }

    [Fact]
    public void An_event_stored_before_version_2_says_it_cannot_tell()
    {
        var cut = RenderFor(Grouped with { GroupingVersion = 1, GroupingComponents = [] });

        cut.FindAll(".grouping-components").Should().BeEmpty();
        cut.Find(".why-grouped p").TextContent.Should().Contain("version 1's rules").And.Contain("do not say");
    }

    [Fact]
    public void Values_are_shown_as_text()
    {
        const string hostile = "<script>alert('x')</script>";

        var cut = RenderFor(Grouped with { GroupingComponents = [new GroupingComponent("client", hostile)] });

        Rows(cut).Should().Equal($"Set by the SDK={hostile}");
        cut.FindAll("script").Should().BeEmpty();
    }
}
