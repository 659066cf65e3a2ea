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
