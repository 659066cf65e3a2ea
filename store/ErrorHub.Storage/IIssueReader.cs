using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>
/// What the dashboard (and the read API and notifications) read: issues, derived from the events, and
/// the events themselves. Never written by ingest, so any number of ingest processes need no coordination.
/// </summary>
public interface IIssueReader
{
    /// <summary>One page of a project's issues (events grouped by fingerprint), sorted as asked.</summary>
    Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default);

    Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default);

    /// <summary>An issue's events, newest first.</summary>
    Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default);

    Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default);

    /// <summary>
    /// An event of the issue or of an issue merged into it (what the issue page and the API show); null for an event of
    /// another issue, or none. Found within the issue's own rows, however large the project.
    /// </summary>
    Task<ErrorEvent?> GetIssueEventAsync(int projectId, string fingerprint, Guid eventId, CancellationToken cancellationToken = default);

    /// <summary>The environments and releases of a project's events, most recently seen first: what the issue list's filters offer.</summary>
    Task<IssueFilterValues> GetFilterValuesAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>Events per time bucket for each of the asked issues (zeros where an issue had none): sparklines and charts.</summary>
    Task<IReadOnlyDictionary<string, long[]>> GetEventCountsAsync(EventCountQuery query, CancellationToken cancellationToken = default);

    /// <summary>A page of an issue's events, through its whole history: newest or oldest first, continued by cursor.</summary>
    Task<EventPage> GetEventPageAsync(EventQuery query, CancellationToken cancellationToken = default);

    /// <summary>An issue's affected users with their events, first and last time and latest URL, most recent first.</summary>
    Task<AffectedUserPage> GetAffectedUsersAsync(AffectedUserQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every affected user of an issue (whose id, e-mail or username contains <paramref name="search"/>, if given), in the
    /// order of <see cref="GetAffectedUsersAsync"/>'s pages, from one query whose rows are handed out as the store reads them:
    /// an export of any size holds one row in memory, sees one snapshot (no user moves between pages while it runs), and
    /// stopping the enumeration or cancelling it ends the query.
    /// </summary>
    IAsyncEnumerable<AffectedUser> ReadAllAffectedUsersAsync(int projectId, string fingerprint, string? search, CancellationToken cancellationToken = default);

    /// <summary>An issue's events by release, environment, browser, OS and server: the top values of each with their counts.</summary>
    Task<IssueBreakdowns> GetBreakdownsAsync(BreakdownQuery query, CancellationToken cancellationToken = default);
}

public enum IssueSort
{
    LastSeen,
    FirstSeen,
    Events,
    Users,
}

/// <summary>Which issues to list, in which order, which page (<see cref="IssueOrdering"/> checks it and orders the same way in every store).</summary>
public sealed record IssueQuery(int ProjectId)
{
    public IssueSort Sort { get; init; } = IssueSort.LastSeen;
    public bool Descending { get; init; } = true;
    public int Offset { get; init; }
    public int Limit { get; init; } = 50;

    /// <summary>Which events count (<see cref="IssueFilter"/>); none by default.</summary>
    public IssueFilter Filter { get; init; } = IssueFilter.None;
}

/// <summary>The values the issue list's filters offer (at most <see cref="MaxValues"/> each; events without a value are left out).</summary>
public sealed record IssueFilterValues(IReadOnlyList<string> Environments, IReadOnlyList<string> Releases)
{
    public const int MaxValues = 100;
}

/// <summary>
/// Event counts of some issues in <see cref="Buckets"/> consecutive buckets of <see cref="BucketWidth"/>
/// (whole hours), the first starting at <see cref="Since"/> (taken at the start of its hour).
/// </summary>
public sealed record EventCountQuery(int ProjectId, IReadOnlyCollection<string> Fingerprints, DateTimeOffset Since, TimeSpan BucketWidth, int Buckets)
{
    public const int MaxFingerprints = 1000;
    public const int MaxBuckets = 1000;

    internal DateTimeOffset Start => HourRange.Floor(Since);

    internal long WidthSeconds => (long)BucketWidth.TotalSeconds;

    internal DateTimeOffset End => Start.AddSeconds(WidthSeconds * Buckets);

    /// <summary>Throws for a query no store may run.</summary>
    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Fingerprints);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Fingerprints.Count, MaxFingerprints, nameof(Fingerprints));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Buckets, nameof(Buckets));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Buckets, MaxBuckets, nameof(Buckets));
        if (BucketWidth < TimeSpan.FromHours(1) || BucketWidth.Ticks % TimeSpan.TicksPerHour != 0 || BucketWidth > TimeSpan.FromDays(366))
        {
            throw new ArgumentOutOfRangeException(nameof(BucketWidth), BucketWidth, "A bucket is a whole number of hours, at least one and at most a year.");
        }

        if (Fingerprints.Any(fingerprint => fingerprint is null))
        {
            throw new ArgumentException("A fingerprint is null.", nameof(Fingerprints));
        }
    }

    /// <summary>Zero-filled counts for every asked issue, and the bucket index of an hour (or -1 outside the range).</summary>
    internal Dictionary<string, long[]> EmptyCounts() =>
        Fingerprints.Distinct(StringComparer.Ordinal).ToDictionary(fingerprint => fingerprint, _ => new long[Buckets], StringComparer.Ordinal);

    internal int BucketOf(long unixSeconds)
    {
        var offset = unixSeconds - Start.ToUnixTimeSeconds();
        if (offset < 0)
        {
            return -1;
        }

        var bucket = offset / WidthSeconds;
        return bucket < Buckets ? (int)bucket : -1;
    }
}

