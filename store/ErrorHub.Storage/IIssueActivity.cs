using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>
/// What happened in a project over a stretch of time, from the stored events and their aggregates:
/// new issues, events and users per issue in a window, totals, an issue's first event. Read by
/// notifications (alert rules and the daily digest) and by triage, never by ingest. Windows are whole minutes in every
/// store (ClickHouse keeps per-minute aggregates): <c>from</c> and <c>to</c> are truncated to the minute.
/// Issues are those the readers show: the events of a merged issue count for the issue it was merged into
/// (<see cref="IIssueMerges"/>), a merged issue is never one of the answers, and an undone merge counts apart again.
/// </summary>
public interface IIssueActivity
{
    /// <summary>
    /// Issues whose first event (by its own time) is at or after <paramref name="since"/> and that have an event
    /// passing <paramref name="filter"/>; oldest first, at most <paramref name="limit"/> (1..10,000). Titles and
    /// totals are <see cref="IIssueReader"/>'s: activity only says which issues and how much.
    /// </summary>
    Task<IReadOnlyList<NewIssue>> GetNewIssuesAsync(int projectId, EventFilter filter, DateTimeOffset since, int limit, CancellationToken cancellationToken = default);

    /// <summary>Events and distinct users per issue, counted over the events of a window that pass a filter.</summary>
    Task<IReadOnlyList<IssueActivity>> GetActivityAsync(ActivityQuery query, CancellationToken cancellationToken = default);

    /// <summary>Events, distinct users and issues with events in [<paramref name="from"/>, <paramref name="to"/>) passing <paramref name="filter"/>.</summary>
    Task<ActivityTotals> GetTotalsAsync(int projectId, EventFilter filter, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>
    /// The project's events by their own time per hour, of every issue (merged or not) and without a filter: hour i is
    /// [<paramref name="from"/> + i hours, + 1 hour), the last one ending at <paramref name="to"/> (minutes, as every
    /// window). <paramref name="from"/> is a whole hour, at most 48 hours are asked. Read from an
    /// index (SQLite) or the per-minute aggregate (ClickHouse), never from the events' rows: what the notifications' late
    /// watch compares from count to count.
    /// </summary>
    Task<long[]> GetEventsPerHourAsync(int projectId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>The issue's first event that passes <paramref name="filter"/> (by the event's own time), or null.</summary>
    Task<ErrorEvent?> GetFirstEventAsync(int projectId, string fingerprint, EventFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// The issue's first event from <paramref name="since"/> on (by the event's own time, to the second) that passes
    /// <paramref name="filter"/>, or null: the event that made a regression or a spike, for its mail.
    /// </summary>
    Task<ErrorEvent?> GetFirstEventSinceAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>
    /// The releases of the issue's events after <paramref name="after"/> (strictly, by the event's own time) that pass
    /// <paramref name="filter"/>: events and the first time per release (events without a release under the empty string).
    /// </summary>
    Task<IReadOnlyList<ReleaseActivity>> GetReleasesAfterAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset after, CancellationToken cancellationToken = default);

    /// <summary>
    /// The issue's events and distinct users after <paramref name="after"/> (strictly, by the event's own whole second, with no
    /// upper bound: also events stamped ahead of this server's clock): whether an issue ignored until N more events or users is back.
    /// </summary>
    Task<IssueActivity> GetIssueActivityAfterAsync(int projectId, string fingerprint, DateTimeOffset after, CancellationToken cancellationToken = default);

    /// <summary>
    /// The project's issues whose stored state (<see cref="IIssueStates"/>) can end by their events (resolved, or ignored until
    /// N more events or users) and that have events after that state's change (strictly, by whole seconds), each with its
    /// latest event's time and its number of events (all of them, with those of issues merged into it): one query whatever
    /// the number of states, read from the per-issue aggregates, not from the events. Ignored for good or until a time: never
    /// in the answer, however many events they have (their tab follows from the state and the clock alone).
    /// </summary>
    Task<IReadOnlyList<IssueSeenAfterChange>> GetIssuesSeenAfterChangesAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The events after their state's change (strictly, by the event's own whole second, with no upper bound) of the named
    /// issues whose stored state is resolved or ignored, each with what <see cref="GetReleasesAfterAsync"/> (no filter) and
    /// <see cref="GetIssueActivityAfterAsync"/> answer for it after its change: in one query, whatever the number of names, so
    /// that triage need not ask once per issue. Issues without such events (or named but neither resolved nor ignored) are not
    /// in the answer.
    /// </summary>
    Task<IReadOnlyList<ActivityAfterChange>> GetActivityAfterChangesAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default);
}

