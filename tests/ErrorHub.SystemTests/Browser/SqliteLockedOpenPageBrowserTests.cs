using ErrorHub.Testing.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Open pages of the all-in-one dashboard on SQLite while another process holds a write transaction on its file (a
/// backup tool, a <c>sqlite3</c> shell left in <c>BEGIN</c>): the issue list keeps refreshing and the tab stays signed in
/// (reads go on beside the lock), a change says "Not saved" within the page write timeout and keeps what was typed and
/// the circuit, and the same click works once the lock is let go.
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed class SqliteLockedOpenPageBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    [Fact]
    public async Task Open_pages_on_a_sqlite_file_another_process_holds_keep_refreshing_and_a_change_says_not_saved_until_it_lets_go()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        SqliteConnection? holder = null;
        var addresses = page.GetByLabel("Extra addresses");
        var save = page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" });
        string? original = null;
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, $"projects/{DashboardSeed.Shop.Id}/issues");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.Locator(".alerts-link")).ToBeVisibleAsync();

            holder = await SqliteWriteLock.HoldAsync(dashboard.DatabasePath);

            // Longer than the list's refresh (every 10 seconds) and the tab's sign-in check (every 30): both only read.
            await Task.Delay(TimeSpan.FromSeconds(35));
            await Expect(page.Locator(".live-problem")).ToHaveCountAsync(0);
            await Expect(page.Locator(".header-user")).ToBeVisibleAsync();
            await HungStoreDashboard.ExpectPageAndCircuitKeptAsync(page);

            await page.Locator(".alerts-link").ClickAsync();
            await Expect(save).ToBeVisibleAsync();
            original = await addresses.InputValueAsync();
            var team = $"locked-{Guid.NewGuid():N}@example.com";
            await addresses.FillAsync(team);
            await save.ClickAsync();
            // PageWriteTimeout (10 seconds) for the lock, with room for a busy machine.
            await Expect(page.Locator(".form-error")).ToHaveTextAsync(HungStoreDashboard.NotSaved, new() { Timeout = 60_000 });
            await Expect(addresses).ToHaveValueAsync(team, new() { Timeout = 1 });
            await Expect(page.Locator(".form-note")).ToHaveCountAsync(0);
            await HungStoreDashboard.ExpectPageAndCircuitKeptAsync(page);

            await holder.DisposeAsync();
            holder = null;
            await save.ClickAsync();
            await Expect(page.Locator(".form-note")).ToHaveTextAsync("Rules saved.");
            await Expect(page.Locator(".form-error")).ToHaveCountAsync(0);
            await page.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(addresses).ToHaveValueAsync(team);
            problems.All.Should().BeEmpty();
        }
        finally
        {
            if (holder is not null)
            {
                await holder.DisposeAsync();
            }

            if (original is not null)
            {
                // The fixture's dashboard serves the other tests: the project's addresses as they were.
                await addresses.FillAsync(original);
                await save.ClickAsync();
                await Expect(page.Locator(".form-note")).ToHaveTextAsync("Rules saved.");
            }

            await page.Context.CloseAsync();
        }
    }
}
