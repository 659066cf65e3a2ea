using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// <c>Authorization: Bearer &lt;token&gt;</c>: an API token created in the dashboard (or configured), acting as its
/// owner with the owner's role and projects. A revoked token, or one whose owner is disabled, is refused.
/// </summary>
internal sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    Accounts accounts) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Bearer = "Bearer";

    /// <summary>The request names the Bearer scheme (with or without a token): it is answered for the token, never for a cookie.</summary>
    public static bool HasBearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString().TrimStart();
        return header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) && (header.Length == Bearer.Length || header[Bearer.Length] == ' ');
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!HasBearerToken(Request))
        {
            return AuthenticateResult.NoResult();
        }

        var secret = Request.Headers.Authorization.ToString().TrimStart()[Bearer.Length..].Trim();
        if (secret.Length is 0 or > 256)
        {
            return AuthenticateResult.Fail("Malformed bearer token.");
        }

        var user = await accounts.AuthenticateApiTokenAsync(secret, Context.RequestAborted);
        return user is null
            ? AuthenticateResult.Fail("Unknown, revoked or disabled API token.")
            : AuthenticateResult.Success(new AuthenticationTicket(AccessClaims.Principal(user, Scheme.Name), Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return AccessProblems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "the API token is unknown, revoked, or its account is disabled");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        AccessProblems.WriteAsync(Context, StatusCodes.Status403Forbidden, "this token's account may not do this");
}
