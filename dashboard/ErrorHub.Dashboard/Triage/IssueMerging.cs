using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// Merging issues into one and undoing it, as people do it: only issues of the project that stand on their own
/// merge, both sides' timelines say who did it, who did it and the merged issues' participants take part in the issue merged into, and they hear of it by mail. What a merge means for the reads: <see cref="IIssueMerges"/>.
/// </summary>
internal sealed class IssueMerging(IIssueMerges merges, IIssueReader issues, IIssueHistory history, IssueMergeFeed feed, TimeProvider clock, ErrorHub.Notifications.WorkflowMail? workflow = null)
{
    /// <summary>Merges <paramref name="sources"/> into <paramref name="target"/>; answers why not (and changes nothing) when it cannot.</summary>
    public async Task<string?> MergeAsync(int projectId, string target, IReadOnlyCollection<string> sources, IssueActor by, CancellationToken cancellationToken = default)
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

        var named = new List<IssueSummary>();
        foreach (var source in moving)
        {
            if (await issues.GetIssueAsync(projectId, source, cancellationToken) is not { } issue)
            {
                return "One of the issues does not exist (any more) or was merged already.";
            }

            named.Add(issue);
        }

        var now = clock.GetUtcNow();
        await merges.MergeAsync(projectId, target, moving, now, cancellationToken);
        foreach (var source in named)
        {
            await history.AddAsync(Entry(projectId, target, now, IssueChangeKind.Merge, by, $"Merged “{source.Title}” into this issue ({source.EventCount:N0} {(source.EventCount == 1 ? "event" : "events")})", source.Fingerprint), cancellationToken);
            await history.AddAsync(Entry(projectId, source.Fingerprint, now, IssueChangeKind.Merge, by, $"Merged into “{targetIssue.Title}”", target), cancellationToken);
        }

        if (workflow is not null)
        {
            // Who merged takes part in the issue the others became (a merged issue is no issue of its own), so do the merged
            // issues' participants, and all of them but who merged hear of it in the target's thread.
            await workflow.MergedAsync(projectId, target, named, by.Id, by.Name.Length > 0 ? by.Name : "Someone", Guid.NewGuid(), cancellationToken);
        }

        feed.Publish(new IssueMergeChange(projectId, target, moving));
        return null;
    }

    /// <summary>Lets a merged issue stand on its own again with all its events; false when it is not merged.</summary>
    public async Task<bool> UnmergeAsync(int projectId, string source, IssueActor by, CancellationToken cancellationToken = default)
    {
        if (!(await merges.GetMergesAsync(projectId, cancellationToken)).TryGetValue(source, out var target))
        {
            return false;
        }

        await merges.UnmergeAsync(projectId, source, cancellationToken);
        var now = clock.GetUtcNow();
        var title = (await issues.GetIssueAsync(projectId, source, cancellationToken))?.Title ?? source;
        var targetTitle = (await issues.GetIssueAsync(projectId, target, cancellationToken))?.Title ?? target;
        await history.AddAsync(Entry(projectId, target, now, IssueChangeKind.Unmerge, by, $"Unmerged “{title}”: it is an issue of its own again", source), cancellationToken);
        await history.AddAsync(Entry(projectId, source, now, IssueChangeKind.Unmerge, by, $"Unmerged from “{targetTitle}”", target), cancellationToken);
        feed.Publish(new IssueMergeChange(projectId, target, [source]));
        return true;
    }

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

    private static IssueChange Entry(int projectId, string fingerprint, DateTimeOffset at, IssueChangeKind kind, IssueActor by, string text, string value) =>
        new(projectId, fingerprint, Guid.NewGuid(), at, kind, by.Id, by.Name)
        {
            Text = text.Length > IssueChange.MaxTextLength ? text[..IssueChange.MaxTextLength] : text,
            Value = value,
        };
}

/// <summary>An issue merged into another: its fingerprint and the title of its latest event.</summary>
internal sealed record MergedIssue(string Fingerprint, string Title);
