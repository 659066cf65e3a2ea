using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Http;
using ErrorHub.Ingestion.Journal;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Ingestion.Writing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ingest pipeline in any ASP.NET Core host.</summary>
public static class IngestionServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ingest pipeline: key checks, admission, decoding, grouping and the group-committing
    /// writer (a hosted service). It needs the store's services and <c>IOptions&lt;IngestLimits&gt;</c>,
    /// which the server's composition (<c>AddErrorHubServer</c>) provides. Calling it again changes nothing.
    /// </summary>
    public static IServiceCollection AddErrorHubIngestPipeline(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<IngestLimits>();
        services.TryAddSingleton<ProjectKeys>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProjectKeyCache, ProjectKeys>(sp => sp.GetRequiredService<ProjectKeys>()));
        services.TryAddSingleton<IngestAdmission>();
        services.TryAddSingleton<ProjectQuotas>();
        services.TryAddSingleton<ProjectDropCounts>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProjectDropCounts>(sp => sp.GetRequiredService<ProjectDropCounts>()));
        services.TryAddSingleton<StoreWriter>();
        services.TryAddSingleton<BatchPreparer>();
        services.TryAddSingleton<IngestJournal>();
        services.TryAddSingleton<IngestPipeline>();
        services.AddMetrics();
        services.TryAddSingleton<IngestMetrics>();
        services.TryAddSingleton<IngestEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StoreWriter>(sp => sp.GetRequiredService<StoreWriter>()));

        // Its start scans and replays the journal before the server listens; its stop flushes after the server stopped.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, IngestJournal>(sp => sp.GetRequiredService<IngestJournal>()));
        return services;
    }
}
