using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Retention;
using ErrorHub.Storage.Sqlite;
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
    /// Registers the store that <see cref="StoreOptions"/> describe: one instance, seen as
    /// <see cref="IStoreSchema"/>, <see cref="IEventWriter"/>, <see cref="IIssueReader"/>,
    /// <see cref="IProjectStore"/>, <see cref="IAccessStore"/>, <see cref="IEventRetention"/> and what notifications use
    /// (<see cref="IIssueStates"/>, <see cref="IIssueActivity"/>), whose missing tables are created at start-up unless
    /// <see cref="StoreOptions.EnsureSchemaOnStartup"/> is false. The options come from whoever composes
    /// the server (<c>AddErrorHubServer</c> binds them from <c>ErrorHub:Store</c>); invalid ones fail the
    /// first resolution with a message naming the setting. Calling it again changes nothing.
    /// </summary>
    public static IServiceCollection AddErrorHubStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ErrorHubStore)))
        {
            return services;
        }

        services.AddOptions<StoreOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(ClickHouseHttpClientName)
            .ConfigureHttpClient((provider, client) =>
                client.Timeout = provider.GetRequiredService<IOptions<StoreOptions>>().Value.ClickHouse.RequestTimeout)
            .ConfigurePrimaryHttpMessageHandler(ClickHouseClient.CreateHandler)
            // IHttpClientFactory logs four Information lines per request: on ClickHouse, every page view, ingest batch and
            // notification round would fill the server's log with them. Failures reach the log through the store's own errors.
            .RemoveAllLoggers()
            // The store is a singleton that keeps its client; the handler renews its own connections.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);

        services.AddSingleton(CreateStore);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Schema);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Events);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Issues);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Projects);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Access);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Notifications.States);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Notifications.Activity);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Notifications.Outbox);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Retention);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().History);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Merges);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Bookmarks);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().SavedSearches);
        services.TryAddSingleton(provider => provider.GetRequiredService<ErrorHubStore>().Releases);
        services.TryAddSingleton<StoreSchemaState>();
        services.AddHostedService<StoreSchemaInitializer>();
        services.AddOptions<RetentionOptions>();
        services.TryAddSingleton<RetentionWorker>();
        services.AddHostedService(provider => provider.GetRequiredService<RetentionWorker>());
        return services;
    }

    private static ErrorHubStore CreateStore(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<StoreOptions>>().Value;
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(string.Empty, typeof(StoreOptions), problems);
        }

        if (StoreOptionsValidator.IsKind(options.Kind, StoreOptions.ClickHouseKind))
        {
            var clickHouse = options.ClickHouse;
            var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(ClickHouseHttpClientName);
            var connection = new ClickHouseConnection(
                new Uri(clickHouse.Url!, UriKind.Absolute),
                clickHouse.User,
                clickHouse.Password,
                string.IsNullOrWhiteSpace(clickHouse.Cluster) ? null : clickHouse.Cluster.Trim(),
                clickHouse.InsertQuorum,
                clickHouse.Compress);
            return ClickHouseDatabase.Open(
                new ClickHouseClient(http, connection),
                clickHouse.Database,
                provider.GetService<ILogger<ClickHouseDatabase>>());
        }

        var contentRoot = provider.GetService<IHostEnvironment>()?.ContentRootPath;
        return SqliteDatabase.Open(Path.GetFullPath(options.Sqlite.Path ?? SqliteStoreOptions.DefaultFileName, string.IsNullOrEmpty(contentRoot) ? Directory.GetCurrentDirectory() : contentRoot));
    }
}
