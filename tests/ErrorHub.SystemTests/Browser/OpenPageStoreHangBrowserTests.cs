using System.Diagnostics;
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
/// An open (interactive) page of a dashboard on ClickHouse whose node hangs (SIGSTOP of this test's own server: it accepts
/// connections and answers nothing): a click on the page shows "the store is not answering" within the PageTimeout, which
/// the circuit's events get from the circuit handler (not the RequestTimeout of two minutes), and once the node runs
/// again a link to another page shows that page, not the last page's error.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class OpenPageStoreHangBrowserTests(BrowserFixture browser) : IAsyncLifetime
{
    private readonly HungStoreDashboard _dashboard = new();
    private const string NotSaved = HungStoreDashboard.NotSaved;

    public Task InitializeAsync() => _dashboard.InitializeAsync();

    public Task DisposeAsync() => _dashboard.DisposeAsync();

    [Fact]
    public async Task A_click_on_an_open_page_of_a_hung_node_shows_the_store_error_within_the_page_timeout_and_the_next_page_shows_itself()
    {
        var page = await browser.NewPageAsync();
        try
        {
            await SignInAsync(page, "projects/1/issues");
            await Expect(page.Locator(".issue-grid")).ToBeVisibleAsync();

            Hang(true);
            var clicked = Stopwatch.StartNew();
            await page.Locator(".status-tab[data-status='resolved']").ClickAsync();
            // Well under the RequestTimeout's two minutes, with room for a busy machine over the PageTimeout's two seconds.
            await Expect(page.Locator(".store-error h1")).ToHaveTextAsync("The store is not answering", new() { Timeout = 30_000 });
            clicked.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "the circuit's event waited for the PageTimeout, not the RequestTimeout");

            Hang(false);
            await page.Locator("nav[aria-label='Projects'] a", new() { HasText = "All projects" }).ClickAsync();
            await Expect(page.Locator(".store-error")).ToHaveCountAsync(0);
            await Expect(page.Locator("main.dashboard-main")).ToContainTextAsync(DashboardSeed.Shop.Name);
            await Expect(page).ToHaveURLAsync(_dashboard.BaseUrl.ToString());
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>
    /// A maintainer's changes on open pages while the node hangs: each says beside its button that it was not saved and
    /// why, keeps the page, its circuit and the typed comment (no reconnect bar, no error page), shows nothing as done,
    /// and the same click works once the node runs again, each change stored once.
    /// </summary>
    [Fact]
    public async Task Changes_on_open_pages_of_a_hung_node_say_they_were_not_saved_keep_the_page_and_work_when_clicked_again()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        const string Comment = "Typed while the store hung";
        try
        {
            var issue = "projects/1/issues/" + DashboardSeed.CheckoutFingerprint;
            await SignInAsync(page, issue);
            var status = page.Locator(".triage-actions .status-badge");
            await Expect(status).ToHaveTextAsync("Unresolved");
            await HungStoreDashboard.WaitForIssuePartsAsync(page);
            var entries = page.Locator(".timeline-entry");
            var entriesBefore = await entries.CountAsync();

            Hang(true);
            await page.Locator("button.action-resolve").ClickAsync();
            await Expect(page.Locator(".triage-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await Expect(status).ToHaveTextAsync("Unresolved", new() { Timeout = 1 });
            var assignee = page.Locator("select.action-assign");
            await assignee.SelectOptionAsync((await assignee.Locator("option").Nth(1).GetAttributeAsync("value"))!);
            await page.Locator("button.action-assign-apply").ClickAsync();
            await Expect(page.Locator(".triage-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await page.Locator("textarea.comment-text").FillAsync(Comment);
            await page.Locator("button.action-comment").ClickAsync();
            await Expect(page.Locator(".comment-actions .form-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await Expect(page.Locator("textarea.comment-text")).ToHaveValueAsync(Comment, new() { Timeout = 1 });
            await ExpectPageAndCircuitKeptAsync(page);
            await Expect(entries).ToHaveCountAsync(entriesBefore);

            Hang(false);
            await page.Locator("button.action-resolve").ClickAsync();
            await Expect(status).ToHaveTextAsync("Resolved");
            await Expect(page.Locator(".triage-problem")).ToHaveCountAsync(0);
            await page.Locator("button.action-comment").ClickAsync();
            await Expect(page.Locator(".timeline-comment").First).ToHaveTextAsync(Comment);
            await Expect(page.Locator("textarea.comment-text")).ToHaveValueAsync("");
            await Expect(page.Locator(".comment-actions .form-problem")).ToHaveCountAsync(0);

            // Reloaded from the store: each change is there once, none of the hung ones came in late.
            await page.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.Locator(".timeline-comment")).ToHaveTextAsync([Comment]);
            await Expect(entries).ToHaveCountAsync(entriesBefore + 2);
            await Expect(status).ToHaveTextAsync("Resolved");

            // A bulk change on the issue list: the same, with its own "Try again".
            await page.GotoAsync(_dashboard.Url("projects/1/issues").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.Locator("input.select-issue").First.CheckAsync();
            Hang(true);
            await page.Locator("button.bulk-resolve").ClickAsync();
            await Expect(page.Locator(".bulk-failed .bulk-status")).ToContainTextAsync("the store", new() { Timeout = 30_000 });
            await ExpectPageAndCircuitKeptAsync(page);
            Hang(false);
            await page.Locator("button.bulk-retry").ClickAsync();
            await Expect(page.Locator(".bulk-status")).ToHaveTextAsync("Resolved 1 issue.");
            await Expect(page.Locator(".bulk-failed")).ToHaveCountAsync(0);
            problems.All.Should().BeEmpty();
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>
    /// The issue page's other changes (the bookmark's star, Subscribe, Merge) and a saved search on the list while the
    /// node hangs: each says "Not saved" beside its button instead of the whole page giving way to the store error, shows
    /// the stored state (the star empty, the same button word, the same page), keeps the circuit and what was typed, and
    /// the same click works once the node runs again, stored once.
    /// </summary>
    [Fact]
    public async Task Bookmark_subscribe_merge_and_saved_search_on_a_hung_node_say_not_saved_and_work_when_clicked_again()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        const string SearchName = "Saved while the store hung";
        try
        {
            var issue = "projects/1/issues/" + DashboardSeed.CheckoutFingerprint;
            await SignInAsync(page, issue);
            var star = page.Locator(".bookmark-star");
            await Expect(star).ToHaveAttributeAsync("aria-pressed", "false");
            await HungStoreDashboard.WaitForIssuePartsAsync(page);
            var subscribe = page.Locator("button.action-subscribe");
            await Expect(subscribe).ToHaveTextAsync("Subscribe");
            await page.Locator("select.merge-target").SelectOptionAsync(DashboardSeed.ProfileFingerprint);

            Hang(true);
            await star.ClickAsync();
            await Expect(page.Locator(".bookmark-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await Expect(star).ToHaveAttributeAsync("aria-pressed", "false", new() { Timeout = 1 });
            await subscribe.ClickAsync();
            await Expect(page.Locator(".subscribe-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await Expect(subscribe).ToHaveTextAsync("Subscribe", new() { Timeout = 1 });
            await page.Locator("button.action-merge").ClickAsync();
            await Expect(page.Locator(".merge-form .form-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await Expect(page).ToHaveURLAsync(_dashboard.Url(issue).ToString());
            await ExpectPageAndCircuitKeptAsync(page);

            Hang(false);
            await star.ClickAsync();
            await Expect(star).ToHaveAttributeAsync("aria-pressed", "true");
            await Expect(page.Locator(".bookmark-problem")).ToHaveCountAsync(0);
            await subscribe.ClickAsync();
            await Expect(subscribe).ToHaveTextAsync("Unsubscribe");
            await Expect(page.Locator(".subscribe-problem")).ToHaveCountAsync(0);

            // Reloaded from the store: what the page showed is what was stored, none of the hung clicks came in late.
            await page.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(star).ToHaveAttributeAsync("aria-pressed", "true");
            await Expect(subscribe).ToHaveTextAsync("Unsubscribe");
            await Expect(page.Locator(".merged-none")).ToBeVisibleAsync();

            // The saved search: its form and typed name stay, and the same Save works afterwards.
            await page.GotoAsync(_dashboard.Url("projects/1/issues").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.Locator(".saved-searches-summary").ClickAsync();
            await page.Locator("button.save-search").ClickAsync();
            await page.Locator(".saved-search-name").FillAsync(SearchName);
            Hang(true);
            await page.Locator(".saved-search-save").ClickAsync();
            await Expect(page.Locator(".saved-searches .form-problem")).ToHaveTextAsync(NotSaved, new() { Timeout = 30_000 });
            await Expect(page.Locator(".saved-search-name")).ToHaveValueAsync(SearchName, new() { Timeout = 1 });
            await Expect(page.Locator(".saved-search-link", new() { HasText = SearchName })).ToHaveCountAsync(0);
            await ExpectPageAndCircuitKeptAsync(page);
            Hang(false);
            await page.Locator(".saved-search-save").ClickAsync();
            await Expect(page.Locator(".saved-search-status")).ToHaveTextAsync($"Saved “{SearchName}”.");
            await Expect(page.Locator(".saved-search-link", new() { HasText = SearchName })).ToHaveCountAsync(1);

            // And the merge, the same click on the issue page: it goes to the issue it merged into.
            await page.GotoAsync(_dashboard.Url(issue).ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.Locator("select.merge-target").SelectOptionAsync(DashboardSeed.ProfileFingerprint);
            await page.Locator("button.action-merge").ClickAsync();
            await Expect(page).ToHaveURLAsync(_dashboard.Url("projects/1/issues/" + DashboardSeed.ProfileFingerprint).ToString());
            problems.All.Should().BeEmpty();
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>
    /// The issue list and an issue page refresh by themselves (new issues, someone else's triage): while the node hangs
    /// each says the store is not answering and keeps what it showed, with its circuit (no reconnect bar, no error page),
    /// and once the node runs again each refreshes by itself: the banner goes, and an issue new meanwhile appears
    /// without a reload. Until December 2026 the first failed refresh ended the refreshing for good, silently.
    /// </summary>
    [Fact]
    public async Task Open_pages_that_refresh_themselves_say_the_store_is_not_answering_while_it_hangs_and_recover_by_themselves()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        const string LiveReadFailed = "The store is not answering: this page shows what it last read, and refreshes by itself once the store answers again.";
        const string NewTitle = "TimeoutException: stored once the store answered again";
        // A refresh comes every 10 seconds; a hung one gives up after the PageTimeout's 2.
        var aFewRefreshes = new LocatorAssertionsToHaveTextOptions { Timeout = 45_000 };
        try
        {
            await SignInAsync(page, "projects/1/issues");
            var count = page.Locator(".issue-count");
            await Expect(count).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount} issues");

            Hang(true);
            await Expect(page.Locator(".live-problem")).ToHaveTextAsync(LiveReadFailed, aFewRefreshes);
            await ExpectPageAndCircuitKeptAsync(page);
            await Expect(count).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount} issues", new() { Timeout = 1 });

            Hang(false);
            await _dashboard.WriteAsync(services => services.GetRequiredService<IEventWriter>().InsertEventsAsync(
                [TestEvents.Event(TestEvents.Fingerprint("after-the-hang"), NewTitle, DateTimeOffset.UtcNow)]));

            await Expect(page.Locator(".issue-link").First).ToHaveTextAsync(NewTitle, aFewRefreshes);
            await Expect(count).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount + 1} issues");
            await Expect(page.Locator(".live-problem")).ToHaveCountAsync(0);

            await page.GotoAsync(_dashboard.Url("projects/1/issues/" + DashboardSeed.CheckoutFingerprint).ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            // Loaded by the live page (its parts read the store after the circuit starts), not only prerendered.
            await Expect(page.Locator(".issue-subscription")).ToBeVisibleAsync();
            await Expect(page.Locator(".merged-none")).ToBeVisibleAsync();
            Hang(true);
            await Expect(page.Locator(".live-problem")).ToHaveTextAsync(LiveReadFailed, aFewRefreshes);
            await ExpectPageAndCircuitKeptAsync(page);
            // Longer than the open tab's sign-in check (every 30 seconds), which meets the hung store too: the tab stays
            // signed in (until December 2026 it was signed out, and its page went blank).
            await Task.Delay(TimeSpan.FromSeconds(35));
            await ExpectPageAndCircuitKeptAsync(page);
            await Expect(page.Locator(".header-user")).ToBeVisibleAsync();
            await Expect(page.Locator(".live-problem")).ToHaveTextAsync(LiveReadFailed, new() { Timeout = 1 });
            Hang(false);
            await Expect(page.Locator(".live-problem")).ToHaveCountAsync(0, new() { Timeout = 45_000 });
            await Expect(page.Locator(".header-user")).ToBeVisibleAsync();
            await Expect(page.Locator(".triage-actions .status-badge")).ToHaveTextAsync("Unresolved");
            problems.All.Should().BeEmpty();
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    private Task SignInAsync(IPage page, string then) => _dashboard.SignInAsync(page, then);

    private static Task ExpectPageAndCircuitKeptAsync(IPage page) => HungStoreDashboard.ExpectPageAndCircuitKeptAsync(page);

    private void Hang(bool hung) => _dashboard.Hang(hung);
}
