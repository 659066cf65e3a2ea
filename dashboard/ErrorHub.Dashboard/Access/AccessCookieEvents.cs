using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using ErrorHub.Dashboard.Components.Layout;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// The sign-in cookie's checks: on every request the user is read from the store again, so a disabled
/// account or a changed password (a new security stamp) ends the session at once and a changed role counts
/// at once. The JSON API and the Blazor hub answer 401/403 instead of redirecting to the login page.
/// </summary>
internal sealed class AccessCookieEvents(Accounts accounts) : CookieAuthenticationEvents
{
    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        UserAccount? user;
        try
        {
            user = await accounts.ActiveUserAsync(AccessClaims.UserId(context.Principal), context.HttpContext.RequestAborted);
        }
        catch (Exception failure) when (StoreErrorBoundary.IsStoreFailure(failure) && AccessEndpoints.IsSignOut(context.Request))
        {
            // Signing out only takes away: while the store cannot be read, the cookie's own principal is enough to delete
            // the cookie, so that someone leaving a shared computer is signed out even then.
            return;
        }

        if (user is null || !Secrets.FixedTimeEquals(user.SecurityStamp, context.Principal?.FindFirst(AccessClaims.SecurityStampType)?.Value))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(AccessClaims.CookieScheme);
            return;
        }

        context.ReplacePrincipal(AccessClaims.Principal(user, AccessClaims.CookieScheme));
    }

    public override Task RedirectToLogin(RedirectContext<CookieAuthenticationOptions> context) =>
        AccessProblems.IsApiOrHub(context.Request)
            ? AccessProblems.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "sign in, or send an API token: Authorization: Bearer <token>")
            : base.RedirectToLogin(context);

    public override Task RedirectToAccessDenied(RedirectContext<CookieAuthenticationOptions> context) =>
        AccessProblems.IsApiOrHub(context.Request)
            ? AccessProblems.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden, "your account may not do this")
            : base.RedirectToAccessDenied(context);
}
