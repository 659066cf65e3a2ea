using System.Net;
using ErrorHub.Ingestion;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Disks;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Server.Tests;

/// <summary>
/// <c>AddErrorHubServer</c> as a host uses it: one <c>ErrorHub</c> section gives the store, the ingest
/// limits and the project, and a wrong setting stops the start with a message that names it.
/// </summary>
public sealed class ServerCompositionTests : IDisposable
{
    private readonly string _contentRoot = Directory.CreateTempSubdirectory("errorhub-composition-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
    }

    [Fact]
    public async Task Without_settings_the_store_is_one_sqlite_file_in_the_data_directory_under_the_content_root()
    {
        using var host = Build([]);

        await host.StartAsync();

        host.Services.GetRequiredService<IStoreSchema>().Kind.Should().Be("sqlite");
        var path = host.Services.GetRequiredService<IOptions<StoreOptions>>().Value.Sqlite.Path;
        path.Should().Be(Path.Combine(_contentRoot, ".errorhub", "errorhub.db"));
        File.Exists(path).Should().BeTrue("the schema step created the file at start-up");
        (await host.Services.GetRequiredService<IIssueReader>().GetIssuesAsync(new IssueQuery(1))).TotalCount.Should().Be(0);
        await host.StopAsync();
    }

    [Theory]
    [InlineData("data", "db/x.db", "data/db/x.db")]
    [InlineData("/var/lib/errorhub", null, "/var/lib/errorhub/errorhub.db")]
    [InlineData("data", "/srv/errors/e.db", "/srv/errors/e.db")]
    public void A_relative_sqlite_path_lives_in_the_data_directory_and_a_relative_data_directory_in_the_content_root(
        string dataDirectory, string? sqlitePath, string expected)
    {
        using var host = Build(new() { ["ErrorHub:DataDirectory"] = dataDirectory, ["ErrorHub:Store:Sqlite:Path"] = sqlitePath });

        host.Services.GetRequiredService<IOptions<StoreOptions>>().Value.Sqlite.Path
            .Should().Be(Path.GetFullPath(expected, _contentRoot));
    }

    [Fact]
    public void Kind_clickhouse_gives_the_clickhouse_store_on_the_configured_database()
    {
        using var host = Build(new()
        {
            ["ErrorHub:Store:Kind"] = "ClickHouse",
            ["ErrorHub:Store:ClickHouse:Url"] = "http://127.0.0.1:8123/",
            ["ErrorHub:Store:ClickHouse:Database"] = "errors_prod",
        });

        host.Services.GetRequiredService<IStoreSchema>().Kind.Should().Be("clickhouse");
        host.Services.GetRequiredService<IOptions<StoreOptions>>().Value.ClickHouse.Database.Should().Be("errors_prod");
    }

    [Fact]
    public void Ingest_limits_and_the_project_come_from_the_same_section()
    {
        using var host = Build(new()
        {
            ["ErrorHub:Ingest:MaxBodyBytes"] = "4096",
            ["ErrorHub:Ingest:MaxEventsPerBatch"] = "7",
            ["ErrorHub:Project:Id"] = "3",
            ["ErrorHub:Project:PublicKey"] = "  shop-7d2f1c9a0b3e4d5f  ",
        });

        var limits = host.Services.GetRequiredService<IOptions<IngestLimits>>().Value;
        limits.MaxBodyBytes.Should().Be(4096);
        limits.MaxEventsPerBatch.Should().Be(7);
        limits.MaxDecompressedBytes.Should().Be(new IngestLimits().MaxDecompressedBytes, "what is not set keeps its default");
        var project = host.Services.GetRequiredService<IOptions<ErrorHubServerOptions>>().Value.Project;
        project.Id.Should().Be(3);
        project.PublicKey.Should().Be("shop-7d2f1c9a0b3e4d5f", "surrounding spaces of a pasted key are dropped");
    }

