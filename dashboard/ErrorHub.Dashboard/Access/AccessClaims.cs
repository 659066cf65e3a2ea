using System.Security.Claims;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// What a signed-in principal carries: the user's id, name, email, role and security stamp. The role is
/// read from the store again on every request (see <see cref="AccessCookieEvents"/>), so a changed role
/// counts at once; the stamp ends every session issued before a password change or disabling.
/// </summary>
internal static class AccessClaims
{
    public const string CookieScheme = "ErrorHub.Cookie";
    public const string TokenScheme = "ErrorHub.Token";
    public const string Scheme = "ErrorHub";
    public const string AdminRole = "admin";
    public const string MemberRole = "member";
    public const string SecurityStampType = "errorhub:stamp";

    public static ClaimsPrincipal Principal(UserAccount user, string authenticationType) =>
        new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.NameIdentifier, user.Id.ToString("D")),
                new Claim(ClaimTypes.Name, user.Name),
                new Claim(ClaimTypes.Email, user.Email),
                new Claim(ClaimTypes.Role, user.Role == UserRole.Admin ? AdminRole : MemberRole),
                new Claim(SecurityStampType, user.SecurityStamp),
            ],
            authenticationType,
            ClaimTypes.Name,
            ClaimTypes.Role));

    public static Guid? UserId(ClaimsPrincipal? principal) =>
        principal?.Identity?.IsAuthenticated == true && Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;

    public static bool IsAdmin(ClaimsPrincipal? principal) => principal?.IsInRole(AdminRole) == true;

    /// <summary>The request was authenticated by an API token (not by the sign-in cookie).</summary>
    public static bool ByApiToken(ClaimsPrincipal? principal) => principal?.Identity?.AuthenticationType == TokenScheme;
}
