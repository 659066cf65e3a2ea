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
        endpoints.MapPost("/logout", async (HttpContext context, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Text("The sign-out form was not sent by this dashboard.", statusCode: StatusCodes.Status400BadRequest);
            }

            await context.SignOutAsync(AccessClaims.CookieScheme);
            return Results.LocalRedirect("~/login");
        }).DisableAntiforgery();

    }
}
