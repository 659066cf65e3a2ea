using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using static ErrorHub.Dashboard.Tests.Infrastructure.TestProjects;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>The settings page's count of events the project's SDKs dropped, read from the real SQLite store.</summary>
public sealed class ProjectSdkDropsTests : DashboardTestContext
{
    private readonly TemporaryStore _store = new();

    public ProjectSdkDropsTests()
    {
        _store.AddTo(Services);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _store.Dispose();
        }
    }

    private IRenderedComponent<ProjectSdkDrops> RenderDrops(int projectId)
    {
        var cut = Render<ProjectSdkDrops>(parameters => parameters.Add(p => p.ProjectId, projectId));
        cut.WaitForState(() => cut.FindAll(".sdk-drops-summary").Count > 0);
        return cut;
    }

    [Fact]
    public async Task The_last_24_hours_of_SDK_drops_are_summed_by_reason_largest_first_without_the_servers_own_refusals()
    {
        await _store.SeedAsync([Shop, Worker], []);
        await _store.Store.Projects.AddDropsAsync(
        [
            new ProjectDrops(1, Now.AddHours(-2), "sdk:shutdown", 0, 34),
            new ProjectDrops(1, Now.AddHours(-3), "sdk:queue_full", 0, 700),
            new ProjectDrops(1, Now.AddHours(-1), "sdk:queue_full", 0, 500),
            new ProjectDrops(1, Now.AddHours(-1), "sdk:something_new", 0, 2),
            new ProjectDrops(1, Now.AddHours(-1), "rate_limit", 3, 300), // ingest's own refusal, not the SDK's
            new ProjectDrops(1, Now.AddHours(-30), "sdk:before_send", 0, 9), // older than a day
            new ProjectDrops(2, Now.AddHours(-1), "sdk:send_failed", 0, 77), // another project
        ]);

        var cut = RenderDrops(projectId: 1);

        cut.Find(".sdk-drops-summary").TextContent.Trim().Should()
            .Be("SDKs dropped 1,236 events in the last 24 hours: queue full 1,200, given up at shutdown 34, other 2.");
    }

    [Fact]
    public async Task A_project_whose_SDKs_dropped_nothing_says_so()
    {
        await _store.SeedAsync([Shop, Worker], []);
        await _store.Store.Projects.AddDropsAsync([new ProjectDrops(2, Now.AddHours(-1), "sdk:queue_full", 0, 1)]);

        var cut = RenderDrops(projectId: 1);

        cut.Find(".sdk-drops-summary").TextContent.Trim().Should().Be("No events dropped by SDKs in the last 24 hours.");
    }
}
