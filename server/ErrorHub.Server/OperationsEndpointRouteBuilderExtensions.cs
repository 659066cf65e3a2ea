using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.AspNetCore.Builder;

/// <summary>What operators and orchestrators ask a server process: is it alive, is it ready, what is it doing.</summary>
public static class OperationsEndpointRouteBuilderExtensions
{
    /// <summary>The tag of the health checks that <c>/readyz</c> runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Maps <c>GET /healthz</c> (liveness: the process answers, nothing else is checked, so a slow store never
    /// gets it restarted), <c>GET /readyz</c> (readiness: the store answers; 503 otherwise, so a load balancer
    /// sends events elsewhere) and <c>GET /metrics</c> (Prometheus text: ingest's counters, latency and queue,
    /// ASP.NET Core's and the process's own). None of them needs a login: they show no event data.
    /// </summary>
    public static IEndpointRouteBuilder MapErrorHubOperations(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous();
        endpoints.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return endpoints;
    }
}
