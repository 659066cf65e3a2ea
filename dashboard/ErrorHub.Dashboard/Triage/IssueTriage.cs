using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>Where an issue stands for the people triaging it, derived from its stored state and its events since.</summary>
public enum TriageStatus
{
    Unresolved,
    Regressed,
    Resolved,
    Ignored,
}

/// <summary>
/// An issue's triage as shown: the status, the stored state it comes from (null: never triaged), and for
/// a regression the release and time of the first event that reopened it.
/// </summary>
public sealed record IssueTriageView(TriageStatus Status, IssueState? State, string? RegressedInRelease = null, DateTimeOffset? RegressedAt = null)
{
    public static readonly IssueTriageView Untriaged = new(TriageStatus.Unresolved, null);
}

/// <summary>
/// Resolving, ignoring and reopening issues, and what their events made of that since. Ingest never
/// reads before it writes, so nothing is updated when an event arrives: a resolved issue is regressed
/// when it has a qualifying event newer than its resolution (for "resolved in a release", one from that
/// release or a later one; for "in the next release", one from a release after the one current then),
/// and an ignored issue is back when its time is up or it has had the events or users it was ignored for.
/// </summary>
/// Every change is also written to the issue's timeline (<see cref="IIssueHistory"/>) with who made it.
internal sealed class IssueTriage(IIssueStates states, IIssueActivity activity, IIssueReader issues, IIssueHistory history, IAccessStore accounts, TimeProvider clock)
{
    // A state is read, changed and written whole (status, ignore conditions and assignee in one row), so two people
    // changing one issue at once, say one assigning while the other resolves, would each write what they read and the
    // later write would undo the earlier change. One gate per issue, taken from a fixed set (bounded memory; two issues
    // sharing a gate only wait for each other), makes each change read what the previous one wrote. It serializes the
    // changes made through this process, which is the dashboard's (pages and API) alone.
    private const int GateCount = 64;
    private readonly SemaphoreSlim[] _gates = [.. Enumerable.Range(0, GateCount).Select(_ => new SemaphoreSlim(1, 1))];

    private SemaphoreSlim GateOf(int projectId, string fingerprint) =>
        _gates[(int)((uint)HashCode.Combine(projectId, StringComparer.Ordinal.GetHashCode(fingerprint)) % GateCount)];

    /// <summary>Who an issue may be assigned to, in the page and the API: active admins (they see every project) and the project's active members.</summary>
    public static bool CanBeAssigned(UserAccount account, IReadOnlySet<Guid> projectMembers) =>
        account.DisabledAt is null && (account.Role == UserRole.Admin || projectMembers.Contains(account.Id));

    /// <summary>The project's triaged issues as they stand now, by fingerprint (issues not in it are unresolved).</summary>
    public async Task<IReadOnlyDictionary<string, IssueTriageView>> EvaluateAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var stored = await states.GetStatesAsync(projectId, cancellationToken: cancellationToken);
        var views = new Dictionary<string, IssueTriageView>(StringComparer.Ordinal);
        var waiting = stored.Where(state => state.Status != IssueStatus.Unresolved).ToList();
        if (waiting.Count == 0)
        {
            return views;
        }

        // Only issues with an event after their change can have changed: one query per thousand states finds them.
        var lastSeen = new Dictionary<string, IssueSummary>(StringComparer.Ordinal);
        foreach (var chunk in waiting.Chunk(IssueOrderingLimit))
        {
            var page = await issues.GetIssuesAsync(
                new IssueQuery(projectId) { Limit = IssueOrderingLimit, Filter = new IssueFilter { Fingerprints = [.. chunk.Select(state => state.Fingerprint)] } },
                cancellationToken);
            foreach (var issue in page.Items)
            {
                lastSeen[issue.Fingerprint] = issue;
            }
        }

        foreach (var state in waiting)
        {
            // An issue without events (retention removed its last ones, or it was merged away) is listed nowhere: its state
            // is kept for when it comes back.
            if (lastSeen.TryGetValue(state.Fingerprint, out var issue))
            {
                views[state.Fingerprint] = await EvaluateRememberedAsync(state, issue, cancellationToken);
            }
        }

