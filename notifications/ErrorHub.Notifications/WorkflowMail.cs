using ErrorHub.Notifications.Content;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>
/// Mail about what people do to an issue, to the one it concerns: its assignee hears that an issue was assigned to
/// them, and what others comment on an issue assigned to them. Recorded in the outbox at once, as pending, and sent by
/// the worker's next round with its retries; never the person who did it, never an account that cannot read the
/// project, and not for an assignee who turned "Issues assigned to me" off for the project. Outside the hourly cap: it
/// goes to one person, about something another person did.
/// </summary>
public sealed class WorkflowMail
{
    /// <summary>The trigger's key in the outbox and the history.</summary>
    internal const string TriggerKey = "assignment";

    private const int MaxCommentChars = 2_000;
    private const int MaxCommentLines = 40;

    private readonly IIssueReader _issues;
    private readonly IIssueActivity _activity;
    private readonly IIssueStates _states;
    private readonly IProjectStore _projects;
    private readonly IAccessStore _access;
    private readonly AlertSettingsStore _settings;
    private readonly MailThreading _threading;
    private readonly ServerUrls _urls;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WorkflowMail> _logger;

    internal WorkflowMail(IIssueReader issues, IIssueActivity activity, IIssueStates states, IProjectStore projects, IAccessStore access, AlertSettingsStore settings, MailThreading threading, ServerUrls urls, IOptions<NotificationOptions> options, TimeProvider time, ILogger<WorkflowMail> logger)
    {
        _issues = issues;
        _activity = activity;
        _threading = threading;
        _states = states;
        _projects = projects;
        _access = access;
        _settings = settings;
        _urls = urls;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// <paramref name="assignee"/> was given the issue by <paramref name="actorName"/> (<paramref name="actorId"/>: null
    /// for an API token without an account). <paramref name="changeId"/> is the timeline entry: one mail per assignment.
    /// Never throws: the assignment is made whatever happens to its mail.
    /// </summary>
    public Task AssignedAsync(int projectId, string fingerprint, Guid assignee, Guid? actorId, string actorName, Guid changeId, CancellationToken cancellationToken = default) =>
        RecordAsync(projectId, fingerprint, assignee, actorId, $"assigned:{changeId:N}", (issue, what) =>
        {
            return new MailWriter()
                .Heading($"{Bounded.Text(actorName, 80)} assigned you an issue")
                .Paragraph(what);
        }, cancellationToken);

    /// <summary>The most issues a summary of a bulk assignment names; the rest are counted.</summary>
    public const int SummaryIssues = 10;

    /// <summary>
    /// <paramref name="assignee"/> was given <paramref name="total"/> issues at once (a bulk assign on the issue list) by
    /// <paramref name="actorName"/>: one mail that names the first of them (<paramref name="fingerprints"/>, at most
    /// <see cref="SummaryIssues"/>, each linked) and counts the rest, instead of one mail per issue, so a bulk assign of
    /// hundreds of issues does not flood one inbox. <paramref name="batchId"/>: one mail per bulk assignment. Same
    /// recipients as <see cref="AssignedAsync"/>. Never throws.
    /// </summary>
    public async Task AssignedManyAsync(int projectId, IReadOnlyList<string> fingerprints, int total, Guid assignee, Guid? actorId, string actorName, Guid batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        if (!_options.CanSend || assignee == actorId || total <= 0)
        {
            return;
        }

        try
        {
            var project = await _projects.GetProjectAsync(projectId, cancellationToken);
            var recipient = await _access.GetUserAsync(assignee, cancellationToken);
            if (project is null || recipient is null || recipient.IsDisabled || !await MayHearAsync(projectId, recipient, cancellationToken))
            {
                return;
            }

            var named = new List<(string Text, Uri? Link)>();
            foreach (var fingerprint in fingerprints.Take(SummaryIssues))
            {
                if (await _issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is { } issue)
                {
                    named.Add((Bounded.Text(issue.Title, 120), IssueLink(projectId, fingerprint)));
                }
            }

            var count = total == 1 ? "an issue" : $"{MailWriter.Number(total)} issues";
            var mail = new MailWriter()
                .Heading($"{Bounded.Text(actorName, 80)} assigned you {count}")
                .List(total > named.Count ? $"The first {named.Count} of them" : "The issues", named);
            var content = mail
                .Link("Open the project's issues", _urls.Link(FormattableString.Invariant($"projects/{projectId}/issues")))
                .Footer($"Your alert settings of {Bounded.Text(project.Name, 60)}, \"Issues assigned to me\" among them", _urls.Link(FormattableString.Invariant($"projects/{projectId}/alerts")))
                .Build($"[{Bounded.Text(project.Name, 60)}] {Bounded.Text(actorName, 60)} assigned you {count}");
            await AddAsync(projectId, null, recipient, $"assigned-many:{batchId:N}", content, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    /// <summary>
    /// <paramref name="actorName"/> commented on the issue: its assignee hears it, unless they wrote it. Never throws.
    /// </summary>
    public async Task CommentedAsync(int projectId, string fingerprint, Guid? actorId, string actorName, string text, Guid commentId, CancellationToken cancellationToken = default)
    {
        IssueState? state;
        try
        {
            state = await _states.GetStateAsync(projectId, fingerprint, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
            return;
        }

        if (state?.AssigneeId is not { } assignee)
        {
            return;
        }

        await RecordAsync(projectId, fingerprint, assignee, actorId, $"comment:{commentId:N}", (issue, what) =>
        {
            return new MailWriter()
                .Heading($"{Bounded.Text(actorName, 80)} commented on an issue assigned to you")
                .Paragraph(what)
                .Code("Comment", Lines(text));
        }, cancellationToken);
    }

    private async Task RecordAsync(int projectId, string fingerprint, Guid recipientId, Guid? actorId, string key, Func<IssueSummary, string, MailWriter> compose, CancellationToken cancellationToken)
    {
        if (!_options.CanSend || recipientId == actorId)
        {
            return;
        }

        try
        {
            var project = await _projects.GetProjectAsync(projectId, cancellationToken);
            var recipient = await _access.GetUserAsync(recipientId, cancellationToken);
            var issue = await _issues.GetIssueAsync(projectId, fingerprint, cancellationToken);
            if (project is null || recipient is null || recipient.IsDisabled || issue is null || !await MayHearAsync(projectId, recipient, cancellationToken))
            {
                return;
            }

            var first = await _activity.GetFirstEventAsync(projectId, fingerprint, EventFilter.All, cancellationToken);
            var content = compose(issue, Bounded.Text(issue.Title, 120))
                .Facts(
                    ("Where", issue.Culprit),
                    ("Events", MailWriter.Number(issue.EventCount)),
                    ("Users", MailWriter.Number(issue.UserCount)),
                    ("First seen", MailWriter.Time(issue.FirstSeen)),
                    ("Last seen", MailWriter.Time(issue.LastSeen)))
                .Link("Open the issue", IssueLink(projectId, fingerprint))
                .Footer($"Your alert settings of {Bounded.Text(project.Name, 60)}, \"Issues assigned to me\" among them", _urls.Link(FormattableString.Invariant($"projects/{projectId}/alerts")))
                .Build(IssueMails.Subject(project.Name, issue, first));
            await AddAsync(projectId, fingerprint, recipient, key, content, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    private Uri IssueLink(int projectId, string fingerprint) => _urls.Link($"projects/{projectId}/issues/{Uri.EscapeDataString(fingerprint)}");

    /// <summary>Whether <paramref name="recipient"/> may read the project and wants assignment mail for it.</summary>
    private async Task<bool> MayHearAsync(int projectId, UserAccount recipient, CancellationToken cancellationToken)
    {
        var mayRead = recipient.Role == UserRole.Admin || (await _access.GetMembersAsync(projectId, cancellationToken)).Contains(recipient.Id);
        return mayRead && (await _settings.GetAsync(projectId, cancellationToken)).Wants(recipient.Id, AlertTrigger.Assignment);
    }

    /// <summary>Records the mail: about an issue (<paramref name="fingerprint"/>), in the issue's thread; else (a bulk assignment's summary) in none.</summary>
    private async Task AddAsync(int projectId, string? fingerprint, UserAccount recipient, string key, MailContent content, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var recorded = await _threading.RecordAsync(
            new Notification(Guid.NewGuid(), projectId, key, key, TriggerKey, now)
            {
                Fingerprint = fingerprint,
                Recipients = [recipient.Email],
                TextBody = content.Text,
                HtmlBody = content.Html,
                NextAttemptAt = now,
            },
            content.Subject,
            cancellationToken);
        if (recorded)
        {
            NotificationLog.Recorded(_logger, projectId, TriggerKey, key);
        }
    }

    private static IEnumerable<string> Lines(string text)
    {
        var bounded = text.Length > MaxCommentChars ? text[..(MaxCommentChars - 1)] + "…" : text;
        return bounded.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Take(MaxCommentLines);
    }
}
