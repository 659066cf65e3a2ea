using System.Text.RegularExpressions;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Open (interactive) pages of a dashboard whose ClickHouse answers badly (<see cref="ClickHouseFaultProxy"/>: a 500, a
/// garbage body, an answer cut short or reset half-way, an answer dripping in past the page timeout): the issue list and
/// an issue page, which refresh by themselves, say the store is not answering, keep what they showed and their circuit
/// (no Blazor error or reconnect bar), and recover by themselves once ClickHouse answers properly, without a reload; a
/// page opened in the tab meanwhile (releases, alerts, settings) says the store is not answering in place of its content,
/// and its Retry shows it once ClickHouse heals.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class OpenPageAnswerFaultBrowserTests(BrowserFixture browser) : IAsyncLifetime
{
    private const string LiveReadFailed = "The store is not answering: this page shows what it last read, and refreshes by itself once the store answers again.";

    private readonly HungStoreDashboard _dashboard = HungStoreDashboard.ThroughFaultProxy();

    // A refresh comes every 10 seconds and gives up on the store after the PageTimeout's 2; generous for a busy machine.
    private static readonly LocatorAssertionsToHaveTextOptions AFewRefreshes = new() { Timeout = 60_000 };

    public Task InitializeAsync() => _dashboard.InitializeAsync();

    public Task DisposeAsync() => _dashboard.DisposeAsync();

    [Fact]
    public async Task Open_pages_say_the_store_is_not_answering_under_every_bad_answer_keep_their_circuit_and_recover_by_themselves()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        var proxy = _dashboard.Proxy;
        try
        {
            await _dashboard.SignInAsync(page, "projects/1/issues");
            var count = page.Locator(".issue-count");
            await Expect(count).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount} issues");
            foreach (var fault in ClickHouseFaultProxy.Faults)
            {
                await RideOutAsync(page, fault, () => Expect(count).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount} issues", new() { Timeout = 1 }));
            }

            // Healed, the list shows what came meanwhile without a reload.
            const string NewTitle = "TimeoutException: stored while ClickHouse answered badly";
            await _dashboard.WriteAsync(services => services.GetRequiredService<IEventWriter>().InsertEventsAsync(
                [TestEvents.Event(TestEvents.Fingerprint("after-bad-answers"), NewTitle, DateTimeOffset.UtcNow)]));
            await Expect(page.Locator(".issue-link").First).ToHaveTextAsync(NewTitle, AFewRefreshes);
            await Expect(count).ToHaveTextAsync($"{DashboardSeed.ShopIssueCount + 1} issues");

            // An issue page: its charts and parts stay as they were read, its status follows the store again once it heals.
            await page.GotoAsync(_dashboard.Url("projects/1/issues/" + DashboardSeed.CheckoutFingerprint).ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await HungStoreDashboard.WaitForIssuePartsAsync(page);
            var status = page.Locator(".triage-actions .status-badge");
            foreach (var fault in ClickHouseFaultProxy.Faults)
            {
                await RideOutAsync(page, fault, async () =>
                {
                    await Expect(status).ToHaveTextAsync("Unresolved", new() { Timeout = 1 });
                    foreach (var part in HungStoreDashboard.IssueParts(page))
                    {
                        await Expect(part).ToBeVisibleAsync(new() { Timeout = 1 });
                    }
                });
            }

            // Pages opened in the open tab while ClickHouse answers badly (links followed inside the circuit, each from a
            // page the circuit has read): the store error in place of the page, the circuit kept, and Retry shows the
            // page once ClickHouse heals.
            var shopCrumb = page.Locator("nav.breadcrumbs a", new() { HasText = DashboardSeed.Shop.Name });
            await shopCrumb.ClickAsync();
            await OpenWhileFaultyAsync(page, ClickHouseFault.GarbageBody, page.Locator(".releases-link"), page.Locator(".release-count"));
            await shopCrumb.ClickAsync();
            await OpenWhileFaultyAsync(page, ClickHouseFault.ResetMidAnswer, page.Locator(".alerts-link"), page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" }));
            await page.Locator("nav[aria-label='Projects'] a", new() { HasText = "All projects" }).ClickAsync();
            await OpenWhileFaultyAsync(page, ClickHouseFault.SlowDrip, page.Locator(".manage-link").First, page.Locator("h1", new() { HasText = "settings" }));

            proxy.FaultedRequests.Should().BePositive();
            problems.All.Should().BeEmpty();
        }
        catch (PlaywrightException failure)
        {
            throw new PlaywrightException(
                $"{failure.Message}{Environment.NewLine}The dashboard logged last:{Environment.NewLine}{_dashboard.LogTail()}", failure);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>
    /// Breaks ClickHouse's answers the way <paramref name="fault"/> says until the open page says so, checks that it kept
    /// what it showed (<paramref name="kept"/>) and its circuit, then heals ClickHouse and waits for the page to recover.
    /// </summary>
    private async Task RideOutAsync(IPage page, ClickHouseFault fault, Func<Task> kept)
    {
        var proxy = _dashboard.Proxy;
        proxy.Fault = fault;
        try
        {
            await Expect(page.Locator(".live-problem")).ToHaveTextAsync(LiveReadFailed, AFewRefreshes);
            await HungStoreDashboard.ExpectPageAndCircuitKeptAsync(page);
            await kept();
        }
        catch (PlaywrightException failure)
        {
            throw new PlaywrightException($"While ClickHouse answered with {fault}: {failure.Message}", failure);
        }
        finally
        {
            proxy.Fault = ClickHouseFault.None;
        }

        await Expect(page.Locator(".live-problem")).ToHaveCountAsync(0, new() { Timeout = 60_000 });
        await HungStoreDashboard.ExpectPageAndCircuitKeptAsync(page);
    }

    private async Task OpenWhileFaultyAsync(IPage page, ClickHouseFault fault, ILocator link, ILocator shown)
    {
        // Shown by the circuit (the link was followed inside it): the page it is on has read the store.
        await Expect(link).ToBeVisibleAsync();
        var proxy = _dashboard.Proxy;
        proxy.Fault = fault;
        try
        {
            await link.ClickAsync();
            await Expect(page.Locator(".store-error h1")).ToHaveTextAsync("The store is not answering", new() { Timeout = 60_000 });
            await ExpectCircuitKeptAsync(page);
        }
        catch (PlaywrightException failure)
        {
            throw new PlaywrightException($"While ClickHouse answered with {fault}: {failure.Message}", failure);
        }
        finally
        {
            proxy.Fault = ClickHouseFault.None;
        }

        await page.Locator(".store-error-retry").ClickAsync();
        await Expect(shown.First).ToBeVisibleAsync();
        await Expect(page.Locator(".store-error")).ToHaveCountAsync(0);
        await ExpectCircuitKeptAsync(page);
    }

    private static async Task ExpectCircuitKeptAsync(IPage page)
    {
        await Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
        await Expect(page.Locator("#components-reconnect-modal")).Not.ToHaveClassAsync(new Regex("components-reconnect-(show|failed|rejected)"));
    }
}
