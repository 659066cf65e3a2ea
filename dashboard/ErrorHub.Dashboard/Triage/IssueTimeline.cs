using System.Security.Cryptography;
using System.Text;
using ErrorHub.Dashboard.Components.Layout;
using ErrorHub.Notifications;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// An issue's activity as people see it: the history of its triage (written by <see cref="IssueTriage"/>) and
/// comments. Comments are plain text (shown as typed, never as markup), at most <see cref="MaxCommentLength"/>
/// characters; their author deletes them, and so may an admin. A comment is mailed to the issue's other participants
/// and to the accounts it @mentions (<see cref="WorkflowMail"/>, when the host has notifications).
/// A regression (a resolved issue's new event that reopens it) is an entry too: ingest never reads before it writes, so
/// nothing notices a regression as its event arrives; the timeline records it when it is next read, at the time of the
/// event that brought the issue back, once per resolution.
/// </summary>
internal sealed partial class IssueTimeline(IIssueHistory history, IssueTriage triage, TimeProvider clock, ILogger<IssueTimeline> logger, WorkflowMail? workflow = null)
{
    public const int MaxCommentLength = 5_000;

    public async Task<IssueChangePage> GetAsync(int projectId, string fingerprint, IssueChangeCursor? after = null, int limit = 25, CancellationToken cancellationToken = default)
    {
        var query = new IssueChangeQuery(projectId, fingerprint) { After = after, Limit = limit };
        if (after is not null)
        {
            return await history.GetChangesAsync(query, cancellationToken);
        }

        var view = await triage.EvaluateAsync(projectId, fingerprint, cancellationToken);
        await RecordRegressionAsync(projectId, fingerprint, view, cancellationToken);
        var page = await history.GetChangesAsync(query, cancellationToken);
        return await AddMissingEntryAsync(view.State, query, page, cancellationToken) ?? page;
    }

