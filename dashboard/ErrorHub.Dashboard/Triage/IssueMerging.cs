using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// Merging issues into one and undoing it, as people do it: only issues of the project that stand on their own
/// merge, both sides' timelines say who did it, who did it and the merged issues' participants take part in the issue merged into, and they hear of it by mail. What a merge means for the reads: <see cref="IIssueMerges"/>.
/// </summary>
internal sealed class IssueMerging(IIssueMerges merges, IIssueReader issues, IIssueHistory history, IssueTriage triage, IssueMergeFeed feed, TimeProvider clock, ErrorHub.Notifications.WorkflowMail? workflow = null)
{
    /// <summary>
    /// Merges <paramref name="sources"/> into <paramref name="target"/>; answers why not (and changes nothing) when it cannot.
    /// <paramref name="actionId"/>, kept by the caller until the merge is answered, makes it safe to send again after a lost
    /// answer: before the merge, the target's state is stored as written by the action, with the timeline entries the merge is
    /// about to write (ids derived from the action); the entries are written once the merge is stored. A source found merged
    /// into the target whose state this action wrote was merged by this action, and the merge made again answers as the first
    /// would have, with each entry and mail once. A merge the store did not take is in no timeline; one it took whose entries
    /// it lost has them added from the target's state (<see cref="IssueTriage.AddMissingEntriesAsync"/>). Without an action
    /// id, each call is a merge of its own (a source merged already is refused).
    /// </summary>
    public async Task<string?> MergeAsync(int projectId, string target, IReadOnlyCollection<string> sources, IssueActor by, Guid? actionId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var moving = sources.Where(source => source != target).Distinct(StringComparer.Ordinal).ToList();
        if (moving.Count == 0)
        {
            return "Choose at least one other issue to merge.";
        }

        if (moving.Count > IIssueMerges.MaxSources)
        {
            return $"At most {IIssueMerges.MaxSources} issues merge at once.";
        }

        var targetIssue = await issues.GetIssueAsync(projectId, target, cancellationToken);
        if (targetIssue is null)
        {
            return "The issue to merge into does not exist (any more).";
        }

        var action = actionId ?? Guid.NewGuid();
        var current = actionId is null ? null : await merges.GetMergesAsync(projectId, cancellationToken);
        IssueState? targetState = null;
        var named = new List<IssueSummary>();
        var mergedBefore = new List<IssueSummary>();
        foreach (var source in moving)
        {
            if (await issues.GetIssueAsync(projectId, source, cancellationToken) is { } issue)
            {
                named.Add(issue);
            }
            else if (current is not null && current.GetValueOrDefault(source) == target
                && (targetState ??= await triage.GetStateAsync(projectId, target, cancellationToken))?.IsWrittenBy(action) == true)
            {
                // This action merged it and its answer was lost: made again, it is merged, entered and mailed once.
                var latest = await issues.GetEventsAsync(projectId, source, 1, cancellationToken);
                var title = latest is [var e, ..] ? e.Title : source;
                mergedBefore.Add(new IssueSummary(projectId, source, title, "", "", 0, 0, targetIssue.FirstSeen, targetIssue.LastSeen));
            }
            else
            {
                return "One of the issues does not exist (any more) or was merged already.";
            }
        }

        var now = clock.GetUtcNow();
        var entries = named.SelectMany(source => new[]
        {
            Entry(projectId, target, MergeEntryId(action, projectId, target, source.Fingerprint), now, IssueChangeKind.Merge, by, $"Merged “{source.Title}” into this issue ({source.EventCount:N0} {(source.EventCount == 1 ? "event" : "events")})", source.Fingerprint),
            Entry(projectId, source.Fingerprint, MergedEntryId(action, projectId, source.Fingerprint, target), now, IssueChangeKind.Merge, by, $"Merged into “{targetIssue.Title}”", target),
        }).ToList();

        // The entries of the sources this action merged before, as kept with the target's state when the merge was made
        // (those no longer kept were written then).
        entries.InsertRange(0, mergedBefore
            .SelectMany(source => new[] { MergeEntryId(action, projectId, target, source.Fingerprint), MergedEntryId(action, projectId, source.Fingerprint, target) })
            .Select(id => targetState?.Entries.Find(id))
            .OfType<IssueChange>());

        if (named.Count > 0)
        {
            // Pending: kept with the target's state (all of them, which a retry reads) and each merged issue's (its own), entered
            // in the timelines once the merge is stored; lost then, each issue's activity adds its own when it is read, whichever
            // is read first.
            await triage.KeepEntriesAsync(projectId, target, action, entries, cancellationToken);
            foreach (var source in named)
            {
                await triage.KeepEntriesAsync(projectId, source.Fingerprint, action, [.. entries.Where(entry => entry.Fingerprint == source.Fingerprint)], cancellationToken);
            }

            await merges.MergeAsync(projectId, target, [.. named.Select(issue => issue.Fingerprint)], now, cancellationToken);
        }

        await AddEntriesAsync(projectId, entries, cancellationToken);
        if (workflow is not null)
        {
            // Who merged takes part in the issue the others became (a merged issue is no issue of its own), so do the merged
            // issues' participants, and all of them but who merged hear of it in the target's thread, once per merge.
            await workflow.MergedAsync(projectId, target, [.. named, .. mergedBefore], by.Id, by.Name.Length > 0 ? by.Name : "Someone", DerivedId("merge-mail", action, projectId, [target, .. moving.Order(StringComparer.Ordinal)]), cancellationToken);
        }

        feed.Publish(new IssueMergeChange(projectId, target, moving));
        return null;
    }

