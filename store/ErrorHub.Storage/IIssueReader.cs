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

    /// <summary>The environments and releases of a project's events, most recently seen first: what the issue list's filters offer.</summary>
    Task<IssueFilterValues> GetFilterValuesAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>Events per time bucket for each of the asked issues (zeros where an issue had none): sparklines and charts.</summary>
    Task<IReadOnlyDictionary<string, long[]>> GetEventCountsAsync(EventCountQuery query, CancellationToken cancellationToken = default);
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
    DateTimeOffset LastSeen);