public sealed record IssuePage(IReadOnlyList<IssueSummary> Items, long TotalCount);

/// <summary>An issue as the list shows it: derived from its events, never written by ingest.</summary>
public sealed record IssueSummary(
    int ProjectId,
    string Fingerprint,
    string Title,
    string Culprit,
    string Level,
    long EventCount,
    long UserCount,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen)
{
    /// <summary>
    /// Why the issue is one issue, from its first event like its title; null for an issue made by
    /// grouping version 1, whose events did not record it.
    /// </summary>
    public IssueGrouping? Grouping { get; init; }
}

/// <summary>What an issue was grouped by: the grouping version, the exception its root cause came wrapped in, the fingerprint's components.</summary>
public sealed record IssueGrouping(int Version, string? TitleWrapper, IReadOnlyList<GroupingComponent> Components)
{
    /// <summary>The event's, or null for an event from before grouping recorded its components.</summary>
    public static IssueGrouping? Of(ErrorEvent errorEvent)
    {
        ArgumentNullException.ThrowIfNull(errorEvent);
        return errorEvent.GroupingComponents.Count == 0
            ? null
            : new IssueGrouping(errorEvent.GroupingVersion, errorEvent.TitleWrapper, errorEvent.GroupingComponents);
    }
}

/// <summary>
/// A position in an issue's events: its time (unix milliseconds, as precise as the store keeps it) and id.
/// Callers get it from a page or from an event (<see cref="Of"/>) and pass it back for the next page
/// (<see cref="ToString"/> and <see cref="TryParse"/> for URLs).
/// </summary>
public readonly record struct EventCursor(long Time, Guid EventId)
{
    /// <summary>The position of <paramref name="errorEvent"/>: pages after it start with its neighbours.</summary>
    public static EventCursor Of(ErrorEvent errorEvent)
    {
        ArgumentNullException.ThrowIfNull(errorEvent);
        return new EventCursor(errorEvent.Timestamp.ToUnixTimeMilliseconds(), errorEvent.EventId);
    }

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Time}-{EventId:N}");

    public static bool TryParse(string? text, out EventCursor cursor)
    {
        cursor = default;
        var dash = text?.LastIndexOf('-') ?? -1;
        if (text is null || dash <= 0 || text.Length > 64
            || !long.TryParse(text.AsSpan(0, dash), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var time)
            || !Guid.TryParseExact(text.AsSpan(dash + 1), "N", out var id))
        {
            return false;
        }

        cursor = new EventCursor(time, id);
        return true;
    }
}

/// <summary>
/// One page of an issue's events, newest first (or oldest first), continuing after <see cref="After"/>;
/// <see cref="Search"/> narrows them to events whose user (id, e-mail, username), URL, release or environment contains it, ignoring case.
/// </summary>
public sealed record EventQuery(int ProjectId, string Fingerprint)
{
    public const int MaxLimit = 1000;

    public bool OldestFirst { get; init; }
    public EventCursor? After { get; init; }
    public string? Search { get; init; }
    public int Limit { get; init; } = 50;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Limit, nameof(Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, MaxLimit, nameof(Limit));
    }

    internal bool MatchesNothing => Search is { Length: > IssueFilter.MaxSearchLength };
}

/// <summary>An event as the issue page's events table lists it.</summary>
public sealed record EventRow(
    Guid EventId,
    DateTimeOffset Timestamp,
    string Level,
    string? UserId,
    string? UserEmail,
    string? UserName,
    string? Url,
    string? Release,
    string? Environment,
    EventCursor Cursor);

/// <summary>A page of events; <see cref="Next"/> continues it (null at the end).</summary>
public sealed record EventPage(IReadOnlyList<EventRow> Items, EventCursor? Next);

/// <summary>
/// Who hit an issue: its users (told apart as <see cref="UserRecord.Key"/> tells them apart), with
/// the identity and URL of each one's latest event there, most recent first.
/// </summary>
public sealed record AffectedUserQuery(int ProjectId, string Fingerprint)
{
    public const int MaxLimit = 1000;

    /// <summary>Users whose id, e-mail or username contains this, ignoring case.</summary>
    public string? Search { get; init; }
    public int Offset { get; init; }
    public int Limit { get; init; } = 50;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Fingerprint);
        ArgumentOutOfRangeException.ThrowIfNegative(Offset, nameof(Offset));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Limit, nameof(Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, MaxLimit, nameof(Limit));
    }

    internal bool MatchesNothing => Search is { Length: > IssueFilter.MaxSearchLength };
}

public sealed record AffectedUser(
    string? Id,
    string? Email,
    string? Username,
    string? IpAddress,
    long EventCount,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    string? LatestUrl);

public sealed record AffectedUserPage(IReadOnlyList<AffectedUser> Items, long TotalCount);
