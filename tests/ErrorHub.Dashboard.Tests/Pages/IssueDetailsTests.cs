using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Formatting;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Dashboard.Tests.Infrastructure.TestProjects;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>One issue's page over the real SQLite store: the issue, its latest event, and stepping through its events.</summary>
public sealed class IssueDetailsTests : DashboardTestContext
{
    private static readonly string CheckoutFingerprint = Fingerprint("checkout");
    private const string CheckoutTitle = "InvalidOperationException: Bundle 'summer-kit' cannot be checked out";

    private static readonly Guid LatestId = Guid.Parse("11111111-1111-4111-8111-111111111111");
    private static readonly Guid MiddleId = Guid.Parse("22222222-2222-4222-8222-222222222222");
    private static readonly Guid OldestId = Guid.Parse("33333333-3333-4333-8333-333333333333");

    private readonly TemporaryStore _store = new();
    private bool _notFound;

    public IssueDetailsTests()
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

    private async Task<IRenderedComponent<IssueDetails>> RenderIssueAsync(string fingerprint, string? eventId = null, IReadOnlyList<ErrorEvent>? events = null)
    {
        await _store.SeedAsync([Shop], events ??
        [
            CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com"),
            CheckoutEvent(MiddleId, Now.AddMinutes(-50), "bob@example.com"),
            CheckoutEvent(OldestId, Now.AddHours(-5), "carol@example.com"),
            Event(Fingerprint("other"), "Another issue", Now.AddMinutes(-1)),
        ]);
        var navigation = Services.GetRequiredService<NavigationManager>();
        navigation.OnNotFound += (_, _) => _notFound = true;

        // The event comes from the query string, as it does when a user follows a link.
        var path = DashboardPaths.Issue(1, fingerprint);
        navigation.NavigateTo(eventId is null ? path : $"{path}?event={Uri.EscapeDataString(eventId)}");
        var cut = Render<IssueDetails>(parameters => parameters
            .Add(page => page.ProjectId, 1)
            .Add(page => page.Fingerprint, fingerprint));
        cut.WaitForState(() => _notFound || cut.FindAll(".event-heading, pre.message").Count > 0);
        return cut;
    }

    [Fact]
    public async Task The_star_on_the_issue_page_bookmarks_the_issue_for_me_and_shows_my_bookmark_on_a_new_page()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        var star = cut.Find(".issue-heading button.bookmark-star");
        star.GetAttribute("aria-pressed").Should().Be("false");
        star.GetAttribute("aria-label").Should().Be("Bookmark " + CheckoutTitle);

        star.Click();
        cut.WaitForAssertion(() => cut.Find(".issue-heading button.bookmark-star").GetAttribute("aria-pressed").Should().Be("true"));
        (await _store.Store.Bookmarks.GetBookmarksAsync(1, TemporaryStore.Admin.Id)).Should().BeEquivalentTo([CheckoutFingerprint]);

