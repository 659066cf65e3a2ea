using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// An open dashboard tab (a Blazor circuit) keeps the user it started with; this checks every 30 seconds
/// that the account is still active, with the same password and role, and otherwise ends the circuit's
/// sign-in: the page then asks to sign in again.
/// </summary>
internal sealed class RevalidatingAccessStateProvider(ILoggerFactory loggerFactory, IServiceScopeFactory scopes)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(30);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<Accounts>();
        var principal = authenticationState.User;
        var user = await accounts.ActiveUserAsync(AccessClaims.UserId(principal), cancellationToken);
        return user is not null
            && Secrets.FixedTimeEquals(user.SecurityStamp, principal.FindFirstValue(AccessClaims.SecurityStampType))
            && AccessClaims.IsAdmin(principal) == (user.Role == Storage.UserRole.Admin);
    }
}