        return views;
    }

    // What an issue's events since its change made of it, for as long as the state and the issue's events stay as they
    // were: the list refreshes every 10 s, and without this each refresh asked the store again about every resolved issue
    // with events since its resolution. Bounded: emptied when full.
    private const int RememberedLimit = 50_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(IssueState State, DateTimeOffset LastSeen, long Events), IssueTriageView> _remembered = new();

    private async Task<IssueTriageView> EvaluateRememberedAsync(IssueState state, IssueSummary issue, CancellationToken cancellationToken)
    {
        var quietSince = issue.LastSeen <= state.ChangedAt;
        if (quietSince || state.IgnoreExpiredAt(clock.GetUtcNow()))
        {
            return await EvaluateAsync(state, quietSince, cancellationToken);
        }

        var key = (state, issue.LastSeen, issue.EventCount);
        if (_remembered.TryGetValue(key, out var known))
        {
            return known;
        }

        var view = await EvaluateAsync(state, quietSince, cancellationToken);
        if (_remembered.Count >= RememberedLimit)
        {
            _remembered.Clear();
        }

        _remembered[key] = view;
        return view;
    }

    public async Task<IssueTriageView> EvaluateAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        var state = await states.GetStateAsync(projectId, fingerprint, cancellationToken);
        if (state is null || state.Status == IssueStatus.Unresolved)
        {
            return new IssueTriageView(TriageStatus.Unresolved, state);
        }

        var issue = await issues.GetIssueAsync(projectId, fingerprint, cancellationToken);
        return await EvaluateAsync(state, issue is null || issue.LastSeen <= state.ChangedAt, cancellationToken);
    }

    public Task ResolveAsync(int projectId, string fingerprint, string? inRelease = null, string? afterRelease = null, IssueActor? by = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(projectId, fingerprint, by, state => state with
        {
            Status = IssueStatus.Resolved,
            ResolvedInRelease = inRelease,
            ResolvedAfterRelease = afterRelease,
            IgnoredUntil = null,
            IgnoredUntilEvents = null,
            IgnoredUntilUsers = null,
        }, cancellationToken);

    /// <summary>Ignores the issue until a time, until it has had <paramref name="events"/> more events or <paramref name="users"/> more users (whichever comes first), or for good when none is given.</summary>
    public Task IgnoreAsync(int projectId, string fingerprint, TimeSpan? duration = null, long? events = null, long? users = null, IssueActor? by = null, CancellationToken cancellationToken = default)
    {
        if (duration is { } span && span <= TimeSpan.Zero || events is <= 0 || users is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), "An ignore condition must lie ahead: a positive duration, events or users.");
        }

        return ChangeAsync(projectId, fingerprint, by, state => state with
        {
            Status = IssueStatus.Ignored,
            ResolvedInRelease = null,
            ResolvedAfterRelease = null,
            IgnoredUntil = duration is { } d ? state.ChangedAt + d : null,
            IgnoredUntilEvents = events,
            IgnoredUntilUsers = users,
        }, cancellationToken);
    }

    public Task ReopenAsync(int projectId, string fingerprint, IssueActor? by = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(projectId, fingerprint, by, state => state with
        {
            Status = IssueStatus.Unresolved,
            ResolvedInRelease = null,
            ResolvedAfterRelease = null,
            IgnoredUntil = null,
            IgnoredUntilEvents = null,
            IgnoredUntilUsers = null,
        }, cancellationToken);

    /// <summary>Assigns the issue to an account (null: nobody), keeping its status.</summary>
    public async Task AssignAsync(int projectId, string fingerprint, Guid? assignee, IssueActor? by = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var gate = GateOf(projectId, fingerprint);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var current = await states.GetStateAsync(projectId, fingerprint, cancellationToken)
                ?? new IssueState(projectId, fingerprint, IssueStatus.Unresolved, clock.GetUtcNow());
            if (current.AssigneeId == assignee)
            {
                return;
            }

            await states.SetStateAsync(current with { AssigneeId = assignee }, cancellationToken);
        }
        finally
        {
            gate.Release();
        }

        var name = assignee is { } id ? (await accounts.GetUserAsync(id, cancellationToken))?.Name ?? "someone" : null;
        await RecordAsync(projectId, fingerprint, by, IssueChangeKind.Assignment, name is null ? "Unassigned" : $"Assigned to {name}", assignee?.ToString("D") ?? "", cancellationToken);
    }

    /// <summary>What a status change reads as in the timeline.</summary>
    internal static string Describe(IssueState state) => state.Status switch
    {
        IssueStatus.Resolved when state.ResolvedInRelease is { } release => $"Resolved in {release}",
        IssueStatus.Resolved when state.ResolvedAfterRelease is { } release => $"Resolved in the next release (after {release})",
        IssueStatus.Resolved => "Resolved",
        IssueStatus.Ignored when state.IgnoredUntilEvents is { } events && state.IgnoredUntilUsers is { } users => $"Ignored until {events:N0} more events or {users:N0} more users",
        IssueStatus.Ignored when state.IgnoredUntilEvents is { } events => $"Ignored until {events:N0} more events",
        IssueStatus.Ignored when state.IgnoredUntilUsers is { } users => $"Ignored until {users:N0} more users",
        IssueStatus.Ignored when state.IgnoredUntil is { } until => $"Ignored until {until.UtcDateTime:yyyy-MM-dd HH:mm} UTC",
        IssueStatus.Ignored => "Ignored",
        _ => "Reopened",
    };

    private Task RecordAsync(int projectId, string fingerprint, IssueActor? by, IssueChangeKind kind, string text, string value, CancellationToken cancellationToken)
    {
        var actor = by ?? IssueActor.Unknown;
        return history.AddAsync(
            new IssueChange(projectId, fingerprint, Guid.NewGuid(), clock.GetUtcNow(), kind, actor.Id, actor.Name) { Text = text, Value = value },
            cancellationToken);
    }

    private const int IssueOrderingLimit = 1000;

    /// <summary>"For review": unresolved issues first seen this recently, and regressed ones.</summary>
    public static readonly TimeSpan NewIssueAge = TimeSpan.FromDays(7);

    /// <summary>
    /// <paramref name="filter"/> narrowed to a tab of the issue list (unresolved, new, regressed, resolved,
    /// ignored, all; unknown: unresolved), given the project's triage as <see cref="EvaluateAsync(int, CancellationToken)"/> found it.
    /// </summary>
    public async Task<IssueFilter> FilterForTabAsync(
        int projectId, string tab, IssueFilter filter, IReadOnlyDictionary<string, IssueTriageView> views, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        // The store filters by stored status itself (a tab holds any number of issues); only the issues whose events moved
        // them to another tab (a resolved issue that regressed, an ignore that ended) are named, and these are few.
        string[] Moved(IssueStatus stored, TriageStatus now) =>
            [.. views.Where(pair => pair.Value.State?.Status == stored && pair.Value.Status == now).Select(pair => pair.Key)];
        var regressed = Moved(IssueStatus.Resolved, TriageStatus.Regressed);
        var backFromIgnore = Moved(IssueStatus.Ignored, TriageStatus.Unresolved);
        var unresolved = filter with { Statuses = [IssueStatus.Unresolved], StatusExceptions = [.. regressed, .. backFromIgnore] };
        switch (tab)
        {
            case "resolved":
                return filter with { Statuses = [IssueStatus.Resolved], ExcludedFingerprints = regressed };
            case "ignored":
                return filter with { Statuses = [IssueStatus.Ignored], ExcludedFingerprints = backFromIgnore };
            case "regressed":
                return filter with { Fingerprints = regressed };
            case "new":
                var recent = await issues.GetIssuesAsync(
                    new IssueQuery(projectId)
                    {
                        Sort = IssueSort.FirstSeen,
                        Limit = IssueOrderingLimit,
                        Filter = IssueFilter.None with { Statuses = unresolved.Statuses, StatusExceptions = unresolved.StatusExceptions },
                    },
                    cancellationToken);
                return filter with
                {
                    Fingerprints = [.. recent.Items.Where(issue => issue.FirstSeen >= now - NewIssueAge).Select(issue => issue.Fingerprint).Union(regressed)],
                };
            case "all":
                return filter;
            default:
                return unresolved;
        }
    }

    private async Task ChangeAsync(int projectId, string fingerprint, IssueActor? by, Func<IssueState, IssueState> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        IssueState next;
        var gate = GateOf(projectId, fingerprint);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var current = await states.GetStateAsync(projectId, fingerprint, cancellationToken);

            // Whole seconds: the stores keep no more, and an event in the same second as the change is not "after" it.
            var now = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds());
            next = change((current ?? new IssueState(projectId, fingerprint, IssueStatus.Unresolved, now)) with { ChangedAt = now });
            await states.SetStateAsync(next, cancellationToken);
        }
        finally
        {
            gate.Release();
        }

        await RecordAsync(projectId, fingerprint, by, IssueChangeKind.Status, Describe(next), StoredStatus(next.Status), cancellationToken);
    }

    private static string StoredStatus(IssueStatus status) => status switch
    {
        IssueStatus.Resolved => "resolved",
        IssueStatus.Ignored => "ignored",
        _ => "unresolved",
    };

    private async Task<IssueTriageView> EvaluateAsync(IssueState state, bool quietSince, CancellationToken cancellationToken)
    {
        if (state.Status == IssueStatus.Resolved)
        {
            if (quietSince)
            {
                return new IssueTriageView(TriageStatus.Resolved, state);
            }

            // The store counts the events of issues merged into this one as its own.
            var releases = await activity.GetReleasesAfterAsync(state.ProjectId, state.Fingerprint, EventFilter.All, state.ChangedAt, cancellationToken);
            var regression = releases.Where(release => state.IsReopenedBy(release.Release)).MinBy(release => release.FirstSeen);
            return regression is null
                ? new IssueTriageView(TriageStatus.Resolved, state)
                : new IssueTriageView(TriageStatus.Regressed, state, regression.Release.Length == 0 ? null : regression.Release, regression.FirstSeen);
        }

        if (state.Status != IssueStatus.Ignored)
        {
            return new IssueTriageView(TriageStatus.Unresolved, state);
        }

        if (state.IgnoreExpiredAt(clock.GetUtcNow()))
        {
            return new IssueTriageView(TriageStatus.Unresolved, state);
        }

        if (!quietSince && state.IgnoreEndsWithActivity)
        {
            // Exactly the events after the change (to the second, whatever their minute; also those stamped a little
            // ahead of this server's clock), with those of merged issues, each user once.
            var since = await activity.GetIssueActivityAfterAsync(state.ProjectId, state.Fingerprint, state.ChangedAt, cancellationToken);
            if (state.IgnoreEndedBy(since))
            {
                return new IssueTriageView(TriageStatus.Unresolved, state);
            }
        }

        return new IssueTriageView(TriageStatus.Ignored, state);
    }
}