/// <summary>An issue with events after its stored state's change: its latest event's time (whole seconds) and its number of events.</summary>
public sealed record IssueSeenAfterChange(string Fingerprint, DateTimeOffset LastSeen, long Events);

/// <summary>
/// A resolved or ignored issue's events after its state's change (<see cref="IssueState.ChangedAt"/>): per release (oldest first
/// time first, then by release) and in all (events, distinct users).
/// </summary>
public sealed record ActivityAfterChange(string Fingerprint, IReadOnlyList<ReleaseActivity> Releases, IssueActivity Activity);

/// <summary>Which events count: those of one environment (when set) at or above a level (when set).</summary>
public sealed record EventFilter(string? Environment = null, string? MinimumLevel = null)
{
    /// <summary>The levels ingest stores, lowest first.</summary>
    public static readonly IReadOnlyList<string> KnownLevels = ["debug", "info", "warning", "error", "fatal"];

    public static readonly EventFilter All = new();

    /// <summary>The levels that pass, or null for all. A minimum level ingest never stores is refused.</summary>
    public IReadOnlyList<string>? Levels => MinimumLevel is null
        ? null
        : IndexOfLevel(MinimumLevel) is var index and >= 0
            ? KnownLevels.Skip(index).ToList()
            : throw new ArgumentException($"Unknown minimum level '{MinimumLevel}': use one of {string.Join(", ", KnownLevels)}.", nameof(MinimumLevel));

    internal static int IndexOfLevel(string level)
    {
        for (var i = 0; i < KnownLevels.Count; i++)
        {
            if (string.Equals(KnownLevels[i], level, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }
}

public enum ActivitySort
{
    Events,
    Users,
}

/// <summary>
/// Issues with events in [<see cref="From"/>, <see cref="To"/>) that pass <see cref="Filter"/>, with at least
/// <see cref="MinEvents"/> events and <see cref="MinUsers"/> users there; sorted descending, at most <see cref="Limit"/> (1..10,000).
/// </summary>
public sealed record ActivityQuery(int ProjectId, DateTimeOffset From, DateTimeOffset To)
{
    public EventFilter Filter { get; init; } = EventFilter.All;
    public long MinEvents { get; init; } = 1;
    public long MinUsers { get; init; }
    public ActivitySort Sort { get; init; } = ActivitySort.Events;
    public int Limit { get; init; } = 1000;
}

/// <summary>An issue first seen (whole seconds) in the time asked about.</summary>
public sealed record NewIssue(string Fingerprint, DateTimeOffset FirstSeen);

/// <summary>One issue's events and distinct users in a window.</summary>
public sealed record IssueActivity(string Fingerprint, long Events, long Users);

public sealed record ActivityTotals(long Events, long Users, long Issues);

/// <summary>Events of one release (empty: none) in a window, and the first one's time (whole seconds).</summary>
public sealed record ReleaseActivity(string Release, long Events, DateTimeOffset FirstSeen);

internal static class ActivityAfterChanges
{
    /// <summary>Releases as <see cref="IIssueActivity.GetReleasesAfterAsync"/> orders them: first time, then release (ordinal).</summary>
    public static IReadOnlyList<ReleaseActivity> InOrder(IEnumerable<ReleaseActivity> releases) =>
        [.. releases.OrderBy(release => release.FirstSeen).ThenBy(release => release.Release, StringComparer.Ordinal)];
}
