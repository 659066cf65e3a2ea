using ErrorHub.Dashboard.Access;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// Every refusal under <c>/api/</c> answers JSON (<c>{"error": "..."}</c>), also those the framework makes without a
/// body: a wrong method (405), no such endpoint (404), a bound body that is not JSON (400). Without this the
/// dashboard's status code pages would re-run the request as its HTML "not found" page, and a POST re-run there
/// meets the page's antiforgery check and turns into an unrelated 400.
/// </summary>
internal static class ApiErrorBodies
{
    /// <summary>Goes right after the status code pages, so it sees the answer before they do.</summary>
    public static IApplicationBuilder UseApiErrorBodies(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments("/api"))
        {
            await next(context);
            return;
        }

        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
        {
            statusCodePages.Enabled = false;
        }

        await next(context);

        var response = context.Response;
        if (response.StatusCode >= 400 && !response.HasStarted && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
        {
            await AccessProblems.WriteAsync(context, response.StatusCode, Message(context));
        }
    });

    private static string Message(HttpContext context) => context.Response.StatusCode switch
    {
        StatusCodes.Status400BadRequest => "the request is malformed; a body must be JSON of the form docs/api.md gives",
        StatusCodes.Status404NotFound => "there is no such API endpoint (docs/api.md)",
        StatusCodes.Status405MethodNotAllowed => $"this endpoint does not take {context.Request.Method}; it takes {context.Response.Headers.Allow}",
        StatusCodes.Status415UnsupportedMediaType => "send a JSON body: Content-Type: application/json",
        var status => ReasonPhrases.GetReasonPhrase(status).ToLowerInvariant() is { Length: > 0 } reason ? reason : $"HTTP {status}",
    };
}
