using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// The real dashboard as a child process on this test's own ClickHouse server, seeded with <see cref="DashboardSeed"/>,
/// whose node a test can hang (SIGSTOP: it accepts connections and answers nothing) and let run again. The page timeout is
/// short, so that a change on an open page meets the hung node for seconds only.
/// </summary>
public sealed class HungStoreDashboard : IAsyncLifetime
{
    /// <summary>What an open page says beside a change the store did not take.</summary>
    public const string NotSaved = "Not saved: the store is not answering. Try again in a few seconds.";

    /// <summary>
    /// Low, so that sign-ins that met the hung store would lock the account or the address out within a few attempts if
    /// they were counted as failures.
    /// </summary>
    public const int MaxFailedLogins = 2;

    public const int SignInFailuresPerAddress = 3;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(
        externalUrl: null, Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server");

    private readonly bool _throughFaultProxy;
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("openhang");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-openhang-" + Guid.NewGuid().ToString("N"));
    private TestProcess? _dashboard;
    private IConfiguration? _store;
    private bool _hung;
    private ClickHouseFaultProxy? _proxy;

    public HungStoreDashboard()
        : this(throughFaultProxy: false)
    {
    }

    private HungStoreDashboard(bool throughFaultProxy) => _throughFaultProxy = throughFaultProxy;

    /// <summary>
    /// The same dashboard reaching its ClickHouse through a <see cref="ClickHouseFaultProxy"/> (<see cref="Proxy"/>), which a
    /// test makes answer errors, garbage, half answers or drips; the seed and <see cref="WriteAsync"/> go to ClickHouse itself.
    /// </summary>
    public static HungStoreDashboard ThroughFaultProxy() => new(throughFaultProxy: true);

    public ClickHouseFaultProxy Proxy => _proxy ?? throw new InvalidOperationException("Made without a fault proxy: use ThroughFaultProxy().");

    public Uri BaseUrl { get; } = FreePort.NextHttpUrl();

    public Uri Url(string relative) => new(BaseUrl, relative);

    public async Task InitializeAsync()
    {
        await _clickHouse.InitializeAsync();
        Directory.CreateDirectory(_directory);
        _store = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = _clickHouse.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = _database,
            })
            .Build();
        await WriteAsync(services => new DashboardSeed().WriteAsync(services));
        if (_throughFaultProxy)
        {
            _proxy = ClickHouseFaultProxy.Start(_clickHouse.Url, lifetime: TimeSpan.FromMinutes(30));
        }

        var storeUrl = (_proxy?.Url ?? _clickHouse.Url).ToString();

        _dashboard = TestProcess.StartDotnet(
            "dashboard",
            RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard"),
            ["--urls", BaseUrl.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Store__Kind"] = "clickhouse",
                ["ErrorHub__Store__ClickHouse__Url"] = storeUrl,
                ["ErrorHub__Store__ClickHouse__Database"] = _database,
                // Short, so that the node hangs for seconds only; RequestTimeout stays at its two minutes.
                ["ErrorHub__Store__ClickHouse__PageTimeout"] = "00:00:02",
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Retention__Enabled"] = "false",
                ["ErrorHub__Admin__Email"] = DashboardSeed.AdminEmail,
                ["ErrorHub__Admin__Password"] = DashboardSeed.AdminPassword,
                ["ErrorHub__Access__MaxFailedLogins"] = MaxFailedLogins.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ErrorHub__Access__SignInFailuresPerAddress"] = SignInFailuresPerAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["ASPNETCORE_HTTPS_PORTS"] = null,
            });
        await _dashboard.WaitForHttpAsync(BaseUrl, StartTimeout);
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

        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
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

    /// <summary>The dashboard process's latest log lines, for a failure's message: what the page could not show.</summary>
    public string LogTail(int lines = 40) =>
        _dashboard is null ? "(not started)" : string.Join(Environment.NewLine, _dashboard.Output.Lines.TakeLast(lines));

    /// <summary>Stops the node answering (true) or lets it run again (false).</summary>
    public void Hang(bool hung)
    {
        _clickHouse.Hang(hung);
        _hung = hung;
    }

    /// <summary>Reads or writes the dashboard's store from this process, as another ErrorHub process on the same database would.</summary>
    public async Task WriteAsync(Func<IServiceProvider, Task> write)
    {
        await using var services = new ServiceCollection().AddLogging().AddErrorHubServer(_store!).BuildServiceProvider();
        await write(services);
    }

    public async Task SignInAsync(IPage page, string then)
    {
        await page.GotoAsync(Url("login?returnUrl=" + Uri.EscapeDataString("/" + then)).ToString());
        await page.GetByLabel("Email").FillAsync(DashboardSeed.AdminEmail);
        await page.GetByLabel("Password").FillAsync(DashboardSeed.AdminPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(Url(then).ToString());
        await BrowserSignIn.WaitUntilInteractiveAsync(page);
    }

    /// <summary>
    /// What shows that an issue page's parts have read the store: each reads it on its own after the circuit starts, so a
    /// node hung before one has read fails that read, which shows the page-wide store error instead of a change's line.
    /// </summary>
    public static ILocator[] IssueParts(IPage page) =>
    [
        page.Locator(".issue-subscription"),
        page.Locator(".merge-target"),
        page.Locator(".events-table tbody tr").First,
        page.Locator(".affected-users .user-total"),
        page.Locator(".breakdowns .breakdown, .breakdowns p.muted").First,
        page.Locator(".timeline-entry, .timeline-empty").First,
    ];

    public static async Task WaitForIssuePartsAsync(IPage page)
    {
        foreach (var part in IssueParts(page))
        {
            await Expect(part).ToBeVisibleAsync();
        }

        // The parts whose first read shows nothing of its own (the assignee choice, the chart) say aria-busy until then.
        await Expect(page.Locator("main [aria-busy='true']")).ToHaveCountAsync(0);
    }

    /// <summary>The page is still there and live: no store-error page in its place, no Blazor error or reconnect bar.</summary>
    public static async Task ExpectPageAndCircuitKeptAsync(IPage page)
    {
        await Expect(page.Locator(".store-error")).ToHaveCountAsync(0);
        await Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
        await Expect(page.Locator("#components-reconnect-modal")).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("components-reconnect-(show|failed|rejected)"));
    }
}
