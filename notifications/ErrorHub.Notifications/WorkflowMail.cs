using System.Text.RegularExpressions;
using ErrorHub.Notifications.Content;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>
/// Mail about what people do to an issue, to its participants (Sentry's workflow notifications): its assignee, those
/// who commented on it, changed its status or were @mentioned in a comment on it, and those who subscribed by hand
/// (<see cref="IssueSubscription"/>); an unsubscribe by hand wins over all of these for that issue. They hear of
/// comments, assignments, resolutions, ignores, reopenings, merges and regressions, each in the issue's mail thread, with a
/// footer that says why and a link that unsubscribes them from the issue. Recorded in the outbox at once, as pending,
/// and sent by the worker's next round with its retries; never to the person who did it, never to an account that
/// cannot read the project, and not to a member who turned the project's workflow switch
/// (<see cref="AlertTrigger.Assignment"/>) off. A bulk change mails each person once: about the issue, when they follow
/// only one of those changed, else a summary. Outside the hourly cap: it goes to people about what other people did.
/// </summary>
public sealed partial class WorkflowMail
{
    /// <summary>The trigger's key in the outbox and the history.</summary>
    internal const string TriggerKey = "assignment";

    /// <summary>The most issues a summary of a bulk change names; the rest are counted.</summary>
    public const int SummaryIssues = 10;

    private const int MaxCommentChars = 2_000;
    private const int MaxCommentLines = 40;
    private const int MaxMentions = 20;

    private readonly IIssueReader _issues;
    private readonly IIssueActivity _activity;
    private readonly IIssueStates _states;
    private readonly IProjectStore _projects;
    private readonly IAccessStore _access;
    private readonly INotificationStore _outbox;
    private readonly AlertSettingsStore _settings;
    private readonly MailThreading _threading;
    private readonly UnsubscribeLinks _unsubscribe;
    private readonly ServerUrls _urls;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<WorkflowMail> _logger;

