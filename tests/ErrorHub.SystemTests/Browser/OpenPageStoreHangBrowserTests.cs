using System.Diagnostics;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(
        externalUrl: null, Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server");

    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("openhang");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-openhang-" + Guid.NewGuid().ToString("N"));
    private readonly Uri _baseUrl = FreePort.NextHttpUrl();
    private TestProcess? _dashboard;
    private bool _hung;

    public async Task InitializeAsync()
    {
        await _clickHouse.InitializeAsync();
        Directory.CreateDirectory(_directory);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = _clickHouse.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = _database,
            })
            .Build();
        await using (var services = new ServiceCollection().AddLogging().AddErrorHubServer(configuration).BuildServiceProvider())
        {
            await new DashboardSeed().WriteAsync(services);
        }

        _dashboard = TestProcess.StartDotnet(
            "dashboard",
            RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard"),
            ["--urls", _baseUrl.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Store__Kind"] = "clickhouse",
                ["ErrorHub__Store__ClickHouse__Url"] = _clickHouse.Url.ToString(),
                ["ErrorHub__Store__ClickHouse__Database"] = _database,
                // Short, so that the node hangs for seconds only; RequestTimeout stays at its two minutes.
                ["ErrorHub__Store__ClickHouse__PageTimeout"] = "00:00:02",
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Retention__Enabled"] = "false",
                ["ErrorHub__Admin__Email"] = DashboardSeed.AdminEmail,
                ["ErrorHub__Admin__Password"] = DashboardSeed.AdminPassword,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["ASPNETCORE_HTTPS_PORTS"] = null,
            });
        await _dashboard.WaitForHttpAsync(_baseUrl, StartTimeout);
    }

    public async Task DisposeAsync()
    {
        if (_hung)
        {
            Hang(false);
        }

        if (_dashboard is not null)
        {
            await _dashboard.DisposeAsync();
        }

        await _clickHouse.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a process that is being reaped: the temp folder is cleaned eventually.
        }
    }

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
            await Expect(page).ToHaveURLAsync(_baseUrl.ToString());
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
        const string NotSaved = "Not saved: the store is not answering. Try again in a few seconds.";
        const string Comment = "Typed while the store hung";
        try
        {
            var issue = "projects/1/issues/" + DashboardSeed.CheckoutFingerprint;
            await SignInAsync(page, issue);
            var status = page.Locator(".triage-actions .status-badge");
            await Expect(status).ToHaveTextAsync("Unresolved");
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
            await page.GotoAsync(new Uri(_baseUrl, "projects/1/issues").ToString());
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

    private async Task SignInAsync(Microsoft.Playwright.IPage page, string then)
    {
        await page.GotoAsync(new Uri(_baseUrl, "login?returnUrl=" + Uri.EscapeDataString("/" + then)).ToString());
        await page.GetByLabel("Email").FillAsync(DashboardSeed.AdminEmail);
        await page.GetByLabel("Password").FillAsync(DashboardSeed.AdminPassword);
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Uri(_baseUrl, then).ToString());
        await BrowserSignIn.WaitUntilInteractiveAsync(page);
    }

    /// <summary>The page is still there and live: no store-error page in its place, no Blazor error or reconnect bar.</summary>
    private static async Task ExpectPageAndCircuitKeptAsync(Microsoft.Playwright.IPage page)
    {
        await Expect(page.Locator(".store-error")).ToHaveCountAsync(0);
        await Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
        await Expect(page.Locator("#components-reconnect-modal")).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("components-reconnect-(show|failed|rejected)"));
    }

    private void Hang(bool hung)
    {
        _clickHouse.Hang(hung);
        _hung = hung;
    }
}
