using ErrorHub.Notifications;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Triage;

/// <summary>
/// An issue's activity as people see it: the history of its triage (written by <see cref="IssueTriage"/>) and
/// comments. Comments are plain text (shown as typed, never as markup), at most <see cref="MaxCommentLength"/>
/// characters; their author deletes them, and so may an admin. A comment is mailed to the issue's other participants
/// and to the accounts it @mentions (<see cref="WorkflowMail"/>, when the host has notifications).
/// </summary>
internal sealed class IssueTimeline(IIssueHistory history, TimeProvider clock, WorkflowMail? workflow = null)
{
    public const int MaxCommentLength = 5_000;

    public Task<IssueChangePage> GetAsync(int projectId, string fingerprint, IssueChangeCursor? after = null, int limit = 25, CancellationToken cancellationToken = default) =>
        history.GetChangesAsync(new IssueChangeQuery(projectId, fingerprint) { After = after, Limit = limit }, cancellationToken);

    /// <summary>Adds a comment, or answers why not (empty, or too long) with nothing stored.</summary>
    public async Task<CommentResult> CommentAsync(int projectId, string fingerprint, IssueActor by, string? text, CancellationToken cancellationToken = default)
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

        var comment = new IssueChange(projectId, fingerprint, Guid.NewGuid(), clock.GetUtcNow(), IssueChangeKind.Comment, by.Id, by.Name) { Text = trimmed };
        await history.AddAsync(comment, cancellationToken);
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
internal sealed record CommentResult(IssueChange? Comment, string? Problem);
