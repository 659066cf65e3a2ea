namespace ErrorHub.Storage;

/// <summary>
/// The triage state of issues: resolved (optionally in a release) or ignored. Written by whoever triages
/// (the dashboard's resolve and ignore actions); read by notifications, which tell a team when a resolved
/// issue comes back. An issue without a stored state is unresolved. Never written by ingest.
/// </summary>
public interface IIssueStates
{
    /// <summary>Records an issue's state; the latest call for an issue wins.</summary>
    Task SetStateAsync(IssueState state, CancellationToken cancellationToken = default);

    /// <summary>Records several issues' states in one write (an import, a bulk change); as <see cref="SetStateAsync"/> for each.</summary>
    Task SetStatesAsync(IReadOnlyCollection<IssueState> states, CancellationToken cancellationToken = default);

    /// <summary>The issue's state, or null when none was ever stored (unresolved).</summary>
    Task<IssueState?> GetStateAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default);

    /// <summary>The project's stored states (with <paramref name="status"/> only, when given), by fingerprint.</summary>
    Task<IReadOnlyList<IssueState>> GetStatesAsync(int projectId, IssueStatus? status = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stored states of the named issues (an issue without one is left out), by fingerprint: what a page of the issue
    /// list shows, read without reading the project's other states.
    /// </summary>
    Task<IReadOnlyList<IssueState>> GetStatesOfAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stored states with <paramref name="status"/> whose change is in [<paramref name="from"/>, <paramref name="to"/>)
    /// (whole seconds), by fingerprint: what a digest says was resolved in its day, read without reading the project's other states.
    /// </summary>
    Task<IReadOnlyList<IssueState>> GetStatesChangedAsync(int projectId, IssueStatus status, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>
    /// The resolved states that name one of <paramref name="releases"/> (resolved in it, or in the release after it), by
    /// fingerprint: what the releases page counts for the releases it shows, however many issues the project resolved otherwise.
    /// </summary>
    Task<IReadOnlyList<IssueState>> GetStatesResolvedForReleasesAsync(int projectId, IReadOnlyCollection<string> releases, CancellationToken cancellationToken = default);

    /// <summary>
    /// The releases that resolved states name as the one they are resolved after ("in the next release"), each once, in ordinal
    /// order: the releases page finds from them which states count for the releases it shows, also when a named release's events
    /// are all gone (retention) and the project's releases no longer list it.
    /// </summary>
    Task<IReadOnlyList<string>> GetReleasesResolvedAfterAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The stored states that name an assignee or are ignored until a time, by fingerprint: with those whose events could
    /// have moved them, the few the issue list's tabs and its assignee filter depend on, however many issues were triaged.
    /// </summary>
    Task<IReadOnlyList<IssueState>> GetAssignedOrTimedStatesAsync(int projectId, CancellationToken cancellationToken = default);
}

public enum IssueStatus
{
    Unresolved,
    Resolved,
    Ignored,
}

/// <summary>
/// An issue's triage state since <see cref="ChangedAt"/> (whole seconds). A resolved issue regresses when it
/// receives an event newer than its resolution and, when <see cref="ResolvedInRelease"/> is set, from that
/// release or a later one (an event from an older release does not reopen it).
/// </summary>
public sealed record IssueState(int ProjectId, string Fingerprint, IssueStatus Status, DateTimeOffset ChangedAt)
{
    public string? ResolvedInRelease { get; init; }

    /// <summary>
    /// "Resolved in the next release": the release current when it was resolved. Only an event of a later
    /// release (by version, docs/dashboard.md) regresses the issue; events of this release or older ones do not.
    /// </summary>
    public string? ResolvedAfterRelease { get; init; }

    /// <summary>An ignored issue is back (unresolved) from this time on; null: no time limit.</summary>
    public DateTimeOffset? IgnoredUntil { get; init; }

    /// <summary>An ignored issue is back once it has had this many events after <see cref="ChangedAt"/>.</summary>
    public long? IgnoredUntilEvents { get; init; }

    /// <summary>An ignored issue is back once this many distinct users hit it after <see cref="ChangedAt"/>.</summary>
    public long? IgnoredUntilUsers { get; init; }

    /// <summary>The account the issue is assigned to, if any.</summary>
    public Guid? AssigneeId { get; init; }

    /// <summary>At most this many action ids in <see cref="Actions"/>.</summary>
    public const int RememberedActions = 8;

    /// <summary>
    /// The ids of the latest triage actions that wrote this state (32 hexadecimal digits each, comma-separated, oldest first,
    /// at most <see cref="RememberedActions"/>; null: none named). A retry of an action whose answer was lost finds its own id
    /// here, also after other changes since, and knows its write is stored: it neither writes it again nor loses its timeline
    /// entry. A string, so that states compare by value.
    /// </summary>
    public string? Actions { get; init; }

    /// <summary>At most this many entries in <see cref="Entries"/>: the latest changes' and one merge's of the most issues at once.</summary>
    public const int MaxKeptEntries = RememberedActions + (2 * IIssueMerges.MaxSources);

    /// <summary>
    /// The timeline entries written with this state and not known to be in the timeline yet (oldest first, at most
    /// <see cref="MaxKeptEntries"/>): the entry of the change that wrote it, those of earlier changes whose own writes the
    /// store lost or refused, and a merge's or an unmerge's entries until the merge is stored and they are written. A store
    /// can take the state and lose or refuse the entries written after it: the next read of the issue's timeline, or the
    /// next change of the issue, finds them missing and adds them from here (a merge's only once the merge is stored), so a
    /// change is never left without its entry, and an entry never tells of a merge that was not made.
    /// </summary>
    public IssueEntries Entries { get; init; } = IssueEntries.Empty;

    /// <summary>This state, also keeping <paramref name="entries"/> (an entry of a kept id replaced, the oldest forgotten beyond <see cref="MaxKeptEntries"/>).</summary>
    public IssueState Keeping(IEnumerable<IssueChange> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var added = entries.ToList();
        var ids = added.Select(entry => entry.Id).ToHashSet();
        return this with { Entries = new IssueEntries([.. Entries.Where(entry => !ids.Contains(entry.Id)).Concat(added).TakeLast(MaxKeptEntries)]) };
    }

    /// <summary>Whether the action <paramref name="actionId"/> is one of the latest that wrote this state.</summary>
    public bool IsWrittenBy(Guid actionId) => Actions is { } actions && actions.Contains(actionId.ToString("N"), StringComparison.Ordinal);

    /// <summary>This state, as written by <paramref name="actionId"/> (the oldest remembered action forgotten when there are too many).</summary>
    public IssueState WrittenBy(Guid actionId)
    {
        var id = actionId.ToString("N");
        var ids = (Actions?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? []).Where(other => other != id).Append(id).TakeLast(RememberedActions);
        return this with { Actions = string.Join(',', ids) };
    }

    /// <summary>An ignored issue's time limit has passed by <paramref name="now"/>.</summary>
    public bool IgnoreExpiredAt(DateTimeOffset now) => Status == IssueStatus.Ignored && IgnoredUntil is { } until && until <= now;

    /// <summary>Whether this ignore ends with activity: "until N more events" or "until N more users".</summary>
    public bool IgnoreEndsWithActivity => Status == IssueStatus.Ignored && (IgnoredUntilEvents is not null || IgnoredUntilUsers is not null);

    /// <summary>
    /// Whether the issue's activity since <see cref="ChangedAt"/> (its events after the change, with those of issues merged
    /// into it, each user once) has reached the ignore's limit. The one rule for the dashboard's status and the alerts.
    /// </summary>
    public bool IgnoreEndedBy(IssueActivity since)
    {
        ArgumentNullException.ThrowIfNull(since);
        return IgnoreEndsWithActivity && (since.Events >= IgnoredUntilEvents || since.Users >= IgnoredUntilUsers);
    }

    /// <summary>
    /// Whether an event of <paramref name="release"/> ("" when it named none), newer than <see cref="ChangedAt"/>,
    /// reopens this resolved issue. The one rule for the dashboard's "regressed" and the regression e-mail. Two versions of
    /// one app compare by version (<see cref="ReleaseVersion"/>); a release of another app, or one that is not a version,
    /// compares by when the project first saw each release (<paramref name="releasesFirstSeen"/>, Sentry does the same):
    /// without those times, or when the resolution's release has not been seen, it does not reopen the issue.
    /// </summary>
    public bool IsReopenedBy(string release, IReadOnlyDictionary<string, DateTimeOffset>? releasesFirstSeen = null)
    {
        ArgumentNullException.ThrowIfNull(release);
        if (ResolvedInRelease is { Length: > 0 } fixedIn)
        {
            return release.Length > 0 && Order(release, fixedIn, releasesFirstSeen) >= 0;
        }

        if (ResolvedAfterRelease is { Length: > 0 } current)
        {
            return release.Length > 0 && Order(release, current, releasesFirstSeen) > 0;
        }

        return true;
    }

    /// <summary>Whether judging an event of <paramref name="release"/> needs the releases' first-seen times: it is not a version of the resolution release's app.</summary>
    public bool NeedsReleaseTimes(string release)
    {
        ArgumentNullException.ThrowIfNull(release);
        var rule = ResolvedInRelease is { Length: > 0 } fixedIn ? fixedIn : ResolvedAfterRelease;
        return Status == IssueStatus.Resolved && release.Length > 0 && rule is { Length: > 0 } && release != rule && !ReleaseVersion.AreComparable(release, rule);
    }

    /// <summary>Later (positive), the same (0) or earlier or not known to be later (negative): <paramref name="release"/> against the resolution's.</summary>
    private static int Order(string release, string rule, IReadOnlyDictionary<string, DateTimeOffset>? releasesFirstSeen)
    {
        if (release == rule)
        {
            return 0;
        }

        if (ReleaseVersion.AreComparable(release, rule))
        {
            return ReleaseVersion.Compare(release, rule);
        }

        return releasesFirstSeen is not null && releasesFirstSeen.TryGetValue(release, out var seen) && releasesFirstSeen.TryGetValue(rule, out var ruleSeen)
            ? seen.CompareTo(ruleSeen)
            : -1;
    }
}

/// <summary>The timeline entries kept with an <see cref="IssueState"/>, oldest first; two lists of the same entries are equal.</summary>
public sealed class IssueEntries : IReadOnlyList<IssueChange>, IEquatable<IssueEntries>
{
    private readonly IssueChange[] _entries;

    public IssueEntries(IEnumerable<IssueChange> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _entries = [.. entries];
    }

    public static IssueEntries Empty { get; } = new([]);

    public int Count => _entries.Length;

    public IssueChange this[int index] => _entries[index];

    /// <summary>The kept entry <paramref name="id"/>, or null.</summary>
    public IssueChange? Find(Guid id) => Array.Find(_entries, entry => entry.Id == id);

    public IEnumerator<IssueChange> GetEnumerator() => ((IEnumerable<IssueChange>)_entries).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(IssueEntries? other) => other is not null && _entries.AsSpan().SequenceEqual(other._entries);

    public override bool Equals(object? obj) => Equals(obj as IssueEntries);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var entry in _entries)
        {
            hash.Add(entry);
        }

        return hash.ToHashCode();
    }
}
