using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using ErrorHub.Dashboard.Components.Account;
using ErrorHub.Dashboard.Components.Layout;
using Microsoft.AspNetCore.WebUtilities;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// The sign-in cookie's checks: on every request the user is read from the store again, so a disabled
/// account or a changed password (a new security stamp) ends the session at once and a changed role counts
/// at once. The JSON API and the Blazor hub answer 401/403 instead of redirecting to the login page. A page asked
/// with a sign-in cookie that no longer counts (expired, or ended: signed out elsewhere, password changed, account
/// disabled) goes to the login page with <see cref="Login.SessionEnded"/>, so that it says why.
/// </summary>
internal sealed class AccessCookieEvents(Accounts accounts) : CookieAuthenticationEvents
{
    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<StaticFileEndpoint>() is not null)
        {
            // A script, a style or the icon needs no user. Read from the store anyway, each answered 503 while the store
            // did not answer: an open tab's icon, asked for again at each page it went to, broke with every outage.
            return;
        }

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
            // The cookie is not deleted here but where a page sends to the login page (RedirectToLogin): an open tab's
            // background request (its circuit reconnecting, app.js asking healthz) deleted it first, and the next page could
            // not say that the session had ended.
            context.RejectPrincipal();
            return;
        }

        context.ReplacePrincipal(AccessClaims.Principal(user, AccessClaims.CookieScheme));
    }

    public override Task RedirectToLogin(RedirectContext<CookieAuthenticationOptions> context)
    {
        if (AccessProblems.IsApiOrHub(context.Request))
        {
            return AccessProblems.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "sign in, or send an API token: Authorization: Bearer <token>");
        }

        if (context.Options.Cookie.Name is { } cookie && context.Request.Cookies.ContainsKey(cookie))
        {
            context.RedirectUri = QueryHelpers.AddQueryString(context.RedirectUri, Login.SessionParameter, Login.SessionEnded);
            context.Options.CookieManager.DeleteCookie(context.HttpContext, cookie, context.Options.Cookie.Build(context.HttpContext));
        }

        return base.RedirectToLogin(context);
    }

    public override Task RedirectToAccessDenied(RedirectContext<CookieAuthenticationOptions> context) =>
        AccessProblems.IsApiOrHub(context.Request)
            ? AccessProblems.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden, "your account may not do this")
            : base.RedirectToAccessDenied(context);
}

/// <summary>Marks the static files' endpoints (scripts, styles, the icon), which the sign-in cookie's store check skips.</summary>
internal sealed class StaticFileEndpoint
{
    public static readonly StaticFileEndpoint Metadata = new();

    private StaticFileEndpoint()
    {
    }
}
