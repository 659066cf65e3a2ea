using System.Net;
using ErrorHub.Dashboard.Access;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Ingest;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>
/// The real dashboard (its Program, all-in-one) on Kestrel at a free loopback port, over a SQLite file in a
/// temporary directory; tests talk to it over real HTTP. Its configured admin is <see cref="AdminEmail"/>
/// unless the test says otherwise (an empty email: no admin).
/// </summary>
internal sealed class DashboardServer : WebApplicationFactory<Program>
{
    public const string AdminEmail = "admin@example.com";
    public const string AdminPassword = "correct horse battery";
    public const string ProjectKey = "dashboard-test-key-0123456789";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _clock;
    private readonly Action<IServiceCollection>? _testServices;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-dashboard-http-" + Guid.NewGuid().ToString("N"));

    private DashboardServer(Dictionary<string, string?> settings, TimeProvider? clock, Action<IServiceCollection>? testServices)
    {
        _settings = settings;
        _clock = clock;
        _testServices = testServices;
    }

    public CapturingLoggerProvider Logs { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    public IProjectStore Projects => Services.GetRequiredService<IProjectStore>();

    public IAccessStore Access => Services.GetRequiredService<IAccessStore>();

    public Accounts Accounts => Services.GetRequiredService<Accounts>();

    /// <param name="clock">The server's clock (a FakeTimeProvider for tests that wait); the real one when null.</param>
    /// <param name="testServices">Services put in after the app's own (a recording wrapper around a real one).</param>
    public static DashboardServer Start(Dictionary<string, string?>? settings = null, bool withAdmin = true, TimeProvider? clock = null, Action<IServiceCollection>? testServices = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ErrorHub:Admin:Email"] = withAdmin ? AdminEmail : null,
            ["ErrorHub:Admin:Password"] = withAdmin ? AdminPassword : null,
            ["ErrorHub:Project:PublicKey"] = ProjectKey,
            ["ErrorHub:Project:Name"] = "Web shop",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var server = new DashboardServer(all, clock, testServices);
        server.UseKestrel(0);
        server.StartServer();
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public HttpClient NewClient(CookieContainer? cookies = null) => DashboardForms.NewClient(BaseAddress, cookies);

    public async Task<HttpClient> SignedInClientAsync(string email = AdminEmail, string password = AdminPassword)
    {
        var client = NewClient();
        await DashboardForms.SignInAsync(client, email, password);
        return client;
    }

    /// <summary>A member of the given projects, with a password, made the way an accepted invitation makes one.</summary>
    public async Task<UserAccount> CreateMemberAsync(string email, string password, params int[] projectIds)
    {
        var admin = await Access.FindUserByEmailAsync(AdminEmail) ?? throw new InvalidOperationException("no admin");
        var invitation = await Accounts.InviteAsync(admin.Id, email, UserRole.Member, projectIds);
        var created = await Accounts.AcceptInvitationAsync(invitation.Value.Secret, "Member " + email, password);
        return created.Value ?? throw new InvalidOperationException(created.Problem);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        Directory.CreateDirectory(_directory);
        builder.UseEnvironment("Production");
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("ErrorHub:DataDirectory", _directory);
        builder.UseSetting("ErrorHub:Retention:Enabled", "false"); // seeded events have fixed dates, older than any retention one day
        foreach (var (key, value) in _settings)
        {
            if (value is not null)
            {
                builder.UseSetting(key, value);
            }
        }

        builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs).SetMinimumLevel(LogLevel.Information));
        if (_clock is { } clock)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(clock));
        }

        if (_testServices is { } testServices)
        {
            builder.ConfigureTestServices(testServices);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            IngestHost.DeleteDirectory(_directory);
        }
    }
}
