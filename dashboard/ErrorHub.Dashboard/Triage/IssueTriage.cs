using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using ErrorHub.Notifications;
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
/// Every change is also written to the issue's timeline (<see cref="IIssueHistory"/>) with who made it, and mailed to
/// the issue's participants (<see cref="WorkflowMail"/>, when the host has notifications).
/// Every change carries an action id, kept by its caller until the change is answered: a store can take a write and lose its
/// answer, and the same action sent again (the same id) then finds its own id on the stored state (<see cref="IssueState.Actions"/>), writes neither the state
/// nor its timeline entry a second time, adds the entry if only it is missing, and answers as if the first had been heard.
/// </summary>
internal sealed class IssueTriage(
    IIssueStates states, IIssueActivity activity, IIssueReader issues, IIssueHistory history, IAccessStore accounts, TimeProvider clock, WorkflowMail? workflow = null, IReleaseReader? releases = null, IIssueMerges? merges = null)
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

    /// <summary>
    /// The project's triaged or assigned issues as they stand now, by fingerprint (issues not in it are unresolved and
    /// assigned to nobody). Two store queries
    /// whatever the number of states (the states; the issues whose events could have moved them, from the per-issue
    /// aggregates), and a third, for all of them at once, only when some of those issues have had events since the last
    /// render: what their events since their change are.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IssueTriageView>> EvaluateAsync(int projectId, CancellationToken cancellationToken = default) =>
        await EvaluateAsync(projectId, await states.GetStatesAsync(projectId, cancellationToken: cancellationToken), null, cancellationToken);

    /// <summary>
    /// What the issue list's tabs and assignee filter depend on, as <see cref="EvaluateAsync(int, CancellationToken)"/> finds it,
    /// without reading the project's other states: the assigned issues, those ignored until a time, and the resolved or ignored
    /// ones whose events could have moved them. Every other triaged issue stands as stored; <see cref="WithIssuesAsync"/> adds
    /// a page's. A project with hundreds of thousands of resolved issues then reads what one with a few does.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IssueTriageView>> EvaluateForListAsync(int projectId, CancellationToken cancellationToken = default)
    {
        var seen = await SeenAfterChangesAsync(projectId, cancellationToken);
        var stored = (await states.GetStatesOfAsync(projectId, seen.Keys, cancellationToken))
            .Concat(await states.GetAssignedOrTimedStatesAsync(projectId, cancellationToken))
            .DistinctBy(state => state.Fingerprint, StringComparer.Ordinal)
            .ToList();
        return await EvaluateAsync(projectId, stored, seen, cancellationToken);
    }

    /// <summary>The stored resolved states that name one of <paramref name="releases"/> (resolved in it or in the release after it).</summary>
    public Task<IReadOnlyList<IssueState>> StatesResolvedForReleasesAsync(int projectId, IReadOnlyCollection<string> releases, CancellationToken cancellationToken = default) =>
        states.GetStatesResolvedForReleasesAsync(projectId, releases, cancellationToken);

    /// <summary>The releases that resolved states name as the one they are resolved after ("in the next release"), each once.</summary>
    public Task<IReadOnlyList<string>> ReleasesResolvedAfterAsync(int projectId, CancellationToken cancellationToken = default) =>
        states.GetReleasesResolvedAfterAsync(projectId, cancellationToken);

    /// <summary>
    /// <paramref name="views"/> (from <see cref="EvaluateForListAsync"/>) with the triage of <paramref name="fingerprints"/>, a
    /// page of the list, where it is missing: their states read by name. No event since its change could have moved such an
    /// issue, so it stands as stored.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IssueTriageView>> WithIssuesAsync(
        int projectId, IReadOnlyDictionary<string, IssueTriageView> views, IEnumerable<string> fingerprints, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(views);
        ArgumentNullException.ThrowIfNull(fingerprints);
        var missing = fingerprints.Where(fingerprint => !views.ContainsKey(fingerprint)).Distinct(StringComparer.Ordinal).ToList();
        if (missing.Count == 0)
        {
            return views;
        }

        var now = clock.GetUtcNow();
        Dictionary<string, IssueTriageView>? added = null;

        // An unresolved issue assigned to nobody is untriaged in the list, as in the whole project's evaluation.
        foreach (var state in (await states.GetStatesOfAsync(projectId, missing, cancellationToken)).Where(state => state.Status != IssueStatus.Unresolved || state.AssigneeId is not null))
        {
            added ??= new Dictionary<string, IssueTriageView>(views, StringComparer.Ordinal);
            added[state.Fingerprint] = state.Status == IssueStatus.Unresolved ? new IssueTriageView(TriageStatus.Unresolved, state) : Evaluate(state, null, now);
        }

        return added ?? views;
    }

    private async Task<Dictionary<string, IssueSeenAfterChange>> SeenAfterChangesAsync(int projectId, CancellationToken cancellationToken) =>
        (await activity.GetIssuesSeenAfterChangesAsync(projectId, cancellationToken)).ToDictionary(issue => issue.Fingerprint, StringComparer.Ordinal);

    private async Task<IReadOnlyDictionary<string, IssueTriageView>> EvaluateAsync(
        int projectId, IReadOnlyList<IssueState> stored, Dictionary<string, IssueSeenAfterChange>? seenAfterChanges, CancellationToken cancellationToken)
    {
        var views = new Dictionary<string, IssueTriageView>(StringComparer.Ordinal);

        // An unresolved issue is in it only when it is assigned to someone: the list shows and filters by whom.
        foreach (var state in stored.Where(state => state.Status == IssueStatus.Unresolved && state.AssigneeId is not null))
        {
            views[state.Fingerprint] = new IssueTriageView(TriageStatus.Unresolved, state);
        }

        var waiting = stored.Where(state => state.Status != IssueStatus.Unresolved).ToList();
        if (waiting.Count == 0)
        {
            return views;
        }

        // Only a resolved issue or an ignore until N more events or users, with events after its change, can have been moved
        // by them; the store finds those without reading events. An issue ignored for good or until a time is judged by its
        // state and the clock alone: however noisy, its events are never read here.
        var seen = seenAfterChanges ?? await SeenAfterChangesAsync(projectId, cancellationToken);
        var now = clock.GetUtcNow();
        var unknown = new List<(IssueState State, IssueSeenAfterChange Seen)>();
        foreach (var state in waiting)
        {
            if (!seen.TryGetValue(state.Fingerprint, out var issue) || state.IgnoreExpiredAt(now) || !EndsWithEvents(state))
            {
                views[state.Fingerprint] = Evaluate(state, null, now);
            }
            else if (_remembered.TryGetValue((state, issue.LastSeen, issue.Events), out var known))
            {
                views[state.Fingerprint] = known;
            }
            else
            {
                unknown.Add((state, issue));
            }
        }

        if (unknown.Count == 0)
        {
            return views;
        }

        var after = (await activity.GetActivityAfterChangesAsync(projectId, [.. unknown.Select(pair => pair.State.Fingerprint)], cancellationToken))
            .ToDictionary(issue => issue.Fingerprint, StringComparer.Ordinal);
        if (_remembered.Count + unknown.Count > RememberedLimit)
        {
            _remembered.Clear();
        }

        var releaseTimes = await ReleaseTimesIfNeededAsync(projectId, [.. unknown.Select(pair => (pair.State, after.GetValueOrDefault(pair.State.Fingerprint)))], cancellationToken);
        foreach (var (state, issue) in unknown)
        {
            var view = Evaluate(state, after.GetValueOrDefault(state.Fingerprint), now, releaseTimes);
            _remembered[(state, issue.LastSeen, issue.Events)] = view;
            views[state.Fingerprint] = view;
        }

        return views;
    }

    private static bool EndsWithEvents(IssueState state) => state.Status == IssueStatus.Resolved || state.IgnoreEndsWithActivity;

    // What an issue's events since its change made of it, for as long as the state and the issue's events (its latest
    // event's time and its number of events) stay as they were: the list refreshes every 10 s, and an unchanged project then
    // reads no events at all. Bounded: emptied when full.
    private const int RememberedLimit = 50_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(IssueState State, DateTimeOffset LastSeen, long Events), IssueTriageView> _remembered = new();

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

    public Task ResolveAsync(int projectId, string fingerprint, string? inRelease = null, string? afterRelease = null, IssueActor? by = null, Guid? actionId = null, CancellationToken cancellationToken = default) =>
        ChangeAndMailAsync(projectId, [fingerprint], by, Resolution(inRelease, afterRelease), actionId ?? Guid.NewGuid(), cancellationToken);

    private static Func<IssueState, IssueState> Resolution(string? inRelease, string? afterRelease) =>
        state => state with
        {
            Status = IssueStatus.Resolved,
            ResolvedInRelease = inRelease,
            ResolvedAfterRelease = afterRelease,
            IgnoredUntil = null,
            IgnoredUntilEvents = null,
            IgnoredUntilUsers = null,
        };

    /// <summary>Ignores the issue until a time, until it has had <paramref name="events"/> more events or <paramref name="users"/> more users (whichever comes first), or for good when none is given.</summary>
    public Task IgnoreAsync(int projectId, string fingerprint, TimeSpan? duration = null, long? events = null, long? users = null, IssueActor? by = null, Guid? actionId = null, CancellationToken cancellationToken = default) =>
        ChangeAndMailAsync(projectId, [fingerprint], by, Ignoring(duration, events, users), actionId ?? Guid.NewGuid(), cancellationToken);

    private static Func<IssueState, IssueState> Ignoring(TimeSpan? duration, long? events, long? users)
    {
        if (duration is { } span && span <= TimeSpan.Zero || events is <= 0 || users is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), "An ignore condition must lie ahead: a positive duration, events or users.");
        }

        return state => state with
        {
            Status = IssueStatus.Ignored,
            ResolvedInRelease = null,
            ResolvedAfterRelease = null,
            IgnoredUntil = duration is { } d ? state.ChangedAt + d : null,
            IgnoredUntilEvents = events,
            IgnoredUntilUsers = users,
        };
    }

    public Task ReopenAsync(int projectId, string fingerprint, IssueActor? by = null, Guid? actionId = null, CancellationToken cancellationToken = default) =>
        ChangeAndMailAsync(projectId, [fingerprint], by, Reopening, actionId ?? Guid.NewGuid(), cancellationToken);

    private static readonly Func<IssueState, IssueState> Reopening =
        state => state with
        {
            Status = IssueStatus.Unresolved,
            ResolvedInRelease = null,
            ResolvedAfterRelease = null,
            IgnoredUntil = null,
            IgnoredUntilEvents = null,
            IgnoredUntilUsers = null,
        };

    /// <summary>
    /// Resolves, ignores (as <paramref name="ignore"/> says) or reopens each issue (<paramref name="status"/>) as the single
    /// changes do, one issue at a time, then mails the issues' participants once per person for the whole change (a
    /// summary when several of the issues concern them): resolving 300 issues from the list must not put 300 mails in one
    /// inbox. <paramref name="progress"/> hears how many issues are done. A change that stops partway is finished by the
    /// same call for the issues not done, with the same <paramref name="actionId"/>: the issue it stopped at, stored but not
    /// answered, is then neither changed nor entered in its timeline twice.
    /// </summary>
    public Task ChangeManyAsync(int projectId, IReadOnlyList<string> fingerprints, IssueStatus status, IgnoreCondition? ignore = null, IssueActor? by = null, Action<int>? progress = null, Guid? actionId = null, CancellationToken cancellationToken = default) =>
        ChangeAndMailAsync(
            projectId,
            fingerprints,
            by,
            status switch
            {
                IssueStatus.Resolved => Resolution(null, null),
                IssueStatus.Ignored => Ignoring(ignore?.Duration, ignore?.Events, ignore?.Users),
                _ => Reopening,
            },
            actionId ?? Guid.NewGuid(),
            cancellationToken,
            progress);

    private async Task ChangeAndMailAsync(int projectId, IReadOnlyList<string> fingerprints, IssueActor? by, Func<IssueState, IssueState> change, Guid actionId, CancellationToken cancellationToken, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        IssueState? last = null;
        var changed = new List<string>(fingerprints.Count);
        ExceptionDispatchInfo? stopped = null;
        try
        {
            foreach (var fingerprint in fingerprints)
            {
                last = await ChangeAsync(projectId, fingerprint, by, change, actionId, cancellationToken);
                changed.Add(fingerprint);
                progress?.Invoke(changed.Count);
            }
        }
        catch (Exception failure) when (failure is not OperationCanceledException && changed.Count > 0)
        {
            // Those changed before the failure are changed: their participants are told, by the same rules as for a whole
            // change, then the caller hears of the failure (and a retry of the rest mails only what it changes).
            stopped = ExceptionDispatchInfo.Capture(failure);
        }

        if (last is not null && workflow is not null)
        {
            var actor = by ?? IssueActor.Unknown;
            // One mail per person for these issues of this action: the same action sent again for the same issues mails no one twice.
            await workflow.StatusChangedAsync(projectId, changed, last.Status, Describe(last), actor.Id, ActorName(actor), DerivedId("status-mail", actionId, projectId, [.. changed]), cancellationToken);
        }

        stopped?.Throw();
    }

    /// <summary>Ignores the issue as <paramref name="condition"/> says (<see cref="IgnoreChoices"/>).</summary>
    public Task IgnoreAsync(int projectId, string fingerprint, IgnoreCondition condition, IssueActor? by = null, Guid? actionId = null, CancellationToken cancellationToken = default) =>
        IgnoreAsync(projectId, fingerprint, condition.Duration, condition.Events, condition.Users, by, actionId, cancellationToken);

    /// <summary>Assigns the issue to an account (null: nobody), keeping its status.</summary>
    public async Task AssignAsync(int projectId, string fingerprint, Guid? assignee, IssueActor? by = null, Guid? actionId = null, CancellationToken cancellationToken = default)
    {
        var change = await SetAssigneeAsync(projectId, fingerprint, assignee, by, actionId ?? Guid.NewGuid(), cancellationToken);
        if (change is not null && assignee is { } to && workflow is not null)
        {
            var actor = by ?? IssueActor.Unknown;
            await workflow.AssignedAsync(projectId, fingerprint, to, actor.Id, ActorName(actor), change.Id, cancellationToken);
        }
    }

    /// <summary>
    /// A bulk assignment mails the assignee one mail per issue, as single assignments do, up to this many issues; a larger
    /// one sends a single summary mail (<see cref="WorkflowMail.AssignedManyAsync"/>) that names the first issues and counts
    /// the rest: assigning 300 issues from the list must not put 300 mails in one inbox.
    /// </summary>
    public const int BulkMailLimit = 10;

    /// <summary>
    /// Assigns each issue as <see cref="AssignAsync"/> does (its state and timeline entry, one issue at a time), then mails
    /// the assignee once per changed issue up to <see cref="BulkMailLimit"/>, or once in all beyond. Issues already assigned
    /// so are left alone and not mailed. <paramref name="progress"/> hears how many issues are done. Answers how many changed.
    /// Sent again with the same <paramref name="actionId"/> after it stopped partway, an issue whose assignment was stored but
    /// not answered counts as changed by it (its entry added if missing), not as already assigned.
    /// </summary>
    public async Task<int> AssignManyAsync(int projectId, IReadOnlyList<string> fingerprints, Guid? assignee, IssueActor? by = null, Action<int>? progress = null, Guid? actionId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        var action = actionId ?? Guid.NewGuid();
        var changed = new List<(string Fingerprint, IssueChange Change)>();
        var done = 0;
        ExceptionDispatchInfo? stopped = null;
        try
        {
            foreach (var fingerprint in fingerprints)
            {
                if (await SetAssigneeAsync(projectId, fingerprint, assignee, by, action, cancellationToken) is { } change)
                {
                    changed.Add((fingerprint, change));
                }

                progress?.Invoke(++done);
            }
        }
        catch (Exception failure) when (failure is not OperationCanceledException && changed.Count > 0)
        {
            // Those assigned before the failure are assigned: they are told so, then the caller hears of the failure.
            stopped = ExceptionDispatchInfo.Capture(failure);
        }

        if (assignee is { } to && workflow is not null && changed.Count > 0)
        {
            var actor = by ?? IssueActor.Unknown;
            if (changed.Count <= BulkMailLimit)
            {
                foreach (var (fingerprint, change) in changed)
                {
                    await workflow.AssignedAsync(projectId, fingerprint, to, actor.Id, ActorName(actor), change.Id, cancellationToken);
                }
            }
            else
            {
                await workflow.AssignedManyAsync(projectId, [.. changed.Select(pair => pair.Fingerprint)], to, actor.Id, ActorName(actor), DerivedId("assign-mail", action, projectId, [.. changed.Select(pair => pair.Fingerprint)]), cancellationToken);
            }
        }

        stopped?.Throw();
        return changed.Count;
    }

    private static string ActorName(IssueActor actor) => actor.Name.Length > 0 ? actor.Name : "Someone";

    /// <summary>
    /// Sets the assignee and writes the timeline entry; null when it already was that assignee, unless this action stored it
    /// (a retry after a lost answer: the entry is added if it is missing, and the change counts as this action's).
    /// </summary>
    private async Task<IssueChange?> SetAssigneeAsync(int projectId, string fingerprint, Guid? assignee, IssueActor? by, Guid actionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var gate = GateOf(projectId, fingerprint);
        var value = assignee?.ToString("D") ?? "";
        IssueState current;
        bool stored;
        await gate.WaitAsync(cancellationToken);
        try
        {
            var stateBefore = await states.GetStateAsync(projectId, fingerprint, cancellationToken);
            var missing = await EnsureEntriesOfAsync(stateBefore, actionId, cancellationToken);
            current = stateBefore ?? new IssueState(projectId, fingerprint, IssueStatus.Unresolved, clock.GetUtcNow());
            stored = current.AssigneeId == assignee && current.IsWrittenBy(actionId);
            if (current.AssigneeId == assignee && !stored)
            {
                return null;
            }

            if (!stored)
            {
                var name = assignee is { } id ? (await accounts.GetUserAsync(id, cancellationToken))?.Name ?? "someone" : null;
                current = (current with { AssigneeId = assignee, Entries = missing }).WrittenBy(actionId);
                current = current.Keeping([NewEntry(projectId, fingerprint, by, IssueChangeKind.Assignment, name is null ? "Unassigned" : $"Assigned to {name}", value, actionId)]);
                await states.SetStateAsync(current, cancellationToken);
            }
        }
        finally
        {
            gate.Release();
        }

        var text = current.Entries.Find(EntryId(actionId, projectId, fingerprint, IssueChangeKind.Assignment, value)) is { } entry
            ? entry.Text
            : assignee is { } assigned ? $"Assigned to {(await accounts.GetUserAsync(assigned, cancellationToken))?.Name ?? "someone"}" : "Unassigned";
        return await RecordAsync(current, by, IssueChangeKind.Assignment, text, value, actionId, stored, cancellationToken);
    }

    /// <summary>
    /// Adds the timeline entries kept with <paramref name="state"/> that the store has not got (their own writes were lost or
    /// refused, and the changes were not made again), before another change replaces the state. Answers the entries to keep
    /// with the next state: those the store did not take now, those of a merge or unmerge not stored (yet), and this action's.
    /// </summary>
    private async Task<IssueEntries> EnsureEntriesOfAsync(IssueState? state, Guid actionId, CancellationToken cancellationToken)
    {
        if (state is null || state.Entries.Count == 0)
        {
            return IssueEntries.Empty;
        }

        var missing = new List<IssueChange>();
        IReadOnlyDictionary<string, string>? merged = null;
        foreach (var entry in state.Entries)
        {
            if (entry.Fingerprint == state.Fingerprint && entry.Id == EntryId(actionId, state.ProjectId, state.Fingerprint, entry.Kind, entry.Value))
            {
                missing.Add(entry);
                continue;
            }

            try
            {
                // A merge's entries first by the merges (one read for all): those of a merge not made are kept unread.
                if (IsMergeEntry(entry) && !IssueMerging.HasHappened(entry, merged ??= await MergesAsync(state.ProjectId, cancellationToken)))
                {
                    missing.Add(entry);
                    continue;
                }

                if (await history.GetChangeAsync(state.ProjectId, entry.Fingerprint, entry.Id, cancellationToken) is not null)
                {
                    continue;
                }

                await history.AddAsync(entry, cancellationToken);
            }
            catch (Exception failure) when (ErrorHub.Dashboard.Components.Layout.StoreErrorBoundary.IsStoreFailure(failure))
            {
                // Best effort: a store that refuses the timeline now does not stop this change; the entry stays kept for the next.
                missing.Add(entry);
            }
        }

        return missing.Count == state.Entries.Count ? state.Entries : new IssueEntries(missing);
    }

    private static bool IsMergeEntry(IssueChange entry) => entry.Kind is IssueChangeKind.Merge or IssueChangeKind.Unmerge;

    /// <summary>The two issues of a merge's or unmerge's entry, in either side's timeline.</summary>
    private static (string, string) PairOf(IssueChange entry) =>
        string.CompareOrdinal(entry.Fingerprint, entry.Value) <= 0 ? (entry.Fingerprint, entry.Value) : (entry.Value, entry.Fingerprint);

    /// <summary>The project's merges, or none known (a host without them never confirms a kept merge entry).</summary>
    private async Task<IReadOnlyDictionary<string, string>?> MergesAsync(int projectId, CancellationToken cancellationToken) =>
        merges is null ? null : await merges.GetMergesAsync(projectId, cancellationToken);

    /// <summary>
    /// Adds to the timeline the entries kept with <paramref name="state"/> that it lacks (<paramref name="shown"/>: ids known to be
    /// in it), a merge's or unmerge's only when the merge stands as the entry says. True when one was added. A store that
    /// refuses the write now leaves them for the next read.
    /// </summary>
    public async Task<bool> AddMissingEntriesAsync(IssueState? state, IReadOnlySet<Guid> shown, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(shown);
        if (state is null)
        {
            return false;
        }

        var added = false;
        IReadOnlyDictionary<string, string>? merged = null;
        foreach (var entry in state.Entries.Where(entry => !shown.Contains(entry.Id)))
        {
            // A refused merge's entries stay kept until another merge of the same issues: one read of the merges, not one per entry.
            if (IsMergeEntry(entry) && !IssueMerging.HasHappened(entry, merged ??= await MergesAsync(state.ProjectId, cancellationToken))
                || await history.GetChangeAsync(state.ProjectId, entry.Fingerprint, entry.Id, cancellationToken) is not null)
            {
                continue;
            }

            await history.AddAsync(entry, cancellationToken);
            added = true;
        }

        return added;
    }

    /// <summary>The issue's stored state, or null.</summary>
    public Task<IssueState?> GetStateAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default) =>
        states.GetStateAsync(projectId, fingerprint, cancellationToken);

    /// <summary>
    /// Stores on the issue's state, its status and time unchanged, that <paramref name="actionId"/> wrote it and the
    /// <paramref name="entries"/> it is about to write (a merge's, before the merge): a retry of the action after a lost answer
    /// knows the merge its own, and entries the store loses once the merge is stored are added later from here. Answers the state.
    /// </summary>
    public async Task<IssueState> KeepEntriesAsync(int projectId, string fingerprint, Guid actionId, IReadOnlyList<IssueChange> entries, CancellationToken cancellationToken = default)
    {
        var gate = GateOf(projectId, fingerprint);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var current = await states.GetStateAsync(projectId, fingerprint, cancellationToken);
            if (current is not null && current.IsWrittenBy(actionId) && entries.All(entry => current.Entries.Find(entry.Id) == entry))
            {
                return current;
            }

            var next = current is null
                ? new IssueState(projectId, fingerprint, IssueStatus.Unresolved, DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds()))
                : current with { Entries = await WithoutEarlierMergesAsync(current, entries, cancellationToken) };
            next = next.WrittenBy(actionId).Keeping(entries);
            await states.SetStateAsync(next, cancellationToken);
            return next;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The entries kept with <paramref name="state"/> but those of an earlier merge or unmerge of the issues <paramref name="entries"/>
    /// (a merge's or unmerge's about to be made) join. Such an entry stands, or stood, for one of two things. The opposite of the
    /// one made now (an unmerge before this merge, a merge before this unmerge) stands as the store holds the issues now: it was
    /// made and only its entry was lost, so it is written to the timeline first (a user sees "Merged" before "Unmerged"). One of
    /// the same kind does not stand (the issues would not be as they are now otherwise): the store did not take it, and kept on,
    /// the merge made now would confirm it, so it is dropped. A store that refuses the write stops the merge before it is made.
    /// </summary>
    private async Task<IssueEntries> WithoutEarlierMergesAsync(IssueState state, IReadOnlyList<IssueChange> entries, CancellationToken cancellationToken)
    {
        var pairs = entries.Where(IsMergeEntry).Select(PairOf).ToHashSet();
        var ids = entries.Select(entry => entry.Id).ToHashSet();
        var kept = new List<IssueChange>(state.Entries.Count);
        IReadOnlyDictionary<string, string>? merged = null;
        foreach (var entry in state.Entries)
        {
            if (!IsMergeEntry(entry) || ids.Contains(entry.Id) || !pairs.Contains(PairOf(entry)))
            {
                kept.Add(entry);
            }
            else if (IssueMerging.HasHappened(entry, merged ??= await MergesAsync(state.ProjectId, cancellationToken))
                && await history.GetChangeAsync(state.ProjectId, entry.Fingerprint, entry.Id, cancellationToken) is null)
            {
                await history.AddAsync(entry, cancellationToken);
            }
        }

        return kept.Count == state.Entries.Count ? state.Entries : new IssueEntries(kept);
    }

    /// <summary>Stops keeping the entries <paramref name="ids"/> with the issue's state (they are in the timeline); best effort.</summary>
    public async Task ForgetEntriesAsync(int projectId, string fingerprint, IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        var gate = GateOf(projectId, fingerprint);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await states.GetStateAsync(projectId, fingerprint, cancellationToken) is { } current && current.Entries.Any(entry => ids.Contains(entry.Id)))
            {
                await states.SetStateAsync(current with { Entries = new IssueEntries(current.Entries.Where(entry => !ids.Contains(entry.Id))) }, cancellationToken);
            }
        }
        catch (Exception failure) when (ErrorHub.Dashboard.Components.Layout.StoreErrorBoundary.IsStoreFailure(failure))
        {
            // Kept entries that are in the timeline already are only read again and found there.
        }
        finally
        {
            gate.Release();
        }
    }

    private IssueChange NewEntry(int projectId, string fingerprint, IssueActor? by, IssueChangeKind kind, string text, string value, Guid actionId)
    {
        var actor = by ?? IssueActor.Unknown;

        // Milliseconds, as the stores keep them: the entry kept with the state is the one stored in the timeline.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds());
        return new IssueChange(projectId, fingerprint, EntryId(actionId, projectId, fingerprint, kind, value), at, kind, actor.Id, actor.Name) { Text = Bounded(text), Value = value };
    }

    private static string Bounded(string text) => text.Length <= IssueChange.MaxTextLength ? text : text[..IssueChange.MaxTextLength];

    private static Guid EntryId(Guid actionId, int projectId, string fingerprint, IssueChangeKind kind, string value) =>
        DerivedId("entry", actionId, projectId, [fingerprint, kind.ToString(), value]);

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

    /// <summary>
    /// Writes the timeline entry of <paramref name="actionId"/>'s change to the issue, under an id derived from the action, the
    /// issue and what changed: sent again, it is the same entry. <paramref name="maybeStored"/> (the state was already this
    /// action's): the entry is read first and answered as stored when there, so that a retry neither moves it nor writes it again.
    /// </summary>
    private async Task<IssueChange> RecordAsync(IssueState state, IssueActor? by, IssueChangeKind kind, string text, string value, Guid actionId, bool maybeStored, CancellationToken cancellationToken)
    {
        var (projectId, fingerprint) = (state.ProjectId, state.Fingerprint);
        var id = EntryId(actionId, projectId, fingerprint, kind, value);
        if (maybeStored && await history.GetChangeAsync(projectId, fingerprint, id, cancellationToken) is { } stored)
        {
            return stored;
        }

        // The entry kept with the state, when it is this one: its time is when the change was stored, not when it was made again.
        var change = state.Entries.Find(id) ?? NewEntry(projectId, fingerprint, by, kind, text, value, actionId);
        await history.AddAsync(change, cancellationToken);
        return change;
    }

    /// <summary>A stable id from an action and what it concerns (the same parts: the same id), for its entries and its mail.</summary>
    internal static Guid DerivedId(string purpose, Guid actionId, int projectId, IEnumerable<string> parts)
    {
        var text = new StringBuilder(purpose).Append('\n').Append(actionId.ToString("N")).Append('\n').Append(projectId);
        foreach (var part in parts)
        {
            // Length-prefixed: no two lists of parts read as the same text.
            text.Append('\n').Append(part.Length).Append(':').Append(part);
        }

        return new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 16));
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

    private async Task<IssueState> ChangeAsync(int projectId, string fingerprint, IssueActor? by, Func<IssueState, IssueState> change, Guid actionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        IssueState next;
        bool stored;
        var gate = GateOf(projectId, fingerprint);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var current = await states.GetStateAsync(projectId, fingerprint, cancellationToken);
            var missing = await EnsureEntriesOfAsync(current, actionId, cancellationToken);

            // This action's state is stored already when the state names it and the change would change nothing in it (the
            // same id sent with another change is that other change): the state stays as stored, its time included, so the
            // retry does not move the moment the issue was resolved.
            stored = current is not null && current.IsWrittenBy(actionId) && change(current) with { ChangedAt = current.ChangedAt } == current;
            if (stored)
            {
                next = current!;
            }
            else
            {
                // Whole seconds: the stores keep no more, and an event in the same second as the change is not "after" it.
                var now = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds());
                next = change((current ?? new IssueState(projectId, fingerprint, IssueStatus.Unresolved, now)) with { ChangedAt = now, Entries = missing }).WrittenBy(actionId);
                next = next.Keeping([NewEntry(projectId, fingerprint, by, IssueChangeKind.Status, Describe(next), StoredStatus(next.Status), actionId)]);
                await states.SetStateAsync(next, cancellationToken);
            }
        }
        finally
        {
            gate.Release();
        }

        await RecordAsync(next, by, IssueChangeKind.Status, Describe(next), StoredStatus(next.Status), actionId, stored, cancellationToken);
        return next;
    }

    private static string StoredStatus(IssueStatus status) => status switch
    {
        IssueStatus.Resolved => "resolved",
        IssueStatus.Ignored => "ignored",
        _ => "unresolved",
    };

    private async Task<IssueTriageView> EvaluateAsync(IssueState state, bool quietSince, CancellationToken cancellationToken)
    {
        if (quietSince || state.IgnoreExpiredAt(clock.GetUtcNow()) || state.Status == IssueStatus.Ignored && !state.IgnoreEndsWithActivity)
        {
            return Evaluate(state, null, clock.GetUtcNow());
        }

        // The store counts the events of issues merged into this one as its own.
        var after = state.Status == IssueStatus.Resolved
            ? new ActivityAfterChange(state.Fingerprint, await activity.GetReleasesAfterAsync(state.ProjectId, state.Fingerprint, EventFilter.All, state.ChangedAt, cancellationToken), new IssueActivity(state.Fingerprint, 0, 0))
            : new ActivityAfterChange(state.Fingerprint, [], await activity.GetIssueActivityAfterAsync(state.ProjectId, state.Fingerprint, state.ChangedAt, cancellationToken));
        return Evaluate(state, after, clock.GetUtcNow(), await ReleaseTimesIfNeededAsync(state.ProjectId, [(state, after)], cancellationToken));
    }

    /// <summary>The project's releases' first-seen times, read only when a release of another app (or not a version) is to be judged.</summary>
    private async Task<IReadOnlyDictionary<string, DateTimeOffset>?> ReleaseTimesIfNeededAsync(
        int projectId, IReadOnlyList<(IssueState State, ActivityAfterChange? After)> judged, CancellationToken cancellationToken) =>
        releases is not null && judged.Any(pair => pair.After?.Releases.Any(release => pair.State.NeedsReleaseTimes(release.Release)) == true)
            ? await releases.GetFirstSeenByReleaseAsync(projectId, cancellationToken)
            : null;

    /// <summary>
    /// A stored state judged against its issue's events since the change (null: none). Resolved: regressed by the first
    /// event after the resolution whose release reopens it (any release, or one in or after the release rule). Ignored:
    /// back when its time is up, or when it has had the events or users it was ignored for (exactly the events after the
    /// change, with those of merged issues, each user once).
    /// </summary>
    private static IssueTriageView Evaluate(IssueState state, ActivityAfterChange? after, DateTimeOffset now, IReadOnlyDictionary<string, DateTimeOffset>? releaseTimes = null)
    {
        if (state.Status == IssueStatus.Resolved)
        {
            var regression = after?.Releases.Where(release => state.IsReopenedBy(release.Release, releaseTimes)).MinBy(release => release.FirstSeen);
            return regression is null
                ? new IssueTriageView(TriageStatus.Resolved, state)
                : new IssueTriageView(TriageStatus.Regressed, state, regression.Release.Length == 0 ? null : regression.Release, regression.FirstSeen);
        }

        if (state.Status != IssueStatus.Ignored || state.IgnoreExpiredAt(now))
        {
            return new IssueTriageView(TriageStatus.Unresolved, state);
        }

        return after is not null && state.IgnoreEndedBy(after.Activity)
            ? new IssueTriageView(TriageStatus.Unresolved, state)
            : new IssueTriageView(TriageStatus.Ignored, state);
    }
}
