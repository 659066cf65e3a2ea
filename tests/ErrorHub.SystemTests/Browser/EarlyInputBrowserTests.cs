using FluentAssertions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// A page shows as the server rendered it until its circuit starts (a second or more on a slow link), and is then
/// replaced by the live one. What a reader typed or ticked meanwhile carries over; a button that needs the live page
/// shows that it waits.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class EarlyInputBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    [Fact]
    public async Task Text_typed_and_boxes_ticked_before_the_page_turns_interactive_are_kept_and_count()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        var circuitMayStart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            // Held until the reader has typed: the circuit of the next page starts only then.
            await page.RouteAsync("**/_blazor/negotiate**", async route =>
            {
                await circuitMayStart.Task;
                await route.ContinueAsync();
            });
            await page.GotoAsync(dashboard.Url("projects/1/issues").ToString());
            await Expect(page.Locator("main.dashboard-main")).ToHaveAttributeAsync("data-interactive", "false");

            // The server-rendered page: a button that needs the live page is shown disabled, fields take input.
            await Expect(page.Locator("button.bulk-resolve")).ToBeDisabledAsync();
            await page.Locator("input.select-issue").First.CheckAsync();
            var search = page.Locator(".issue-filters input[type=search]");
            await search.FillAsync("summer-kit");

            circuitMayStart.SetResult();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);

            // Until December 2026 the live page came up with an empty search box and nothing ticked.
            await Expect(search).ToHaveValueAsync("summer-kit");
            await Expect(page.Locator("input.select-issue").First).ToBeCheckedAsync();
            await Expect(page.Locator("button.bulk-resolve")).ToBeEnabledAsync();

            // What was typed is what the live page searches for.
            await search.PressAsync("Enter");
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("q=summer-kit"));
            var titles = page.Locator(".issue-grid .issue-link");
            await Expect(titles.First).ToHaveTextAsync(DashboardSeed.CheckoutTitle, new() { UseInnerText = true });
            await Expect(titles.Filter(new() { HasText = DashboardSeed.ProfileTitle })).ToHaveCountAsync(0);
        }
        finally
        {
            circuitMayStart.TrySetResult();
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }
}
