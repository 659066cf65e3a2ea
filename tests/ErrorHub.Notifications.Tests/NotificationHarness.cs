using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Smtp;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// One ErrorHub server process as far as notifications go: the real SQLite store in a temporary directory,
/// the real worker parts, the real SMTP server, and a fake clock. <see cref="RestartAsync"/> is a new process
/// on the same data directory (a crash and a restart, or a second server).
/// </summary>
internal sealed class NotificationHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero); // a Monday
    public const string PublicUrl = "https://errors.example.com/";

    private readonly string _contentRoot;
    private readonly Dictionary<string, string?> _settings;
    private readonly bool _ownsDirectory;

    private NotificationHarness(string contentRoot, Dictionary<string, string?> settings, FakeTimeProvider time, bool ownsDirectory)
    {
        _contentRoot = contentRoot;
        _settings = settings;
        _ownsDirectory = ownsDirectory;
        Time = time;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = contentRoot });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Logging.AddProvider(Log);
        builder.Services.AddErrorHubNotifications(builder.Configuration);

        // Unsubscribe links are signed; the keys live as long as this "process" (a restart makes new ones).
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        Host = builder.Build();
    }

    public IHost Host { get; }

    /// <summary>What the worker logged, as an operator's log would show it.</summary>
    public CapturingLoggerProvider Log { get; } = new();

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => Host.Services;

    public INotificationStore Outbox => Services.GetRequiredService<INotificationStore>();

    public IAccessStore Access => Services.GetRequiredService<IAccessStore>();

    public IIssueStates States => Services.GetRequiredService<IIssueStates>();

    public IIssueMerges Merges => Services.GetRequiredService<IIssueMerges>();

    public AlertSettingsStore Settings => Services.GetRequiredService<AlertSettingsStore>();

    internal NotificationCycle Cycle => Services.GetRequiredService<NotificationCycle>();

    /// <param name="clock">The clock, when another host (an ingest endpoint) keeps the same time.</param>
    public static async Task<NotificationHarness> CreateAsync(SmtpServerFixture? smtp, Dictionary<string, string?>? overrides = null, int? smtpPort = null, FakeTimeProvider? clock = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:PublicUrl"] = PublicUrl,
            ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
            ["ErrorHub:Notifications:Smtp:Port"] = (smtpPort ?? (smtp ?? throw new ArgumentNullException(nameof(smtp), "Name an SMTP server or its port.")).Port).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Notifications:Smtp:Security"] = "None",
            ["ErrorHub:Notifications:Smtp:From"] = "ErrorHub <errors@example.com>",
            ["ErrorHub:Notifications:Smtp:Timeout"] = "00:00:05",
        };
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        var harness = new NotificationHarness(Directory.CreateTempSubdirectory("errorhub-notify-").FullName, settings, clock ?? new FakeTimeProvider(Start), ownsDirectory: true);
        await harness.Services.GetRequiredService<IStoreSchema>().EnsureSchemaAsync();
        return harness;
    }

    /// <summary>
    /// A harness on <paramref name="smtp"/>, emptied and listening again (a test before may have stopped it): how each test
    /// against the collection's SMTP server starts.
    /// </summary>
    public static async Task<NotificationHarness> StartAsync(SmtpServerFixture smtp, Dictionary<string, string?>? overrides = null)
    {
        smtp.Clear();
        await smtp.StartAsync();
        return await CreateAsync(smtp, overrides);
    }

    /// <summary>The settings that put the harness's store on <paramref name="clickHouse"/>, in its own <paramref name="database"/>.</summary>
    /// <param name="requestTimeout">
    /// How long a request may wait for its answer; a few seconds for tests whose node hangs, so a round fails within seconds
    /// rather than the default two minutes of background work.
    /// </param>
    public static Dictionary<string, string?> ClickHouseStore(ErrorHub.Testing.ClickHouse.ClickHouseServerFixture clickHouse, string database, TimeSpan? requestTimeout = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = clickHouse.Url.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = database,
        };
        if (requestTimeout is { } timeout)
        {
            settings["ErrorHub:Store:ClickHouse:RequestTimeout"] = timeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        }

        return settings;
    }

    /// <summary>Another process on the same data directory and clock, with some settings changed.</summary>
    public async Task<NotificationHarness> RestartAsync(Dictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(_settings);
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        var next = new NotificationHarness(_contentRoot, settings, Time, ownsDirectory: false);
        await next.Services.GetRequiredService<IStoreSchema>().EnsureSchemaAsync();
        return next;
    }

    public async Task<Project> CreateProjectAsync(string name = "shop") =>
        await Services.GetRequiredService<IProjectStore>().CreateProjectAsync(name, Guid.NewGuid().ToString("N"), Start.AddDays(-30));

    public async Task<UserAccount> AddMemberAsync(Project project, string email, string name)
    {
        var user = new UserAccount(Guid.NewGuid(), email, name, "hash", UserRole.Member, Guid.NewGuid().ToString("N"), Start.AddDays(-30));
        await Access.CreateUserAsync(user);
        await Access.AddMemberAsync(project.Id, user.Id);
        return user;
    }

    /// <summary>A project whose new-issue rule mails team@example.com, with one new issue the next round mails about.</summary>
    public async Task<Project> ShopWithANewIssueAsync()
    {
        var shop = await CreateProjectAsync("shop");
        await Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await RoundAsync();
        await InsertAsync(Crashes.Checkout(shop.Id, Time.GetUtcNow().AddSeconds(1)));
        Time.Advance(TimeSpan.FromMinutes(1));
        return shop;
    }

    public Task InsertAsync(params ErrorEvent[] events) => Services.GetRequiredService<IEventWriter>().InsertEventsAsync(events);

    /// <summary>One worker round at the fake clock's time: evaluate every project, then deliver what is due.</summary>
    public Task RoundAsync() => Cycle.RunAsync(CancellationToken.None);

    public async Task<IReadOnlyList<Notification>> HistoryAsync(Project project) => await Outbox.GetNotificationsAsync(project.Id, 10_000);

    public async ValueTask DisposeAsync()
    {
        Host.Dispose();
        if (_ownsDirectory)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_contentRoot, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        await Task.CompletedTask;
    }
}
