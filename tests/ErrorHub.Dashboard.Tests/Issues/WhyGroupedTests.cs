using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class WhyGroupedTests : DashboardTestContext
{
    private static readonly IssueGrouping ForeignKey = new(2, "DbUpdateException",
    [
        new GroupingComponent(GroupingComponent.Wrapper, "DbUpdateException", Counts: false),
        new GroupingComponent(GroupingComponent.Type, "SqliteException"),
        new GroupingComponent(GroupingComponent.ThrowSite, "SqliteDataReader"),
        new GroupingComponent(GroupingComponent.AppFrame, "Shop.Orders.OrderService.PlaceAsync"),
    ]);

    private static readonly ErrorEvent Shown = Event(Fingerprint("fk"), "SqliteException: SQLite Error 19: 'FOREIGN KEY constraint failed'.", Now) with
    {
        GroupingVersion = 2,
        GroupingComponents = [new GroupingComponent(GroupingComponent.Type, "SqliteException"), new GroupingComponent(GroupingComponent.AppFrame, "Shop.Orders.OrderService.SaveAsync")],
    };

    private IRenderedComponent<WhyGrouped> RenderFor(IssueGrouping? grouping, ErrorEvent? shown = null) =>
        Render<WhyGrouped>(parameters => parameters.Add(component => component.Grouping, grouping).Add(component => component.Event, shown));

    private static List<string> Rows(IRenderedComponent<WhyGrouped> cut) =>
        cut.FindAll(".grouping-components > div").Select(row => $"{row.QuerySelector("dt")!.TextContent}={row.QuerySelector("dd")!.TextContent}").ToList();

    [Fact]
    public void Lists_what_the_issue_s_fingerprint_is_made_of_in_order_and_marks_what_was_left_out()
    {
        var cut = RenderFor(ForeignKey, Shown);

        Rows(cut).Should().Equal(
            "Wrapper (not counted)=DbUpdateException",
            "Root cause type=SqliteException",
            "Throw site=SqliteDataReader",
            "First app frame=Shop.Orders.OrderService.PlaceAsync");
        cut.FindAll(".not-counted").Should().ContainSingle();
        cut.Find(".why-grouped").TextContent.Should().Contain("grouping version 2").And.NotContain("version 1");
    }

    [Fact]
    public void An_issue_of_grouping_version_1_says_events_still_join_it_and_what_the_current_version_makes_of_the_shown_event()
    {
        var cut = RenderFor(null, Shown with { LegacyFingerprint = Shown.Fingerprint });

        cut.Find(".why-grouped .legacy").TextContent.Should().Contain("made by grouping version 1").And.Contain("keep landing in it");
        Rows(cut).Should().Equal("Root cause type=SqliteException", "First app frame=Shop.Orders.OrderService.SaveAsync");
    }

    [Fact]
    public void An_issue_of_grouping_version_1_showing_an_event_from_before_version_2_lists_nothing()
    {
        var cut = RenderFor(null, Shown with { GroupingVersion = 1, GroupingComponents = [] });

        cut.FindAll(".grouping-components").Should().BeEmpty();
        cut.Find(".why-grouped .legacy").TextContent.Should().Contain("version 1");
    }

    [Fact]
    public void The_http_status_grouping_version_5_counts_is_shown_as_such()
    {
        var cut = RenderFor(new IssueGrouping(5, null,
        [
            new GroupingComponent(GroupingComponent.Type, "HttpException"),
            new GroupingComponent(GroupingComponent.ThrowSite, "RequestBucket"),
            new GroupingComponent(GroupingComponent.AppFrame, "Shop.Bot.OrderNotifier.PostAsync"),
            new GroupingComponent(GroupingComponent.Status, "403"),
        ]));

        Rows(cut).Should().EndWith("HTTP status=403");
        cut.Find(".why-grouped").TextContent.Should().Contain("grouping version 5");
    }

    [Fact]
    public void The_route_grouping_version_9_counts_for_a_minimal_api_handler_is_shown_as_its_endpoint()
    {
        var cut = RenderFor(new IssueGrouping(9, null,
        [
            new GroupingComponent(GroupingComponent.Type, "NullReferenceException"),
            new GroupingComponent(GroupingComponent.AppFrame, "Program.Main.<lambda>"),
            new GroupingComponent(GroupingComponent.Endpoint, "GET /orders/{id}"),
        ]));

        Rows(cut).Should().EndWith(["First app frame=Program.Main.<lambda>", "Endpoint=GET /orders/{id}"]);
    }

    [Fact]
    public void Values_are_shown_as_text()
    {
        const string hostile = "<script>alert('x')</script>";

        var cut = RenderFor(ForeignKey with { Components = [new GroupingComponent("client", hostile), new GroupingComponent("made-up", "x")] });

        Rows(cut).Should().Equal($"Set by the SDK={hostile}", "made-up=x");
        cut.FindAll("script").Should().BeEmpty();
    }
}
