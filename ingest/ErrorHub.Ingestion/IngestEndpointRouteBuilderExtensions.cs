using ErrorHub.Ingestion.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the ingest endpoint.</summary>
public static class IngestEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST /api/{projectId}/events</c> and its CORS preflight (<c>OPTIONS</c>), so pages on any origin can send
    /// (docs/protocol.md). Conventions added to the result apply to both.
    /// </summary>
    public static IEndpointConventionBuilder MapErrorHubIngest(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var ingestPath = endpoints.MapGroup("/api/{projectId}/events");
        ingestPath.MapPost("", (HttpContext context, string projectId, IngestEndpoint ingest) =>
            {
                BrowserCors.AllowReading(context);
                return ingest.HandleAsync(context, projectId);
            })
            .DisableAntiforgery()
            .WithName("ErrorHubIngest");
        ingestPath.MapMethods("", [HttpMethods.Options], BrowserCors.Preflight).DisableAntiforgery();
        return ingestPath;
    }
}