    internal WorkflowMail(IIssueReader issues, IIssueActivity activity, IIssueStates states, IProjectStore projects, IAccessStore access, INotificationStore outbox, AlertSettingsStore settings, MailThreading threading, UnsubscribeLinks unsubscribe, ServerUrls urls, IOptions<NotificationOptions> options, TimeProvider time, ILogger<WorkflowMail> logger)
    {
        _issues = issues;
        _activity = activity;
        _states = states;
        _projects = projects;
        _access = access;
        _outbox = outbox;
        _settings = settings;
        _threading = threading;
        _unsubscribe = unsubscribe;
        _urls = urls;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Whether <paramref name="userId"/> hears about the issue and why: their subscription (subscribed or unsubscribed),
    /// else, as its assignee, an implied one; null when they do not.
    /// </summary>
    public async Task<IssueSubscription?> GetSubscriptionAsync(int projectId, string fingerprint, Guid userId, CancellationToken cancellationToken = default)
    {
        if ((await _outbox.GetSubscriptionsAsync(projectId, [fingerprint], cancellationToken)).FirstOrDefault(s => s.UserId == userId) is { } own)
        {
            return own;
        }

        var state = await _states.GetStateAsync(projectId, fingerprint, cancellationToken);
        return state?.AssigneeId == userId ? new IssueSubscription(projectId, fingerprint, userId, true, SubscriptionReason.Assigned, state.ChangedAt) : null;
    }

    /// <summary>Subscribes or unsubscribes <paramref name="userId"/> by hand: this wins over any participation, earlier or later.</summary>
    public Task SetSubscribedAsync(int projectId, string fingerprint, Guid userId, bool subscribed, CancellationToken cancellationToken = default) =>
        _outbox.SetSubscriptionAsync(new IssueSubscription(projectId, fingerprint, userId, subscribed, SubscriptionReason.Manual, _time.GetUtcNow()), cancellationToken);

    /// <summary>What the issue page says about a subscription ("You're subscribed because you commented on this issue.").</summary>
    public static string Describe(IssueSubscription? subscription) => subscription switch
    {
        null => "You're not subscribed to this issue.",
        { IsSubscribed: false } => "You're not subscribed to this issue: you unsubscribed.",
        { Reason: SubscriptionReason.Manual } => "You're subscribed to this issue.",
        { Reason: var reason } => $"You're subscribed because {Because(reason)}.",
    };

    private static string Because(SubscriptionReason reason) => reason switch
    {
        SubscriptionReason.Commented => "you commented on this issue",
        SubscriptionReason.Assigned => "you were assigned this issue",
        SubscriptionReason.StatusChanged => "you changed this issue's status",
        SubscriptionReason.Mentioned => "you were mentioned in a comment on this issue",
        _ => "you subscribed to this issue",
    };

    /// <summary>
    /// <paramref name="assignee"/> was given the issue by <paramref name="actorName"/> (<paramref name="actorId"/>: null
    /// for an API token without an account): the assignee hears "assigned you", the other participants "assigned this to".
    /// <paramref name="changeId"/> is the timeline entry: one mail per person per assignment. Never throws: the
    /// assignment is made whatever happens to its mail.
    /// </summary>
    public Task AssignedAsync(int projectId, string fingerprint, Guid assignee, Guid? actorId, string actorName, Guid changeId, CancellationToken cancellationToken = default) =>
        AssignedManyAsync(projectId, [fingerprint], assignee, actorId, actorName, changeId, cancellationToken);

    /// <summary>
    /// <paramref name="assignee"/> was given the <paramref name="fingerprints"/> at once (a bulk assign on the issue list)
    /// by <paramref name="actorName"/>: each person (the assignee, the issues' participants) gets one mail, a summary when
    /// more than one of the issues concerns them, which names the first <see cref="SummaryIssues"/> and counts the rest,
    /// so a bulk assign of hundreds of issues does not flood an inbox. <paramref name="batchId"/>: one mail per person per
    /// bulk assignment. Never throws.
    /// </summary>
    public async Task AssignedManyAsync(int projectId, IReadOnlyList<string> fingerprints, Guid assignee, Guid? actorId, string actorName, Guid batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        try
        {
            await AddParticipantsAsync(projectId, fingerprints, assignee, SubscriptionReason.Assigned, cancellationToken);
            var assigneeName = Bounded.Text((await _access.GetUserAsync(assignee, cancellationToken))?.Name is { Length: > 0 } name ? name : "someone", 80);
            var actor = Bounded.Text(actorName, 80);
            await NotifyAsync(
                projectId,
                fingerprints,
                actorId,
                $"assigned:{batchId:N}",
                (recipient, issue) => new MailWriter()
                    .Heading(recipient == assignee ? $"{actor} assigned you an issue" : $"{actor} assigned an issue to {assigneeName}")
                    .Paragraph(Bounded.Text(issue.Title, 120)),
                (recipient, count) => recipient == assignee ? $"{actor} assigned you {count}" : $"{actor} assigned {count} you follow to {assigneeName}",
                cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    /// <summary>
    /// <paramref name="actorName"/> commented on the issue: the writer becomes a participant, so do the accounts the
    /// comment @mentions (<see cref="FindMentions"/>) that may read the project, and every other participant hears it.
    /// Never throws.
    /// </summary>
    public async Task CommentedAsync(int projectId, string fingerprint, Guid? actorId, string actorName, string text, Guid commentId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            await AddParticipantsAsync(projectId, [fingerprint], actorId, SubscriptionReason.Commented, cancellationToken);
            var readers = await ReadersAsync(projectId, cancellationToken);
            var mentioned = FindMentions(text, readers).Where(user => user.Id != actorId).ToList();
            var now = _time.GetUtcNow();
            await _outbox.AddParticipantsAsync([.. mentioned.Select(user => new IssueSubscription(projectId, fingerprint, user.Id, true, SubscriptionReason.Mentioned, now))], cancellationToken);
            var mentionedIds = mentioned.Select(user => user.Id).ToHashSet();
            var actor = Bounded.Text(actorName, 80);
            await NotifyAsync(
                projectId,
                [fingerprint],
                actorId,
                $"comment:{commentId:N}",
                (recipient, issue) => new MailWriter()
                    .Heading(mentionedIds.Contains(recipient) ? $"{actor} mentioned you in a comment" : $"{actor} commented on an issue")
                    .Paragraph(Bounded.Text(issue.Title, 120))
                    .Code("Comment", Lines(text)),
                (_, count) => $"{actor} commented on {count}",
                cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    /// <summary>
    /// <paramref name="actorName"/> resolved, ignored or reopened the <paramref name="fingerprints"/> (one issue, or a bulk
    /// change of the issue list), as <paramref name="description"/> says ("Resolved in 2.5.0"): the actor becomes a
    /// participant of each, and every other participant gets one mail per change (<paramref name="batchId"/>), a summary
    /// when more than one of the issues concerns them. Never throws.
    /// </summary>
    public async Task StatusChangedAsync(int projectId, IReadOnlyList<string> fingerprints, IssueStatus status, string description, Guid? actorId, string actorName, Guid batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        ArgumentNullException.ThrowIfNull(description);
        try
        {
            await AddParticipantsAsync(projectId, fingerprints, actorId, SubscriptionReason.StatusChanged, cancellationToken);
            var verb = status switch
            {
                IssueStatus.Resolved => "resolved",
                IssueStatus.Ignored => "ignored",
                _ => "reopened",
            };
            var actor = Bounded.Text(actorName, 80);
            await NotifyAsync(
                projectId,
                fingerprints,
                actorId,
                $"status:{batchId:N}",
                (_, issue) => new MailWriter()
                    .Heading($"{actor} {verb} an issue")
                    .Paragraph(Bounded.Text(issue.Title, 120))
                    .Paragraph(Bounded.Text(description, 200)),
                (_, count) => $"{actor} {verb} {count} you follow",
                cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    /// <summary>
    /// A resolved issue was seen again (<paramref name="what"/> says when and in which release): its participants hear it
    /// whether or not a regression rule mails them, once per regression (<paramref name="resolvedAt"/> names it). Those in
    /// <paramref name="alreadyTold"/> (recipients of the rule's mail about it) are left out. Throws only when the store is
    /// not answering (<see cref="StoreNotAnswering"/>): the notification round then ends rather than waiting out the same
    /// timeout for each regressed issue; it is asked again next round (its key keeps it single).
    /// </summary>
    internal async Task RegressedAsync(int projectId, string fingerprint, DateTimeOffset resolvedAt, string what, IReadOnlySet<string> alreadyTold, CancellationToken cancellationToken = default)
    {
        try
        {
            await NotifyAsync(
                projectId,
                [fingerprint],
                null,
                FormattableString.Invariant($"regressed:{fingerprint}:{resolvedAt.ToUnixTimeSeconds()}"),
                (_, issue) => new MailWriter()
                    .Heading("A resolved issue happened again")
                    .Paragraph(Bounded.Text(issue.Title, 120))
                    .Paragraph(what),
                (_, count) => $"{count} happened again",
                cancellationToken,
                alreadyTold);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !StoreNotAnswering.Is(ex))
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    /// <summary>
    /// <paramref name="actorName"/> merged the <paramref name="merged"/> issues (their summaries as they were before the
    /// merge) into <paramref name="target"/>: the participants of the merged issues become participants of the target
    /// (the first reason stays, a choice made by hand on the target wins), and every participant of any of them gets one
    /// mail in the target's thread that names the merged issues (the first <see cref="SummaryIssues"/>, the rest counted).
    /// An unsubscribe from the target wins; who unsubscribed from a merged issue does not hear of it through that issue.
    /// <paramref name="mergeId"/>: one mail per person per merge. Never throws: the merge is made whatever happens to its mail.
    /// </summary>
    public async Task MergedAsync(int projectId, string target, IReadOnlyList<IssueSummary> merged, Guid? actorId, string actorName, Guid mergeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(merged);
        try
        {
            if (merged.Count == 0)
            {
                return;
            }

            // Read before anything is carried over, so each reason says where it came from: the target, or a merged issue.
            var followers = await FollowersAsync(projectId, [target, .. merged.Select(issue => issue.Fingerprint)], cancellationToken);
            var leftTarget = (await _outbox.GetSubscriptionsAsync(projectId, [target], cancellationToken)).Where(s => !s.IsSubscribed).Select(s => s.UserId).ToHashSet();
            var now = _time.GetUtcNow();
            var carried = followers
                .Where(pair => !leftTarget.Contains(pair.Key) && pair.Value.All(issue => issue.Fingerprint != target))
                .Select(pair => new IssueSubscription(projectId, target, pair.Key, true, pair.Value[0].Reason, now))
                .ToList();
            await _outbox.AddParticipantsAsync(carried, cancellationToken);
            await AddParticipantsAsync(projectId, [target], actorId, SubscriptionReason.StatusChanged, cancellationToken);

            if (!_options.CanSend || await _projects.GetProjectAsync(projectId, cancellationToken) is not { } project
                || await _issues.GetIssueAsync(projectId, target, cancellationToken) is not { } issue)
            {
                return;
            }

            var actor = Bounded.Text(actorName, 80);
            var count = merged.Count == 1 ? "an issue" : $"{MailWriter.Number(merged.Count)} issues";
            var named = merged.Take(SummaryIssues).Select(m => (Bounded.Text(m.Title, 120), (Uri?)null)).ToList();
            var first = await _activity.GetFirstEventAsync(projectId, target, EventFilter.All, cancellationToken);
            var readers = (await ReadersAsync(projectId, cancellationToken)).ToDictionary(user => user.Id);
            var settings = await _settings.GetAsync(projectId, cancellationToken);
            foreach (var (userId, issues) in followers)
            {
                if (userId == actorId || leftTarget.Contains(userId) || !readers.TryGetValue(userId, out var recipient) || !settings.Wants(userId, AlertTrigger.Assignment))
                {
                    continue;
                }

                var because = issues.FirstOrDefault(i => i.Fingerprint == target) is { Fingerprint: not null } own
                    ? Because(own.Reason)
                    : "you take part in an issue merged into this one";
                var content = IssueMail(
                    project,
                    issue,
                    first,
                    userId,
                    because,
                    new MailWriter()
                        .Heading($"{actor} merged {count} into {Bounded.Text(issue.Title, 120)}")
                        .List(merged.Count > named.Count ? $"The first {named.Count} of the {MailWriter.Number(merged.Count)} merged issues" : "Merged into this issue", named));
                await AddAsync(projectId, target, recipient, $"merged:{mergeId:N}:{userId:N}", content, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            NotificationLog.WorkflowFailed(_logger, projectId, ex);
        }
    }

    /// <summary>Of the project's <paramref name="resolved"/> issues, those that have a subscribed participant or an assignee.</summary>
    internal async Task<IReadOnlySet<string>> FollowedAsync(int projectId, IReadOnlyList<IssueState> resolved, CancellationToken cancellationToken)
    {
        var subscriptions = await _outbox.GetSubscriptionsAsync(projectId, [.. resolved.Select(state => state.Fingerprint)], cancellationToken);
        return subscriptions.Where(s => s.IsSubscribed).Select(s => s.Fingerprint)
            .Concat(resolved.Where(state => state.AssigneeId is not null).Select(state => state.Fingerprint))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// The accounts a comment @mentions among <paramref name="readers"/>: <c>@ana@example.com</c> (an account's e-mail) or
    /// <c>@AnaSilva</c> (an account's name without its spaces), either in any case; at most <see cref="MaxMentions"/>.
    /// </summary>
    internal static IReadOnlyList<UserAccount> FindMentions(string text, IReadOnlyList<UserAccount> readers)
    {
        var found = new List<UserAccount>();
        foreach (Match match in Mention().Matches(text.Length > IssueChange.MaxTextLength ? text[..IssueChange.MaxTextLength] : text))
        {
            var who = match.Groups["who"].Value.TrimEnd('.', '-', '_');
            var user = readers.FirstOrDefault(u => string.Equals(u.Email.Trim(), who, StringComparison.OrdinalIgnoreCase))
                ?? readers.FirstOrDefault(u => string.Equals(string.Concat(u.Name.Where(c => !char.IsWhiteSpace(c))), who, StringComparison.OrdinalIgnoreCase));
            if (user is not null && !found.Contains(user))
            {
                found.Add(user);
                if (found.Count == MaxMentions)
                {
                    break;
                }
            }
        }

        return found;
    }

    [GeneratedRegex(@"(?<![\w@])@(?<who>[\w.+\-']{1,100}(?:@[\w\-]+(?:\.[\w\-]+)+)?)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Mention();

    private async Task AddParticipantsAsync(int projectId, IReadOnlyList<string> fingerprints, Guid? userId, SubscriptionReason reason, CancellationToken cancellationToken)
    {
        if (userId is { } id)
        {
            var now = _time.GetUtcNow();
            await _outbox.AddParticipantsAsync([.. fingerprints.Select(fingerprint => new IssueSubscription(projectId, fingerprint, id, true, reason, now))], cancellationToken);
        }
    }

    /// <summary>Active accounts that may read the project: its members, and every admin.</summary>
    private async Task<IReadOnlyList<UserAccount>> ReadersAsync(int projectId, CancellationToken cancellationToken)
    {
        var members = (await _access.GetMembersAsync(projectId, cancellationToken)).ToHashSet();
        return [.. (await _access.GetUsersAsync(cancellationToken)).Where(user => !user.IsDisabled && (user.Role == UserRole.Admin || members.Contains(user.Id)))];
    }

    /// <summary>
    /// Mails each participant of the <paramref name="fingerprints"/> but the actor once: about the issue in its thread
    /// when only one of them concerns the person (<paramref name="single"/>), else a summary headed by
    /// <paramref name="summary"/> ("Ana resolved 240 issues you follow").
    /// </summary>
    private async Task NotifyAsync(
        int projectId,
        IReadOnlyList<string> fingerprints,
        Guid? actorId,
        string key,
        Func<Guid, IssueSummary, MailWriter> single,
        Func<Guid, string, string> summary,
        CancellationToken cancellationToken,
        IReadOnlySet<string>? alreadyTold = null)
    {
        if (!_options.CanSend || fingerprints.Count == 0 || await _projects.GetProjectAsync(projectId, cancellationToken) is not { } project)
        {
            return;
        }

        var followed = await FollowersAsync(projectId, fingerprints, cancellationToken);
        followed.Remove(actorId ?? Guid.Empty);
        if (followed.Count == 0)
        {
            return;
        }

        // Each person's issues in the order given (a summary names the first ones the caller chose).
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var fingerprint in fingerprints)
        {
            order.TryAdd(fingerprint, order.Count);
        }

        foreach (var issues in followed.Values)
        {
            issues.Sort((a, b) => order[a.Fingerprint].CompareTo(order[b.Fingerprint]));
        }

        var readers = (await ReadersAsync(projectId, cancellationToken)).ToDictionary(user => user.Id);
        var settings = await _settings.GetAsync(projectId, cancellationToken);
        foreach (var (userId, issues) in followed)
        {
            if (!readers.TryGetValue(userId, out var recipient) || !settings.Wants(userId, AlertTrigger.Assignment) || alreadyTold?.Contains(recipient.Email.Trim()) == true)
            {
                continue;
            }

            var personalKey = $"{key}:{userId:N}";
            if (issues.Count == 1)
            {
                var (fingerprint, reason) = issues[0];
                if (await _issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is not { } issue)
                {
                    continue;
                }

                var first = await _activity.GetFirstEventAsync(projectId, fingerprint, EventFilter.All, cancellationToken);
                var content = IssueMail(project, issue, first, userId, Because(reason), single(userId, issue));
                await AddAsync(projectId, fingerprint, recipient, personalKey, content, cancellationToken);
                continue;
            }

            var named = new List<(string Text, Uri? Link)>();
            foreach (var (fingerprint, _) in issues.Take(SummaryIssues))
            {
                if (await _issues.GetIssueAsync(projectId, fingerprint, cancellationToken) is { } issue)
                {
                    named.Add((Bounded.Text(issue.Title, 120), IssueLink(projectId, fingerprint)));
                }
            }

            var heading = summary(userId, $"{MailWriter.Number(issues.Count)} issues");
            var mail = new MailWriter()
                .Heading(heading)
                .List(issues.Count > named.Count ? $"The first {named.Count} of them" : "The issues", named)
                .Link("Open the project's issues", _urls.Link(FormattableString.Invariant($"projects/{projectId}/issues")))
                .Footer($"You get this because you take part in these issues. Your alert settings of {Bounded.Text(project.Name, 60)}", _urls.Link(FormattableString.Invariant($"projects/{projectId}/alerts")))
                .Build($"[{Bounded.Text(project.Name, 60)}] {heading}");
            await AddAsync(projectId, null, recipient, personalKey, mail, cancellationToken);
        }
    }

    /// <summary>A mail about one issue, in its thread: what <paramref name="start"/> says, the issue's facts and link, and a footer that says why (<paramref name="because"/>) and unsubscribes from the issue.</summary>
    private MailContent IssueMail(Project project, IssueSummary issue, ErrorHub.Storage.Events.ErrorEvent? first, Guid userId, string because, MailWriter start) =>
        start
            .Facts(
                ("Where", issue.Culprit),
                ("Events", MailWriter.Number(issue.EventCount)),
                ("Users", MailWriter.Number(issue.UserCount)),
                ("First seen", MailWriter.Time(issue.FirstSeen)),
                ("Last seen", MailWriter.Time(issue.LastSeen)))
            .Link("Open the issue", IssueLink(project.Id, issue.Fingerprint))
            .Footer($"You get this because {because}. Unsubscribe from this issue", _unsubscribe.ForIssue(userId, project.Id, issue.Fingerprint))
            .Build(IssueMails.Subject(project.Name, issue, first));

    /// <summary>Per person, the issues among <paramref name="fingerprints"/> they follow and why: subscribed participants, and each issue's assignee unless they unsubscribed by hand.</summary>
    private async Task<Dictionary<Guid, List<(string Fingerprint, SubscriptionReason Reason)>>> FollowersAsync(int projectId, IReadOnlyList<string> fingerprints, CancellationToken cancellationToken)
    {
        var subscriptions = await _outbox.GetSubscriptionsAsync(projectId, fingerprints, cancellationToken);
        var known = subscriptions.Select(s => (s.Fingerprint, s.UserId)).ToHashSet();
        var followed = new Dictionary<Guid, List<(string, SubscriptionReason)>>();
        void Add(Guid userId, string fingerprint, SubscriptionReason reason)
        {
            if (!followed.TryGetValue(userId, out var issues))
            {
                followed[userId] = issues = [];
            }

            issues.Add((fingerprint, reason));
        }

        foreach (var subscription in subscriptions.Where(s => s.IsSubscribed))
        {
            Add(subscription.UserId, subscription.Fingerprint, subscription.Reason);
        }

        // The changed issues' states only, however many the project has.
        IReadOnlyList<IssueState> assigned = fingerprints.Count > 1
            ? await _states.GetStatesOfAsync(projectId, fingerprints, cancellationToken)
            : await _states.GetStateAsync(projectId, fingerprints[0], cancellationToken) is { } one ? [one] : [];
        var wanted = fingerprints.ToHashSet(StringComparer.Ordinal);
        foreach (var state in assigned.Where(state => state.AssigneeId is not null && wanted.Contains(state.Fingerprint) && !known.Contains((state.Fingerprint, state.AssigneeId!.Value))))
        {
            Add(state.AssigneeId!.Value, state.Fingerprint, SubscriptionReason.Assigned);
        }

        return followed;
    }

    private Uri IssueLink(int projectId, string fingerprint) => _urls.Link($"projects/{projectId}/issues/{Uri.EscapeDataString(fingerprint)}");

    /// <summary>Records the mail: about an issue (<paramref name="fingerprint"/>), in the issue's thread; else (a summary of a bulk change) in none.</summary>
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
