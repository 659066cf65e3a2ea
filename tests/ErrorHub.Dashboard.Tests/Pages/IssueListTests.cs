using AngleSharp.Dom;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.WebUtilities;
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

    private async Task<IRenderedComponent<IssueList>> RenderListAsync(
        int projectId, IEnumerable<ErrorEvent> events, bool known = true, string? address = null)
    {
        await _store.SeedAsync([Shop, Worker], [.. events]);

        // Filters, sort and page come from the address, as when a user follows a shared link.
        if (address is not null)
        {
            Services.GetRequiredService<NavigationManager>().NavigateTo(address);
        }

        var cut = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, projectId));
        if (known)
        {
            cut.WaitForElement(".issue-count");
        }

        return cut;
    }

    private static List<IElement> Rows(IRenderedComponent<IssueList> cut) => [.. cut.FindAll(".issue-grid tbody tr.issue-row")];

    private static string? SelectedValue(IElement select) =>
        select.GetAttribute("value") ?? select.QuerySelector("option[selected]")?.GetAttribute("value");

    private string Address => Services.GetRequiredService<NavigationManager>().Uri;

    private static List<string> Titles(IRenderedComponent<IssueList> cut) => [.. cut.FindAll(".issue-grid .issue-link").Select(link => link.TextContent)];

    /// <summary>A cell by its place among the issue's own columns (0: the issue), after the selection box.</summary>
    private static string Cell(IElement row, int column) => row.Children[column + 1].TextContent.Trim();

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
        checkout.QuerySelector(".culprit")!.TextContent.Should().Be("Shop.Checkout.CheckoutService.PlaceOrderAsync");
        checkout.QuerySelector(".culprit-method")!.TextContent.Should().Be("CheckoutService.PlaceOrderAsync", "the type and method are never cut");
        checkout.QuerySelector(".sparkline")!.GetAttribute("aria-label").Should().Be("3 events in the last 24 hours");
        Cell(checkout, 2).Should().Be("3", "three events");
        Cell(checkout, 3).Should().Be("2", "two distinct users");
        Cell(checkout, 4).Should().Be("5 hours ago");
        Cell(checkout, 5).Should().Be("2 minutes ago");
        checkout.Children[6].QuerySelector("time")!.GetAttribute("title").Should().Be("2025-06-02 11:58:00 UTC");

        var profile = rows[1];
        profile.QuerySelector(".issue-link")!.TextContent.Should().Be(ProfileTitle);
        profile.QuerySelector(".level-badge")!.TextContent.Should().Be("warning");
        profile.QuerySelector(".culprit")!.TextContent.Should().Be("Shop.Accounts.ProfilePage.OnGetAsync");
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
        empty.TextContent.Should().Contain("add the package ErrorHub.AspNetCore", "the package is the first thing a newcomer cannot guess");
        empty.QuerySelector(".code-block")!.TextContent.Should().Contain("options.Dsn = \"http://worker-public-key@localhost/2\"")
            .And.Contain("var app = builder.Build();\napp.UseErrorHub(); // first, or right after app.UseExceptionHandler(...)");
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

        cut.Find(".issue-grid th.col-events a").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal("Five events", "Two events", "One event"));
        cut.Find(".issue-grid th.col-events").GetAttribute("aria-sort").Should().Be("descending");
        Address.Should().EndWith("projects/1/issues?sort=events", "the sort is in the address, for Back and for sharing");

        cut.Find(".issue-grid th.col-events a").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal("One event", "Two events", "Five events"));
        cut.Find(".issue-grid th.col-events").GetAttribute("aria-sort").Should().Be("ascending");
        Address.Should().EndWith("projects/1/issues?sort=events&order=asc");
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

        cut.Find(".issue-grid th.col-first-seen a").Click();

        cut.WaitForAssertion(() => Titles(cut).Should().Equal("New and quiet", "Old but active"));
    }

    [Fact]
    public async Task Pages_are_links_in_the_address_and_a_shared_page_link_opens_that_page()
    {
        // 30 issues, one a minute apart: issue-00 is the most recent.
        var events = Enumerable.Range(0, 30).Select(i => Event(Fingerprint("p" + i), $"Issue {i:00}", Now.AddMinutes(-1 - i))).ToList();
        var cut = await RenderListAsync(1, events);

        Rows(cut).Should().HaveCount(25);
        cut.Find(".pager-summary").TextContent.Should().Be("1–25 of 30");
        Titles(cut)[0].Should().Be("Issue 00");
        cut.Find(".issue-pager a[rel=next]").GetAttribute("href").Should().Be("projects/1/issues?page=2");
        cut.FindAll(".issue-pager a[rel=prev]").Should().BeEmpty();

        Services.GetRequiredService<NavigationManager>().NavigateTo("projects/1/issues?page=2");
        var second = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, 1));

        second.WaitForAssertion(() => Titles(second).Should().Equal("Issue 25", "Issue 26", "Issue 27", "Issue 28", "Issue 29"));
        second.Find(".pager-summary").TextContent.Should().Be("26–30 of 30");
        second.Find(".issue-pager a[rel=prev]").GetAttribute("href").Should().Be("projects/1/issues");
        second.FindAll(".issue-pager a[rel=next]").Should().BeEmpty();
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("abc")]
    [InlineData("99999999999999999999")]
    [InlineData("1e3")]
    public async Task A_malformed_page_in_the_address_shows_the_first_page(string page)
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))],
            address: $"projects/1/issues?page={Uri.EscapeDataString(page)}&sort={Uri.EscapeDataString("'; DROP TABLE issues; --")}&range=%3Cscript%3E");

        Titles(cut).Should().Equal(CheckoutTitle);
    }

    [Fact]
    public async Task Filters_from_a_shared_link_are_applied_and_shown()
    {
        var cut = await RenderListAsync(1,
        [
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)) with { Environment = "staging", Release = "shop@3.0" },
            Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3), level: "warning") with { Environment = "production" },
            Event(Fingerprint("old"), "Old issue", Now.AddDays(-3)) with { Environment = "staging" },
        ],
        address: "projects/1/issues?environment=staging&range=24h");

        Titles(cut).Should().Equal(CheckoutTitle);
        cut.Find(".issue-count").TextContent.Should().Be("1 issue");
        SelectedValue(cut.Find("select[name=environment]")).Should().Be("staging");
        SelectedValue(cut.Find("select[name=range]")).Should().Be("24h");
        cut.FindAll("select[name=environment] option").Select(o => o.TextContent).Should().Equal("All", "staging", "production");
        cut.FindAll("select[name=release] option").Select(o => o.TextContent).Should().Contain("shop@3.0");
        cut.Find(".clear-filters").GetAttribute("href").Should().Be("projects/1/issues");
    }

    [Fact]
    public async Task The_release_filter_offers_the_newest_version_first_not_the_last_seen()
    {
        var cut = await RenderListAsync(1,
        [
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-1)) with { Release = "shop@2.9.1" },
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)) with { Release = "shop@2.4.1" },
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-3)) with { Release = "shop@2.10.0" },
            Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-4)) with { Release = "shop@2.10.0-beta.2" },
        ]);

        cut.Find("select[name=release]").QuerySelectorAll("option").Select(option => option.TextContent).Should().Equal(
            "All", "shop@2.10.0", "shop@2.10.0-beta.2", "shop@2.9.1", "shop@2.4.1");
    }

    [Fact]
    public async Task Choosing_a_level_and_an_environment_narrows_the_list_and_records_it_in_the_address()
    {
        var cut = await RenderListAsync(1,
        [
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)) with { Environment = "staging" },
            Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3), level: "warning") with { Environment = "production" },
        ]);
        Titles(cut).Should().HaveCount(2);

        cut.Find("select[name=level]").Change("warning");
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(ProfileTitle));
        Address.Should().EndWith("projects/1/issues?level=warning");

        cut.Find("select[name=environment]").Change("staging");
        cut.WaitForAssertion(() => Titles(cut).Should().BeEmpty());
        cut.Find(".empty-filtered").TextContent.Should().Be("No issue matches these filters.");
        cut.FindAll(".empty-state").Should().BeEmpty("the project has events; only the filters hide them");
        Address.Should().EndWith("projects/1/issues?environment=staging&level=warning");

        Services.GetRequiredService<NavigationManager>().NavigateTo("projects/1/issues?status=ignored");
        var ignored = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, 1));
        ignored.WaitForAssertion(() => ignored.Find(".empty-filtered").TextContent.Should().Be("No ignored issues.", "no filter is set: the tab is empty, no filter hides anything"));
    }

    [Theory]
    [InlineData("bundle 'summer-kit'", true)]
    [InlineData("BUNDLE", true)]
    [InlineData("joe@example.com", true)]
    [InlineData("'; DROP TABLE events; --", false)]
    [InlineData("\\\\server\\share \"x\" % _", false)]
    [InlineData("<script>alert(1)</script>", false)]
    public async Task Search_finds_issues_by_title_or_user_and_hostile_text_is_only_text(string search, bool findsCheckout)
    {
        var cut = await RenderListAsync(1,
        [
            Create(1, CheckoutFingerprint, Now.AddMinutes(-2), new UserRecord("42", "joe", "joe@example.com", null), CheckoutTitle),
            Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3)),
        ]);

        cut.Find("input[type=search]").Input(search);
        cut.Find("form.issue-filters").Submit();

        cut.WaitForAssertion(() => Titles(cut).Should().Equal(findsCheckout ? new[] { CheckoutTitle } : Array.Empty<string>()));
        var address = new Uri(Address);
        address.AbsolutePath.Should().Be("/projects/1/issues");
        QueryHelpers.ParseQuery(address.Query)["q"].ToString().Should().Be(search, "the search is in the address, for Back and for sharing");
        cut.FindAll(".issue-grid script").Should().BeEmpty();
    }

    [Fact]
    public async Task Sentrys_search_terms_find_the_issue_and_one_the_list_does_not_read_says_the_search_is_plain_text()
    {
        var cut = await RenderListAsync(1,
        [
            Create(1, CheckoutFingerprint, Now.AddMinutes(-2), new UserRecord("42", "joe", "joe@example.com", null), CheckoutTitle),
        ]);

        // The terms it reads become the tab and filters, and find the issue.
        cut.Find("input[type=search]").Input("is:unresolved user.email:joe@example.com");
        cut.Find("form.issue-filters").Submit();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        cut.FindAll(".search-terms-hint").Should().BeEmpty();

        // One it does not read is searched for as text: the empty list says so.
        cut.Find("input[type=search]").Input("bookmarks:ana@example.com user.email:joe@example.com");
        cut.Find("form.issue-filters").Submit();
        cut.WaitForAssertion(() => cut.Find(".issue-count").TextContent.Should().Be("0 issues"));
        cut.Find(".search-terms-hint").TextContent.Should()
            .Contain("The search is plain text").And.Contain("“bookmarks:ana@example.com joe@example.com”").And.Contain("Release");

        // The e-mail alone finds the issue; a search without terms that finds nothing, or an address, gets no such word.
        cut.Find("input[type=search]").Input("joe@example.com");
        cut.Find("form.issue-filters").Submit();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        foreach (var plain in new[] { "no such crash", "https://shop.example.com/cart", @"C:\shop\cart.cs", "Timeout: 30 s" })
        {
            cut.Find("input[type=search]").Input(plain);
            cut.Find("form.issue-filters").Submit();
            cut.WaitForAssertion(() => cut.Find(".issue-count").TextContent.Should().Be("0 issues"));
            cut.FindAll(".search-terms-hint").Should().BeEmpty(plain);
        }
    }

    [Fact]
    public async Task A_ten_thousand_character_search_finds_nothing_without_an_error()
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);

        cut.Find("input[type=search]").Input(new string('\\', 10_000));
        cut.Find("form.issue-filters").Submit();

        cut.WaitForAssertion(() => cut.Find(".issue-count").TextContent.Should().Be("0 issues"));
    }

    [Fact]
    public async Task A_new_issue_appears_without_a_reload()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        Services.AddSingleton<TimeProvider>(clock);
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);
        Titles(cut).Should().Equal(CheckoutTitle);

        await _store.Store.Events.InsertEventsAsync([Event(ProfileFingerprint, ProfileTitle, Now.AddSeconds(-1)), Event(CheckoutFingerprint, CheckoutTitle, Now.AddSeconds(-5))]);
        clock.Advance(IssueList.LiveInterval);

        cut.WaitForAssertion(() => Titles(cut).Should().Equal(ProfileTitle, CheckoutTitle));
        cut.Find(".issue-count").TextContent.Should().Be("2 issues");
        Cell(Rows(cut)[1], 2).Should().Be("2", "the count changed too");
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
    public async Task Each_issue_says_whom_it_is_assigned_to_and_the_list_shows_my_issues_nobodys_or_one_persons()
    {
        var me = await SignInMemberOfAsync(Shop.Id);
        var ana = new UserAccount(Guid.NewGuid(), "ana@example.com", "Ana", "hash", UserRole.Member, "stamp", Now);
        await _store.Store.Access.CreateUserAsync(ana);
        await _store.Store.Access.AddMemberAsync(Shop.Id, ana.Id);
        const string CartTitle = "KeyNotFoundException: cart";
        var cart = Fingerprint("cart");
        await _store.SeedAsync([Shop, Worker],
        [
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)),
            Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3)),
            Event(cart, CartTitle, Now.AddMinutes(-4)),
        ]);

        // Mine is unresolved (a state stored only for its assignee); Ana's was resolved and is still hers.
        var states = _store.Store.Notifications.States;
        await states.SetStateAsync(new IssueState(Shop.Id, CheckoutFingerprint, IssueStatus.Unresolved, Now.AddMinutes(-1)) { AssigneeId = me.Id });
        await states.SetStateAsync(new IssueState(Shop.Id, cart, IssueStatus.Resolved, Now.AddMinutes(-1)) { AssigneeId = ana.Id });

        var cut = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Shop.Id));
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle, ProfileTitle));
        Rows(cut)[0].QuerySelector(".issue-assignee")!.TextContent.Should().Be("Assigned to Dev");
        Rows(cut)[1].QuerySelector(".issue-assignee").Should().BeNull("nobody has the profile issue");

        cut.Find("select[name=assigned]").Change("me");
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        Address.Should().EndWith("projects/1/issues?assigned=me");

        cut.Find("select[name=assigned]").Change("none");
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(ProfileTitle));

        // Someone else's, on another tab, from the filter's list of the project's people.
        cut.FindAll("select[name=assigned] option").Select(option => option.TextContent).Should().Contain(["Ana", "Dev"]);
        cut.Find("select[name=assigned]").Change(ana.Id.ToString("D"));
        cut.WaitForAssertion(() => Titles(cut).Should().BeEmpty("Ana's issue is resolved"));
        cut.FindAll(".status-tab")[3].Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CartTitle));
        Rows(cut)[0].QuerySelector(".issue-assignee")!.TextContent.Should().Be("Assigned to Ana");
        Address.Should().Contain("status=resolved").And.Contain("assigned=" + ana.Id.ToString("D"));
    }

    /// <summary>Signs in a new member of <paramref name="projectId"/> only.</summary>
    private async Task<UserAccount> SignInMemberOfAsync(int projectId)
    {
        var member = new UserAccount(Guid.NewGuid(), "dev@example.com", "Dev", "hash", UserRole.Member, "stamp", Now);
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Access.CreateUserAsync(member);
        await _store.Store.Access.AddMemberAsync(projectId, member.Id);
        SignIn(member);
        return member;
    }

    [Fact]
    public async Task A_member_reads_the_issues_of_their_project_and_finds_no_other_project()
    {
        await SignInMemberOfAsync(Worker.Id);
        var notFound = false;
        Services.GetRequiredService<NavigationManager>().OnNotFound += (_, _) => notFound = true;

        var other = await RenderListAsync(Shop.Id, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))], known: false);

        other.WaitForState(() => notFound);
        other.Markup.Should().NotContain(CheckoutTitle, "the shop's issues belong to a project the member is not in");
        var own = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Worker.Id));
        own.WaitForElement(".issue-count");
        own.Find("h1").TextContent.Should().Be(Worker.Name);
    }

    [Fact]
    public async Task A_member_removed_from_the_project_while_the_list_is_open_can_no_longer_triage_it()
    {
        var member = await SignInMemberOfAsync(Shop.Id);
        var notFound = false;
        Services.GetRequiredService<NavigationManager>().OnNotFound += (_, _) => notFound = true;
        var cut = await RenderListAsync(Shop.Id, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);
        cut.FindAll("input.select-issue")[0].Change(true);

        // An admin takes the member off the project; the member's tab is still open and presses Resolve.
        await _store.Store.Access.RemoveMemberAsync(Shop.Id, member.Id);
        cut.Find("button.bulk-resolve").Click();

        cut.WaitForState(() => notFound);
        (await _store.Store.Notifications.States.GetStateAsync(Shop.Id, CheckoutFingerprint)).Should().BeNull("someone who may no longer read the project changed nothing");
        (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(Shop.Id, CheckoutFingerprint))).Items.Should().BeEmpty();
        cut.Markup.Should().NotContain(CheckoutTitle, "the page is not found, as it would be when opened now");
    }

    [Fact]
    public async Task A_project_deleted_while_its_list_is_open_stops_showing_its_new_issues()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        Services.AddSingleton<TimeProvider>(clock);
        var notFound = false;
        Services.GetRequiredService<NavigationManager>().OnNotFound += (_, _) => notFound = true;
        var cut = await RenderListAsync(Shop.Id, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);
        Titles(cut).Should().Equal(CheckoutTitle);

        // Its events stay stored until retention removes them, and a client may still send some: the open tab must not show them.
        await _store.Store.Projects.DeleteProjectAsync(Shop.Id, Now);
        await _store.Store.Events.InsertEventsAsync([Event(ProfileFingerprint, ProfileTitle, Now.AddSeconds(-1))]);
        clock.Advance(IssueList.LiveInterval);

        cut.WaitForState(() => notFound);
        cut.Markup.Should().NotContain(ProfileTitle).And.NotContain(CheckoutTitle);
    }

    [Fact]
    public async Task States_of_issues_whose_events_are_all_gone_are_listed_in_no_tab()
    {
        // A long-lived project: thousands of resolved issues, all of them since removed by retention; their states are kept.
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Notifications.States.SetStatesAsync(
            [.. Enumerable.Range(0, 5_001).Select(i => new IssueState(Shop.Id, Fingerprint("expired" + i), IssueStatus.Resolved, Now.AddDays(-100)))]);

        var cut = await RenderListAsync(Shop.Id, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))]);

        Titles(cut).Should().Equal(CheckoutTitle);
        cut.Find("a.status-tab[data-status=resolved]").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().BeEmpty());
    }

    [Fact]
    public async Task Resolving_issues_in_bulk_moves_them_from_the_unresolved_tab_to_the_resolved_tab()
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)), Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3))]);
        cut.Find("a.status-tab.active").TextContent.Should().Be("Unresolved");

        cut.FindAll("input.select-issue")[0].Change(true);
        cut.Find(".selected-count").TextContent.Should().Be("1 selected");
        cut.Find("button.bulk-resolve").Click();

        cut.WaitForAssertion(() => Titles(cut).Should().Equal(ProfileTitle));
        cut.Find("a.status-tab[data-status=resolved]").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        Address.Should().EndWith("projects/1/issues?status=resolved");
        cut.Find(".issue-row .status-badge").TextContent.Should().Be("resolved");

        cut.Find("input.select-all").Change(true);
        cut.Find("button.bulk-reopen").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().BeEmpty());
        cut.FindAll(".empty-state").Should().BeEmpty("the project has issues; none is resolved");
    }

    [Fact]
    public async Task Checked_issues_are_assigned_and_unassigned_in_bulk_and_ignored_with_the_issue_pages_durations()
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)), Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3))]);
        Task<IssueState?> StateOf(string fingerprint) => _store.Store.Notifications.States.GetStateAsync(1, fingerprint);

        cut.Find("input.select-all").Change(true);
        cut.Find("button.bulk-assign").HasAttribute("disabled").Should().BeTrue("nobody is chosen yet");
        cut.Find("select.bulk-assignee").Change(TemporaryStore.Admin.Id.ToString("D"));
        cut.Find("button.bulk-assign").Click();

        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Assigned 2 issues to Ada Admin."));
        (await StateOf(CheckoutFingerprint))!.AssigneeId.Should().Be(TemporaryStore.Admin.Id);
        (await StateOf(ProfileFingerprint))!.AssigneeId.Should().Be(TemporaryStore.Admin.Id);
        (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(1, ProfileFingerprint))).Items.Should().ContainSingle()
            .Which.Text.Should().Be("Assigned to Ada Admin", "the timeline says it as for a single assignment");
        Titles(cut).Should().Equal([CheckoutTitle, ProfileTitle], "assigning keeps the status");

        cut.FindAll("input.select-issue")[1].Change(true);
        cut.Find("select.bulk-assignee").Change("nobody");
        cut.Find("button.bulk-assign").Click();
        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Unassigned 1 issue."));
        (await StateOf(ProfileFingerprint))!.AssigneeId.Should().BeNull();
        (await StateOf(CheckoutFingerprint))!.AssigneeId.Should().Be(TemporaryStore.Admin.Id);

        cut.Find("select.bulk-ignore-choice").QuerySelectorAll("option").Select(option => option.TextContent).Should().Equal(
            "Ignore…", "Forever", "For an hour", "For 24 hours", "For a week", "Until 10 more events", "Until 100 more events", "Until 1,000 more events",
            "Until 10 more users", "Until 100 more users");
        cut.FindAll("input.select-issue")[0].Change(true);
        cut.Find("select.bulk-ignore-choice").Change("events:100");
        cut.Find("button.bulk-ignore").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(ProfileTitle));
        (await StateOf(CheckoutFingerprint)).Should().BeEquivalentTo(new { Status = IssueStatus.Ignored, IgnoredUntilEvents = (long?)100, AssigneeId = (Guid?)TemporaryStore.Admin.Id });
    }

    [Fact]
    public async Task Every_issue_matching_the_search_is_resolved_after_a_confirmation_not_only_the_checked_page()
    {
        var bulk = Enumerable.Range(0, 120).Select(i => Event(Fingerprint($"bulk-{i:D3}"), $"TimeoutException: bulk job {i:D3} timed out", Now.AddMinutes(-10 - i))).ToList();
        var cut = await RenderListAsync(1, [.. bulk, Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2))], address: "projects/1/issues?q=bulk%20job");
        cut.Find(".issue-count").TextContent.Should().Be("120 issues");
        cut.FindAll(".select-matching").Should().BeEmpty("nothing is selected yet");

        cut.Find("input.select-all").Change(true);
        cut.Find(".select-matching-bar").TextContent.Should().Contain("All 25 issues on this page are selected.");
        cut.Find("button.select-matching").TextContent.Should().Be("Select all 120 issues matching this search");
        cut.Find("button.select-matching").Click();
        cut.Find(".selected-count").TextContent.Should().Be("All 120 selected");
        cut.Find("button.bulk-merge").HasAttribute("disabled").Should().BeTrue("merging is for issues one has looked at, on the page");

        cut.Find("button.bulk-resolve").Click();
        cut.Find(".bulk-confirm").TextContent.Should().Contain("Resolve 120 issues matching this search?");
        (await _store.Store.Notifications.States.GetStatesAsync(1)).Should().BeEmpty("nothing changes before the confirmation");
        cut.Find("button.bulk-confirm-apply").Click();

        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Resolved 120 issues."));
        cut.WaitForAssertion(() => Titles(cut).Should().BeEmpty());
        var states = await _store.Store.Notifications.States.GetStatesAsync(1);
        states.Should().HaveCount(120).And.OnlyContain(state => state.Status == IssueStatus.Resolved);
        states.Select(state => state.Fingerprint).Should().NotContain(CheckoutFingerprint, "an issue the search does not find is left alone");
        cut.Find(".selected-count").TextContent.Should().Be("0 selected");
    }

    [Fact]
    public async Task A_star_bookmarks_an_issue_for_me_alone_and_the_bookmarked_filter_and_terms_list_only_mine()
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)), Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3))]);
        IElement Star(string title) => cut.Find($"button.bookmark-star[aria-label='Bookmark {title.Replace("'", "\\'", StringComparison.Ordinal)}']");
        Star(ProfileTitle).GetAttribute("aria-pressed").Should().Be("false");

        Star(ProfileTitle).Click();
        cut.WaitForAssertion(() => Star(ProfileTitle).GetAttribute("aria-pressed").Should().Be("true"));
        (await _store.Store.Bookmarks.GetBookmarksAsync(1, TemporaryStore.Admin.Id)).Should().BeEquivalentTo([ProfileFingerprint]);
        (await _store.Store.Bookmarks.GetBookmarksAsync(1, Guid.NewGuid())).Should().BeEmpty("a bookmark is its owner's alone");

        cut.Find("select.filter-bookmarked").Change("me");
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(ProfileTitle));
        Address.Should().EndWith("projects/1/issues?bookmarked=me");

        // Un-starring with the filter on takes the issue off the list.
        Star(ProfileTitle).Click();
        cut.WaitForAssertion(() => Titles(cut).Should().BeEmpty());
        cut.Find(".empty-filtered").TextContent.Should().Be("No issue matches these filters.");

        // Sentry's terms do the same as the filter; a new page reads the stars from the store.
        await _store.Store.Bookmarks.SetBookmarksAsync(1, TemporaryStore.Admin.Id, [CheckoutFingerprint], true, Now);
        foreach (var term in new[] { "is:bookmarked", "bookmarks:me", "IS:BOOKMARKED" })
        {
            Services.GetRequiredService<NavigationManager>().NavigateTo("projects/1/issues?q=" + Uri.EscapeDataString(term));
            var list = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, 1));
            list.WaitForAssertion(() => Titles(list).Should().Equal([CheckoutTitle], term));
            list.Find(".filter-search input").GetAttribute("value").Should().BeEmpty("the term became the filter");
            list.Find("select.filter-bookmarked option[value=me]").HasAttribute("selected").Should().BeTrue();
        }
    }

    [Fact]
    public async Task Checked_issues_are_bookmarked_and_unbookmarked_in_bulk()
    {
        var cut = await RenderListAsync(1, [Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(-2)), Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-3))]);

        cut.Find("input.select-all").Change(true);
        cut.Find("button.bulk-bookmark").Click();
        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Bookmarked 2 issues."));
        (await _store.Store.Bookmarks.GetBookmarksAsync(1, TemporaryStore.Admin.Id)).Should().BeEquivalentTo([CheckoutFingerprint, ProfileFingerprint]);
        cut.FindAll("button.bookmark-star[aria-pressed=true]").Should().HaveCount(2);

        cut.FindAll("input.select-issue")[0].Change(true);
        cut.Find("button.bulk-unbookmark").Click();
        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Removed the bookmarks of 1 issue."));
        (await _store.Store.Bookmarks.GetBookmarksAsync(1, TemporaryStore.Admin.Id)).Should().BeEquivalentTo([ProfileFingerprint]);
    }

    [Fact]
    public async Task A_bulk_change_the_store_stops_partway_says_how_far_it_got_and_a_retry_changes_only_the_rest()
    {
        var bulk = Enumerable.Range(0, 120).Select(i => Event(Fingerprint($"bulk-{i:D3}"), $"TimeoutException: bulk job {i:D3} timed out", Now.AddMinutes(-10 - i))).ToList();
        var cut = await RenderListAsync(1, bulk, address: "projects/1/issues?q=bulk%20job");

        // The real store refuses the write of the 41st issue in the list's order (newest first), as a full disk would.
        await ExecuteSqlAsync($"""
            CREATE TRIGGER refuse_one BEFORE INSERT ON issue_states WHEN NEW.fingerprint = '{Fingerprint("bulk-040")}'
            BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
            """);
        cut.Find("input.select-all").Change(true);
        cut.Find("button.select-matching").Click();
        cut.Find("button.bulk-resolve").Click();
        cut.Find("button.bulk-confirm-apply").Click();

        cut.WaitForAssertion(() => cut.Find(".bulk-failed").TextContent.Should().Contain("Resolved 40 of 120; the rest failed: the store did not answer."));
        cut.Find(".bulk-failed").GetAttribute("role").Should().Be("alert");
        (await _store.Store.Notifications.States.GetStatesAsync(1, IssueStatus.Resolved)).Should().HaveCount(40);
        cut.WaitForAssertion(() => cut.Find(".issue-count").TextContent.Should().Be("80 issues", "what was resolved left the list"));

        await ExecuteSqlAsync("DROP TRIGGER refuse_one");
        cut.Find("button.bulk-retry").TextContent.Should().Be("Try again");
        cut.Find("button.bulk-retry").Click();

        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Resolved 80 issues."));
        cut.FindAll(".bulk-failed").Should().BeEmpty();
        (await _store.Store.Notifications.States.GetStatesAsync(1, IssueStatus.Resolved)).Should().HaveCount(120);
        (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(1, Fingerprint("bulk-000")))).Items.Should()
            .ContainSingle("the retry acts on the issues the first try did not reach, not again on those it did");
    }

    [Fact]
    public async Task A_bulk_assignment_whose_entry_the_store_refused_is_finished_by_try_again_with_each_issue_entered_once()
    {
        // The store takes the second issue's assignment and refuses its timeline entry (a full disk at that moment), as a
        // lost answer leaves it: "Try again" is the same action, so that issue gets its entry once rather than being skipped
        // as assigned already (until December 2026 its activity never said who assigned it).
        string[] issues = [Fingerprint("assign-a"), Fingerprint("assign-b"), Fingerprint("assign-c")];
        var cut = await RenderListAsync(1, [.. issues.Select((issue, i) => Event(issue, $"TimeoutException: assign job {i}", Now.AddMinutes(-2 - i)))]);
        await ExecuteSqlAsync($"""
            CREATE TRIGGER refuse_entry BEFORE INSERT ON issue_history WHEN NEW.fingerprint = '{issues[1]}'
            BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
            """);
        cut.Find("input.select-all").Change(true);
        cut.Find("select.bulk-assignee").Change(TemporaryStore.Admin.Id.ToString("D"));
        cut.Find("button.bulk-assign").Click();
        cut.WaitForAssertion(() => cut.Find(".bulk-failed").TextContent.Should().Contain("of 3 to Ada Admin; the rest failed: the store did not answer."));
        (await _store.Store.Notifications.States.GetStateAsync(1, issues[1]))!.AssigneeId.Should().Be(TemporaryStore.Admin.Id, "the store took the state");

        await ExecuteSqlAsync("DROP TRIGGER refuse_entry");
        cut.Find("button.bulk-retry").Click();

        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().StartWith("Assigned ").And.EndWith(" to Ada Admin."));
        cut.FindAll(".bulk-failed").Should().BeEmpty();
        foreach (var issue in issues)
        {
            (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(1, issue))).Items.Select(change => change.Text).Should()
                .Equal(["Assigned to Ada Admin"], $"{issue} is entered once");
        }
    }

    private async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.DatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Every_issue_matching_the_assigned_filter_is_resolved_and_no_other()
    {
        var me = await SignInMemberOfAsync(Shop.Id);
        var mine = Enumerable.Range(0, 27).Select(i => Event(Fingerprint($"mine-{i:D2}"), $"TimeoutException: job {i:D2} timed out", Now.AddMinutes(-10 - i))).ToList();
        var others = Enumerable.Range(0, 3).Select(i => Event(Fingerprint($"other-{i}"), $"TimeoutException: other job {i} timed out", Now.AddMinutes(-5 - i))).ToList();
        await _store.SeedAsync([Shop, Worker], [.. mine, .. others]);
        var states = _store.Store.Notifications.States;
        await states.SetStatesAsync([.. mine.Select(e => new IssueState(Shop.Id, e.Fingerprint, IssueStatus.Unresolved, Now.AddMinutes(-1)) { AssigneeId = me.Id })]);
        Services.GetRequiredService<NavigationManager>().NavigateTo($"projects/{Shop.Id}/issues?assigned=me");
        var cut = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, Shop.Id));
        cut.WaitForAssertion(() => cut.Find(".issue-count").TextContent.Should().Be("27 issues"));

        cut.Find("input.select-all").Change(true);
        cut.Find("button.select-matching").Click();
        cut.Find("button.bulk-resolve").Click();

        cut.WaitForAssertion(() => cut.Find(".bulk-status").TextContent.Should().Be("Resolved 27 issues."));
        var resolved = (await states.GetStatesAsync(Shop.Id, IssueStatus.Resolved)).Select(state => state.Fingerprint);
        resolved.Should().BeEquivalentTo(mine.Select(e => e.Fingerprint), "select all acts on what the Assigned filter lists, not the whole tab");
    }

    [Fact]
    public async Task A_resolved_issue_that_happens_again_is_listed_as_regressed_and_unresolved()
    {
        await _store.SeedAsync([Shop, Worker], [Event(CheckoutFingerprint, CheckoutTitle, Now.AddHours(-2)), Event(ProfileFingerprint, ProfileTitle, Now.AddHours(-3))]);
        var triage = Services.GetRequiredService<ErrorHub.Dashboard.Triage.IssueTriage>();
        await triage.ResolveAsync(1, CheckoutFingerprint);
        await triage.ResolveAsync(1, ProfileFingerprint);
        await _store.Store.Events.InsertEventsAsync([Event(CheckoutFingerprint, CheckoutTitle, Now.AddMinutes(1)) with { Release = "shop@2.5.0" }]);

        Services.GetRequiredService<NavigationManager>().NavigateTo("projects/1/issues?status=regressed");
        var cut = Render<IssueList>(parameters => parameters.Add(page => page.ProjectId, 1));

        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        cut.Find(".issue-row .status-badge").TextContent.Should().Be("regressed");
        cut.Find("a.status-tab[data-status=unresolved]").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        cut.Find("a.status-tab[data-status=new]").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        cut.Find("a.status-tab[data-status=all]").Click();
        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle, ProfileTitle));
    }

    [Fact]
    public async Task Selected_issues_merge_into_the_one_with_the_most_events_with_its_counts_added_up()
    {
        var cut = await RenderListAsync(1,
        [
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddHours(-2), userId: "a"),
            Event(CheckoutFingerprint, CheckoutTitle, Now.AddHours(-1), userId: "b"),
            Event(ProfileFingerprint, ProfileTitle, Now.AddMinutes(-5), userId: "a"),
        ]);
        cut.Find("button.bulk-merge").HasAttribute("disabled").Should().BeTrue("merging needs two issues");

        cut.Find("input.select-all").Change(true);
        cut.Find("button.bulk-merge").Click();

        cut.WaitForAssertion(() => Titles(cut).Should().Equal(CheckoutTitle));
        cut.Find(".issue-count").TextContent.Should().Be("1 issue");
        Cell(Rows(cut)[0], 2).Should().Be("3", "the merged issue's events count for the one it was merged into");
        Cell(Rows(cut)[0], 3).Should().Be("2", "a user who hit both counts once");
        (await _store.Store.Merges.GetMergesAsync(1)).Should().Equal(new Dictionary<string, string> { [ProfileFingerprint] = CheckoutFingerprint });
    }
}
