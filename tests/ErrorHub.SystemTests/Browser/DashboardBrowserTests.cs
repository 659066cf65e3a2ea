using FluentAssertions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>A maintainer's day with the dashboard, in a real browser against the real dashboard process.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    [Fact]
    public async Task Issue_list_sorts_and_pages_through_the_live_circuit()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, "projects/1/issues");
            await WaitUntilInteractiveAsync(page);

            var titles = page.Locator(".issue-grid .issue-link");
            await Expect(page.Locator(".issue-count")).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount} issues");
            await Expect(titles).ToHaveCountAsync(DashboardSeed.PageSize);
            await Expect(titles.First).ToHaveTextAsync(DashboardSeed.CheckoutTitle, new() { UseInnerText = true });
            await Expect(page.Locator(".issue-grid .timestamp").First).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"));
            await Screenshots.SaveAsync(page, "issue-list.png");
            // A window narrowed to a phone's width (or a tablet turned): the navigation folds away, titles stay readable.
            await page.SetViewportSizeAsync(390, 844);
            await Expect(page.Locator(".issue-grid th.col-events")).ToBeVisibleAsync();
            (await PageReadability.SqueezedTextAfterResizeAsync(page)).Should().BeEmpty("on a phone the issue list should give its titles the width");
            await Screenshots.SaveAsync(page, "issue-list-390.png");
            await page.SetViewportSizeAsync(1440, 900);

            // Sorting and paging are answered by the server over the circuit: they prove interactivity.
            await page.Locator(".issue-grid th", new() { HasText = "Events" }).ClickAsync();
            await Expect(titles.First).ToHaveTextAsync(DashboardSeed.ProfileTitle, new() { UseInnerText = true });

            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("sort=events$"));
            await page.GetByRole(AriaRole.Link, new() { Name = "Next ›" }).ClickAsync();
            await Expect(page.Locator(".pager-summary")).ToHaveTextAsync($"{DashboardSeed.PageSize + 1}–{DashboardSeed.ShopIssueCount} of {DashboardSeed.ShopIssueCount}");
            await Expect(titles).ToHaveCountAsync(DashboardSeed.ShopIssueCount - DashboardSeed.PageSize);
            await Expect(titles.Filter(new() { HasText = DashboardSeed.ProfileTitle })).ToHaveCountAsync(0);
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty("the dashboard should work without console errors or server errors");
    }

    [Fact]
    public async Task On_a_390_px_phone_each_release_shows_all_its_counts_without_scrolling_sideways()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            await page.SetViewportSizeAsync(390, 844);
            await page.GotoAsync(dashboard.Url("projects/1/releases").ToString());
            // The server-rendered rows are replaced once the page turns interactive; a cell measured before then is gone.
            await WaitUntilInteractiveAsync(page);
            var release = page.Locator("tr.release-row").First;
            await Expect(release).ToBeVisibleAsync();

            // Until December 2026 the table kept its seven columns and scrolled inside its box: the counts were past the edge.
            var hidden = await page.EvaluateAsync<string[]>(
                """
                () => {
                  const box = document.querySelector('.table-scroll').getBoundingClientRect();
                  const right = Math.min(window.innerWidth, box.right) + 1;
                  return [...document.querySelectorAll('tr.release-row td')]
                    .filter(cell => cell.getBoundingClientRect().right > right)
                    .map(cell => `${cell.className} '${cell.textContent.trim()}' reaches ${Math.round(cell.getBoundingClientRect().right)} px`)
                    .slice(0, 5);
                }
                """);
            hidden.Should().BeEmpty("on a phone every release's counts should be in view, not past the right edge of a table that scrolls sideways");

            // Without the header row in view, each count says what it counts.
            foreach (var (cell, label) in new[] { (".release-events", "Events"), (".release-new", "New issues"), (".release-regressed", "Regressed"), (".release-resolved", "Resolved") })
            {
                await Expect(release.Locator(cell)).ToBeInViewportAsync();
                (await release.Locator(cell).EvaluateAsync<string>("cell => getComputedStyle(cell, '::before').content")).Should().Be($"\"{label}\"");
            }

            (await PageReadability.SqueezedTextAfterResizeAsync(page)).Should().BeEmpty();
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }

    [Fact]
    public async Task On_a_390_px_phone_each_account_shows_its_role_status_and_disable_button_without_scrolling_sideways()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            await page.SetViewportSizeAsync(390, 844);
            await page.GotoAsync(dashboard.Url("users").ToString());
            await WaitUntilInteractiveAsync(page);
            var member = page.Locator(".users-table tbody tr", new() { HasText = DashboardSeed.MemberEmail });
            await Expect(member).ToBeVisibleAsync();

            // Until December 2026 the accounts table kept its six columns and scrolled inside its box: the role, the
            // status and the Disable button were past the right edge.
            var hidden = await page.EvaluateAsync<string[]>(
                """
                () => [...document.querySelectorAll('.users-table tbody td')]
                  .filter(cell => cell.getBoundingClientRect().right > window.innerWidth + 1)
                  .map(cell => `${cell.className} '${cell.textContent.trim()}' reaches ${Math.round(cell.getBoundingClientRect().right)} px`)
                  .slice(0, 5)
                """);
            hidden.Should().BeEmpty("on a phone every account's role, status and actions should be in view");
            // The accounts are below the invite form: scrolled down to, the whole card is in view.
            await member.ScrollIntoViewIfNeededAsync();
            await Expect(member.GetByRole(AriaRole.Button, new() { Name = $"Disable {DashboardSeed.MemberEmail}" })).ToBeInViewportAsync();
            await Expect(member.Locator(".user-role .rz-dropdown")).ToBeInViewportAsync();

            // Without the header row, each value says what it is.
            foreach (var (cell, label) in new[] { (".user-role", "Role"), (".user-projects", "Projects"), (".user-status", "Status") })
            {
                (await member.Locator(cell).EvaluateAsync<string>("cell => getComputedStyle(cell, '::before').content")).Should().Be($"\"{label}\"");
            }

            (await PageReadability.SqueezedTextAfterResizeAsync(page)).Should().BeEmpty();
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }

    [Fact]
    public async Task Issue_page_shows_the_latest_event_and_steps_to_an_older_one()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, "projects/1/issues");
            await WaitUntilInteractiveAsync(page);
            await page.Locator(".issue-grid .issue-link", new() { HasText = "Bundle 'summer-kit'" }).ClickAsync();

            await Expect(page).ToHaveURLAsync(dashboard.Url($"projects/1/issues/{DashboardSeed.CheckoutFingerprint}").ToString());
            await Expect(page.Locator("h1")).ToHaveTextAsync(DashboardSeed.CheckoutTitle);
            await Expect(page.Locator(".exception-type").First).ToHaveTextAsync(DashboardSeed.CheckoutExceptionType);

            var inAppFrame = page.Locator(".frame.in-app").First;
            await Expect(inAppFrame).ToContainTextAsync(DashboardSeed.CheckoutInAppFrame);
            await Expect(inAppFrame).ToContainTextAsync(DashboardSeed.CheckoutInAppFrameLocation);
            await Expect(page.Locator(".request-url")).ToHaveTextAsync(DashboardSeed.CheckoutRequestUrl);
            await Expect(page.Locator(".user")).ToContainTextAsync(DashboardSeed.LatestUserEmail);
            await Screenshots.SaveAsync(page, "issue.png");
            await page.SetViewportSizeAsync(390, 844);
            (await PageReadability.SqueezedTextAfterResizeAsync(page)).Should().BeEmpty("on a phone the issue page should give its title and trace the width");
            await Screenshots.SaveAsync(page, "issue-390.png");
            await page.SetViewportSizeAsync(1440, 900);

            // Framework frames are folded away until asked for.
            var frameworkFrame = page.Locator(".frame", new() { HasText = DashboardSeed.CheckoutFrameworkFrame });
            await Expect(frameworkFrame).ToBeHiddenAsync();
            await page.Locator(".exception").First.Locator("summary", new() { HasText = "2 framework frames" }).ClickAsync();
            await Expect(frameworkFrame).ToBeVisibleAsync();

            await WaitUntilInteractiveAsync(page);
            await page.GetByRole(AriaRole.Link, new() { Name = "Older ›" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"event={dashboard.Seed.OlderCheckoutEventId:N}$"));
            await Expect(page.Locator(".user")).ToContainTextAsync(DashboardSeed.OlderUserEmail);
            await Expect(page.Locator(".events-table tr.selected")).ToHaveCountAsync(1);
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty("the dashboard should work without console errors or server errors");
    }

    private static Task WaitUntilInteractiveAsync(IPage page) => BrowserSignIn.WaitUntilInteractiveAsync(page);
}
