using System.Globalization;
using ErrorHub.Storage;
using Microsoft.AspNetCore.WebUtilities;

namespace ErrorHub.Dashboard.Components.Pages;

/// <summary>A time range the issue list offers, and the sparkline that goes with it.</summary>
internal sealed record IssueTimeRange(string Key, string Label, TimeSpan? Span, TimeSpan Bucket, int Buckets)
{
    public static readonly IReadOnlyList<IssueTimeRange> All =
    [
        // Without a range the sparkline shows the last day, as Sentry's list does.
        new("", "All time", null, TimeSpan.FromHours(1), 24),
        new("24h", "Last 24 hours", TimeSpan.FromDays(1), TimeSpan.FromHours(1), 24),
        new("7d", "Last 7 days", TimeSpan.FromDays(7), TimeSpan.FromHours(6), 28),
        new("14d", "Last 14 days", TimeSpan.FromDays(14), TimeSpan.FromHours(12), 28),
        new("30d", "Last 30 days", TimeSpan.FromDays(30), TimeSpan.FromDays(1), 30),
        new("90d", "Last 90 days", TimeSpan.FromDays(90), TimeSpan.FromDays(3), 30),
    ];

    public static IssueTimeRange From(string? key) => All.FirstOrDefault(range => range.Key == key) ?? All[0];

    /// <summary>The sparkline's buckets: the last one holds the current hour.</summary>
    public DateTimeOffset SparklineStart(DateTimeOffset now)
    {
        var hourEnd = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        return hourEnd - (Bucket * Buckets);
    }

    public string SparklineLabel => Span is null ? "last 24 hours" : Label.ToLowerInvariant();
}

/// <summary>
/// What the issue list shows (filters, sort, page), read from and written to its URL, so Back and a
/// shared link show the same list. Unknown or malformed values fall back to the defaults.
/// </summary>
internal sealed record IssueListState
{
    public const int PageSize = 25;

    /// <summary>Longer pages than this are refused as absurd rather than asked of the store.</summary>
    public const int MaxPage = 1_000_000;

    public static readonly IReadOnlyList<string> Levels = ["fatal", "error", "warning", "info", "debug"];

    private static readonly Dictionary<string, IssueSort> SortKeys = new Dictionary<string, IssueSort>(StringComparer.Ordinal)
    {
        ["last_seen"] = IssueSort.LastSeen,
        ["first_seen"] = IssueSort.FirstSeen,
        ["events"] = IssueSort.Events,
        ["users"] = IssueSort.Users,
    };

    /// <summary>The triage tabs, in the order shown; "unresolved" is the list's default.</summary>
    public static readonly IReadOnlyList<(string Key, string Label)> Tabs =
    [
        ("unresolved", "Unresolved"),
        ("new", "For review"),
        ("regressed", "Regressed"),
        ("resolved", "Resolved"),
        ("ignored", "Ignored"),
        ("all", "All"),
    ];

    public string Status { get; init; } = "unresolved";

    public string Search { get; init; } = "";
    public string? Environment { get; init; }
    public string? Release { get; init; }
    public string? Level { get; init; }

    /// <summary>Whose issues (<see cref="Triage.IssueAssigneeFilter"/>: <c>me</c>, <c>none</c>, <c>any</c>, an account's id or e-mail); null: anyone's or nobody's.</summary>
    public string? Assigned { get; init; }

    /// <summary>Only the signed-in person's bookmarked issues (<c>is:bookmarked</c>, Sentry's <c>bookmarks:me</c>).</summary>
    public bool Bookmarked { get; init; }

    public IssueTimeRange Range { get; init; } = IssueTimeRange.All[0];
    public IssueSort Sort { get; init; } = IssueSort.LastSeen;
    public bool Descending { get; init; } = true;

    /// <summary>1 for the first page.</summary>
    public int Page { get; init; } = 1;

    /// <summary>
    /// True when the search holds a term such as <c>is:unresolved</c> or <c>user.email:ada@example.com</c>, the search syntax of
    /// Sentry and Exceptionless, which this list takes as plain text (so it finds nothing): an empty list then says so.
    /// A scheme (<c>https://</c>) or a drive (<c>C:\</c>) is not such a term.
    /// </summary>
    public bool SearchHasTerms => IssueSearchTerms.HasTerm(Search);