    /// <summary>
    /// The first page again, when entries kept with the issue's state (<see cref="IssueState.Entries"/>) were not in the
    /// timeline and have been added now: the store took the state and lost or refused the entries written after it, and the
    /// changes were not made again (a merge's entries only once the merge is stored). Null when nothing was missing (or the
    /// store did not take the entries now).
    /// </summary>
    private async Task<IssueChangePage?> AddMissingEntryAsync(IssueState? state, IssueChangeQuery query, IssueChangePage page, CancellationToken cancellationToken)
    {
        if (state is null || state.Entries.Count == 0)
        {
            return null;
        }

        try
        {
            if (!await triage.AddMissingEntriesAsync(state, page.Items.Select(item => item.Id).ToHashSet(), cancellationToken))
            {
                return null;
            }
        }
        catch (Exception failure) when (StoreErrorBoundary.IsStoreFailure(failure))
        {
            LogEntryNotRecorded(logger, query.Fingerprint, failure.Message);
            return null;
        }

        return await history.GetChangesAsync(query, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A change of issue {Fingerprint} is not in its activity and could not be added (the store did not take the write: {Reason}); the next read of the activity adds it.")]
    private static partial void LogEntryNotRecorded(ILogger logger, string fingerprint, string reason);

    /// <summary>Adds the entry of the issue's regression, if it has regressed since its resolution and the entry is not there yet.</summary>
    private async Task RecordRegressionAsync(int projectId, string fingerprint, IssueTriageView view, CancellationToken cancellationToken)
    {
        if (view is not { Status: TriageStatus.Regressed, State: { } resolution, RegressedAt: { } at })
        {
            return;
        }

        // One id per resolution: a page read twice, or two servers reading at once, store the entry once; the issue
        // resolved again and back again is a new entry.
        var id = RegressionEntryId(projectId, fingerprint, resolution.ChangedAt);
        if (await history.GetChangeAsync(projectId, fingerprint, id, cancellationToken) is null)
        {
            var release = view.RegressedInRelease ?? "";
            try
            {
                await history.AddAsync(new IssueChange(projectId, fingerprint, id, at, IssueChangeKind.Regression, null, "") { Text = RegressionText(release, resolution), Value = release }, cancellationToken);
            }
            catch (Exception failure) when (StoreErrorBoundary.IsStoreFailure(failure))
            {
                // Someone wants to read the activity: a store that takes reads but not this write (locked, a read-only
                // replica) shows it without the entry, which the next read adds.
                LogRegressionNotRecorded(logger, fingerprint, failure.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The regression of issue {Fingerprint} was not added to its activity (the store did not take the write: {Reason}); the next read of the activity adds it.")]
    private static partial void LogRegressionNotRecorded(ILogger logger, string fingerprint, string reason);

    /// <summary>"Regressed in shop@2.5.0: a new event after it was resolved in shop@2.4.2".</summary>
    internal static string RegressionText(string release, IssueState resolution)
    {
        var regressed = release.Length > 0 ? $"Regressed in {release}" : "Regressed";
        var resolved = (resolution.ResolvedInRelease, resolution.ResolvedAfterRelease) switch
        {
            ({ Length: > 0 } fixedIn, _) => $" in {fixedIn}",
            (_, { Length: > 0 } current) => $" for the release after {current}",
            _ => "",
        };
        return Bounded($"{regressed}: a new event after it was resolved{resolved}");
    }

    private static string Bounded(string text) => text.Length <= IssueChange.MaxTextLength ? text : text[..IssueChange.MaxTextLength];

    internal static Guid RegressionEntryId(int projectId, string fingerprint, DateTimeOffset resolvedAt)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"regression\n{projectId}\n{fingerprint}\n{resolvedAt.ToUnixTimeMilliseconds()}"));
        return new Guid(hash.AsSpan(0, 16));
    }

    /// <summary>Adds a comment, or answers why not (empty, or too long) with nothing stored.</summary>
    public Task<CommentResult> CommentAsync(int projectId, string fingerprint, IssueActor by, string? text, CancellationToken cancellationToken = default) =>
        CommentAsync(projectId, fingerprint, by, text, Guid.NewGuid(), cancellationToken);

    /// <summary>
    /// Adds the comment <paramref name="id"/>: the same id again (a retry after an answer that broke after the store took
    /// the comment) stores it once, answers it as stored (its time unmoved), and mails it once. The id of a stored comment
    /// with another text (or of another issue) stores nothing and answers <see cref="CommentResult.IdTaken"/>.
    /// </summary>
    public async Task<CommentResult> CommentAsync(int projectId, string fingerprint, IssueActor by, string? text, Guid id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(by);
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            return new CommentResult(null, "Write something first.");
        }

        if (trimmed.Length > MaxCommentLength)
        {
            return new CommentResult(null, $"A comment is at most {MaxCommentLength:N0} characters; this one has {trimmed.Length:N0}.");
        }

        var comment = await history.GetChangeAsync(projectId, id, cancellationToken);
        if (comment is not null && (comment.Kind != IssueChangeKind.Comment || comment.Fingerprint != fingerprint || comment.Text != trimmed || comment.ActorId != by.Id))
        {
            return new CommentResult(null, "This comment's id names another comment already.") { IdTaken = true };
        }

        if (comment is null)
        {
            // Milliseconds, as the stores keep it: the comment answered now is the one read back later.
            var at = DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds());
            comment = new IssueChange(projectId, fingerprint, id, at, IssueChangeKind.Comment, by.Id, by.Name) { Text = trimmed };
            await history.AddAsync(comment, cancellationToken);
        }

        if (workflow is not null)
        {
            await workflow.CommentedAsync(projectId, fingerprint, by.Id, by.Name.Length > 0 ? by.Name : "Someone", trimmed, comment.Id, cancellationToken);
        }

        return new CommentResult(comment, null);
    }

    /// <summary>Whether <paramref name="by"/> may delete <paramref name="entry"/>: comments only, one's own, or any as an admin.</summary>
    public static bool MayDelete(IssueChange entry, IssueActor by, bool isAdmin) =>
        entry.Kind == IssueChangeKind.Comment && (isAdmin || (by.Id is { } id && entry.ActorId == id));

    /// <summary>Deletes a comment of this issue if <paramref name="by"/> may; false when it is not there or not theirs to delete.</summary>
    public async Task<bool> DeleteCommentAsync(int projectId, string fingerprint, Guid id, IssueActor by, bool isAdmin, CancellationToken cancellationToken = default)
    {
        var entry = await history.GetChangeAsync(projectId, id, cancellationToken);
        if (entry is null || entry.Fingerprint != fingerprint || !MayDelete(entry, by, isAdmin))
        {
            return false;
        }

        await history.DeleteAsync(projectId, id, cancellationToken);
        return true;
    }
}

/// <summary>The stored comment, or why none was stored.</summary>
internal sealed record CommentResult(IssueChange? Comment, string? Problem)
{
    /// <summary>The id given names a stored entry that is not this comment: nothing was stored.</summary>
    public bool IdTaken { get; init; }
}