        var again = Render<IssueDetails>(parameters => parameters.Add(page => page.ProjectId, 1).Add(page => page.Fingerprint, CheckoutFingerprint));
        again.WaitForAssertion(() => again.Find(".issue-heading button.bookmark-star").GetAttribute("aria-pressed").Should().Be("true"));
        again.Find(".issue-heading button.bookmark-star").Click();
        again.WaitForAssertion(() => again.Find(".issue-heading button.bookmark-star").GetAttribute("aria-pressed").Should().Be("false"));
        (await _store.Store.Bookmarks.GetBookmarksAsync(1, TemporaryStore.Admin.Id)).Should().BeEmpty();
    }

    private static ErrorEvent CheckoutEvent(Guid eventId, DateTimeOffset timestamp, string email) =>
        Event(CheckoutFingerprint, CheckoutTitle, timestamp, userId: email[..email.IndexOf('@', StringComparison.Ordinal)], eventId: eventId) with
        {
            Release = "shop@2.4.1",
            Environment = "production",
            Runtime = new NameVersion(".NET", "10.0.12"),
            User = new UserRecord("u-" + email[0], email[..email.IndexOf('@', StringComparison.Ordinal)], email, "203.0.113.24"),
            Request = new RequestRecord("POST", "https://shop.example/checkout/bundles/summer-kit", null, new Dictionary<string, string>()),
            Tags = new Dictionary<string, string> { ["region"] = "eu-west", ["feature"] = "bundles" },
            Exceptions =
            [
                new ExceptionRecord("System.InvalidOperationException", "Bundle 'summer-kit' cannot be checked out", "Shop",
                [
                    new FrameRecord("PlaceOrderAsync", "Shop.Checkout.CheckoutService", "Shop", "src/Shop/Checkout/CheckoutService.cs", 42, 17, InApp: true),
                    new FrameRecord("Invoke", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Microsoft.AspNetCore.Routing", null, null, null, InApp: false),
                ]),
                new ExceptionRecord("System.Collections.Generic.KeyNotFoundException", "The given key 'summer-kit' was not present in the dictionary.", "System.Private.CoreLib", []),
            ],
        };

    private static string Facts(IRenderedComponent<IssueDetails> cut, string section) =>
        string.Join("; ", cut.FindAll($".{section} dt").Zip(cut.FindAll($".{section} dd"), (label, value) => $"{label.TextContent}={value.TextContent}"));

    [Fact]
    public async Task Shows_the_issue_and_its_latest_event()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);

        cut.Find("h1").TextContent.Should().Be(CheckoutTitle);
        cut.Find(".breadcrumbs a").GetAttribute("href").Should().Be("projects/1/issues");
        cut.Find(".breadcrumbs a").TextContent.Should().Be("Web shop");
        cut.FindAll(".issue-stats dt").Select(term => term.TextContent).Should().Equal("Events", "Users", "First seen", "Last seen", "First release", "Last release");
        cut.FindAll(".issue-stats dd").Select(value => value.TextContent).Should().Equal("3", "3", "5 hours ago", "2 minutes ago", "shop@2.4.1", "shop@2.4.1");
        cut.Find(".chart-summary").TextContent.Should().Be("3 events in the last 24 hours");

        cut.Find(".event-heading code").TextContent.Should().Be(LatestId.ToString("N")[..12]);
        cut.FindAll(".exception-type").Select(type => type.TextContent).Should().Equal("System.InvalidOperationException", "System.Collections.Generic.KeyNotFoundException");
        cut.Find(".request-url").TextContent.Should().Be("https://shop.example/checkout/bundles/summer-kit");
        Facts(cut, "user").Should().Be("ID=u-a; Username=alice; Email=alice@example.com; IP address=203.0.113.24");
        Facts(cut, "context").Should().StartWith("Release=shop@2.4.1; Environment=production; Runtime=.NET 10.0.12;");
        Facts(cut, "tags").Should().Be("feature=bundles; region=eu-west");
        cut.FindAll(".event-outcome").Should().BeEmpty("a request's exception did not end the process");
    }

    [Fact]
    public async Task An_event_that_ended_the_process_says_so_beside_its_time()
    {
        var crash = CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com");
        var cut = await RenderIssueAsync(CheckoutFingerprint, events: [crash with { Level = "fatal", Tags = new Dictionary<string, string> { ["mechanism"] = "AppDomain.UnhandledException" } }]);

        var badge = cut.Find(".event-heading .event-outcome");
        badge.TextContent.Should().Be("Ended the process");
        badge.GetAttribute("title").Should().Contain("Nothing caught this exception");
    }

    private static string Href(Guid eventId) => $"projects/1/issues/{CheckoutFingerprint}?event={eventId:N}";

    private static List<string> EventTimes(IRenderedComponent<IssueDetails> cut) =>
        [.. cut.FindAll(".events-table tbody tr td:first-child a").Select(link => link.TextContent)];

    [Fact]
    public async Task Shows_why_the_issue_is_one_issue_and_the_exception_its_root_cause_came_wrapped_in_from_its_first_event()
    {
        var components = new GroupingComponent[]
        {
            new(GroupingComponent.Wrapper, "InvalidOperationException", Counts: false),
            new(GroupingComponent.Type, "KeyNotFoundException"),
            new(GroupingComponent.Guard, "Dictionary.get_Item", Counts: false),
            new(GroupingComponent.AppFrame, "Shop.Checkout.CheckoutService.PlaceOrderAsync"),
        };
        var first = CheckoutEvent(OldestId, Now.AddHours(-5), "carol@example.com") with { GroupingVersion = 2, GroupingComponents = components, TitleWrapper = "InvalidOperationException" };
        var latest = CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com") with
        {
            GroupingVersion = 2,
            GroupingComponents = [new(GroupingComponent.Type, "KeyNotFoundException"), new(GroupingComponent.AppFrame, "Shop.Checkout.CheckoutService.PlaceOrderAsync")],
            TitleWrapper = null,
        };

        var cut = await RenderIssueAsync(CheckoutFingerprint, events: [latest, first]);

        cut.Find(".title-wrapper").TextContent.Should().Be("wrapped in InvalidOperationException", "the first event names the issue, not the latest");
        cut.FindAll(".why-grouped dt").Select(term => term.TextContent).Should().Equal(
            "Wrapper (not counted)", "Root cause type", "Framework guard (not counted)", "First app frame");
        cut.FindAll(".why-grouped dd").Select(value => value.TextContent).Should().Equal(components.Select(c => c.Value));
    }

    [Fact]
    public async Task A_com_error_grouped_by_its_error_code_names_the_code_in_words_not_as_the_stored_kind()
    {
        var components = new GroupingComponent[]
        {
            new(GroupingComponent.Type, "COMException"),
            new(GroupingComponent.AppFrame, "Shop.Reports.ExcelExport.WriteRange"),
            new(GroupingComponent.ErrorCode, "0x800A03EC"),
        };
        var first = CheckoutEvent(OldestId, Now.AddHours(-5), "carol@example.com") with { GroupingVersion = 17, GroupingComponents = components };

        var cut = await RenderIssueAsync(CheckoutFingerprint, events: [first]);

        cut.FindAll(".why-grouped dt").Select(term => term.TextContent).Should().Equal("Root cause type", "First app frame", "COM error code");
        cut.FindAll(".why-grouped dd").Select(value => value.TextContent).Should().Equal("COMException", "Shop.Reports.ExcelExport.WriteRange", "0x800A03EC");
    }

    [Fact]
    public async Task An_issue_made_by_grouping_version_1_says_so_and_shows_what_version_2_makes_of_the_shown_event()
    {
        var old = CheckoutEvent(OldestId, Now.AddHours(-5), "carol@example.com") with { GroupingVersion = 1 };
        var joined = CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com") with
        {
            GroupingVersion = 2,
            LegacyFingerprint = CheckoutFingerprint,
            GroupingComponents = [new(GroupingComponent.Type, "KeyNotFoundException"), new(GroupingComponent.AppFrame, "Shop.Checkout.CheckoutService.PlaceOrderAsync")],
        };

        var cut = await RenderIssueAsync(CheckoutFingerprint, events: [joined, old]);

        cut.FindAll(".title-wrapper").Should().BeEmpty();
        cut.Find(".why-grouped .legacy").TextContent.Should().Contain("made by grouping version 1");
        cut.FindAll(".why-grouped dt").Select(term => term.TextContent).Should().Equal("Root cause type", "First app frame");
    }

    [Fact]
    public async Task The_latest_event_offers_the_first_and_an_older_one_and_the_events_table_marks_it()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);

        cut.Find("a.first-event").GetAttribute("href").Should().Be(Href(OldestId));
        cut.Find("a.older-event").GetAttribute("href").Should().Be(Href(MiddleId));
        cut.FindAll("a.newer-event, a.latest-event").Should().BeEmpty("nothing is newer than the latest event");
        cut.Find("span.newer-event").GetAttribute("aria-disabled").Should().Be("true");

        EventTimes(cut).Should().Equal("2 minutes ago", "an hour ago", "5 hours ago");
        var rows = cut.FindAll(".events-table tbody tr");
        rows[0].ClassList.Should().Contain("selected");
        rows[0].QuerySelector("a")!.GetAttribute("aria-current").Should().Be("true");
        rows[1].QuerySelector("a")!.GetAttribute("href").Should().Be(Href(MiddleId));
        rows[1].Children.Select(cell => cell.TextContent.Trim()).Skip(1).Should().Equal("bob@example.com", "https://shop.example/checkout/bundles/summer-kit", "shop@2.4.1", "production");
    }

    [Fact]
    public async Task An_event_named_in_the_link_is_shown_with_its_newer_and_older_neighbours()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint, MiddleId.ToString("N"));

        cut.Find(".event-heading code").TextContent.Should().Be(MiddleId.ToString("N")[..12]);
        Facts(cut, "user").Should().Contain("Email=bob@example.com");
        cut.Find("a.newer-event").GetAttribute("href").Should().Be(Href(LatestId));
        cut.Find("a.older-event").GetAttribute("href").Should().Be(Href(OldestId));
        cut.Find("a.latest-event").GetAttribute("href").Should().Be(Href(LatestId));
        cut.Find("a.first-event").GetAttribute("href").Should().Be(Href(OldestId));
        cut.Find(".events-table tr.selected a").TextContent.Should().Be("an hour ago");
        _notFound.Should().BeFalse();
    }

    [Theory]
    [InlineData("00000000000000000000000000000001")]
    [InlineData("not-a-guid")]
    public async Task An_unknown_event_is_not_found(string eventId)
    {
        await RenderIssueAsync(CheckoutFingerprint, eventId);

        _notFound.Should().BeTrue();
    }

    [Fact]
    public async Task An_event_of_another_issue_is_not_found_under_this_one()
    {
        var other = Event(Fingerprint("other"), "Another issue", Now.AddMinutes(-1));

        await RenderIssueAsync(CheckoutFingerprint, other.EventId.ToString("N"), [CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com"), other]);

        _notFound.Should().BeTrue();
    }

    [Fact]
    public async Task Every_event_of_a_long_issue_is_reachable_page_by_page_and_the_first_event_by_one_link()
    {
        // 60 events, one every 12 hours: the first is 30 days old.
        var events = Enumerable.Range(0, 60)
            .Select(i => CheckoutEvent(Guid.NewGuid(), Now.AddHours(-12 * i).AddMinutes(-1), $"user{i}@example.com"))
            .ToList();
        var cut = await RenderIssueAsync(CheckoutFingerprint, events: events);

        cut.Find("a.first-event").GetAttribute("href").Should().Be(Href(events[^1].EventId));
        EventTimes(cut).Should().HaveCount(25);
        cut.FindAll(".events-table tbody tr").Select(row => row.Children[1].TextContent).Should().Equal(events.Take(25).Select(e => e.User!.Email));

        cut.Find("button.older-events").Click();
        cut.WaitForAssertion(() => cut.Find(".events-table tbody tr").Children[1].TextContent.Should().Be("user25@example.com"));
        cut.Find("button.older-events").Click();
        cut.WaitForAssertion(() => cut.FindAll(".events-table tbody tr").Should().HaveCount(10));
        cut.FindAll(".events-table tbody tr")[^1].Children[1].TextContent.Should().Be("user59@example.com", "the last page ends with the issue's first event");
        cut.FindAll("button.older-events").Should().BeEmpty();

        cut.Find("button.newer-events").Click();
        cut.WaitForAssertion(() => cut.Find(".events-table tbody tr").Children[1].TextContent.Should().Be("user25@example.com"));
        cut.Find("button.newest-events").Click();
        cut.WaitForAssertion(() => cut.Find(".events-table tbody tr").Children[1].TextContent.Should().Be("user0@example.com"));

        cut.Find(".issue-events input[type=search]").Input("USER42@");
        cut.Find(".issue-events form").Submit();
        cut.WaitForAssertion(() => cut.FindAll(".events-table tbody tr").Select(row => row.Children[1].TextContent).Should().Equal("user42@example.com"));
    }

    [Fact]
    public async Task Affected_users_are_listed_with_a_mail_link_searchable_and_exportable()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);

        var rows = cut.FindAll(".users-table tbody tr");
        cut.Find(".user-total").TextContent.Should().Be("3");
        rows.Select(row => row.QuerySelector("a")!.GetAttribute("href")).Should().Equal("mailto:alice@example.com", "mailto:bob@example.com", "mailto:carol@example.com");
        rows[1].Children.Select(cell => cell.TextContent.Trim()).Should().Equal("bob@example.com", "bob", "u-b", "1", "an hour ago", "an hour ago", "https://shop.example/checkout/bundles/summer-kit");
        cut.Find("a.csv-export").GetAttribute("href").Should().Be($"projects/1/issues/{CheckoutFingerprint}/users.csv");

        cut.Find(".affected-users input[type=search]").Input("CAROL");
        cut.Find(".affected-users form").Submit();

        cut.WaitForAssertion(() => cut.FindAll(".users-table tbody tr").Select(row => row.Children[0].TextContent.Trim()).Should().Equal("carol@example.com"));
        cut.Find("a.csv-export").GetAttribute("href").Should().Be($"projects/1/issues/{CheckoutFingerprint}/users.csv?q=CAROL");
    }

    [Fact]
    public async Task The_chart_range_can_be_chosen()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint, events:
        [
            CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com"),
            CheckoutEvent(OldestId, Now.AddDays(-20), "carol@example.com"),
        ]);
        cut.Find(".chart-summary").TextContent.Should().Be("1 event in the last 24 hours");

        cut.Find(".range-buttons button[data-range='30d']").Click();

        cut.WaitForAssertion(() => cut.Find(".chart-summary").TextContent.Should().Be("2 events in the last 30 days"));
        cut.Find(".range-buttons button[data-range='30d']").GetAttribute("aria-pressed").Should().Be("true");
    }

    [Fact]
    public async Task Breakdowns_show_where_the_events_came_from_and_follow_the_chart_range()
    {
        ErrorEvent From(DateTimeOffset time, string release, string browser, string? clientOs, string server) =>
            CheckoutEvent(Guid.NewGuid(), time, "alice@example.com") with
            {
                Release = release,
                ServerName = server,
                Tags = clientOs is null
                    ? new Dictionary<string, string> { ["browser"] = browser }
                    : new Dictionary<string, string> { ["browser"] = browser, ["client_os"] = clientOs },
            };
        var events = new List<ErrorEvent>();
        events.AddRange(Enumerable.Range(0, 3).Select(i => From(Now.AddMinutes(-1 - i), "shop@2.5.0", "Chrome 131", "Windows 10", "web-1")));
        events.Add(From(Now.AddMinutes(-10), "shop@2.4.1", "Firefox 133", null, "web-2"));
        events.Add(From(Now.AddDays(-10), "shop@2.3.0", "Safari 18", "macOS 15", "web-3"));

        var cut = await RenderIssueAsync(CheckoutFingerprint, events: events);

        string Values(string dimension) => string.Join("; ", cut.FindAll($".breakdown[data-dimension='{dimension}'] .breakdown-value")
            .Select(row => row.QuerySelector(".breakdown-name")!.TextContent + " " + row.QuerySelector(".breakdown-count")!.TextContent));

        cut.Find(".breakdowns-range").TextContent.Should().Be("Last 24 hours");
        cut.FindAll(".breakdown h3").Select(h => h.TextContent).Should().Equal("Release", "Environment", "Browser", "OS", "Server");
        Values("release").Should().Be("shop@2.5.0 3 events, 75%; shop@2.4.1 1 events, 25%");
        Values("browser").Should().Be("Chrome 131 3 events, 75%; Firefox 133 1 events, 25%");
        Values("operatingsystem").Should().Be("Windows 10 3 events, 75%; Not reported 1 events, 25%");
        Values("environment").Should().Be("production 4 events, 100%");
        cut.Find(".breakdown[data-dimension='release'] .breakdown-value").GetAttribute("title").Should().Be("shop@2.5.0: 3 events (75%)");

        cut.Find(".range-buttons button[data-range='30d']").Click();

        cut.WaitForAssertion(() => cut.Find(".breakdowns-range").TextContent.Should().Be("Last 30 days"));
        Values("release").Should().Be("shop@2.5.0 3 events, 60%; shop@2.3.0 1 events, 20%; shop@2.4.1 1 events, 20%");
        Values("server").Should().Be("web-1 3 events, 60%; web-2 1 events, 20%; web-3 1 events, 20%");
    }

    [Fact]
    public void Shares_are_whole_percent_and_a_tiny_share_never_reads_as_zero()
    {
        IssueBreakdownsViewShare(1, 3).Should().Be("33%");
        IssueBreakdownsViewShare(1, 1000).Should().Be("<1%");
        IssueBreakdownsViewShare(0, 10).Should().Be("0%");
        IssueBreakdownsViewShare(5, 0).Should().Be("0%");
        IssueBreakdownsViewShare(1, 8).Should().Be("13%");
    }

    [Fact]
    public async Task A_breakdown_with_more_values_than_it_shows_counts_the_rest_as_other()
    {
        var events = Enumerable.Range(0, 7)
            .SelectMany(k => Enumerable.Range(0, k + 1).Select(n => CheckoutEvent(Guid.NewGuid(), Now.AddMinutes(-(k * 10) - n), "alice@example.com") with { Release = $"shop@1.{k}" }))
            .ToList();

        var cut = await RenderIssueAsync(CheckoutFingerprint, events: events);

        var rows = cut.FindAll(".breakdown[data-dimension='release'] .breakdown-value");
        rows.Select(row => row.QuerySelector(".breakdown-name")!.TextContent).Should().Equal("shop@1.6", "shop@1.5", "shop@1.4", "shop@1.3", "shop@1.2", "Other");
        rows[^1].ClassList.Should().Contain("other");
        rows[^1].GetAttribute("title").Should().Be("Other: 3 events (11%)");
    }

    private static string IssueBreakdownsViewShare(long count, long events) => ErrorHub.Dashboard.Components.Issues.IssueBreakdownsView.Share(count, events);

    [Fact]
    public async Task The_event_shows_its_breadcrumbs_in_order_extra_data_form_fields_cookie_names_route_and_trace_id()
    {
        var latest = CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com") with
        {
            Breadcrumbs =
            [
                new BreadcrumbRecord(Now.AddMinutes(-2).AddSeconds(-3), "info", "Microsoft.AspNetCore.Routing", "Executing endpoint 'POST /checkout/{bundle}'"),
                new BreadcrumbRecord(Now.AddMinutes(-2).AddMilliseconds(-250), "warning", "Shop.Checkout", "Bundle <b>summer-kit</b> has 0 items"),
                new BreadcrumbRecord(null, "debug", null, "no time, no category"),
            ],
            Extra = new Dictionary<string, string> { ["order_id"] = "A-1001", ["attempt"] = "<script>alert(1)</script>" },
            Request = new RequestRecord("POST", "https://shop.example/checkout/bundles/summer-kit", null,
                new Dictionary<string, string> { ["Cookie"] = "session=[Filtered]; cart_id=[Filtered]", ["Accept"] = "text/html" })
            {
                Form = new Dictionary<string, string> { ["quantity"] = "2", ["password"] = "[Filtered]" },
            },
            Tags = new Dictionary<string, string>
            {
                ["route"] = "POST /checkout/{bundle}",
                ["endpoint"] = "HTTP: POST /checkout/{bundle}",
                ["trace_id"] = "4bf92f3577b34da6a3ce929d0e0e4736",
            },
        };

        var cut = await RenderIssueAsync(CheckoutFingerprint, events: [latest]);

        var crumbs = cut.FindAll(".breadcrumbs-table tbody tr");
        crumbs.Select(row => row.QuerySelector(".breadcrumb-message")!.TextContent).Should().Equal(
            "Executing endpoint 'POST /checkout/{bundle}'", "Bundle <b>summer-kit</b> has 0 items", "no time, no category");
        crumbs.Select(row => row.QuerySelector(".level-badge")!.TextContent.Trim()).Should().Equal("info", "warning", "debug");
        crumbs.Select(row => row.QuerySelector(".breadcrumb-category")!.TextContent).Should().Equal("Microsoft.AspNetCore.Routing", "Shop.Checkout", "");
        crumbs.Select(row => row.QuerySelector(".breadcrumb-time")!.TextContent.Trim()).Should().Equal("11:57:57.000 (−3 s)", "11:57:59.750 (−0.25 s)", "");
        cut.FindAll(".breadcrumbs-table b").Should().BeEmpty("a message is text, never markup");
        cut.Find(".breadcrumbs-section h3").TextContent.Should().Be("Breadcrumbs (3)");

        cut.FindAll(".extra tbody tr").Select(row => row.TextContent).Should().Equal("attempt<script>alert(1)</script>", "order_idA-1001");
        cut.FindAll(".extra script").Should().BeEmpty();
        cut.FindAll(".form-table tbody tr").Select(row => row.TextContent).Should().Equal("password[Filtered]", "quantity2");
        cut.FindAll(".cookie-names li").Select(item => item.TextContent).Should().Equal("session", "cart_id");
        cut.Find(".request-route code").TextContent.Should().Be("POST /checkout/{bundle}");
        Facts(cut, "context").Should().Contain("Route=POST /checkout/{bundle}; Endpoint=HTTP: POST /checkout/{bundle}; Trace ID=4bf92f3577b34da6a3ce929d0e0e4736;");
    }

    [Fact]
    public async Task An_event_without_breadcrumbs_extra_or_form_shows_none_of_their_sections()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);

        cut.FindAll(".breadcrumbs-section, .extra, .form-table, .cookie-names, .request-route").Should().BeEmpty();
    }

    [Fact]
    public async Task An_unknown_issue_is_not_found()
    {
        var cut = await RenderIssueAsync(Fingerprint("never-seen"));

        _notFound.Should().BeTrue();
        cut.FindAll("h1").Should().BeEmpty();
    }

    [Fact]
    public async Task A_message_without_an_exception_is_shown_as_text()
    {
        const string message = "Payment provider said: <b>declined</b>\n<script>alert(1)</script>";
        var logged = Event(Fingerprint("logged"), "Payment declined", Now.AddMinutes(-5)) with { Message = message, Exceptions = [] };

        var cut = await RenderIssueAsync(Fingerprint("logged"), events: [logged]);

        cut.Find("pre.message").TextContent.Should().Be(message);
        cut.FindAll(".exception, pre.message b, pre.message script").Should().BeEmpty();
    }

    [Fact]
    public async Task A_member_of_another_project_finds_no_issue_and_no_event()
    {
        var member = new UserAccount(Guid.NewGuid(), "dev@example.com", "Dev", "hash", UserRole.Member, "stamp", Now);
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Access.CreateUserAsync(member);
        await _store.Store.Access.AddMemberAsync(2, member.Id);
        SignIn(member);

        var cut = await RenderIssueAsync(CheckoutFingerprint, LatestId.ToString("N"));

        _notFound.Should().BeTrue();
        cut.Markup.Should().NotContain("alice@example.com").And.NotContain("summer-kit");
    }

    private static List<string> Timeline(IRenderedComponent<IssueDetails> cut) =>
        [.. cut.FindAll(".timeline-entry").Select(entry => string.Join(" ", entry.QuerySelectorAll(".timeline-actor, .timeline-meta > span, .timeline-meta > time, p").Select(part => part.TextContent.Trim())))];

    [Fact]
    public async Task An_assignment_whose_entry_the_store_refused_says_not_saved_and_made_again_is_entered_once_with_who()
    {
        // The store takes the assignment and refuses its timeline entry (a full disk at that moment), as a lost answer
        // leaves it. Until December 2026 the same choice made again found the issue assigned and wrote no entry.
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.DatabasePath}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse_entries BEFORE INSERT ON issue_history BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END";
            await command.ExecuteNonQueryAsync();
            cut.Find("select.action-assign").Change(TemporaryStore.Admin.Id.ToString("D"));
            cut.Find("form.assign-choice").Submit();
            cut.WaitForAssertion(() => cut.Find(".triage-problem").TextContent.Should().Be(ErrorHub.Dashboard.Components.Layout.StoreErrorBoundary.ChangeNotSaved));
            command.CommandText = "DROP TRIGGER refuse_entries";
            await command.ExecuteNonQueryAsync();
        }

        cut.Find("select.action-assign").Change(TemporaryStore.Admin.Id.ToString("D"));
        cut.Find("form.assign-choice").Submit();

        cut.WaitForAssertion(() => Timeline(cut).Should().Equal(["Ada Admin changed the assignee just now Assigned to Ada Admin"]));
        cut.FindAll(".triage-problem").Should().BeEmpty();
    }

    [Fact]
    public async Task On_the_page_of_a_project_deleted_meanwhile_resolving_and_commenting_change_nothing()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        cut.WaitForAssertion(() => cut.Find(".timeline-empty").TextContent.Should().Be("Nothing happened to this issue yet."));

        // Another admin deletes the project while this page is open.
        await _store.Store.Projects.DeleteProjectAsync(1, Now);
        cut.Find("button.action-resolve").Click();
        cut.WaitForState(() => _notFound);
        _notFound = false;
        cut.Find("textarea.comment-text").Input("still here?");
        cut.Find("form.comment-form").Submit();
        cut.WaitForState(() => _notFound);

        (await _store.Store.Notifications.States.GetStateAsync(1, CheckoutFingerprint)).Should().BeNull("the issue of a deleted project is not triaged");
        (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(1, CheckoutFingerprint))).Items.Should().BeEmpty("nor commented");
    }

    [Fact]
    public async Task Triage_actions_and_comments_appear_in_the_activity_timeline_with_who_and_when()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        cut.WaitForAssertion(() => cut.Find(".timeline-empty").TextContent.Should().Be("Nothing happened to this issue yet."));

        cut.Find("button.action-resolve").Click();
        cut.WaitForAssertion(() => Timeline(cut).Should().Equal("Ada Admin changed the status just now Resolved"));

        cut.Find("textarea.comment-text").Input("<script>alert('x')</script>\nJoe wrote in: it's the coupon");
        cut.Find("form.comment-form").Submit();
        cut.WaitForAssertion(() => Timeline(cut).Should().HaveCount(2));
        var comment = cut.Find(".timeline-comment");
        comment.TextContent.Should().Be("<script>alert('x')</script>\nJoe wrote in: it's the coupon", "a comment is plain text, shown as typed");
        comment.InnerHtml.Should().Contain("&lt;script&gt;").And.NotContain("<script>");
        cut.Find("textarea.comment-text").GetAttribute("value").Should().BeEmpty("the box is cleared for the next comment");

        cut.Find("select.action-assign").Change(TemporaryStore.Admin.Id.ToString("D"));
        cut.Find("form.assign-choice").Submit();
        // The test's clock stands still, so entries of the same instant may come in either order.
        cut.WaitForAssertion(() => Timeline(cut).Should().HaveCount(3).And.Contain("Ada Admin changed the assignee just now Assigned to Ada Admin"));

        cut.Find("button.action-delete-comment").Click();
        cut.WaitForAssertion(() => cut.FindAll(".timeline-comment").Should().BeEmpty());
        Timeline(cut).Should().HaveCount(2);
    }

    [Fact]
    public async Task A_regression_shows_in_the_activity_timeline_at_the_time_of_the_event_that_brought_the_issue_back()
    {
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Notifications.States.SetStateAsync(new IssueState(1, CheckoutFingerprint, IssueStatus.Resolved, Now.AddMinutes(-30)) { ResolvedInRelease = "shop@2.4.2" });

        var cut = await RenderIssueAsync(CheckoutFingerprint, events:
        [
            CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com") with { Release = "shop@2.5.0" },
            CheckoutEvent(MiddleId, Now.AddMinutes(-50), "bob@example.com"),
        ]);

        cut.WaitForAssertion(() => Timeline(cut).Should().ContainSingle().Which.Should()
            .StartWith("ErrorHub saw the issue come back")
            .And.Contain("2 minutes ago")
            .And.EndWith("Regressed in shop@2.5.0: a new event after it was resolved in shop@2.4.2"));
        cut.FindAll(".timeline-entry.timeline-kind-regression .action-delete-comment").Should().BeEmpty("no one deletes a regression");
    }

    [Fact]
    public async Task An_empty_or_too_long_comment_is_refused_with_a_reason_and_a_member_cannot_delete_someone_elses()
    {
        var member = new UserAccount(Guid.NewGuid(), "dev@example.com", "Dev", "hash", UserRole.Member, "stamp", Now);
        await _store.Store.Schema.EnsureSchemaAsync();
        await _store.Store.Access.CreateUserAsync(member);
        await _store.Store.Access.AddMemberAsync(1, member.Id);
        await _store.Store.History.AddAsync(new IssueChange(1, CheckoutFingerprint, Guid.NewGuid(), Now.AddMinutes(-3), IssueChangeKind.Comment, TemporaryStore.Admin.Id, "Ada Admin") { Text = "admin's note" });
        SignIn(member);

        var cut = await RenderIssueAsync(CheckoutFingerprint);
        cut.WaitForAssertion(() => Timeline(cut).Should().Equal("Ada Admin commented 3 minutes ago admin's note"));
        cut.FindAll("button.action-delete-comment").Should().BeEmpty("only its author or an admin may delete it");

        cut.Find("textarea.comment-text").Input("   ");
        cut.Find("form.comment-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".form-problem").TextContent.Should().Be("Write something first."));

        cut.Find("textarea.comment-text").Input(new string('x', 5_001));
        cut.Find("form.comment-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".form-problem").TextContent.Should().Be("A comment is at most 5,000 characters; this one has 5,001."));
        Timeline(cut).Should().HaveCount(1);

        cut.Find("textarea.comment-text").Input("mine");
        cut.Find("form.comment-form").Submit();
        cut.WaitForAssertion(() => cut.FindAll("button.action-delete-comment").Should().ContainSingle("a member deletes their own comment"));
    }

    [Fact]
    public async Task Merge_into_another_issue_shows_its_events_there_and_unmerge_brings_the_issue_back()
    {
        var other = Fingerprint("other");
        var cut = await RenderIssueAsync(other);
        cut.WaitForAssertion(() => cut.Find("select.merge-target").QuerySelectorAll("option").Length.Should().Be(2));
        cut.Find("select.merge-target").QuerySelectorAll("option")[1].TextContent.Should().EndWith("(3 events)");
        cut.Find(".merged-none").TextContent.Should().Be("No other issue is merged into this one.");

        cut.Find("select.merge-target").Change(CheckoutFingerprint);
        cut.Find("form.merge-form").Submit();

        var navigation = Services.GetRequiredService<NavigationManager>();
        cut.WaitForAssertion(() => navigation.Uri.Should().EndWith(DashboardPaths.Issue(1, CheckoutFingerprint)));
        (await _store.Store.Issues.GetIssueAsync(1, CheckoutFingerprint))!.EventCount.Should().Be(4);

        // The checkout issue's page lists what was merged into it, and unmerges it.
        var target = Render<IssueDetails>(parameters => parameters.Add(page => page.ProjectId, 1).Add(page => page.Fingerprint, CheckoutFingerprint));
        target.WaitForAssertion(() => target.Find(".merged-issue .merged-title").TextContent.Should().Be("Another issue"));
        target.Find(".issue-stats").TextContent.Should().Contain("4");
        target.WaitForAssertion(() => Timeline(target)[0].Should().StartWith("Ada Admin merged just now Merged “Another issue” into this issue (1 event)"));

        target.Find("button.action-unmerge").Click();
        target.WaitForAssertion(() => target.FindAll(".merged-issue").Should().BeEmpty());
        target.WaitForAssertion(() => target.Find("select.merge-target").QuerySelectorAll("option")[1].TextContent.Should().Be("\u2068Another issue\u2069 (1 event)", "the title isolated: its bidi controls reorder only itself"));
        target.WaitForAssertion(() => Timeline(target).Should().HaveCount(2).And.Contain(entry => entry.StartsWith("Ada Admin unmerged just now Unmerged “Another issue”", StringComparison.Ordinal)));
        (await _store.Store.Issues.GetIssueAsync(1, other)).Should().NotBeNull("it stands on its own again");
        (await _store.Store.Issues.GetIssueAsync(1, CheckoutFingerprint))!.EventCount.Should().Be(3);
    }

    /// <summary>
    /// After a merge the page reads the merged issue again (gone) while the browser already takes it to the issue it went
    /// into; on a busy store that read answered last, and the target's page said "Not found".
    /// </summary>
    [Fact]
    public async Task Merge_into_another_issue_shows_that_issue_even_when_the_read_of_the_merged_one_answers_after_the_page_moved_there()
    {
        var other = Fingerprint("other");
        var reads = new LateGoneIssueReads(_store.Store.Issues, other);
        Services.AddSingleton<IIssueReader>(reads);
        var cut = await RenderIssueAsync(other);
        cut.WaitForAssertion(() => cut.Find("select.merge-target").QuerySelectorAll("option").Length.Should().Be(2));

        cut.Find("select.merge-target").Change(CheckoutFingerprint);
        cut.Find("form.merge-form").Submit();
        var navigation = Services.GetRequiredService<NavigationManager>();
        cut.WaitForAssertion(() => navigation.Uri.Should().EndWith(DashboardPaths.Issue(1, CheckoutFingerprint)));
        await reads.Held.WaitAsync(TimeSpan.FromSeconds(30));

        // The router gives the page the target's fingerprint, and the page shows the target ...
        cut.Render(parameters => parameters.Add(page => page.Fingerprint, CheckoutFingerprint));
        cut.WaitForAssertion(() => cut.Find(".merged-issue .merged-title").TextContent.Should().Be("Another issue"));
        cut.Find("h1.issue-title").TextContent.Should().Be(CheckoutTitle);

        // ... and still does once the late answer arrives (the page's reload after it ends by drawing the merge part anew,
        // which lists the issues again).
        var listReads = reads.IssueListReads;
        reads.LetGo();
        cut.WaitForState(() => _notFound || reads.IssueListReads > listReads);
        _notFound.Should().BeFalse("the target of a merge never vanishes, not even for a moment");
        navigation.Uri.Should().EndWith(DashboardPaths.Issue(1, CheckoutFingerprint));
        cut.WaitForAssertion(() => cut.Find("h1.issue-title").TextContent.Should().Be(CheckoutTitle));
        cut.Find(".issue-stats").TextContent.Should().Contain("4");
    }

    [Fact]
    public async Task Merge_into_finds_an_issue_beyond_the_hundred_most_recent_by_search_or_by_its_address()
    {
        var target = Fingerprint("card-refused");
        var cut = await RenderIssueAsync(CheckoutFingerprint, events:
        [
            CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com"),
            Event(target, "PaymentDeclinedException: card refused by the issuer", Now.AddDays(-20)),
            .. Enumerable.Range(0, 120).Select(i => Event(Fingerprint($"noise-{i}"), $"TimeoutException: job {i} timed out", Now.AddMinutes(-10 - i))),
        ]);
        IEnumerable<string> Offered() => cut.Find("select.merge-target").QuerySelectorAll("option").Skip(1).Select(option => option.GetAttribute("value")!);
        cut.WaitForAssertion(() => Offered().Should().HaveCount(100));
        Offered().Should().NotContain(target, "it is older than the hundred most recent issues");

        cut.Find("input.merge-search").Input("timed out");
        cut.Find("form.merge-search-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".merge-search-summary").TextContent.Should().Be("The 20 most recent of 120 matching issues: refine the search for others."));
        Offered().Should().HaveCount(20);

        cut.Find("input.merge-search").Input($"https://errors.example.com/projects/1/issues/{target}?event=abc");
        cut.Find("form.merge-search-form").Submit();
        cut.WaitForAssertion(() => Offered().Should().Equal(target));

        cut.Find("input.merge-search").Input("CARD REFUSED");
        cut.Find("form.merge-search-form").Submit();
        cut.WaitForAssertion(() => cut.Find(".merge-search-summary").TextContent.Should().Be("1 issue matches."));
        Offered().Should().Equal(target);
        cut.Find("form.merge-form").Submit();

        var navigation = Services.GetRequiredService<NavigationManager>();
        cut.WaitForAssertion(() => navigation.Uri.Should().EndWith(DashboardPaths.Issue(1, target)));
        (await _store.Store.Merges.GetMergesAsync(1)).Should().Equal(new Dictionary<string, string> { [CheckoutFingerprint] = target });
    }

    [Fact]
    public async Task A_link_to_a_merged_issue_leads_to_the_issue_it_was_merged_into_and_its_events_open_there()
    {
        var other = Fingerprint("other");
        await _store.SeedAsync([Shop], [CheckoutEvent(LatestId, Now.AddMinutes(-2), "alice@example.com"), Event(other, "Another issue", Now.AddMinutes(-1), eventId: MiddleId)]);
        await _store.Store.Merges.MergeAsync(1, CheckoutFingerprint, [other], Now);
        var navigation = Services.GetRequiredService<NavigationManager>();

        navigation.NavigateTo(DashboardPaths.Issue(1, other));
        Render<IssueDetails>(parameters => parameters.Add(page => page.ProjectId, 1).Add(page => page.Fingerprint, other));
        navigation.Uri.Should().EndWith(DashboardPaths.Issue(1, CheckoutFingerprint));
        _notFound.Should().BeFalse();

        var cut = Render<IssueDetails>(parameters => parameters.Add(page => page.ProjectId, 1).Add(page => page.Fingerprint, CheckoutFingerprint));
        cut.WaitForAssertion(() => cut.Find(".event-heading h2").TextContent.Should().Contain(MiddleId.ToString("N")[..12], "the latest event is the merged issue's"));
        _notFound.Should().BeFalse();
    }

    private static string Status(IRenderedComponent<IssueDetails> cut) => cut.Find(".triage-actions .status-badge").TextContent;

    [Fact]
    public async Task An_open_issue_page_follows_another_maintainers_changes_within_the_lists_interval_and_keeps_a_half_typed_comment()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now);
        Services.AddSingleton<TimeProvider>(clock);
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        Status(cut).Should().Be("Unresolved");
        cut.Find("textarea.comment-text").Input("Half a thought about the bundles");

        // Ben, in another tab, ignores the issue and assigns it; this page is not told.
        var triage = Services.GetRequiredService<ErrorHub.Dashboard.Triage.IssueTriage>();
        var ben = new ErrorHub.Dashboard.Triage.IssueActor(Guid.NewGuid(), "Ben");
        await triage.IgnoreAsync(1, CheckoutFingerprint, events: 100, by: ben);
        await triage.AssignAsync(1, CheckoutFingerprint, TemporaryStore.Admin.Id, ben);
        Status(cut).Should().Be("Unresolved", "nothing is read again before the interval");
        clock.Advance(IssueList.LiveInterval);

        cut.WaitForAssertion(() => Status(cut).Should().Be("Ignored until 100 more events"));
        cut.WaitForAssertion(() => Timeline(cut).Should().HaveCount(2).And.Contain("Ben changed the assignee just now Assigned to Ada Admin"));
        cut.Find("select.action-assign").GetAttribute("value").Should().Be(TemporaryStore.Admin.Id.ToString("D"));
        cut.Find("textarea.comment-text").GetAttribute("value").Should().Be("Half a thought about the bundles", "a refresh must not lose what is being typed");

        await triage.ResolveAsync(1, CheckoutFingerprint, by: ben);
        clock.Advance(IssueList.LiveInterval);
        cut.WaitForAssertion(() => Status(cut).Should().Be("Resolved"));

        // Merged into another issue by another dashboard process (nothing in this process hears of it).
        await _store.Store.Merges.MergeAsync(1, Fingerprint("other"), [CheckoutFingerprint], Now);
        clock.Advance(IssueList.LiveInterval);
        cut.WaitForAssertion(() => cut.Find(".merged-away a").GetAttribute("href").Should().Be(DashboardPaths.Issue(1, Fingerprint("other"))));
        cut.Find("textarea.comment-text").GetAttribute("value").Should().Be("Half a thought about the bundles");
    }

    [Fact]
    public async Task Resolve_reopen_and_ignore_from_the_issue_page()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        Status(cut).Should().Be("Unresolved");
        cut.Find("button.action-resolve-next").GetAttribute("title").Should().Be("Events of shop@2.4.1 or older releases will not reopen it");

        cut.Find("button.action-resolve").Click();
        cut.WaitForAssertion(() => Status(cut).Should().Be("Resolved"));

        cut.Find("button.action-reopen").Click();
        cut.WaitForAssertion(() => Status(cut).Should().Be("Unresolved"));

        // Choosing how long changes nothing yet (a keyboard user's arrow keys move through the choices); the button ignores.
        cut.Find("select.action-ignore").Change("events:100");
        Status(cut).Should().Be("Unresolved");
        cut.Find("button.action-ignore-apply").HasAttribute("disabled").Should().BeFalse();
        cut.Find("form.ignore-choice").Submit();
        cut.WaitForAssertion(() => Status(cut).Should().Be("Ignored until 100 more events"));
        (await _store.Store.Notifications.States.GetStateAsync(1, CheckoutFingerprint))!.IgnoredUntilEvents.Should().Be(100);

        cut.Find("button.action-reopen").Click();
        cut.WaitForAssertion(() => Status(cut).Should().Be("Unresolved"));
        cut.Find("button.action-resolve-next").Click();
        cut.WaitForAssertion(() => Status(cut).Should().Be("Resolved in the release after shop@2.4.1"));
    }

    [Fact]
    public async Task Resolve_in_next_release_means_after_the_newest_release_of_the_app_not_after_the_issues_own_latest()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint, events:
        [
            CheckoutEvent(LatestId, Now.AddMinutes(-30), "alice@example.com") with { Release = "shop@2.4.0" },
            Event(Fingerprint("other"), "Another issue", Now.AddMinutes(-1)) with { Release = "shop@2.10.0" },
            Event(Fingerprint("third"), "A third issue", Now.AddMinutes(-2)) with { Release = "shop@2.9.1" },
            Event(Fingerprint("worker"), "The worker's issue", Now.AddMinutes(-3)) with { Release = "worker@7.0.0" },
        ]);

        cut.Find("button.action-resolve-next").GetAttribute("title").Should().Be("Events of shop@2.10.0 or older releases will not reopen it",
            "shop@2.10.0 runs now: a shop@2.4.1 or 2.9.1 still out there does not have the fix; another app's release is not the shop's");
        cut.Find("button.action-resolve-next").Click();
        cut.WaitForAssertion(() => Status(cut).Should().Be("Resolved in the release after shop@2.10.0"));
    }

    [Fact]
    public async Task An_issue_is_assigned_to_someone_who_may_read_its_project()
    {
        var cut = await RenderIssueAsync(CheckoutFingerprint);
        cut.FindAll("select.action-assign option").Select(option => option.TextContent).Should().Equal("Nobody", TemporaryStore.Admin.Name);

        cut.Find("button.action-assign-apply").HasAttribute("disabled").Should().BeTrue("nothing chosen yet");
        cut.Find("select.action-assign").Change(TemporaryStore.Admin.Id.ToString("D"));
        (await _store.Store.Notifications.States.GetStateAsync(1, CheckoutFingerprint))?.AssigneeId.Should().BeNull("choosing in the list assigns nobody yet");
        cut.Find("button.action-assign-apply").HasAttribute("disabled").Should().BeFalse();
        cut.Find("form.assign-choice").Submit();

        cut.WaitForState(() => _store.Store.Notifications.States.GetStateAsync(1, CheckoutFingerprint).GetAwaiter().GetResult()?.AssigneeId == TemporaryStore.Admin.Id);
        Status(cut).Should().Be("Unresolved", "an assignment keeps the status");
    }
}