    public bool IsFiltered => Search.Length > 0 || Environment is not null || Release is not null || Level is not null || Assigned is not null || Bookmarked || Range.Span is not null;

    /// <summary>
    /// The state a URL asks for. The search may hold terms in the syntax of Sentry's search box (<c>is:resolved</c>,
    /// <c>release:shop@2.4.1</c>, <c>environment:production</c>, <c>level:error</c>, <c>user.email:ada@example.com</c>, <c>assigned:me</c>):
    /// each one understood becomes its tab or filter (over the tab and filters the form sent beside it: the words typed
    /// last say what is wanted), a user's term searches for its value, and what is left is searched as text
    /// (<see cref="IssueSearchTerms"/>).
    /// </summary>
    public static IssueListState From(string? search, string? environment, string? release, string? level, string? range, string? sort, string? order, string? page, string? status = null, string? assigned = null, string? bookmarked = null)
    {
        var terms = IssueSearchTerms.Parse(search);
        assigned = terms.Assigned ?? Triage.IssueAssigneeFilter.Normalize(assigned);
        environment = terms.Environment ?? NullIfEmpty(environment);
        release = terms.Release ?? NullIfEmpty(release);
        level = terms.Level ?? NullIfEmpty(level);
        status = terms.Status ?? status;
        return new IssueListState
        {
            Status = Tabs.Any(tab => tab.Key == status) ? status! : "unresolved",
            Search = terms.Text,
            Environment = environment,
            Release = release,
            Level = Levels.Contains(level ?? "") ? level : null,
            Assigned = assigned,
            Bookmarked = terms.Bookmarked || bookmarked is "me" or "1" or "true",
            Range = IssueTimeRange.From(range),
            Sort = sort is not null && SortKeys.TryGetValue(sort, out var value) ? value : IssueSort.LastSeen,
            Descending = order != "asc",
            Page = int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= MaxPage ? number : 1,
        };
    }

    public IssueQuery ToQuery(int projectId, DateTimeOffset now) => new(projectId)
    {
        Sort = Sort,
        Descending = Descending,
        Offset = (Page - 1) * PageSize,
        Limit = PageSize,
        Filter = new IssueFilter
        {
            Search = Search.Length == 0 ? null : Search,
            Environment = Environment,
            Release = Release,
            Level = Level,
            Since = Range.Span is { } span ? now - span : null,
        },
    };

    /// <summary>The list's address with this state; defaults are left out, so the plain list keeps its plain URL.</summary>
    public string ToUrl(int projectId)
    {
        var query = new List<KeyValuePair<string, string?>>();
        if (Status != "unresolved")
        {
            query.Add(new("status", Status));
        }

        if (Search.Length > 0)
        {
            query.Add(new("q", Search));
        }

        if (Environment is not null)
        {
            query.Add(new("environment", Environment));
        }

        if (Release is not null)
        {
            query.Add(new("release", Release));
        }

        if (Level is not null)
        {
            query.Add(new("level", Level));
        }

        if (Assigned is not null)
        {
            query.Add(new("assigned", Assigned));
        }

        if (Bookmarked)
        {
            query.Add(new("bookmarked", "me"));
        }

        if (Range.Key.Length > 0)
        {
            query.Add(new("range", Range.Key));
        }

        if (Sort != IssueSort.LastSeen)
        {
            query.Add(new("sort", SortKey(Sort)));
        }

        if (!Descending)
        {
            query.Add(new("order", "asc"));
        }

        if (Page > 1)
        {
            query.Add(new("page", Page.ToString(CultureInfo.InvariantCulture)));
        }

        return QueryHelpers.AddQueryString(Formatting.DashboardPaths.Issues(projectId), query);
    }

    /// <summary>The state after a click on a sortable header: a new column sorts descending first; the same column flips.</summary>
    public IssueListState SortedBy(IssueSort sort) =>
        this with { Sort = sort, Descending = sort != Sort || !Descending, Page = 1 };

    public static string SortKey(IssueSort sort) => SortKeys.First(pair => pair.Value == sort).Key;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
