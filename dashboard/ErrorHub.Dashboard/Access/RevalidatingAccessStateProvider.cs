using System.Security.Claims;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using ErrorHub.Dashboard.Components.Layout;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// An open dashboard tab (a Blazor circuit) keeps the user it started with; this checks every 30 seconds
/// that the account is still active, with the same password and role, and otherwise ends the circuit's
/// sign-in: the page then asks to sign in again. A store that fails answers nothing either way: the tab keeps its user
/// until a later check reads the account (the base class signs out on any exception, so until December 2026 every open tab
/// asked to sign in again after a store outage of a few seconds, and its page went blank).
/// </summary>
internal sealed partial class RevalidatingAccessStateProvider(ILoggerFactory loggerFactory, IServiceScopeFactory scopes)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<RevalidatingAccessStateProvider>();

    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(30);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<Accounts>();
        var principal = authenticationState.User;
        UserAccount? user;
        try
        {
            user = await accounts.ActiveUserAsync(AccessClaims.UserId(principal), cancellationToken);
        }
        catch (Exception failure) when (StoreErrorBoundary.IsStoreFailure(failure) && !cancellationToken.IsCancellationRequested)
        {
            // Nothing the store refuses can be changed meanwhile either; the open pages say the store is not answering.
            LogUnchecked(_logger, failure.Message);
            return true;
        }

        return user is not null
            && Secrets.FixedTimeEquals(user.SecurityStamp, principal.FindFirstValue(AccessClaims.SecurityStampType))
            && AccessClaims.IsAdmin(principal) == (user.Role == Storage.UserRole.Admin);
    }

    [LoggerMessage(1, LogLevel.Warning, "An open tab's sign-in was not checked again: the store did not answer; the next check reads it: {Reason}")]
    private static partial void LogUnchecked(ILogger logger, string reason);
}
