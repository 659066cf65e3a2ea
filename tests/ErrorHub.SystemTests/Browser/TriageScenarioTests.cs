using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// A maintainer triages a project of their own in a real browser: searches with hostile strings, finds the affected
/// users and exports them, resolves, sees the crash come back from an older and a newer release, ignores, assigns,
/// comments, merges and unmerges, and reads the releases page. It works on a project of its own, so the other
/// browser tests see the seeded projects unchanged.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class TriageScenarioTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private static readonly Project Lab = new(3, "Triage lab", "triage-lab-public-key", DateTimeOffset.UtcNow.AddDays(-10));
    private static readonly string Coupon = TestEvents.Fingerprint("lab-coupon");
    private static readonly string Cart = TestEvents.Fingerprint("lab-cart");
    private static readonly string CartAgain = TestEvents.Fingerprint("lab-cart-again");
    private static readonly string Hostile = TestEvents.Fingerprint("lab-hostile");
    private const string CouponTitle = "InvalidOperationException: Coupon 'WINTER' has expired";
    private const string HostileTitle = "SqlException: Incorrect syntax near ''' OR 1=1 -- \"quoted\" \\ backslash";

    private static ErrorEvent LabEvent(string fingerprint, string title, DateTimeOffset at, string release, UserRecord? user = null) =>
        TestEvents.Create(Lab.Id, fingerprint, at, user, title) with { Release = release };

    private Task AddEventsAsync(params ErrorEvent[] events) =>
        dashboard.WriteAsync(services => services.GetRequiredService<IEventWriter>().InsertEventsAsync(events));

    private async Task SeedLabAsync()
    {
        var now = DateTimeOffset.UtcNow;
        await dashboard.WriteAsync(services => services.GetRequiredService<IProjectStore>().UpsertProjectAsync(Lab));
        await AddEventsAsync(
            LabEvent(Coupon, CouponTitle, now.AddHours(-3), "lab@2.4.1", new UserRecord("u-joe", "Joe Smith", "joe@example.com", null)),
            LabEvent(Coupon, CouponTitle, now.AddHours(-2), "lab@2.4.1", new UserRecord("u-ann", "Ann", "ann@example.com", null)),
            LabEvent(Cart, "KeyNotFoundException: Cart line 7 was not found", now.AddHours(-4), "lab@2.4.1"),
            LabEvent(Cart, "KeyNotFoundException: Cart line 7 was not found", now.AddHours(-3), "lab@2.4.1"),
            LabEvent(Cart, "KeyNotFoundException: Cart line 7 was not found", now.AddHours(-1), "lab@2.4.1"),
            LabEvent(CartAgain, "KeyNotFoundException: Cart line 9 was not found", now.AddMinutes(-30), "lab@2.4.1"),
            LabEvent(Hostile, HostileTitle, now.AddHours(-5), "lab@2.4.0"));
    }

    private static async Task SearchAsync(IPage page, string text)
    {
        await page.Locator(".issue-filters input[type=search]").FillAsync(text);
        await page.Locator(".issue-filters input[type=search]").PressAsync("Enter");
    }

    private async Task ReloadAsync(IPage page)
    {
        await page.ReloadAsync();
        await BrowserSignIn.WaitUntilInteractiveAsync(page);
    }

    /// <summary>Waits until this machine's clock (the dashboard's too) is past <paramref name="time"/>'s second: what happens next is after it.</summary>
    private static async Task WaitUntilPastAsync(DateTimeOffset time)
    {
        var wait = DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds() + 1) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait + TimeSpan.FromMilliseconds(50));
        }
    }

    [Fact]
    public async Task A_maintainer_triages_a_crash_from_search_to_merge_and_undo()
    {
        await SeedLabAsync();
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, "projects/3/issues");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            var titles = page.Locator(".issue-grid .issue-link");
            await Expect(page.Locator(".issue-count")).ToHaveTextAsync("4 issues");

            // Search, also with quotes, backslashes, SQL fragments and a very long string: the right issues, no error.
            await SearchAsync(page, "' OR 1=1 --");
            await Expect(titles).ToHaveTextAsync([HostileTitle]);
            await SearchAsync(page, "\"quoted\" \\ backslash");
            await Expect(titles).ToHaveTextAsync([HostileTitle]);
            await SearchAsync(page, new string('x', 3000));
            await Expect(page.Locator(".empty-filtered")).ToHaveTextAsync("No issue matches these filters.");
            await SearchAsync(page, "JOE@example");
            await Expect(titles).ToHaveTextAsync([CouponTitle]);

            // Open the issue; find who hit it and export them.
            await titles.First.ClickAsync();
            await Expect(page.Locator("h1")).ToHaveTextAsync(CouponTitle);
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.Locator(".users-table a[href^='mailto:']")).ToHaveTextAsync(["ann@example.com", "joe@example.com"]);
            var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("a.csv-export").ClickAsync());
            var csv = await File.ReadAllTextAsync(await download.PathAsync());
            csv.Should().Contain("\"joe@example.com\",\"Joe Smith\",\"u-joe\"");

            // Resolve in the next release: the crash from an older release keeps it resolved, from a newer one it regresses.
            await page.Locator("button.action-resolve-next").ClickAsync();
            var status = page.Locator(".triage-actions .status-badge");
            await Expect(status).ToHaveTextAsync("Resolved in the release after lab@2.4.1");
            await Expect(page.Locator(".timeline-entry").First).ToContainTextAsync("Resolved in the next release (after lab@2.4.1)");
            await AddEventsAsync(LabEvent(Coupon, CouponTitle, DateTimeOffset.UtcNow.AddSeconds(2), "lab@2.4.0"));
            await ReloadAsync(page);
            await Expect(status).ToHaveTextAsync("Resolved in the release after lab@2.4.1");
            var regressedAt = DateTimeOffset.UtcNow.AddSeconds(3);
            await AddEventsAsync(LabEvent(Coupon, CouponTitle, regressedAt, "lab@2.5.0"));
            await ReloadAsync(page);
            await Expect(status).ToHaveTextAsync("Regressed in lab@2.5.0");

            // Ignore until 10 more events: ignored until the tenth comes. The crashes before the ignore (stamped ahead of
            // the clock so that they are after the resolution's second; the ignore comes once the clock has passed them)
            // do not count, though they are likely in the same minute; these too carry a clock a few seconds ahead, as clients' clocks may.
            await WaitUntilPastAsync(regressedAt);
            // Moving through the choices with the keyboard ignores nothing (a closed select changes its value on arrow
            // keys); the button does, with the choice made.
            await page.Locator("select.action-ignore").FocusAsync();
            await page.Keyboard.PressAsync("ArrowDown");
            await page.Keyboard.PressAsync("ArrowDown");
            await page.Locator("select.action-ignore").SelectOptionAsync("events:10");
            await page.Locator("button.action-ignore-apply").ClickAsync();
            await Expect(status).ToHaveTextAsync("Ignored until 10 more events");
            await Expect(page.Locator(".timeline-entry").Filter(new() { HasText = "Ignored" })).ToHaveCountAsync(1);
            await AddEventsAsync([.. Enumerable.Range(0, 9).Select(i => LabEvent(Coupon, CouponTitle, DateTimeOffset.UtcNow.AddSeconds(4), "lab@2.5.0"))]);
            await ReloadAsync(page);
            await Expect(status).ToHaveTextAsync("Ignored until 10 more events");
            await AddEventsAsync(LabEvent(Coupon, CouponTitle, DateTimeOffset.UtcNow.AddSeconds(4), "lab@2.5.0"));
            await ReloadAsync(page);
            await Expect(status).ToHaveTextAsync("Unresolved");

            // Assign, and comment; both in the activity with who did it.
            var assignee = page.Locator("select.action-assign");
            var someone = await assignee.Locator("option").Nth(1).GetAttributeAsync("value");
            var entries = await page.Locator(".timeline-entry").CountAsync();
            await assignee.FocusAsync();
            await page.Keyboard.PressAsync("ArrowDown"); // moving through the list assigns nobody yet
            await assignee.SelectOptionAsync(someone!);
            await Expect(page.Locator(".timeline-entry")).ToHaveCountAsync(entries);
            await page.Locator("button.action-assign-apply").ClickAsync();
            await Expect(page.Locator(".timeline-entry").First).ToContainTextAsync("Assigned to");
            await Expect(page.Locator(".timeline-entry")).ToHaveCountAsync(entries + 1);
            await page.Locator("textarea.comment-text").FillAsync("Joe Smith wrote in: <b>it's the coupon</b>");
            await page.Locator("button.action-comment").ClickAsync();
            await Expect(page.Locator(".timeline-comment").First).ToHaveTextAsync("Joe Smith wrote in: <b>it's the coupon</b>");
            await Screenshots.SaveAsync(page, "issue-activity.png");

            // Merge two issues from the list, and undo it from the issue page: the page and a list open in another tab
            // show both issues and their own counts again, without a reload.
            await page.GotoAsync(dashboard.Url("projects/3/issues?q=Cart").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(titles).ToHaveCountAsync(2);
            await page.Locator("input.select-all").CheckAsync();
            await page.Locator("button.bulk-merge").ClickAsync();
            await Expect(titles).ToHaveTextAsync(["KeyNotFoundException: Cart line 7 was not found"]);
            await Expect(page.Locator(".issue-row .col-events").First).ToHaveTextAsync("4");
            var listTab = await page.Context.NewPageAsync();
            var listTabProblems = PageProblems.Watch(listTab);
            await listTab.GotoAsync(dashboard.Url("projects/3/issues?q=Cart").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(listTab);
            await Expect(listTab.Locator(".issue-grid .issue-link")).ToHaveTextAsync(["KeyNotFoundException: Cart line 7 was not found"]);

            await titles.First.ClickAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            var eventCount = page.Locator(".issue-stats dd").First;
            var eventRows = page.Locator(".events-table tbody tr");
            await Expect(eventCount).ToHaveTextAsync("4");
            await Expect(eventRows).ToHaveCountAsync(4);
            await Expect(page.Locator(".merged-issue .merged-title")).ToHaveTextAsync(["KeyNotFoundException: Cart line 9 was not found"]);
            await page.Locator("button.action-unmerge").ClickAsync();
            await Expect(page.Locator(".merged-none")).ToBeVisibleAsync();
            await Expect(eventCount).ToHaveTextAsync("3");
            await Expect(eventRows).ToHaveCountAsync(3);
            await Expect(page.Locator(".timeline-entry").First).ToContainTextAsync("Unmerged");
            await Expect(listTab.Locator(".issue-grid .issue-link")).ToHaveTextAsync(
                ["KeyNotFoundException: Cart line 9 was not found", "KeyNotFoundException: Cart line 7 was not found"]);
            await Expect(listTab.Locator(".issue-row .col-events")).ToHaveTextAsync(["1", "3"]);
            listTabProblems.All.Should().BeEmpty();
            await listTab.CloseAsync();

            // The releases page tells which release brought the crash back.
            await page.GotoAsync(dashboard.Url("projects/3/issues").ToString());
            // As before every other click here: a click while the circuit starts was once lost (the list stayed).
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.Locator("a.releases-link").ClickAsync();
            await Expect(page.Locator("h1")).ToHaveTextAsync("Triage lab releases");
            var newest = page.Locator("tr.release-row").First;
            await Expect(newest.Locator(".release-name")).ToHaveTextAsync("lab@2.5.0");
            await Screenshots.SaveAsync(page, "releases-after-triage.png");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty($"the dashboard should work without console errors or server errors (it said:\n{dashboard.Process.Output})");
    }
}
