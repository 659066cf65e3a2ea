using System.Security.Claims;
using ErrorHub.Dashboard.Access;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// The issue list's "Bookmarked" filter (and Sentry's <c>is:bookmarked</c>, <c>bookmarks:me</c>), in the page and the API:
/// the signed-in person's (or the API token's account's) bookmarked issues.
/// </summary>
internal static class IssueBookmarkFilter
{
    private static readonly IReadOnlySet<string> None = new HashSet<string>();

    /// <summary>The bookmarks of <paramref name="user"/>'s account in the project; none without an account.</summary>
    public static async Task<IReadOnlySet<string>> MineAsync(IIssueBookmarks bookmarks, int projectId, ClaimsPrincipal? user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bookmarks);
        return AccessClaims.UserId(user) is { } me ? await bookmarks.GetBookmarksAsync(projectId, me, cancellationToken) : None;
    }

    /// <summary><paramref name="filter"/> narrowed to <paramref name="mine"/> when only bookmarked issues are asked for.</summary>
    public static IssueFilter Apply(IssueFilter filter, bool bookmarkedOnly, IReadOnlySet<string> mine)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(mine);
        return !bookmarkedOnly ? filter : filter with { Fingerprints = filter.Fingerprints is null ? [.. mine] : [.. filter.Fingerprints.Where(mine.Contains)] };
    }
}