    [Fact]
    public void Composing_twice_registers_every_part_once()
    {
        var configuration = Configuration([]);
        var once = new ServiceCollection().AddLogging().AddErrorHubServer(configuration).AddErrorHubIngest(configuration);
        var twice = new ServiceCollection().AddLogging();

        twice.AddErrorHubServer(configuration).AddErrorHubServer(configuration).AddErrorHubIngest(configuration).AddErrorHubIngest(configuration);

        twice.Count(d => d.ServiceType == typeof(IEventWriter)).Should().Be(1);
        twice.Count(d => d.ServiceType == typeof(IIssueReader)).Should().Be(1);
        twice.Count(d => d.ServiceType == typeof(IOptions<StoreOptions>)).Should().Be(1);
        twice.Count(d => d.ServiceType == typeof(ServerUrls)).Should().Be(1);
        twice.Where(d => d.ServiceType == typeof(IHostedService)).Select(Name).Should().BeEquivalentTo(
            once.Where(d => d.ServiceType == typeof(IHostedService)).Select(Name),
            "every background task (schema step, store writer, project bootstrap, health and metrics) runs once");

        static string Name(ServiceDescriptor d) => d.ImplementationType?.FullName ?? d.ImplementationFactory?.Method.ReturnType.FullName ?? "?";
    }

