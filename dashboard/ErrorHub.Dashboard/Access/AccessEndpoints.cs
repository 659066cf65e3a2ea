using ErrorHub.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Antiforgery;

namespace ErrorHub.Dashboard.Access;

/// <summary>Sign-out and the health check: the only HTTP endpoints of access that are not pages.</summary>
internal static class AccessEndpoints
{
    public static void MapAccessEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // A form post with its antiforgery token, so another site cannot sign people out. Checked here rather
        // than by the middleware: a refusal answers 400 with a body, which the status code pages leave alone
        // (re-running the pipeline for a refused post would meet the bad token again).
        endpoints.MapPost("/logout", async (HttpContext context, IAntiforgery antiforgery, Accounts accounts) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Text("The sign-out form was not sent by this dashboard.", statusCode: StatusCodes.Status400BadRequest);
            }

            // The cookie is the whole session: deleting it from this browser would leave a copy of it, and the
            // account's open tabs, signed in until it expires. A new security stamp ends them all.
            await accounts.EndSignInsAsync(AccessClaims.UserId(context.User), context.RequestAborted);
            await context.SignOutAsync(AccessClaims.CookieScheme);
            return Results.LocalRedirect("~/login");
        }).DisableAntiforgery();

    }
}
