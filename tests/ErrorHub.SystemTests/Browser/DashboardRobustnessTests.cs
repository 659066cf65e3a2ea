using FluentAssertions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>The dashboard survives its own restart, follows the browser's dark mode, and is usable from the keyboard.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class DashboardRobustnessTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private static readonly System.Text.RegularExpressions.Regex SortedByEvents = new("sort=events");

    [Fact]
    public async Task A_restart_of_the_dashboard_shows_a_quiet_reconnecting_banner_and_the_page_carries_on()
    {
        // A dashboard of its own: restarting the shared one would disturb the other tests.
        var own = new DashboardFixture();
        await own.InitializeAsync();
        var page = await browser.NewPageAsync();
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, own, "projects/1/issues");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            var banner = page.Locator("#components-reconnect-modal");
            await Expect(banner).ToBeHiddenAsync();

            var restart = own.RestartAsync();
            await Expect(banner).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await Expect(banner).ToContainTextAsync("Reconnecting…");
            (await banner.BoundingBoxAsync())!.Height.Should().BeLessThan(60, "a banner, not a modal over the page");
            await Expect(page.Locator(".issue-grid")).ToBeVisibleAsync(new() { Timeout = 1_000 });
            await restart;

            // The restarted server rejects the old circuit; the page loads again where it was and works.
            await Expect(banner).ToBeHiddenAsync(new() { Timeout = 90_000 });
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page).ToHaveURLAsync(own.Url("projects/1/issues").ToString());
            await page.Locator(".issue-grid th", new() { HasText = "Events" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(SortedByEvents);
            await Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
            await Expect(page.Locator(".store-error")).ToHaveCountAsync(0);
        }
        finally
        {
            await page.Context.CloseAsync();
            await own.DisposeAsync();
        }
    }

    [Fact]
    public async Task Dark_mode_follows_the_browser()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, $"projects/1/issues/{DashboardSeed.CheckoutFingerprint}");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.Locator("h1")).ToHaveTextAsync(DashboardSeed.CheckoutTitle);

            (await PageReadability.LuminanceAsync(page, "body", "backgroundColor")).Should().BeLessThan(0.2, "the page is dark");
            (await PageReadability.LuminanceAsync(page, "h1", "color")).Should().BeGreaterThan(0.6, "its text is light");
            (await PageReadability.LuminanceAsync(page, ".frame.in-app", "backgroundColor")).Should().BeLessThan(0.2, "an app frame's light text stays readable on a dark background");
            await Screenshots.SaveAsync(page, "issue-dark.png");

            await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });
            (await PageReadability.LuminanceAsync(page, "body", "backgroundColor")).Should().BeGreaterThan(0.8, "and light again when the browser is");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }

    [Fact]
    public async Task The_keyboard_reaches_the_sort_headers_with_visible_focus_and_sorts()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, "projects/1/issues");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Issues" })).ToBeVisibleAsync();

            string? focused = null;
            for (var presses = 0; presses < 80 && focused != "Events"; presses++)
            {
                await page.Keyboard.PressAsync("Tab");
                focused = await page.EvaluateAsync<string?>("() => document.activeElement?.closest('th[aria-sort]') ? document.activeElement.textContent.trim() : null");
            }

            focused.Should().Be("Events", "Tab reaches the sortable headers");
            var outline = await page.EvaluateAsync<string>("() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; }");
            outline.Should().NotStartWith("none").And.NotEndWith(" 0px", "the focused header shows it");
            await Expect(page.Locator("th[aria-sort]", new() { HasText = "Events" })).ToHaveAttributeAsync("aria-sort", "none");

            await page.Keyboard.PressAsync("Enter");

            await Expect(page).ToHaveURLAsync(SortedByEvents);
            await Expect(page.Locator("th[aria-sort]", new() { HasText = "Events" })).ToHaveAttributeAsync("aria-sort", "descending");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }
}
