using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Processes;
using ErrorHub.Testing.Smtp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// The real dashboard as a child process on a free loopback port, reading a SQLite file that was
/// seeded through the real store before start. One per test collection; stopped at the end.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-dashboard-" + Guid.NewGuid().ToString("N"));
    private TestProcess? _process;

    public Uri BaseUrl { get; } = FreePort.NextHttpUrl();

    /// <summary>The mailbox the dashboard sends its alerts and test e-mails to.</summary>
    public SmtpServerFixture Smtp { get; } = new();

    internal DashboardSeed Seed { get; } = new();

    public TestProcess Process => _process ?? throw new InvalidOperationException("The dashboard has not started.");

    public Uri Url(string relative) => new(BaseUrl, relative);

    /// <summary>A client signed in as the seeded admin or member, keeping its cookies, not following redirects.</summary>
    public async Task<HttpClient> SignedInClientAsync(bool admin = true)
    {
        var client = DashboardForms.NewClient(BaseUrl);
        await DashboardForms.SignInAsync(client, admin ? DashboardSeed.AdminEmail : DashboardSeed.MemberEmail, admin ? DashboardSeed.AdminPassword : DashboardSeed.MemberPassword);
        return client;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var databasePath = Path.Combine(_directory, "errorhub.db");
        await SeedAsync(databasePath);
        await Smtp.InitializeAsync();

        _databasePath = databasePath;
        await StartProcessAsync();
    }

    /// <summary>Stops the dashboard process (as a crash or a deployment would) and starts it again on the same port and database.</summary>
    public async Task RestartAsync()
    {
        await Process.DisposeAsync();
        await StartProcessAsync();
    }

    private string _databasePath = "";

    /// <summary>The dashboard's SQLite file, for a test that holds it as another process would.</summary>
    public string DatabasePath => _databasePath;

    private async Task StartProcessAsync()
    {
        var databasePath = _databasePath;
        _process = TestProcess.StartDotnet(
            "dashboard",
            RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard"),
            ["--urls", BaseUrl.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Store__Sqlite__Path"] = databasePath,
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Retention__Enabled"] = "false", // the seed's events have fixed dates, older than any retention one day
                ["ErrorHub__Admin__Email"] = DashboardSeed.AdminEmail,
                ["ErrorHub__Admin__Password"] = DashboardSeed.AdminPassword,
                ["ErrorHub__Notifications__Smtp__Host"] = "127.0.0.1",
                ["ErrorHub__Notifications__Smtp__Port"] = Smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ErrorHub__Notifications__Smtp__Security"] = "None",
                ["ErrorHub__Notifications__Smtp__From"] = "ErrorHub <errors@example.com>",
                ["ErrorHub__Notifications__PollInterval"] = "00:00:02", // mails of what a test does arrive within seconds
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                // Our --urls must win over anything the developer's shell says.
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["ASPNETCORE_HTTPS_PORTS"] = null,
            });

        try
        {
            await _process.WaitForHttpAsync(BaseUrl, StartTimeout);
        }
        catch
        {
            // A fixture that fails to start is not always disposed by the runner: stop the process here.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        await Smtp.DisposeAsync();

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a process that is being reaped: the temp folder is cleaned eventually.
        }
    }

    /// <summary>
    /// Writes to the running dashboard's store from this process, as a second process on the same SQLite file (an ingest
    /// process would): new projects and events appear in the dashboard as they would in production.
    /// </summary>
    public async Task WriteAsync(Func<IServiceProvider, Task> write)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ErrorHub:Store:Sqlite:Path"] = Path.Combine(_directory, "errorhub.db") })
            .Build();
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddErrorHubServer(configuration)
            .BuildServiceProvider();
        await write(services);
    }

    private async Task SeedAsync(string databasePath)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ErrorHub:Store:Sqlite:Path"] = databasePath })
            .Build();
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddErrorHubServer(configuration)
            .BuildServiceProvider();
        await Seed.WriteAsync(services);
    }
}
