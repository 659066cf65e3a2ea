using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Storage.Tests;

public sealed class StoreRegistrationTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "errorhub-registration-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public void Without_store_settings_the_store_is_sqlite_in_the_data_directory()
    {
        using var provider = Build(new() { ["ErrorHub:DataDirectory"] = _dataDirectory });

        var store = provider.GetRequiredService<ErrorHubStore>();

        store.Kind.Should().Be("sqlite");
        ((SqliteDatabase)store.Schema).DatabasePath.Should().Be(Path.Combine(_dataDirectory, "errorhub.db"));
    }

    [Fact]
    public void A_relative_sqlite_path_lives_in_the_data_directory_and_a_relative_data_directory_in_the_content_root()
    {
        ErrorHubStoreServiceCollectionExtensions.ResolveSqlitePath("db/x.db", "data", "/srv/app")
            .Should().Be("/srv/app/data/db/x.db");
        ErrorHubStoreServiceCollectionExtensions.ResolveSqlitePath(null, null, "/srv/app")
            .Should().Be("/srv/app/.errorhub/errorhub.db");
        ErrorHubStoreServiceCollectionExtensions.ResolveSqlitePath("/var/lib/errorhub/e.db", "data", "/srv/app")
            .Should().Be("/var/lib/errorhub/e.db");
    }

    [Fact]
    public void Kind_clickhouse_gives_the_clickhouse_store_on_the_configured_database()
    {
        using var provider = Build(new()
        {
            ["ErrorHub:Store:Kind"] = "ClickHouse",
            ["ErrorHub:Store:ClickHouse:Url"] = "http://127.0.0.1:8123/",
            ["ErrorHub:Store:ClickHouse:Database"] = "errors_prod",
        });

        var store = provider.GetRequiredService<ErrorHubStore>();

        store.Kind.Should().Be("clickhouse");
        ((ClickHouseStore)store.Schema).Database.Should().Be("errors_prod");
    }

    [Fact]
    public void Registering_twice_registers_once()
    {
        var configuration = Configuration(new() { ["ErrorHub:DataDirectory"] = _dataDirectory });
        var services = new ServiceCollection().AddLogging();

        services.AddErrorHubStore(configuration).AddErrorHubStore(configuration);

        services.Count(d => d.ServiceType == typeof(ErrorHubStore)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IEventWriter)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(IIssueReader)).Should().Be(1);
        services.Count(d => d.ImplementationType == typeof(StoreSchemaInitializer)).Should().Be(1);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<ErrorHubStore>().Should().BeSameAs(provider.GetRequiredService<ErrorHubStore>());
    }

    [Theory]
    [InlineData("ErrorHub:Store:Kind", "postgres", "ErrorHub:Store:Kind 'postgres' is unknown")]
    [InlineData("ErrorHub:Store:ClickHouse:Url", "", "ErrorHub:Store:ClickHouse:Url is required")]
    [InlineData("ErrorHub:Store:ClickHouse:Url", "127.0.0.1:8123", "is not an absolute http:// or https:// URL")]
    [InlineData("ErrorHub:Store:ClickHouse:Url", "http://admin:secret@127.0.0.1:8123/", "must not carry credentials")]
    [InlineData("ErrorHub:Store:ClickHouse:Database", "errors; DROP", "is not a plain identifier")]
    [InlineData("ErrorHub:Store:ClickHouse:RequestTimeout", "00:00:00", "RequestTimeout must be positive")]
    public void Bad_settings_are_refused_with_a_message_naming_the_setting(string key, string value, string expectedMessage)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = key == "ErrorHub:Store:Kind" ? value : "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = "http://127.0.0.1:8123/",
        };
        settings[key] = value;
        using var provider = Build(settings);

        var resolve = () => provider.GetRequiredService<ErrorHubStore>();

        resolve.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(expectedMessage);
    }

    [Fact]
    public async Task Starting_the_host_creates_the_schema_and_bad_settings_stop_the_start()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ErrorHub:DataDirectory"] = _dataDirectory });
        builder.Services.AddErrorHubStore(builder.Configuration);
        using (var host = builder.Build())
        {
            await host.StartAsync();
            var store = host.Services.GetRequiredService<ErrorHubStore>();
            (await store.Issues.GetIssuesAsync(new IssueQuery(1))).TotalCount.Should().Be(0, "the tables exist without an explicit EnsureSchemaAsync");
            await host.StopAsync();
            ((IDisposable)store).Dispose();
        }

        var bad = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        bad.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ErrorHub:Store:Kind"] = "clickhouse" });
        bad.Services.AddErrorHubStore(bad.Configuration);
        using var badHost = bad.Build();
        var start = () => badHost.StartAsync();
        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("ErrorHub:Store:ClickHouse:Url is required");
    }

    private ServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings.TryAdd("ErrorHub:DataDirectory", _dataDirectory);
        return new ServiceCollection().AddLogging().AddErrorHubStore(Configuration(settings)).BuildServiceProvider();
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
