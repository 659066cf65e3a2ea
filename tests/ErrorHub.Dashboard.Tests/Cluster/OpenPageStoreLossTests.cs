using ErrorHub.Dashboard.Components.Layout;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Formatting;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Cluster;

/// <summary>
/// An open (interactive) page whose store stops answering after it loaded: the page says so and offers a retry, instead
/// of Blazor's generic "reload" bar and a dead circuit; once the store is back, the retry shows the page again.
/// The pages' timed refreshes tick only when a test moves <see cref="_clock"/>: a refresh at a real-time moment would
/// read the store at a moment the test does not choose.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class OpenPageStoreLossTests : DashboardTestContext, IAsyncLifetime
{
    private readonly ClickHouseClusterFixture _cluster;
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("dashopen");
    private readonly HttpClient _http = new(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ErrorHubStore _store;
    private readonly FakeTimeProvider _clock = new(Now);

    public OpenPageStoreLossTests(ClickHouseClusterFixture cluster)
    {
        _cluster = cluster;
        _store = ClickHouseDatabase.Open(
            new ClickHouseClient(_http, new ClickHouseConnection(cluster.Nodes[0].Url, Cluster: ClickHouseClusterFixture.ClusterName)), _database);
        TemporaryStore.AddStore(Services, _store);
        Services.AddSingleton<TimeProvider>(_clock);
    }

    async Task IAsyncLifetime.InitializeAsync()
    {
        await _cluster.EnsureNodesRunAsync();
        await _store.Schema.EnsureSchemaAsync();
        await _store.Access.CreateUserAsync(TemporaryStore.Admin);
        await _store.Projects.UpsertProjectAsync(TestProjects.Shop);
        await _store.Events.InsertEventsAsync([Event(Fingerprint("checkout"), "InvalidOperationException: Sequence contains no elements", Now.AddMinutes(-5))]);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var node in _cluster.Nodes.Where(node => !node.IsRunning))
        {
            await node.StartAsync();
        }

        foreach (var node in _cluster.Nodes)
        {
            await node.QueryAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(_database)}");
        }

        _http.Dispose();
    }

    [Fact]
    public async Task The_issue_list_says_the_store_is_not_answering_keeps_its_circuit_and_shows_the_issues_again_on_retry()
    {
        var node = _cluster.Nodes[0];
        var cut = Render<StoreErrorBoundary>(parameters => parameters.AddChildContent<IssueList>(page => page.Add(p => p.ProjectId, 1)));
        cut.WaitForAssertion(() => cut.FindAll(".issue-grid .issue-link").Should().ContainSingle());

        await node.KillAsync();
        // A tab the user clicks reads the store again, in the page's event handler.
        await cut.Find(".status-tab[data-status='resolved']").ClickAsync(new());

        cut.WaitForAssertion(() => cut.Find(".store-error h1").TextContent.Should().Be("The store is not answering"));
        cut.FindAll(".issue-grid").Should().BeEmpty("the failed page is replaced by the message, not left half-updated");

        await node.StartAsync();
        await cut.Find(".store-error-retry").ClickAsync(new());
        cut.WaitForAssertion(() => cut.FindAll(".issue-count").Should().ContainSingle("the retry shows the page again, in the same circuit"));
        cut.FindAll(".store-error").Should().BeEmpty();
    }

    [Fact]
    public async Task A_change_on_the_issue_page_says_it_was_not_saved_keeps_the_page_and_the_typed_comment_and_works_when_clicked_again()
    {
        var node = _cluster.Nodes[0];
        Services.GetRequiredService<NavigationManager>().NavigateTo(DashboardPaths.Issue(1, Fingerprint("checkout")));
        var cut = Render<StoreErrorBoundary>(parameters => parameters.AddChildContent<IssueDetails>(page => page.Add(p => p.ProjectId, 1).Add(p => p.Fingerprint, Fingerprint("checkout"))));
        cut.WaitForAssertion(() => cut.Find(".triage-actions .status-badge").TextContent.Should().Be("Unresolved"));
        cut.WaitForAssertion(() => cut.Find(".timeline-empty").TextContent.Should().Be("Nothing happened to this issue yet."));
        WaitUntilIssuePageRead(cut); // a node killed before then fails a read, not the change this test is about

        await node.KillAsync();
        await cut.InvokeAsync(() => cut.Find("button.action-resolve").Click());
        cut.WaitForAssertion(() => cut.Find(".triage-problem").TextContent.Should().Be(StoreErrorBoundary.ChangeNotSaved));
        await cut.InvokeAsync(() => cut.Find("textarea.comment-text").Input("Typed while the store was down"));
        await cut.InvokeAsync(() => cut.Find("form.comment-form").Submit());
        cut.WaitForAssertion(() => cut.Find(".comment-actions .form-problem").TextContent.Should().Be(StoreErrorBoundary.ChangeNotSaved));
        cut.FindAll(".store-error").Should().BeEmpty("the page stays, in the same circuit");
        cut.Find(".triage-actions .status-badge").TextContent.Should().Be("Unresolved", "nothing is shown as done");
        cut.Find("textarea.comment-text").GetAttribute("value").Should().Be("Typed while the store was down", "kept, to be sent again");

        await node.StartAsync();
        await cut.InvokeAsync(() => cut.Find("button.action-resolve").Click());
        cut.WaitForAssertion(() => cut.Find(".triage-actions .status-badge").TextContent.Should().Be("Resolved"));
        cut.FindAll(".triage-problem").Should().BeEmpty();
        await cut.InvokeAsync(() => cut.Find("form.comment-form").Submit());
        cut.WaitForAssertion(() => cut.Find(".timeline-comment").TextContent.Should().Be("Typed while the store was down"));
        cut.FindAll(".comment-actions .form-problem").Should().BeEmpty();
        (await _store.History.GetChangesAsync(new IssueChangeQuery(1, Fingerprint("checkout")))).Items.Should().HaveCount(2, "each change stored once");
    }

    [Fact]
    public async Task An_issue_page_whose_refresh_fails_keeps_what_it_shows_and_its_actions_and_says_the_refresh_failed()
    {
        var node = _cluster.Nodes[0];
        Services.GetRequiredService<NavigationManager>().NavigateTo(DashboardPaths.Issue(1, Fingerprint("checkout")));
        var cut = Render<StoreErrorBoundary>(parameters => parameters.AddChildContent<IssueDetails>(page => page.Add(p => p.ProjectId, 1).Add(p => p.Fingerprint, Fingerprint("checkout"))));
        cut.WaitForAssertion(() => cut.Find(".triage-actions .status-badge").TextContent.Should().Be("Unresolved"));
        WaitUntilIssuePageRead(cut);

        await node.KillAsync();
        _clock.Advance(IssueList.LiveInterval);

        cut.WaitForAssertion(() => cut.Find(".live-problem").TextContent.Should().Be(StoreErrorBoundary.LiveReadFailed));
        cut.FindAll(".store-error").Should().BeEmpty("a failed refresh keeps the page, in the same circuit");
        cut.Find(".issue-title").TextContent.Should().Be("InvalidOperationException: Sequence contains no elements");
        cut.Find(".triage-actions .status-badge").TextContent.Should().Be("Unresolved", "what it last read");
        cut.FindAll("button.action-resolve").Should().ContainSingle("the actions stay, to be used once the store answers");
        cut.FindAll(".events-table tbody tr").Should().ContainSingle();

        await node.StartAsync();
        await cut.InvokeAsync(() => cut.Find("button.action-resolve").Click());
        cut.WaitForAssertion(() => cut.Find(".triage-actions .status-badge").TextContent.Should().Be("Resolved"));
    }
}
