using ErrorHub.Ingestion.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the ingest endpoint.</summary>
public static class IngestEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>POST /api/{projectId}/events</c> (docs/protocol.md).</summary>
    public static IEndpointConventionBuilder MapErrorHubIngest(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapPost("/api/{projectId}/events", (HttpContext context, string projectId, IngestEndpoint ingest) => ingest.HandleAsync(context, projectId))
            .DisableAntiforgery()
            .WithName("ErrorHubIngest");
    }
}
