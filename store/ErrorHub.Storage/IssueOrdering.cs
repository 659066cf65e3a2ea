using System.Globalization;

namespace ErrorHub.Storage;

/// <summary>
/// The one place that checks an <see cref="IssueQuery"/> and turns its sort and page into SQL. Every
/// store selects its issue columns under the aliases below, so that the same ORDER BY and LIMIT
/// clauses work on SQLite and on ClickHouse, and ties always break the same way (by fingerprint).
/// </summary>
internal static class IssueOrdering
{
    public const int MaxLimit = 1000;

    public const string FirstSeenAlias = "issue_first_seen";
    public const string LastSeenAlias = "issue_last_seen";
    public const string EventsAlias = "issue_events";
    public const string UsersAlias = "issue_users";

    /// <summary>Throws for a query no store may run: negative offsets, empty or huge pages, unknown sorts.</summary>
    public static void Validate(IssueQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Offset, nameof(query.Offset));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit, nameof(query.Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, MaxLimit, nameof(query.Limit));
        if (!Enum.IsDefined(query.Sort))
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Sort, "Unknown issue sort.");
        }
    }

    /// <summary><c>ORDER BY ... LIMIT offset, count</c> for a validated query: the LIMIT form both SQLite and ClickHouse 18.x read.</summary>
    public static string OrderAndPage(IssueQuery query) =>
        string.Create(CultureInfo.InvariantCulture, $"{OrderBy(query)} LIMIT {query.Offset}, {query.Limit}");

    /// <summary><c>ORDER BY ...</c> alone: to order again after a join, which may not keep the order.</summary>
    public static string OrderBy(IssueQuery query)
    {
        Validate(query);
        var column = query.Sort switch
        {
            IssueSort.LastSeen => LastSeenAlias,
            IssueSort.FirstSeen => FirstSeenAlias,
            IssueSort.Events => EventsAlias,
            IssueSort.Users => UsersAlias,
            _ => throw new ArgumentOutOfRangeException(nameof(query), query.Sort, "Unknown issue sort."),
        };
        var direction = query.Descending ? "DESC" : "ASC";
        return $"ORDER BY {column} {direction}, fingerprint ASC";
    }
}