    /// <summary>
    /// Lets a merged issue stand on its own again with all its events; false when it is not merged. With
    /// <paramref name="actionId"/> (kept by the caller until answered), made again after a lost answer it answers true, with
    /// each entry once: before the unmerge, the merged issue's state is stored as written by the action, with the entries the
    /// unmerge is about to write, which are written once the unmerge is stored. An unmerge the store did not take is in no
    /// timeline.
    /// </summary>
    public async Task<bool> UnmergeAsync(int projectId, string source, IssueActor by, Guid? actionId = null, CancellationToken cancellationToken = default)
    {
        var action = actionId ?? Guid.NewGuid();
        var sourceEntryId = DerivedId("unmerged-entry", action, projectId, [source]);
        if (!(await merges.GetMergesAsync(projectId, cancellationToken)).TryGetValue(source, out var target))
        {
            if (actionId is null || await triage.GetStateAsync(projectId, source, cancellationToken) is not { } state || !state.IsWrittenBy(action))
            {
                return false;
            }

            // This action unmerged it and its answer was lost: its entries still kept with the state are written now.
            if (state.Entries.Find(sourceEntryId) is { } kept)
            {
                await AddEntriesAsync(projectId, [.. new[] { state.Entries.Find(UnmergeEntryId(action, projectId, source, kept.Value)), kept }.OfType<IssueChange>()], cancellationToken);
            }

            return true;
        }

        var now = clock.GetUtcNow();
        var latest = await issues.GetEventsAsync(projectId, source, 1, cancellationToken);
        var title = latest is [var e, ..] ? e.Title : source;
        var targetTitle = (await issues.GetIssueAsync(projectId, target, cancellationToken))?.Title ?? target;
        List<IssueChange> entries =
        [
            Entry(projectId, target, UnmergeEntryId(action, projectId, source, target), now, IssueChangeKind.Unmerge, by, $"Unmerged “{title}”: it is an issue of its own again", source),
            Entry(projectId, source, sourceEntryId, now, IssueChangeKind.Unmerge, by, $"Unmerged from “{targetTitle}”", target),
        ];

        // Pending, as a merge's: kept with the merged issue's state (both, which a retry reads) and the target's (its own),
        // entered in the timelines once the unmerge is stored. Keeping them writes first the entries of the merge undone now if
        // they were lost: it stands until now, and a timeline that says "Unmerged" says "Merged" before.
        await triage.KeepEntriesAsync(projectId, source, action, entries, cancellationToken);
        await triage.KeepEntriesAsync(projectId, target, action, [entries[0]], cancellationToken);
        await merges.UnmergeAsync(projectId, source, cancellationToken);
        await AddEntriesAsync(projectId, entries, cancellationToken);
        feed.Publish(new IssueMergeChange(projectId, target, [source]));
        return true;
    }

