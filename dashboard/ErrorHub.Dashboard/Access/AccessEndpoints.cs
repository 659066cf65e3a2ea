using ErrorHub.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Antiforgery;
using ErrorHub.Dashboard.Components.Account;
using ErrorHub.Dashboard.Components.Layout;

namespace ErrorHub.Dashboard.Access;

/// <summary>Sign-out and the health check: the only HTTP endpoints of access that are not pages.</summary>
internal static class AccessEndpoints
{
    private const string SignOutPath = "/logout";

    /// <summary>Whether a request is the sign-out form's post.</summary>
    public static bool IsSignOut(HttpRequest request) => HttpMethods.IsPost(request.Method) && request.Path.Equals(SignOutPath, StringComparison.OrdinalIgnoreCase);

    public static void MapAccessEndpoints(this IEndpointRouteBuilder endpoints)
    {
        // A form post with its antiforgery token, so another site cannot sign people out. Checked here rather
        // than by the middleware: a refusal answers 400 with a body, which the status code pages leave alone
        // (re-running the pipeline for a refused post would meet the bad token again).
        endpoints.MapPost(SignOutPath, async (HttpContext context, IAntiforgery antiforgery, Accounts accounts, ILogger<Accounts> logger) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Text("The sign-out form was not sent by this dashboard.", statusCode: StatusCodes.Status400BadRequest);
            }

            // The cookie is the whole session: deleting it from this browser would leave a copy of it, and the
            // account's open tabs, signed in until it expires. A new security stamp ends them all.
            var endedEverywhere = true;
            try
            {
                await accounts.EndSignInsAsync(AccessClaims.UserId(context.User), context.RequestAborted);
            }
            catch (Exception failure) when (StoreErrorBoundary.IsStoreFailure(failure) && !context.RequestAborted.IsCancellationRequested)
            {
                // The store did not take the new stamp: this browser is signed out all the same (someone leaving a shared
                // computer must not stay signed in because the store hung), and the login page says what was not ended.
                StoreErrorBoundary.LogSignInStoreFailure(logger, failure.Message);
                endedEverywhere = false;
            }

            await context.SignOutAsync(AccessClaims.CookieScheme);
            return Results.LocalRedirect("~/login?signedOut=" + (endedEverywhere ? Login.SignedOutEverywhere : Login.SignedOutHereOnly));
        }).DisableAntiforgery();

    }
}
