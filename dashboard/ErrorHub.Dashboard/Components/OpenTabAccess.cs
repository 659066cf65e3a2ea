using ErrorHub.Dashboard.Access;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace ErrorHub.Dashboard.Components;

/// <summary>
/// An open tab checked the project's access when its page opened, but it stays open: a member removed from the project,
/// or a project deleted, meanwhile must not keep changing or reading it. Changes (triage, merges, comments) and the list's
/// refreshes ask here first; when the answer is no, the page becomes "not found", as it would be when opened now.
/// </summary>
internal static class OpenTabAccess
{
    public static async Task<bool> StillReadableAsync(
        ProjectAccess access, Task<AuthenticationState>? authenticationState, int projectId, NavigationManager navigation)
    {
        var user = authenticationState is null ? null : (await authenticationState).User;
        if (await access.VisibleProjectAsync(user, projectId) is not null)
        {
            return true;
        }

        navigation.NotFound();
        return false;
    }
}