    /// <summary>
    /// Writes the entries of a merge or unmerge the store took (an entry stored already is not added twice), then stops keeping
    /// them with the states of the issues they are of (the one merged into keeps the other side's too).
    /// </summary>
    private async Task AddEntriesAsync(int projectId, List<IssueChange> entries, CancellationToken cancellationToken)
    {
        foreach (var entry in entries)
        {
            await history.AddAsync(entry, cancellationToken);
        }

        HashSet<Guid> ids = [.. entries.Select(entry => entry.Id)];
        foreach (var keeper in entries.Select(entry => entry.Fingerprint).Distinct(StringComparer.Ordinal))
        {
            await triage.ForgetEntriesAsync(projectId, keeper, ids, cancellationToken);
        }
    }

    /// <summary>
    /// Whether the merge or unmerge <paramref name="entry"/> tells of stands in <paramref name="merged"/> (the project's merges;
    /// null: not known): a kept entry of one is added to a timeline only then, so that no timeline tells of a merge the store did
    /// not take.
    /// </summary>
    internal static bool HasHappened(IssueChange entry, IReadOnlyDictionary<string, string>? merged)
    {
        if (merged is null)
        {
            return false;
        }

        // Either side: the issue merged into (its entry's value is the merged issue) or the merged issue (its value is the target).
        var joined = merged.GetValueOrDefault(entry.Value) == entry.Fingerprint || merged.GetValueOrDefault(entry.Fingerprint) == entry.Value;
        return entry.Kind == IssueChangeKind.Merge ? joined : !joined;
    }

    private static Guid MergeEntryId(Guid action, int projectId, string target, string source) => DerivedId("merge-entry", action, projectId, [target, source]);

    private static Guid MergedEntryId(Guid action, int projectId, string source, string target) => DerivedId("merged-entry", action, projectId, [source, target]);

    private static Guid UnmergeEntryId(Guid action, int projectId, string source, string target) => DerivedId("unmerge-entry", action, projectId, [source, target]);

    private static Guid DerivedId(string purpose, Guid action, int projectId, IEnumerable<string> parts) => IssueTriage.DerivedId(purpose, action, projectId, parts);

    /// <summary>The issues merged into <paramref name="target"/>, each with the title of its latest event.</summary>
    public async Task<IReadOnlyList<MergedIssue>> GetMergedIntoAsync(int projectId, string target, CancellationToken cancellationToken = default)
    {
        var merged = new List<MergedIssue>();
        foreach (var (source, _) in (await merges.GetMergesAsync(projectId, cancellationToken)).Where(pair => pair.Value == target).OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var latest = await issues.GetEventsAsync(projectId, source, 1, cancellationToken);
            merged.Add(new MergedIssue(source, latest is [var e, ..] ? e.Title : source));
        }

        return merged;
    }

    /// <summary>The issue <paramref name="fingerprint"/> was merged into, or null.</summary>
    public async Task<string?> TargetOfAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default) =>
        (await merges.GetMergesAsync(projectId, cancellationToken)).GetValueOrDefault(fingerprint);

    private static IssueChange Entry(int projectId, string fingerprint, Guid id, DateTimeOffset at, IssueChangeKind kind, IssueActor by, string text, string value) =>
        new(projectId, fingerprint, id, at, kind, by.Id, by.Name)
        {
            Text = text.Length > IssueChange.MaxTextLength ? text[..IssueChange.MaxTextLength] : text,
            Value = value,
        };
}

/// <summary>An issue merged into another: its fingerprint and the title of its latest event.</summary>
internal sealed record MergedIssue(string Fingerprint, string Title);
