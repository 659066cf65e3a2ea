using System.Text.RegularExpressions;
using ErrorHub.Server.Hosting;
using ErrorHub.Server.Ingestion;
using ErrorHub.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>Mounts ErrorHub ingest into any ASP.NET Core host: the ingest service and the all-in-one dashboard both use it.</summary>
public static partial class ErrorHubIngestExtensions
{
    /// <summary>
    /// Adds the ingest pipeline (key checks, decoding, grouping, group-committing writer) and the
    /// start-up project bootstrap, on the store configured in <c>ErrorHub:Store</c> (<c>AddErrorHubStore</c>,
    /// added here so that the store's schema step always runs before the bootstrap, whatever the call order).
    /// </summary>
    public static IServiceCollection AddErrorHubIngest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddErrorHubStore(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<IngestLimits>();
        services.AddOptions<ProjectBootstrapOptions>()
            .Bind(configuration.GetSection(ProjectBootstrapOptions.SectionName))
            .PostConfigure(o => o.PublicKey = string.IsNullOrWhiteSpace(o.PublicKey) ? null : o.PublicKey.Trim()) // an empty setting is no key
            .Validate(o => o.Id > 0, "ErrorHub:Project:Id must be a positive integer.")
            .Validate(o => o.Name is null || o.Name.Trim().Length > 0, "ErrorHub:Project:Name must not be empty.")
            .Validate(o => o.PublicKey is null || KeyPattern().IsMatch(o.PublicKey), "ErrorHub:Project:PublicKey must be 16 to 64 letters, digits, '-' or '_'.")
            .ValidateOnStart();
        services.TryAddSingleton<ProjectKeys>();
        services.TryAddSingleton<IngestAdmission>();
        services.TryAddSingleton<StoreWriter>();
        services.TryAddSingleton<IngestEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProjectBootstrap>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StoreWriter>(sp => sp.GetRequiredService<StoreWriter>()));
        return services;
    }

    /// <summary>Maps <c>POST /api/{projectId}/events</c>.</summary>
    public static IEndpointConventionBuilder MapErrorHubIngest(this IEndpointRouteBuilder endpoints)
    {
        return endpoints.MapPost("/api/{projectId}/events", (HttpContext context, string projectId, IngestEndpoint ingest) => ingest.HandleAsync(context, projectId))
            .DisableAntiforgery()
            .WithName("ErrorHubIngest");
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{16,64}$")]
    private static partial Regex KeyPattern();
}
