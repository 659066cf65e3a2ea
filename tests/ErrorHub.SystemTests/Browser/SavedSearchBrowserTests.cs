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
/// A maintainer keeps a search in a real browser: saves the list as it is, reopens it from the menu by keyboard, pins it
/// and finds the project's list opening on it, then unpins it. A project of its own, so other tests see theirs unchanged.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class SavedSearchBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private static readonly Project Searches = new(6, "Saved searches lab", "saved-searches-lab-key", DateTimeOffset.UtcNow.AddDays(-3));
    private const string StagingTitle = "TimeoutException: the staging payment gateway did not answer";
    private const string ProductionTitle = "InvalidOperationException: 'Checkout' ran twice";

    private Task SeedAsync()
    {
        var now = DateTimeOffset.UtcNow;
        return dashboard.WriteAsync(async services =>
        {
            await services.GetRequiredService<IProjectStore>().UpsertProjectAsync(Searches);
            await services.GetRequiredService<IEventWriter>().InsertEventsAsync(
            [
                TestEvents.Create(Searches.Id, TestEvents.Fingerprint("saved-staging"), now.AddHours(-2), title: StagingTitle) with { Environment = "staging" },
                TestEvents.Create(Searches.Id, TestEvents.Fingerprint("saved-production"), now.AddHours(-1), title: ProductionTitle) with { Environment = "production" },
            ]);
        });
    }

    [Fact]
    public async Task A_saved_search_reopens_from_the_menu_and_once_pinned_opens_the_projects_list()
    {
        await SeedAsync();
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, "projects/6/issues");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            var rows = page.Locator(".issue-grid tbody tr.issue-row");
            await Expect(rows).ToHaveCountAsync(2);

            // The list as wanted: staging only. Then saved under a name, from the menu opened by keyboard.
            await page.Locator(".issue-filters select[name=environment]").SelectOptionAsync("staging");
            await Expect(rows).ToHaveCountAsync(1);
            await page.Locator(".saved-searches-summary").FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            await page.GetByRole(AriaRole.Button, new() { Name = "Save search" }).ClickAsync();
            await page.Locator(".saved-search-name").FillAsync("Staging crashes");
            await page.Locator(".saved-search-save").ClickAsync();
            await Expect(page.Locator(".saved-search-status")).ToHaveTextAsync("Saved “Staging crashes”.");
            await Expect(page.Locator(".saved-search.active .saved-search-link")).ToHaveTextAsync("Staging crashes");

            // Another list, then the saved one again from the menu: a real link, followed with the keyboard.
            await page.Locator(".status-tab[data-status=all]").ClickAsync();
            await page.Locator(".issue-filters select[name=environment]").SelectOptionAsync("");
            await Expect(rows).ToHaveCountAsync(2);
            await Expect(page.Locator(".saved-search.active")).ToHaveCountAsync(0);
            var link = page.Locator(".saved-search-link", new() { HasText = "Staging crashes" });
            (await link.GetAttributeAsync("href")).Should().Contain("environment=staging");
            await link.FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("environment=staging"));
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(rows.First).ToContainTextAsync(StagingTitle);
            await Expect(page.Locator(".saved-searches-summary")).ToContainTextAsync("Staging crashes");

            // Pinned: the project's plain address opens it.
            await page.GetByRole(AriaRole.Button, new() { Name = "Pin as my default: Staging crashes" }).ClickAsync();
            await Expect(page.Locator(".saved-search.active .saved-search-pinned")).ToHaveTextAsync("default");
            await page.GotoAsync(dashboard.Url("projects/6/issues").ToString());
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("projects/6/issues\\?environment=staging$"));
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(rows).ToHaveCountAsync(1);
            await Expect(page.Locator(".saved-searches-summary")).ToContainTextAsync("Staging crashes");

            // Unpinned: the plain address is the unresolved list again.
            await page.Locator(".saved-searches-summary").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Unpin Staging crashes" }).ClickAsync();
            await Expect(page.Locator(".saved-search-pinned")).ToHaveCountAsync(0);
            await page.GotoAsync(dashboard.Url("projects/6/issues").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(rows).ToHaveCountAsync(2);
            page.Url.Should().EndWith("projects/6/issues");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty($"the dashboard should work without console errors or server errors (it said:\n{dashboard.Process.Output})");
    }
}