    [Theory]
    [InlineData("ErrorHub:Store:Kind", "postgres", "ErrorHub:Store:Kind 'postgres' is unknown")]
    [InlineData("ErrorHub:Store:ClickHouse:Url", "", "ErrorHub:Store:ClickHouse:Url is required")]
    [InlineData("ErrorHub:Store:ClickHouse:Url", "127.0.0.1:8123", "is not an absolute http:// or https:// URL")]
    [InlineData("ErrorHub:Store:ClickHouse:Url", "http://admin:secret@127.0.0.1:8123/", "must not carry credentials")]
    [InlineData("ErrorHub:Store:ClickHouse:Database", "errors; DROP", "is not a plain identifier")]
    [InlineData("ErrorHub:Store:ClickHouse:RequestTimeout", "00:00:00", "RequestTimeout must be positive")]
    [InlineData("ErrorHub:Store:Sqlite:PageWriteTimeout", "00:00:00", "ErrorHub:Store:Sqlite:PageWriteTimeout must be positive and at most SQLite's busy timeout of 00:00:30 (e.g. 00:00:10), not 00:00:00.")]
    [InlineData("ErrorHub:Store:Sqlite:PageWriteTimeout", "00:05:00", "ErrorHub:Store:Sqlite:PageWriteTimeout must be positive and at most SQLite's busy timeout of 00:00:30 (e.g. 00:00:10), not 00:05:00.")]
    [InlineData("ErrorHub:Store:ClickHouse:Cluster", "prod cluster`", "ErrorHub:Store:ClickHouse:Cluster 'prod cluster`' is not a plain identifier")]
    [InlineData("ErrorHub:Store:ClickHouse:InsertQuorum", "2", "ErrorHub:Store:ClickHouse:InsertQuorum counts replicas: it needs ErrorHub:Store:ClickHouse:Cluster")]
    [InlineData("ErrorHub:Store:ClickHouse:InsertQuorum", "-1", "ErrorHub:Store:ClickHouse:InsertQuorum must be between 0 (off) and 16 replicas, not -1.")]
    [InlineData("ErrorHub:PublicUrl", "errors.example.com", "ErrorHub:PublicUrl 'errors.example.com' is not an absolute http:// or https:// URL")]
    [InlineData("ErrorHub:PublicUrl", "https://errors.example.com/?x=1", "ErrorHub:PublicUrl 'https://errors.example.com/?x=1' must be a plain address")]
    [InlineData("ErrorHub:IngestUrl", "ftp://ingest.example.com/", "ErrorHub:IngestUrl 'ftp://ingest.example.com/' is not an absolute http")]
    [InlineData("ErrorHub:Ingest:MaxBodyBytes", "0", "ErrorHub:Ingest:MaxBodyBytes must be between 1024 and 268435456 bytes, not 0.")]
    [InlineData("ErrorHub:Ingest:MaxDepth", "3", "ErrorHub:Ingest:MaxDepth must be between 8 and 256, not 3.")]
    [InlineData("ErrorHub:Ingest:DefaultRateLimitPerMinute", "0", "ErrorHub:Ingest:DefaultRateLimitPerMinute must be empty (no limit) or between 1 and 10000000 events per minute, not 0.")]
    [InlineData("ErrorHub:Ingest:SpikeEventsPerSecond", "-1", "ErrorHub:Ingest:SpikeEventsPerSecond must be between 0 (off) and 10000000 events per second, not -1.")]
    [InlineData("ErrorHub:Ingest:Journal:SegmentBytes", "100", "ErrorHub:Ingest:Journal:SegmentBytes must be between 65536 and 1073741824 bytes, not 100.")]
    [InlineData("ErrorHub:Ingest:Journal:MaxConcurrentInserts", "5", "ErrorHub:Ingest:Journal:MaxConcurrentInserts must be between 1 and 4, not 5.")]
    [InlineData("ErrorHub:Ingest:Journal:MaxEventsPerInsert", "0", "ErrorHub:Ingest:Journal:MaxEventsPerInsert must be between 1 and 1000000, not 0.")]
    [InlineData("ErrorHub:Ingest:Journal:MaxBytesPerInsert", "1000", "ErrorHub:Ingest:Journal:MaxBytesPerInsert must be between 65536 and 1073741824 bytes, not 1000.")]
    [InlineData("ErrorHub:Ingest:Journal:InsertLinger", "00:02:00", "ErrorHub:Ingest:Journal:InsertLinger must be between 00:00:00 and 00:01:00, not 00:02:00.")]
    [InlineData("ErrorHub:Retention:DefaultDays", "-1", "ErrorHub:Retention:DefaultDays must be between 0 (keep) and 36500, not -1.")]
    [InlineData("ErrorHub:Retention:Interval", "00:00:10", "ErrorHub:Retention:Interval must be between 00:01:00 and 7.00:00:00, not 00:00:10.")]
    [InlineData("ErrorHub:Ingest:SpikeBurstEvents", "0", "ErrorHub:Ingest:SpikeBurstEvents must be between 1 and 100000000 events, not 0.")]
    [InlineData("ErrorHub:Ingest:MaxRawStringBytes", "999999999", "ErrorHub:Ingest:MaxRawStringBytes must be at least 64 and at most MaxDecompressedBytes")]
    [InlineData("ErrorHub:Ingest:MaxShortChars", "0", "ErrorHub:Ingest:MaxShortChars must be at least 16, not 0.")]
    [InlineData("ErrorHub:Project:Id", "0", "ErrorHub:Project:Id must be a positive integer")]
    [InlineData("ErrorHub:Project:PublicKey", "short", "ErrorHub:Project:PublicKey must be 16 to 64 letters")]
    [InlineData("ErrorHub:Project:Name", " ", "ErrorHub:Project:Name must not be empty")]
    [InlineData("ErrorHub:Admin:Email", "admin.example.com", "ErrorHub:Admin:Email must be an email address")]
    [InlineData("ErrorHub:Admin:Password", "short", "ErrorHub:Admin:Password must be at least 8 characters long")]
    [InlineData("ErrorHub:Admin:ApiToken", "tiny", "ErrorHub:Admin:ApiToken must be 32 to 128 letters")]
    [InlineData("ErrorHub:Access:MaxFailedLogins", "0", "ErrorHub:Access:MaxFailedLogins must be between 1 and 1000, not 0.")]
    [InlineData("ErrorHub:Access:LockoutDuration", "00:00:00", "ErrorHub:Access:LockoutDuration must be positive")]
    [InlineData("ErrorHub:Access:InvitationLifetime", "-1.00:00:00", "ErrorHub:Access:InvitationLifetime must be positive")]
    [InlineData("ErrorHub:Access:SignInFailuresPerAddress", "-1", "ErrorHub:Access:SignInFailuresPerAddress must be between 0 (off) and 100000, not -1.")]
    [InlineData("ErrorHub:Access:SignInFailureWindow", "00:00:00", "ErrorHub:Access:SignInFailureWindow must be between 00:00:01 and 7.00:00:00, not 00:00:00.")]
    [InlineData("ErrorHub:Access:SignInFailureWindow", "30.00:00:00", "ErrorHub:Access:SignInFailureWindow must be between 00:00:01 and 7.00:00:00, not 30.00:00:00.")]
    [InlineData("ErrorHub:ForwardedHeaders:KnownProxies", "proxy.internal", "ErrorHub:ForwardedHeaders:KnownProxies 'proxy.internal' is not an IP address")]
    [InlineData("ErrorHub:ForwardedHeaders:KnownProxies:0", "10.1", "ErrorHub:ForwardedHeaders:KnownProxies '10.1' is not an IP address")]
    [InlineData("ErrorHub:ForwardedHeaders:KnownProxies", "10.0.0.5, fe80::1%eth0", "ErrorHub:ForwardedHeaders:KnownProxies 'fe80::1%eth0' is not an IP address")]
    [InlineData("ErrorHub:ForwardedHeaders:KnownNetworks", "10.0.0.0", "ErrorHub:ForwardedHeaders:KnownNetworks '10.0.0.0' is not a network in CIDR notation")]
    [InlineData("ErrorHub:ForwardedHeaders:KnownNetworks:0", "10.0.0.1/24", "ErrorHub:ForwardedHeaders:KnownNetworks '10.0.0.1/24' is not a network in CIDR notation")]
    [InlineData("ErrorHub:ForwardedHeaders:KnownNetworks", "10.0.0.0/33", "ErrorHub:ForwardedHeaders:KnownNetworks '10.0.0.0/33' is not a network in CIDR notation")]
    public void A_wrong_setting_is_refused_with_a_message_naming_it(string key, string value, string expectedMessage)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = key == "ErrorHub:Store:Kind" ? value : "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = "http://127.0.0.1:8123/",
        };
        settings[key] = value;
        using var host = Build(settings);

        var resolve = () => host.Services.GetRequiredService<IStoreSchema>();

        resolve.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(expectedMessage);
    }

    [Fact]
    public void Trusted_proxies_are_read_from_a_list_or_from_one_value_separated_by_commas()
    {
        using var host = Build(new()
        {
            ["ErrorHub:ForwardedHeaders:KnownProxies"] = "10.0.0.5, 10.0.0.6;fd00::5",
            ["ErrorHub:ForwardedHeaders:KnownNetworks:0"] = "10.1.0.0/16",
            ["ErrorHub:ForwardedHeaders:KnownNetworks:1"] = "fd00:1::/64",
        });

        var trust = host.Services.GetRequiredService<IOptions<ErrorHubServerOptions>>().Value.ForwardedHeaders;

        ForwardedHeadersTrustOptions.Entries(trust.KnownProxies).Should().Equal("10.0.0.5", "10.0.0.6", "fd00::5");
        ForwardedHeadersTrustOptions.Entries(trust.KnownNetworks).Should().Equal("10.1.0.0/16", "fd00:1::/64");
    }

    [Fact]
    public async Task A_wrong_setting_stops_the_start_before_anything_is_served()
    {
        using var host = Build(new() { ["ErrorHub:Store:Kind"] = "clickhouse", ["ErrorHub:Ingest:MaxEventsPerBatch"] = "-1" });

        var start = () => host.StartAsync();

        var failure = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        failure.Message.Should().Contain("ErrorHub:Store:ClickHouse:Url is required").And.Contain("ErrorHub:Ingest:MaxEventsPerBatch must be between 1 and 100000");
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("overwritten")]
    public async Task A_damaged_sqlite_file_stops_the_start_naming_the_file_and_what_to_do(string damage)
    {
        using (var first = Build([]))
        {
            await first.StartAsync();
            await first.Services.GetRequiredService<IEventWriter>().InsertEventsAsync(
                [.. Enumerable.Range(0, 500).Select(i => new ErrorEvent { EventId = Guid.NewGuid(), ProjectId = 1, Timestamp = DateTimeOffset.UtcNow, ReceivedAt = DateTimeOffset.UtcNow, Message = $"boom {i} " + new string('x', 500), Fingerprint = $"fp-{i % 20}", GroupingVersion = 1, Title = $"boom {i % 20}" })]);
            await first.StopAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var path = Path.Combine(_contentRoot, ".errorhub", "errorhub.db");
        foreach (var companion in new[] { path + "-wal", path + "-shm" }.Where(File.Exists))
        {
            File.Delete(companion);
        }

        if (damage == "truncated")
        {
            // A copy cut short (a full disk during a backup, an interrupted transfer): its last pages are gone.
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            file.SetLength(file.Length / 3);
        }
        else
        {
            File.WriteAllText(path, new string('x', 8192));
        }

        using var host = Build([]);
        var start = () => host.StartAsync();

        var failure = (await start.Should().ThrowAsync<IOException>()).Which;
        failure.Message.Should().Contain(path).And.Contain("damaged").And.Contain("backup");
    }

    [Theory]
    [InlineData("an existing database")]
    [InlineData("no data directory yet")]
    public async Task A_data_directory_on_a_read_only_file_system_stops_the_start_naming_the_path_and_what_to_do(string state)
    {
        using var disk = SmallDisk.Mount("8m");
        var dataDirectory = Path.Combine(disk.Path, "data");
        var settings = new Dictionary<string, string?> { ["ErrorHub:DataDirectory"] = dataDirectory };
        if (state == "an existing database")
        {
            using var first = Build(settings);
            await first.StartAsync();
            await first.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }

        disk.SetReadOnly(true);
        using var host = Build(settings);
        var start = () => host.StartAsync();

        var failure = (await start.Should().ThrowAsync<IOException>()).Which;
        failure.Message.Should().Contain(dataDirectory).And.Contain("writable").And.Contain("read-only file system");
    }

    [Fact]
    public async Task A_clickhouse_that_is_not_up_yet_lets_the_process_start_not_ready_and_it_turns_ready_by_itself_once_clickhouse_answers()
    {
        // Where the server will be, nothing listening there yet: ingest starts first, as when containers start together or in the wrong order.
        await using var server = new LateClickHouseServer();
        await using var ingest = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = server.Url.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName("late"),
        });

        using (var alive = await ingest.Client.GetAsync("/healthz"))
        {
            alive.StatusCode.Should().Be(HttpStatusCode.OK, "the process runs: a service manager must not restart it in a loop");
        }

        using (var notReady = await ingest.Client.GetAsync("/readyz"))
        {
            notReady.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        ingest.Logs.Entries.Should().Contain(e => e.Category.EndsWith(".StoreReadinessCheck", StringComparison.Ordinal) && e.Message.Contains("tables do not exist yet"));
        using (var refused = await ingest.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "nothing can be stored before the tables exist");
            refused.Headers.RetryAfter!.Delta.Should().BePositive("the SDK keeps the batch and sends it again later");
        }

        ingest.Logs.Entries.Should().NotContain(
            e => e.Category.EndsWith(".IngestEndpoint", StringComparison.Ordinal),
            "the key is not looked up before the store is ready, and refused batches are not logged one by one");

        server.Start();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            using var ready = await ingest.Client.GetAsync("/readyz");
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            server.HasExited.Should().BeFalse(server.DescribeLogs());
            DateTime.UtcNow.Should().BeBefore(deadline, "ingest should make its tables and turn ready by itself once ClickHouse answers");
            await Task.Delay(500);
        }

        // The configured key at once: the project was saved before ingest counted as ready.
        var (batch, ids) = SampleBatch.WithFreshIds();
        using (var accepted = await ingest.PostAsync(Wire.Encode(batch)))
        {
            accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        }

        foreach (var id in ids)
        {
            (await ingest.Issues.GetEventAsync(IngestHost.ProjectId, id)).Should().NotBeNull();
        }

        var schemaLines = ingest.Logs.Entries.Where(e => e.Category.EndsWith(".StoreSchemaInitializer", StringComparison.Ordinal)).ToList();
        schemaLines.Should().ContainSingle(e => e.Level >= LogLevel.Error).Which.Message.Should().Contain("serving anyway");
        schemaLines.Should().ContainSingle(e => e.Message.Contains("tables exist now"));
    }

    private IHost Build(Dictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = _contentRoot });
        builder.Configuration.AddInMemoryCollection(settings);
        configureServices?.Invoke(builder.Services);
        builder.Services.AddErrorHubIngest(builder.Configuration);
        return builder.Build();
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
