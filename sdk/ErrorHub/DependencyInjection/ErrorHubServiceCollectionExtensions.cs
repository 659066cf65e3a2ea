using ErrorHub;
using ErrorHub.Internal;
using ErrorHub.Transport;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ErrorHub SDK.</summary>
public static class ErrorHubServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ErrorHub SDK: options from the <c>ErrorHub</c> configuration section, then
    /// <paramref name="configure"/>; an <see cref="IErrorHubClient"/>; a background sender that is
    /// flushed when the host stops. Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddErrorHub(this IServiceCollection services, Action<ErrorHubOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Configuration first, so that the delegate given here has the last word.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ErrorHubOptions>, ErrorHubOptionsFromConfiguration>());
        services.AddOptions<ErrorHubOptions>().ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ErrorHubOptions>, ErrorHubOptionsValidator>());
        // The sender keeps one client for its lifetime; pooled connections are renewed so DNS changes are seen.
        // HttpClient's own timeout (100 s on the real clock) is off: SendTimeout, on the injected TimeProvider, is the one limit.
        services.AddHttpClient(BackgroundSender.HttpClientName)
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ErrorHubClient>();
        services.TryAddSingleton<IErrorHubClient>(sp => sp.GetRequiredService<ErrorHubClient>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ErrorHubFlushOnStop>());
        return services;
    }
}
