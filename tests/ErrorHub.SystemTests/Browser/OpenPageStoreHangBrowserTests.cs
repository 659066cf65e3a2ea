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
            await page.GotoAsync(new Uri(_baseUrl, "login?returnUrl=" + Uri.EscapeDataString("/projects/1/issues")).ToString());
            await page.GetByLabel("Email").FillAsync(DashboardSeed.AdminEmail);
            await page.GetByLabel("Password").FillAsync(DashboardSeed.AdminPassword);
            await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(new Uri(_baseUrl, "projects/1/issues").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
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

    private void Hang(bool hung)
    {
        var pid = _clickHouse.ProcessId ?? throw new InvalidOperationException("The test's own ClickHouse server has no process.");
        using var kill = Process.Start("kill", [hung ? "-STOP" : "-CONT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        kill.ExitCode.Should().Be(0);
        _hung = hung;
    }
}
