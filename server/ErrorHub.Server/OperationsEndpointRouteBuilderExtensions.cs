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

    /// <summary>The methods the operations endpoints take: both map every method unless told otherwise.</summary>
    private static readonly HttpMethodMetadata GetAndHead = new([HttpMethods.Get, HttpMethods.Head]);

    /// <summary>
    /// The methods refused by an endpoint of their own. Routing's own 405 is not enough in a host whose other routes take
    /// these methods on every path (the dashboard's pages take POST): there a POST of <c>/healthz</c> went to them, and to
    /// the sign-in page.
    /// </summary>
    private static readonly string[] OtherMethods =
        [HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch, HttpMethods.Options, HttpMethods.Trace, HttpMethods.Connect];

    /// <summary>
    /// Maps <c>GET /healthz</c> (liveness: the process answers, nothing else is checked, so a slow store never
    /// gets it restarted), <c>GET /readyz</c> (readiness: the store answers; 503 otherwise, so a load balancer
    /// sends events elsewhere) and <c>GET /metrics</c> (Prometheus text: ingest's counters, latency and queue,
    /// ASP.NET Core's and the process's own). None of them needs a login: they show no event data. Each takes GET and HEAD
    /// only (scrapers and load balancers' probes send those): any other method is routing's 405 with an Allow header, not
    /// a 200 that tells a client its POST or DELETE did something.
    /// </summary>
    public static IEndpointRouteBuilder MapErrorHubOperations(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous().WithMetadata(GetAndHead);
        endpoints.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous().WithMetadata(GetAndHead);
        endpoints.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous().WithMetadata(GetAndHead);
        foreach (var path in (string[])["/healthz", "/readyz", "/metrics"])
        {
            endpoints.MapMethods(path, OtherMethods, RefuseOtherMethod).AllowAnonymous();
        }

        return endpoints;
    }

    /// <summary>With a body: an empty 405 would be re-run by the dashboard's status code pages as a page of the same method.</summary>
    private static Task RefuseOtherMethod(HttpContext context)
    {
        context.Response.Headers.Allow = "GET, HEAD";
        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        return context.Response.WriteAsync($"{context.Request.Path} takes GET and HEAD, not {context.Request.Method}\n");
    }
}
