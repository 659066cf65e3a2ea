using ErrorHub.Dashboard.Access;
using ErrorHub.Server;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// What the dashboard answers on the ingest path (<c>/api/{projectId}/events</c>, docs/protocol.md) besides ingest's own POST.
/// Without these the path fell to the sign-in policy: an SDK's POST to a dashboard that does not receive events got 401,
/// which the SDK takes for a revoked key and stops sending until its app restarts; a GET or HEAD (the static files' route
/// takes those on every path) got "send an API token" where the stand-alone ingest answers 405.
/// </summary>
internal static class IngestRouteAnswers
{
    /// <summary>The route of <c>MapErrorHubIngest</c>.</summary>
    private const string IngestRoute = "/api/{projectId}/events";

    /// <summary>All-in-one: GET and HEAD of the ingest path are the 405 naming POST (its JSON body comes from <see cref="ApiErrorBodies"/>).</summary>
    public static void MapIngestOtherMethods(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapMethods(IngestRoute, [HttpMethods.Get, HttpMethods.Head], (HttpContext context) =>
        {
            context.Response.Headers.Allow = HttpMethods.Post;
            return Results.StatusCode(StatusCodes.Status405MethodNotAllowed);
        }).AllowAnonymous();

    /// <summary>
    /// <c>ErrorHub:AllInOne=false</c>: any request to the ingest path is a 404 saying where events go. A 404 makes the SDK drop
    /// that batch with one log line (it is not retried, and the key stays good), so the app keeps reporting once its DSN is fixed.
    /// </summary>
    public static void MapIngestElsewhere(this IEndpointRouteBuilder endpoints) =>
        endpoints.Map(IngestRoute, (HttpContext context, IOptions<ErrorHubServerOptions> options) =>
            AccessProblems.WriteAsync(context, StatusCodes.Status404NotFound, NotReceivedHere(options.Value.IngestUrl)))
            .AllowAnonymous()
            .DisableAntiforgery();

    private static string NotReceivedHere(string? ingestUrl) =>
        "this server does not receive events (ErrorHub:AllInOne=false); send them to the ingest service"
        + (ingestUrl is null ? "" : $" at {ingestUrl}") + ": use the DSN the project's page shows";
}
