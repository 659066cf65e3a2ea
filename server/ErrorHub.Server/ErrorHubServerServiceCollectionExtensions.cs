using ErrorHub.Ingestion;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>How the ingest host and the dashboard compose ErrorHub's server parts, the same way.</summary>
public static class ErrorHubServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds what every server process needs: <see cref="ErrorHubServerOptions"/> bound from the
    /// <c>ErrorHub</c> section and validated at start-up, the store it describes (its schema step runs
    /// first among the hosted services), and <see cref="ServerUrls"/>. Calling it again changes nothing.
    /// </summary>
    public static IServiceCollection AddErrorHubServer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(descriptor => descriptor.ServiceType == typeof(ServerRegistration)))
        {
            return services;
        }

        services.AddSingleton<ServerRegistration>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<ErrorHubServerOptions>()
            .Bind(configuration.GetSection(ErrorHubServerOptions.SectionName))
            .Configure(options => options.ForwardedHeaders.AddSingleValues(configuration.GetSection(ErrorHubServerOptions.SectionName).GetSection(nameof(ErrorHubServerOptions.ForwardedHeaders))))
            .PostConfigure<IServiceProvider>(Complete)
            .PostConfigure(_ => KestrelLimitsSetup.ThrowIfUnconvertible(configuration))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ErrorHubServerOptions>, ErrorHubServerOptionsValidator>());

        // The parts read their own option types; they get the server's, so there is one binding and one validation.
        services.AddSingleton(provider => Microsoft.Extensions.Options.Options.Create(ServerOptions(provider).Store));
        services.AddSingleton(provider => Microsoft.Extensions.Options.Options.Create(ServerOptions(provider).Ingest));
        services.AddSingleton(provider => Microsoft.Extensions.Options.Options.Create(ServerOptions(provider).Project));
        services.AddSingleton(provider => Microsoft.Extensions.Options.Options.Create(ServerOptions(provider).Scrubbing));
        services.AddSingleton(provider => Microsoft.Extensions.Options.Options.Create(ServerOptions(provider).Retention));

        services.AddErrorHubStore();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>>(new KestrelLimitsSetup(configuration)));
        services.TryAddSingleton<ServerUrls>();
        services.TryAddSingleton<StoreReadinessCheck>(); // one instance, so concurrent probes share one read of the store
        services.AddHealthChecks().AddCheck<StoreReadinessCheck>("store", tags: [Microsoft.AspNetCore.Builder.OperationsEndpointRouteBuilderExtensions.ReadyTag]);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(IngestTelemetry.MeterName)
            .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0)); // every scrape sees the counts of that moment
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddView(OwnMetersOnly(provider.GetRequiredService<IMeterFactory>())));
        return services;
    }

    /// <summary>
    /// Adds ingest: the pipeline behind <c>MapErrorHubIngest()</c> and the start-up project bootstrap,
    /// after <see cref="AddErrorHubServer"/> (added here too, so the store's schema step always runs
    /// before the bootstrap whatever the call order). Calling it again changes nothing.
    /// </summary>
    public static IServiceCollection AddErrorHubIngest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddErrorHubServer(configuration);
        services.AddErrorHubIngestPipeline();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProjectBootstrap>());
        return services;
    }

    /// <summary>
    /// OpenTelemetry subscribes to meters by name, so a second host in the process (tests, or an app hosting two
    /// servers) would add its counts to this one's, and when it stopped, the disposal of its instruments would retire
    /// this host's series of the same names. Instruments made by another host's meter factory are dropped; meters made
    /// without a factory (the runtime's) stay.
    /// </summary>
    private static Func<Instrument, MetricStreamConfiguration?> OwnMetersOnly(IMeterFactory own) =>
        instrument => instrument.Meter.Scope is null || ReferenceEquals(instrument.Meter.Scope, own) ? null : MetricStreamConfiguration.Drop;

    private static ErrorHubServerOptions ServerOptions(IServiceProvider provider) =>
        provider.GetRequiredService<IOptions<ErrorHubServerOptions>>().Value;

    /// <summary>Settings that depend on others: the SQLite file lives in the data directory, which lives in the content root.</summary>
    private static void Complete(ErrorHubServerOptions options, IServiceProvider provider)
    {
        var project = options.Project;
        project.PublicKey = string.IsNullOrWhiteSpace(project.PublicKey) ? null : project.PublicKey.Trim(); // an empty setting is no key
        if (string.IsNullOrWhiteSpace(options.DataDirectory) || options.DataDirectory.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            return; // the validator names the problem
        }

        var sqlite = options.Store.Sqlite;
        if (sqlite.Path is not null && (string.IsNullOrWhiteSpace(sqlite.Path) || sqlite.Path.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            return;
        }

        var contentRoot = provider.GetService<IHostEnvironment>()?.ContentRootPath;
        var dataDirectory = Path.GetFullPath(options.DataDirectory, string.IsNullOrEmpty(contentRoot) ? Directory.GetCurrentDirectory() : contentRoot);
        sqlite.Path = Path.GetFullPath(sqlite.Path ?? SqliteStoreOptions.DefaultFileName, dataDirectory);
        var journal = options.Ingest.Journal;
        if (journal.Directory is null || (journal.Directory.Trim().Length > 0 && journal.Directory.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) < 0))
        {
            journal.Directory = Path.GetFullPath(journal.Directory ?? "journal", dataDirectory);
        }
    }

    /// <summary>Marks the composition as done.</summary>
    private sealed class ServerRegistration;
}
