using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class ErrorHubStoreServiceCollectionExtensions
{
    /// <summary>The named <see cref="HttpClient"/> the ClickHouse store talks through.</summary>
    public const string ClickHouseHttpClientName = "ErrorHub.ClickHouse";

    /// <summary>
    /// Registers the store configured in <c>ErrorHub:Store</c> (one instance, seen as <see cref="IStoreSchema"/>,
    /// <see cref="IEventWriter"/>, <see cref="IIssueReader"/> and <see cref="IProjectStore"/>)
    /// (see <see cref="StoreOptions"/>), validates that configuration when the host starts, and
    /// creates missing tables at start-up unless <c>ErrorHub:Store:EnsureSchemaOnStartup</c> is false.
    /// Calling it again changes nothing.
    /// </summary>
    public static IServiceCollection AddErrorHubStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(descriptor => descriptor.ServiceType == typeof(StoreRegistration)))
        {
            return services;
        }

        services.AddSingleton(new StoreRegistration(configuration));
        services.AddOptions<StoreOptions>()
            .Bind(configuration.GetSection(StoreOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StoreOptions>, StoreOptionsValidator>());

        services.AddHttpClient(ClickHouseHttpClientName)
            .ConfigureHttpClient((provider, client) =>
                client.Timeout = provider.GetRequiredService<IOptions<StoreOptions>>().Value.ClickHouse.RequestTimeout)
            .ConfigurePrimaryHttpMessageHandler(ClickHouseClient.CreateHandler)
            // The store is a singleton that keeps its client; the handler renews its own connections.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);

        services.TryAddSingleton(CreateStore);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Schema);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Events);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Issues);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Projects);
        services.AddHostedService<StoreSchemaInitializer>();
        return services;
    }

    private static ErrorHubStore CreateStore(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<StoreOptions>>().Value;
        if (StoreOptionsValidator.IsKind(options.Kind, StoreOptions.ClickHouseKind))
        {
            var clickHouse = options.ClickHouse;
            var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(ClickHouseHttpClientName);
            var connection = new ClickHouseConnection(new Uri(clickHouse.Url!, UriKind.Absolute), clickHouse.User, clickHouse.Password);
            return new ClickHouseStore(
                new ClickHouseClient(http, connection),
                clickHouse.Database,
                provider.GetService<ILogger<ClickHouseStore>>()).AsStore();
        }

        var configuration = provider.GetRequiredService<StoreRegistration>().Configuration;
        return SqliteDatabase.Open(ResolveSqlitePath(options.Sqlite.Path, configuration["ErrorHub:DataDirectory"], provider.GetService<IHostEnvironment>()?.ContentRootPath));
    }

    /// <summary>A relative database path lives in the data directory; a relative data directory in the content root.</summary>
    internal static string ResolveSqlitePath(string? configuredPath, string? dataDirectory, string? contentRoot)
    {
        var root = string.IsNullOrEmpty(contentRoot) ? Directory.GetCurrentDirectory() : contentRoot;
        var directory = Path.GetFullPath(string.IsNullOrWhiteSpace(dataDirectory) ? ".errorhub" : dataDirectory, root);
        return Path.GetFullPath(string.IsNullOrWhiteSpace(configuredPath) ? "errorhub.db" : configuredPath, directory);
    }

    /// <summary>Marks the registration as done and keeps the configuration the store was registered with.</summary>
    private sealed record StoreRegistration(IConfiguration Configuration);
}
