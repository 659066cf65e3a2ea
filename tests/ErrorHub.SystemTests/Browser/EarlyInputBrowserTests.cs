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

    [Fact]
    public async Task Radzen_fields_filled_before_the_settings_pages_turn_interactive_are_kept_and_count()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        var circuitMayStart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.RouteAsync("**/_blazor/negotiate**", async route =>
            {
                await Volatile.Read(ref circuitMayStart).Task;
                await route.ContinueAsync();
            });

            // Alert settings: a text area and a text box, filled on the server-rendered page, saved and used by the live one.
            await page.GotoAsync(dashboard.Url($"projects/{DashboardSeed.Worker.Id}/alerts").ToString());
            await Expect(page.Locator("main.dashboard-main")).ToHaveAttributeAsync("data-interactive", "false");
            var team = $"early-{Guid.NewGuid():N}@example.com";
            var address = $"early-test-{Guid.NewGuid():N}@example.com";
            await page.GetByLabel("Extra addresses").FillAsync(team);
            await page.GetByLabel("Address for the test e-mail").FillAsync(address);
            circuitMayStart.SetResult();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.GetByLabel("Extra addresses")).ToHaveValueAsync(team);
            await Expect(page.GetByLabel("Address for the test e-mail")).ToHaveValueAsync(address);
            await page.GetByRole(AriaRole.Button, new() { Name = "Send test e-mail" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"Sent to {address}" })).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Rules saved." })).ToBeVisibleAsync();

            // Project settings: a text box and a number field.
            Volatile.Write(ref circuitMayStart, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            await page.GotoAsync(dashboard.Url($"projects/{DashboardSeed.Worker.Id}/settings").ToString());
            await Expect(page.Locator("main.dashboard-main")).ToHaveAttributeAsync("data-interactive", "false");
            var keyLabel = $"Early key {Guid.NewGuid():N}"[..20];
            await page.GetByLabel("Name of the new key").FillAsync(keyLabel);
            await page.GetByLabel("Events per minute").FillAsync("1234");
            circuitMayStart.SetResult();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.GetByLabel("Name of the new key")).ToHaveValueAsync(keyLabel);
            await Expect(page.GetByLabel("Events per minute")).ToHaveValueAsync("1234");

            // Invitations: a text box. (A project ticked in Radzen's check box list before the page is live is not
            // carried: that list toggles on the live page's click handler, not on a field's input.)
            Volatile.Write(ref circuitMayStart, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            await page.GotoAsync(dashboard.Url("users").ToString());
            await Expect(page.Locator("main.dashboard-main")).ToHaveAttributeAsync("data-interactive", "false");
            var invitee = $"early-invitee-{Guid.NewGuid():N}@example.com";
            await page.GetByLabel("Email of the person to invite").FillAsync(invitee);
            circuitMayStart.SetResult();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.GetByLabel("Email of the person to invite")).ToHaveValueAsync(invitee);
            await page.Locator(".invite-projects").GetByText(DashboardSeed.Worker.Name).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Create invitation link" }).ClickAsync();
            await Expect(page.Locator(".invite-note")).ToContainTextAsync(invitee);
        }
        finally
        {
            circuitMayStart.TrySetResult();
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }
}
