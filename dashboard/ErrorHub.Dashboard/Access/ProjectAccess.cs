using System.Security.Claims;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>
/// Which projects someone may read: an admin every project, a member the projects they are a member of.
/// Pages, the circuit and the API all ask here, with the role as the store has it now; a project someone
/// may not read looks exactly like one that does not exist.
/// </summary>
internal sealed class ProjectAccess(Accounts accounts, IAccessStore access, IProjectStore projects)
{
    public async Task<IReadOnlyList<Project>> VisibleProjectsAsync(ClaimsPrincipal? principal, CancellationToken cancellationToken = default)
    {
        if (await accounts.ActiveUserAsync(AccessClaims.UserId(principal), cancellationToken) is not { } user)
        {
            return [];
        }

        var all = await projects.GetProjectsAsync(cancellationToken);
        if (user.Role == UserRole.Admin)
        {
            return all;
        }

        var memberships = (await access.GetMembershipsAsync(user.Id, cancellationToken)).ToHashSet();
        return [.. all.Where(project => memberships.Contains(project.Id))];
    }

    /// <summary>The project, when it exists and <paramref name="principal"/> may read it; otherwise null.</summary>
    public async Task<Project?> VisibleProjectAsync(ClaimsPrincipal? principal, int projectId, CancellationToken cancellationToken = default)
    {
        if (await accounts.ActiveUserAsync(AccessClaims.UserId(principal), cancellationToken) is not { } user)
        {
            return null;
        }

        if (user.Role != UserRole.Admin && !(await access.GetMembershipsAsync(user.Id, cancellationToken)).Contains(projectId))
        {
            return null;
        }

        return await projects.GetProjectAsync(projectId, cancellationToken);
    }
}
