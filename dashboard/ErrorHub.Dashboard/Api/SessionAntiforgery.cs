using ErrorHub.Dashboard.Access;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;

namespace ErrorHub.Dashboard.Api;

/// <summary>
/// A signed-in browser session changes nothing through <c>/api/</c> without the dashboard's antiforgery token (the
/// <c>RequestVerificationToken</c> header). The session cookie is <c>SameSite=Lax</c>, which keeps other sites out,
/// but not a sibling sub-domain (same site), and a bodiless POST such as <c>.../unmerge</c> needs no CORS pre-flight.
/// API tokens are exempt: a browser never sends them by itself. So are anonymous endpoints (ingest checks its key).
/// One check for every endpoint, so a new one cannot forget it.
/// </summary>
internal static class SessionAntiforgery
{
    public const string Missing =
        "a signed-in session sends the dashboard's antiforgery token (the RequestVerificationToken header, from a page's __RequestVerificationToken field) to change anything through the API";

    /// <summary>Goes after authentication and authorization, so the caller is known and refused callers are already answered.</summary>
    public static IApplicationBuilder UseSessionAntiforgery(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (NeedsToken(context) && !await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context))
        {
            await AccessProblems.WriteAsync(context, StatusCodes.Status400BadRequest, Missing);
            return;
        }

        await next(context);
    });

    private static bool NeedsToken(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/api")
        && !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method) || HttpMethods.IsTrace(context.Request.Method))
        && context.User.Identity?.IsAuthenticated == true
        && !AccessClaims.ByApiToken(context.User)
        && context.GetEndpoint() is { } endpoint
        && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null;
}
