using ErrorHub.Storage;
using Radzen;

namespace ErrorHub.Dashboard.Components.Pages;

/// <summary>Maps what the issue grid asks for (page, sorted column) onto the store's <see cref="IssueQuery"/>.</summary>
internal static class IssueGridQuery
{
    public const int DefaultPageSize = 25;
    public const int MaxPageSize = 100;

    public static IssueQuery From(int projectId, LoadDataArgs args)
    {
        var sorted = args.Sorts?.FirstOrDefault(sort => sort.SortOrder is not null);
        var (sort, descending) = sorted?.Property switch
        {
            nameof(IssueSummary.EventCount) => (IssueSort.Events, IsDescending(sorted)),
            nameof(IssueSummary.UserCount) => (IssueSort.Users, IsDescending(sorted)),
            nameof(IssueSummary.FirstSeen) => (IssueSort.FirstSeen, IsDescending(sorted)),
            nameof(IssueSummary.LastSeen) => (IssueSort.LastSeen, IsDescending(sorted)),
            // No sort (the user cleared it) or a column the store cannot sort: newest activity first.
            _ => (IssueSort.LastSeen, true),
        };

        return new IssueQuery(projectId)
        {
            Sort = sort,
            Descending = descending,
            Offset = Math.Max(0, args.Skip ?? 0),
            Limit = Math.Clamp(args.Top ?? DefaultPageSize, 1, MaxPageSize),
        };
    }

    private static bool IsDescending(SortDescriptor sort) => sort.SortOrder == SortOrder.Descending;
}
