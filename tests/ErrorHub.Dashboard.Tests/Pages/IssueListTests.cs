using AngleSharp.Dom;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Dashboard.Tests.Infrastructure.TestProjects;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>The issue list over the real SQLite store, seeded with events as ingest stores them.</summary>
public sealed class IssueListTests : DashboardTestContext
{
    private static readonly string CheckoutFingerprint = Fingerprint("checkout");
    private static readonly string ProfileFingerprint = Fingerprint("profile");
    private const string CheckoutTitle = "InvalidOperationException: Bundle 'summer-kit' cannot be checked out";
    private const string ProfileTitle = "NullReferenceException: Object reference not set to an instance of an object.";

    private readonly TemporaryStore _store = new();

    public IssueListTests()
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

    private async Task<IRenderedComponent<IssueList>> RenderListAsync(int projectId, IEnumerable<ErrorEvent> events, bool known = true)
    {
        await _store.SeedAsync([Shop, Worker], [.. events]);
        var cut = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, projectId));
        if (known)
        {
            cut.WaitForElement(".issue-count");
        }

        return cut;
    }

    private static List<IElement> Rows(IRenderedComponent<IssueList> cut) => [.. cut.FindAll(".issue-grid tbody tr.rz-data-row")];

    private static List<string> Titles(IRenderedComponent<IssueList> cut) => [.. cut.FindAll(".issue-grid .issue-link").Select(link => link.TextContent)];

    private static string Cell(IElement row, int column) => row.Children[column].TextContent.Trim();

    [Fact]
    public async Task Lists_each_issue_with_title_culprit_counts_and_times_newest_activity_first()
    {
        var cut = await RenderListAsync(1,
        [
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2), userId: "alice"),
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-50), userId: "bob"),
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddHours(-5), userId: "bob"),
            Event(ProfileFingerprint, ProfileTitle, Now.AddHours(-3), culprit: "Shop.Accounts.ProfilePage.OnGetAsync", level: "warning"),
        ]);

        cut.Find(".issue-count").TextContent.Should().Be("2 issues");
        var rows = Rows(cut);
        rows.Should().HaveCount(2);

        var checkout = rows[0];
        var link = checkout.QuerySelector(".issue-link")!;
        link.TextContent.Should().Be(CheckoutTitle);
        link.GetAttribute("href").Should().Be($"projects/1/issues/{CheckoutFingerprint}");
        checkout.QuerySelector(".level-badge")!.TextContent.Should().Be("error");
        Cell(checkout, 1).Should().Be("Shop.Checkout.CheckoutService.PlaceOrderAsync");
        Cell(checkout, 2).Should().Be("3", "three events");
        Cell(checkout, 3).Should().Be("2", "two distinct users");
        Cell(checkout, 4).Should().Be("5 hours ago");
        Cell(checkout, 5).Should().Be("2 minutes ago");
        checkout.Children[5].QuerySelector("time")!.GetAttribute("title").Should().Be("2025-06-02 11:58:00 UTC");

        var profile = rows[1];
        profile.QuerySelector(".issue-link")!.TextContent.Should().Be(ProfileTitle);
        profile.QuerySelector(".level-badge")!.TextContent.Should().Be("warning");
        Cell(profile, 1).Should().Be("Shop.Accounts.ProfilePage.OnGetAsync");
        Cell(profile, 2).Should().Be("1");
        Cell(profile, 3).Should().Be("0", "the event named no user");
        Cell(profile, 5).Should().Be("3 hours ago");
    }

    [Fact]
    public async Task One_issue_is_counted_in_the_singular()
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);

        cut.Find(".issue-count").TextContent.Should().Be("1 issue");
    }

    [Fact]
    public async Task A_project_without_events_shows_its_dsn_and_how_to_send_the_first_event()
    {
        // The shop's events must not leak into the worker's empty list.
        var cut = await RenderListAsync(2, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);

        cut.Find("h1").TextContent.Should().Be("Billing worker");
        cut.Find(".issue-count").TextContent.Should().Be("0 issues");
        cut.FindAll(".issue-link").Should().BeEmpty();
        var empty = cut.Find(".empty-state");
        empty.QuerySelector("h2")!.TextContent.Should().Be("No events yet");
        empty.QuerySelector(".dsn-block")!.TextContent.Should().Be("http://worker-public-key@localhost/2");
        empty.QuerySelector(".code-block")!.TextContent.Should().Contain("options.Dsn = \"http://worker-public-key@localhost/2\"").And.Contain("app.UseErrorHub();");
    }

    [Fact]
    public async Task Sorting_by_events_shows_the_most_events_first_then_the_fewest()
    {
        var cut = await RenderListAsync(1,
        [
            .. Events(Fingerprint("one"), "One event", Now.AddMinutes(-1), 1),
            .. Events(Fingerprint("five"), "Five events", Now.AddHours(-2), 5),
            .. Events(Fingerprint("two"), "Two events", Now.AddHours(-1), 2),
        ]);
        Titles(cut).Should().Equal("One event", "Two events", "Five events");

        cut.Find(".issue-grid th[data-column-index='2'] > div").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal("Five events", "Two events", "One event"));

        cut.Find(".issue-grid th[data-column-index='2'] > div").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal("One event", "Two events", "Five events"));
    }

    [Fact]
    public async Task Sorting_by_first_seen_shows_the_newest_issue_first()
    {
        var cut = await RenderListAsync(1,
        [
            Event(Fingerprint("old"), "Old but active", Now.AddMinutes(-1)),
            Event(Fingerprint("old"), "Old but active", Now.AddDays(-3)),
            Event(Fingerprint("new"), "New and quiet", Now.AddHours(-1)),
        ]);

        cut.Find(".issue-grid th[data-column-index='4'] > div").Click();

        cut.WaitForAssertion(() => Titles(cut).Should().Equal("New and quiet", "Old but active"));
    }

    [Fact]
    public async Task Paging_asks_the_store_for_the_next_page()
    {
        // 30 issues, one a minute apart: issue-00 is the most recent.
        var cut = await RenderListAsync(1, Enumerable.Range(0, 30).Select(i => Event(Fingerprint("p" + i), $"Issue {i:00}", Now.AddMinutes(-1 - i))));

        Rows(cut).Should().HaveCount(25);
        cut.Find(".rz-pager-summary").TextContent.Should().Be("Page 1 of 2 (30 items)");
        Titles(cut)[0].Should().Be("Issue 00");

        cut.Find("button[aria-label='Go to page 2.']").Click();

        cut.WaitForAssertion(() => Titles(cut).Should().Equal("Issue 25", "Issue 26", "Issue 27", "Issue 28", "Issue 29"));
        cut.Find(".rz-pager-summary").TextContent.Should().Be("Page 2 of 2 (30 items)");
    }

    [Fact]
    public async Task Markup_in_a_title_or_culprit_is_shown_as_text()
    {
        const string title = "FormatException: <img src=x onerror=alert(1)> is not <b>valid</b>";
        const string culprit = "Shop.<script>alert(2)</script>.Run";

        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, title, Now.AddMinutes(-2), culprit: culprit)]);

        var row = Rows(cut).Should().ContainSingle().Subject;
        row.QuerySelector(".issue-link")!.TextContent.Should().Be(title);
        row.QuerySelector(".issue-link")!.GetAttribute("title").Should().Be(title);
        row.QuerySelector(".culprit")!.TextContent.Should().Be(culprit);
        cut.FindAll(".issue-grid img, .issue-grid b, .issue-grid script").Should().BeEmpty();
    }

    [Fact]
    public async Task A_ten_thousand_character_title_is_kept_whole_and_the_rest_of_the_list_still_shows()
    {
        var title = "ArgumentException: " + string.Concat(Enumerable.Repeat("value too long ", 700))[..(10_000 - 19 - 4)] + " end";
        title.Should().HaveLength(10_000);

        var cut = await RenderListAsync(1,
        [
            Event(Fingerprint("long"), title, Now.AddMinutes(-1), userId: "u-1"),
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)),
        ]);

        var rows = Rows(cut);
        rows.Should().HaveCount(2);
        var link = rows[0].QuerySelector(".issue-link")!;
        link.TextContent.Should().Be(title);
        link.GetAttribute("title").Should().Be(title, "the full title is a hover away when the cell truncates it");
        Cell(rows[0], 2).Should().Be("1");
        Cell(rows[0], 5).Should().Be("a minute ago");
        rows[1].QuerySelector(".issue-link")!.TextContent.Should().Be(CheckoutTitle);
    }

    [Fact]
    public async Task An_unknown_project_is_not_found()
    {
        var notFound = false;
        Services.GetRequiredService<NavigationManager>().OnNotFound += (_, _) => notFound = true;

        var cut = await RenderListAsync(999, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))], known: false);

        cut.WaitForState(() => notFound);
        cut.FindAll(".issue-grid, h1").Should().BeEmpty();
    }

    [Fact]
    public async Task A_member_reads_the_issues_of_their_project_and_finds_no_other_project()
    {
        var member = new UserAccount(Guid.NewGuid(), "dev@example.com", "Dev", "hash", UserRole.Member, "stamp", Now);
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Access.CreateUserAsync(member);
        await _store.Store.Access.AddMemberAsync(Worker.Id, member.Id);
        SignIn(member);
        var notFound = false;
        Services.GetRequiredService<NavigationManager>().OnNotFound += (_, _) => notFound = true;

        var other = await RenderListAsync(Shop.Id, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))], known: false);

        other.WaitForState(() => notFound);
        other.Markup.Should().NotContain(CheckoutTitle, "the shop's issues belong to a project the member is not in");
        var own = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Worker.Id));
        own.WaitForElement(".issue-count");
        own.Find("h1").TextContent.Should().Be(Worker.Name);
    }
}
