using System.Globalization;
using System.Text.Json;
using ErrorHub.Notifications.Content;
using ErrorHub.Notifications.Delivery;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>
/// One round of the worker: for every project, turn what happened since the last round into recorded
/// notifications (the outbox), then deliver the due ones. Each step is safe to repeat after a crash:
/// recording is idempotent per occasion (the notification's key), delivery marks each mail after the
/// SMTP server accepted it. Issues are those the dashboard shows: the store's activity counts a merged issue's
/// events for the issue it was merged into, and the stored state of a merged issue (it may have been resolved before
/// the merge) decides nothing until the merge is undone.
/// </summary>
internal sealed class NotificationCycle(
    INotificationStore outbox,
    IIssueStates states,
    IIssueActivity activity,
    IIssueReader issues,
    IIssueMerges merges,
    IReleaseReader releaseReader,
    IProjectStore projects,
    IAccessStore access,
    AlertSettingsStore settingsStore,
    ServerUrls urls,
    SmtpMailSender sender,
    NotificationMessages messages,
    MailThreading threading,
    WorkflowMail workflow,
    IOptions<NotificationOptions> options,
    TimeProvider time,
    ILogger<NotificationCycle> logger)
{
    /// <summary>Events may arrive a little after their own time: new issues are looked for this far back again (their keys keep them single).</summary>
    internal static readonly TimeSpan NewIssueOverlap = TimeSpan.FromMinutes(10);

    private const int DeliveryBatch = 50;
    private const int MaxNewIssuesPerRound = 2_000;
    private readonly NotificationOptions _options = options.Value;

    /// <summary>
    /// Mails the SMTP server took whose new state the store did not record (it failed, or stalled past its timeout, right
    /// after the send): recorded before anything else is delivered, so that a store failing mid-way does not have them
    /// sent again. At most one batch: nothing new is sent while any is left. A crash still loses them (docs/notifications.md).
    /// </summary>
    private readonly Dictionary<Guid, Notification> _sentNotRecorded = [];

    /// <summary>
    /// One round: evaluate every project's rules, then deliver what is due. With <paramref name="workUntil"/>,
    /// nothing new is started after that time (the lease is only safe until then); the rest waits for the next round.
    /// A store that stops answering ends the round at its first failure (<see cref="StoreNotAnswering"/>): the other
    /// projects and the delivery would each wait out the same timeout, holding the worker for minutes. What they owe waits
    /// for the next round, which finds the same occasions again (a project's progress is saved only once all it found is
    /// recorded, each occasion once by its key). A project that fails for another reason is skipped, the others evaluated.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken, DateTimeOffset? workUntil = null)
    {
        foreach (var project in await projects.GetProjectsAsync(cancellationToken))
        {
            if (OutOfTime(workUntil))
            {
                return;
            }

            try
            {
                await EvaluateAsync(project, cancellationToken);
            }
            catch (Exception ex) when (StoreNotAnswering.Is(ex) && !cancellationToken.IsCancellationRequested)
            {
                NotificationLog.StoreNotAnswering(logger, project.Id, ex);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                NotificationLog.EvaluationFailed(logger, project.Id, ex);
            }
        }

        await DeliverAsync(cancellationToken, workUntil);
    }

    private bool OutOfTime(DateTimeOffset? workUntil)
    {
        if (workUntil is { } until && time.GetUtcNow() >= until)
        {
            NotificationLog.RoundCutShort(logger);
            return true;
        }

        return false;
    }

    internal async Task EvaluateAsync(Project project, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var settings = await settingsStore.GetAsync(project.Id, cancellationToken);
        var progress = await ReadProgressAsync(project.Id, cancellationToken);
        if (progress.NewIssuesSince is null)
        {
            // The first round for this project: alerts start now, and the digest with the next whole day watched.
            progress = progress with { LastDigestDay = DateOnly.FromDateTime(now.UtcDateTime), WatchingSince = now };
        }

        var newIssuesSince = progress.NewIssuesSince ?? now;
        if (newIssuesSince > now)
        {
            // The clock went back (an NTP step, a VM restored from a snapshot): issues first seen from now on carry times
            // before the cursor and would never be news. The cursor goes back with the clock; an issue seen again in the
            // overlap is not mailed twice (its notification's key is taken).
            newIssuesSince = now - NewIssueOverlap;
            progress = progress with { NewIssuesSince = newIssuesSince };
        }

        var context = new ProjectContext(project, settings, now);
        var digestDay = LatestDigestDay(now);
        var watches = settings.Rules.Any(r => r.Enabled && r.Trigger is AlertTrigger.NewIssue or AlertTrigger.EventFrequency or AlertTrigger.UserFrequency);
        var before = progress.LateWatch;
        var count = watches && (before is null || now - LateAfter - before.Until >= WatchEvery || before.Until > now - LateAfter);
        var watch = !watches ? null : count ? await WatchAsync(activity, project.Id, now, cancellationToken) : before;
        var late = count && before is not null ? await LateRangesAsync(activity, project.Id, before, watch!, cancellationToken) : [];

        // Issues first seen after the count the next round compares with are looked for as usual, however late they came.
        // Never from before the project's first round, though: what came before it is not news.
        var lookFrom = newIssuesSince;
        if (watch is not null && watch.Until < lookFrom)
        {
            lookFrom = progress.WatchingSince is { } watchingSince && watchingSince > watch.Until ? (watchingSince < lookFrom ? watchingSince : lookFrom) : watch.Until;
        }

        if (late.Count > 0)
        {
            var ranges = string.Join(", ", late.Select(r => $"{MailWriter.Time(r.From)} to {MailWriter.Time(r.To)}"));
            NotificationLog.LateEvents(logger, project.Id, ranges);
        }

        foreach (var rule in settings.Rules.Where(r => r.Enabled))
        {
            switch (rule.Trigger)
            {
                case AlertTrigger.NewIssue:
                    await NewIssuesAsync(context, rule, lookFrom, cancellationToken);
                    await LateNewIssuesAsync(context, rule, late, progress.WatchingSince, lookFrom, cancellationToken);
                    break;
                case AlertTrigger.Regression:
                    await RegressionsAsync(context, rule, cancellationToken);
                    break;
                case AlertTrigger.EventFrequency or AlertTrigger.UserFrequency:
                    await FrequencyAsync(context, rule, progress.FrequencyCheckedUntil, late, cancellationToken);
                    break;
                case AlertTrigger.DailyDigest:
                    await DigestAsync(context, rule, progress.LastDigestDay, digestDay, cancellationToken);
                    break;
            }
        }

        await ParticipantRegressionsAsync(project.Id, cancellationToken);
        var cursor = now - NewIssueOverlap;
        progress = progress with
        {
            NewIssuesSince = progress.NewIssuesSince is { } since && since > cursor ? since : progress.NewIssuesSince is null ? now : cursor,
            FrequencyCheckedUntil = now,
            LateWatch = watch,

            // Also without a digest rule: one turned on later starts with the next day, not with a digest of the days it was off.
            LastDigestDay = progress.LastDigestDay > digestDay ? progress.LastDigestDay : digestDay,
        };
        await outbox.SaveDocumentAsync(project.Id, WorkerProgress.DocumentKind, JsonSerializer.Serialize(progress, NotificationsJsonContext.Default.WorkerProgress), cancellationToken);
    }

    private async Task NewIssuesAsync(ProjectContext context, AlertRule rule, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var found = await activity.GetNewIssuesAsync(context.Project.Id, rule.Filter, since, MaxNewIssuesPerRound, cancellationToken);
        foreach (var issue in found)
        {
            await RecordIssueAlertAsync(context, rule, issue.Fingerprint, $"new-issue:{rule.Id}:{issue.Fingerprint}", reason: null, sampleSince: null, cancellationToken);
        }
    }

    /// <summary>
    /// Events that reach the store more than this after their own time (an SDK resending its disk spool hours later, the
    /// ingest journal replayed after a restart or a store outage) are late: the round after they arrive looks again at the
    /// new issues and the spike windows of the hours they fell in. Less late ones count as they come (the new-issue cursor's
    /// overlap, the window ending at each round).
    /// </summary>
    internal static readonly TimeSpan LateAfter = NewIssueOverlap;

    /// <summary>
    /// How often the events of the day are counted again: late events are found within this of arriving. Between counts, new
    /// issues are looked for from the last count on. A count reads one index entry per event of the day on SQLite
    /// (docs/benchmarks.md §97), so not every round.
    /// </summary>
    internal static readonly TimeSpan WatchEvery = TimeSpan.FromMinutes(5);

    /// <summary>How many hours the late watch counts: the last day and the unfinished hour.</summary>
    private const int WatchedHours = 25;

    /// <summary>An hour (or less) of event time in which events arrived late.</summary>
    internal readonly record struct LateRange(DateTimeOffset From, DateTimeOffset To);

    /// <summary>
    /// What this round sees of the day before <see cref="LateAfter"/> ago: the project's events per whole hour (every issue)
    /// and in the unfinished hour, in one read of the store's hourly counts (an index on SQLite, the per-minute aggregate
    /// on ClickHouse; never the events' rows).
    /// </summary>
    internal static async Task<LateWatch> WatchAsync(IIssueActivity activity, int projectId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var until = now - LateAfter;
        var lastHour = new DateTimeOffset(until.Year, until.Month, until.Day, until.Hour, 0, 0, TimeSpan.Zero);
        var since = lastHour.AddHours(1 - WatchedHours);
        var counted = await activity.GetEventsPerHourAsync(projectId, since, until, cancellationToken);
        return new LateWatch
        {
            Since = since,
            Until = until,
            Hours = counted[..(WatchedHours - 1)],
            LastHour = counted.Length >= WatchedHours ? counted[WatchedHours - 1] : 0,
            EveryIssue = true,
        };
    }

    /// <summary>
    /// The hours the last round counted that now hold more events (late ones came in between), oldest first; the last round's
    /// unfinished hour is counted again as it counted it. A clock set back compares nothing, nor does a count made before
    /// December 2026 (of the 1,000 busiest issues only: every hour of the first count of all issues would read as late).
    /// </summary>
    internal static async Task<IReadOnlyList<LateRange>> LateRangesAsync(IIssueActivity activity, int projectId, LateWatch before, LateWatch now, CancellationToken cancellationToken)
    {
        var late = new List<LateRange>();
        if (before.Until > now.Until || !before.EveryIssue)
        {
            return late;
        }

        for (var i = 0; i < before.Hours.Length; i++)
        {
            var hour = before.Since.AddHours(i);
            var j = (int)Math.Round((hour - now.Since).TotalHours);
            if (j >= 0 && j < now.Hours.Length && now.Hours[j] > before.Hours[i])
            {
                late.Add(new LateRange(hour, hour.AddHours(1)));
            }
        }

        var lastHour = before.Since.AddHours(before.Hours.Length);
        if (before.Until > lastHour && (await activity.GetEventsPerHourAsync(projectId, lastHour, before.Until, cancellationToken))[0] > before.LastHour)
        {
            late.Add(new LateRange(lastHour, before.Until));
        }

        return late;
    }

    /// <summary>Issues first seen in hours where late events came, not mailed yet: the new-issue cursor had passed them.</summary>
    private async Task LateNewIssuesAsync(
        ProjectContext context, AlertRule rule, IReadOnlyList<LateRange> late, DateTimeOffset? watchingSince, DateTimeOffset since, CancellationToken cancellationToken)
    {
        if (late.Count == 0 || late[0].From >= since)
        {
            return;
        }

        var found = await activity.GetNewIssuesAsync(context.Project.Id, rule.Filter, late[0].From, MaxNewIssuesPerRound, cancellationToken);
        foreach (var issue in found.Where(i => i.FirstSeen < since && i.FirstSeen >= (watchingSince ?? DateTimeOffset.MinValue) && late.Any(r => i.FirstSeen >= r.From && i.FirstSeen < r.To)))
        {
            var key = $"new-issue:{rule.Id}:{issue.Fingerprint}";
            if ((await outbox.CountNotificationsAsync(context.Project.Id, context.Now, key, cancellationToken)).LastOfGroup is not null)
            {
                continue; // mailed when it was news
            }

            await RecordIssueAlertAsync(context, rule, issue.Fingerprint, key, LateReason($"its first event, from {MailWriter.Time(issue.FirstSeen)},"), sampleSince: null, cancellationToken);
        }
    }

    private static string LateReason(string what) =>
        $"Mailed late: {what} reached ErrorHub only now (an app that could not reach it sent them later, or they were replayed after a restart).";

    private async Task RegressionsAsync(ProjectContext context, AlertRule rule, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, DateTimeOffset>? releaseTimes = null;
        foreach (var state in await ResolvedIssuesSeenSinceAsync(context.Project.Id, cancellationToken))
        {
            var releases = await activity.GetReleasesAfterAsync(context.Project.Id, state.Fingerprint, rule.Filter, state.ChangedAt, cancellationToken);
            releaseTimes ??= releases.Any(r => state.NeedsReleaseTimes(r.Release)) ? await releaseReader.GetFirstSeenByReleaseAsync(context.Project.Id, cancellationToken) : null;
            var back = releases.Where(r => state.IsReopenedBy(r.Release, releaseTimes)).MinBy(r => r.FirstSeen);
            if (back is null)
            {
                continue;
            }

            var key = $"regression:{rule.Id}:{state.Fingerprint}:{state.ChangedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
            await RecordIssueAlertAsync(context, rule, state.Fingerprint, key, RegressionText(state, back), back.FirstSeen, cancellationToken);
        }
    }

    /// <summary>"the last minute", "the last 5 minutes": a frequency rule's window as its mail says it.</summary>
    private static string WindowText(int minutes) => minutes == 1 ? "minute" : $"{minutes.ToString(CultureInfo.InvariantCulture)} minutes";

    private static string RegressionText(IssueState state, ReleaseActivity back)
    {
        var resolved = (state.ResolvedInRelease, state.ResolvedAfterRelease) switch
        {
            ({ Length: > 0 } release, _) => $"It was resolved in release {release} on {MailWriter.Time(state.ChangedAt)}",
            (_, { Length: > 0 } current) => $"It was resolved on {MailWriter.Time(state.ChangedAt)} for the release after {current}",
            _ => $"It was resolved on {MailWriter.Time(state.ChangedAt)}",
        };
        var again = back.Release.Length > 0 ? $" and happened again in release {back.Release} on {MailWriter.Time(back.FirstSeen)}." : $" and happened again on {MailWriter.Time(back.FirstSeen)}.";
        return resolved + again;
    }

    /// <summary>
    /// The participants of a resolved issue hear that it happened again, whatever the project's regression rule (off,
    /// filtered, or switched off for them), once per regression; those the rule's mail about it reached are not told twice.
    /// Only issues someone follows are looked at.
    /// </summary>
    private async Task ParticipantRegressionsAsync(int projectId, CancellationToken cancellationToken)
    {
        if (!_options.CanSend)
        {
            return;
        }

        var resolved = await ResolvedIssuesSeenSinceAsync(projectId, cancellationToken);
        var followed = resolved.Count == 0 ? new HashSet<string>() : await workflow.FollowedAsync(projectId, resolved, cancellationToken);
        IReadOnlyList<Notification>? recent = null;
        foreach (var state in resolved.Where(state => followed.Contains(state.Fingerprint)))
        {
            var releases = await activity.GetReleasesAfterAsync(projectId, state.Fingerprint, EventFilter.All, state.ChangedAt, cancellationToken);
            if (releases.Where(r => state.IsReopenedBy(r.Release)).MinBy(r => r.FirstSeen) is not { } back)
            {
                continue;
            }

            recent ??= await outbox.GetNotificationsAsync(projectId, 1_000, cancellationToken);
            var suffix = ":" + state.Fingerprint + ":" + state.ChangedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var told = recent.Where(n => n.Trigger == TriggerName(AlertTrigger.Regression) && n.State != NotificationState.HeldBack && n.Key.EndsWith(suffix, StringComparison.Ordinal))
                .SelectMany(n => n.Recipients).Select(address => address.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
            await workflow.RegressedAsync(projectId, state.Fingerprint, state.ChangedAt, RegressionText(state, back), told, cancellationToken);
        }
    }

    /// <summary>
    /// A frequency rule's window ending now, and before it the windows that rounds which failed or did not run would have
    /// looked at since <paramref name="checkedUntil"/> (the last round that recorded all it found): a spike the worker saw
    /// but could not record because the store failed, or one that came while no round ran, is still mailed, once.
    /// </summary>
    private async Task FrequencyAsync(ProjectContext context, AlertRule rule, DateTimeOffset? checkedUntil, IReadOnlyList<LateRange> late, CancellationToken cancellationToken)
    {
        var byUsers = rule.Trigger == AlertTrigger.UserFrequency;
        var window = TimeSpan.FromMinutes(rule.WindowMinutes);
        var cooldown = rule.CooldownMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : _options.DefaultCooldown;
        // The hot issues' states only (null: not ignored), read as they come up, however many issues the project ignored.
        var ignored = new Dictionary<string, IssueState?>(StringComparer.Ordinal);
        var mailed = new HashSet<string>(StringComparer.Ordinal);
        var lateEnds = LateWindowEnds(late, context.Now, window).ToHashSet();
        foreach (var end in FrequencyWindowEnds(checkedUntil, context.Now, window).Concat(lateEnds).Distinct().Order())
        {
            var missed = end < context.Now;
            var query = new ActivityQuery(context.Project.Id, end - window, missed ? end : end + TimeSpan.FromMinutes(1))
            {
                Filter = rule.Filter,
                MinEvents = byUsers ? 1 : rule.Threshold + 1,
                MinUsers = byUsers ? rule.Threshold + 1 : 0,
                Sort = byUsers ? ActivitySort.Users : ActivitySort.Events,
                Limit = 100,
            };
            var hotIssues = await activity.GetActivityAsync(query, cancellationToken);
            var unread = hotIssues.Select(hot => hot.Fingerprint).Where(fingerprint => ignored.TryAdd(fingerprint, null)).ToList();
            foreach (var state in await states.GetStatesOfAsync(context.Project.Id, unread, cancellationToken))
            {
                ignored[state.Fingerprint] = state.Status == IssueStatus.Ignored ? state : null;
            }

            foreach (var hot in hotIssues)
            {
                if (mailed.Contains(hot.Fingerprint))
                {
                    continue; // one mail per round, however many missed windows held the spike
                }

                if (ignored.GetValueOrDefault(hot.Fingerprint) is { } ignore && await IsStillIgnoredAsync(ignore, context.Now, cancellationToken))
                {
                    continue; // someone decided this issue is not worth attention: its spikes are not either
                }

                var group = $"rule:{rule.Id}:{hot.Fingerprint}";
                var counts = await outbox.CountNotificationsAsync(context.Project.Id, context.Now - TimeSpan.FromHours(1), group, cancellationToken);
                if (counts.LastOfGroup is { } last && last + cooldown > end)
                {
                    continue; // told recently; the cooldown keeps a hot issue from mailing every round
                }

                var during = missed ? $"the {WindowText(rule.WindowMinutes)} to {MailWriter.Time(end)}" : $"the last {WindowText(rule.WindowMinutes)}";
                var reason = byUsers
                    ? $"{MailWriter.Count(hot.Users, "user")} had it in {during} (the rule says more than {MailWriter.Number(rule.Threshold)})."
                    : $"{MailWriter.Count(hot.Events, "event")} in {during} (the rule says more than {MailWriter.Number(rule.Threshold)}).";
                if (lateEnds.Contains(end))
                {
                    reason += " " + LateReason("these events");
                }
                else if (missed)
                {
                    reason += " Mailed late: ErrorHub could not check or record it then (its store was not answering, or it was not running).";
                }

                var key = $"{group}:{end.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
                await RecordIssueAlertAsync(context, rule, hot.Fingerprint, key, reason, query.From, cancellationToken, group);
                mailed.Add(hot.Fingerprint);
            }
        }
    }

    /// <summary>At most this many windows are looked at again after rounds were missed: a long outage costs a bounded number of reads.</summary>
    internal const int MaxMissedWindows = 96;

    /// <summary>How far back missed windows are looked at: a spike older than a day is old news.</summary>
    internal static readonly TimeSpan MaxMissedSpan = TimeSpan.FromDays(1);

    /// <summary>
    /// Where the windows of a frequency rule end: at <paramref name="now"/>, and, when more than a window passed since the
    /// last round that completed (its windows no longer meet this one's), every half window since then, so that a burst
    /// of up to half a window lies wholly in one of them; at most <see cref="MaxMissedWindows"/> over the last
    /// <see cref="MaxMissedSpan"/>, spread evenly when there would be more.
    /// </summary>
    internal static IEnumerable<DateTimeOffset> FrequencyWindowEnds(DateTimeOffset? checkedUntil, DateTimeOffset now, TimeSpan window)
    {
        if (checkedUntil is { } from && now - from > window)
        {
            var start = from > now - MaxMissedSpan ? from : now - MaxMissedSpan;
            var step = TimeSpan.FromTicks(Math.Max(window.Ticks / 2, (now - start).Ticks / MaxMissedWindows));
            for (var end = start + step; end < now; end += step)
            {
                yield return end;
            }
        }

        yield return now;
    }

    /// <summary>
    /// Where the windows end that hold a part of an hour with late events: every half window from its start to a window past
    /// its end, before <paramref name="now"/> (the window ending now is looked at anyway); at most <see cref="MaxMissedWindows"/>,
    /// spread evenly when there would be more.
    /// </summary>
    internal static IEnumerable<DateTimeOffset> LateWindowEnds(IReadOnlyList<LateRange> late, DateTimeOffset now, TimeSpan window)
    {
        var step = TimeSpan.FromTicks(Math.Max(window.Ticks / 2, TimeSpan.TicksPerMinute));
        var ends = new SortedSet<DateTimeOffset>();
        foreach (var range in late)
        {
            for (var end = range.From + step; end < range.To + window + step && end < now; end += step)
            {
                ends.Add(end);
            }
        }

        return ends.Count <= MaxMissedWindows ? ends : ends.Where((_, i) => i % ((ends.Count + MaxMissedWindows - 1) / MaxMissedWindows) == 0);
    }

    /// <summary>An ignore ends as the dashboard ends it: at its time limit, or after its number of events or users.</summary>
    private async Task<bool> IsStillIgnoredAsync(IssueState state, DateTimeOffset now, CancellationToken cancellationToken) =>
        !state.IgnoreExpiredAt(now)
        && !(state.IgnoreEndsWithActivity && state.IgnoreEndedBy(await activity.GetIssueActivityAfterAsync(state.ProjectId, state.Fingerprint, state.ChangedAt, cancellationToken)));

    /// <param name="sampleSince">
    /// Where the event the mail tells of starts: null for a new issue (its first event), the reopening for a regression,
    /// the window for a spike. A regression's mail that told the issue's first-ever event said "alice had this at 18:37"
    /// of an issue resolved at 18:39 and back at 18:40.
    /// </param>
    private async Task RecordIssueAlertAsync(
        ProjectContext context, AlertRule rule, string fingerprint, string key, string? reason, DateTimeOffset? sampleSince, CancellationToken cancellationToken, string? group = null)
    {
        group ??= key;
        var counts = await outbox.CountNotificationsAsync(context.Project.Id, context.Now - TimeSpan.FromHours(1), group, cancellationToken);
        var notification = new Notification(Guid.NewGuid(), context.Project.Id, key, group, TriggerName(rule.Trigger), context.Now)
        {
            Fingerprint = fingerprint,
            NextAttemptAt = context.Now,
        };
        if (counts.Since >= _options.MaxPerProjectPerHour)
        {
            // Recorded, so it is counted in the next mail and not found again as new.
            await outbox.AddNotificationAsync(notification with { State = NotificationState.HeldBack, Subject = $"{IssueMails.Kind(rule.Trigger)}: not mailed, the project's hourly limit was reached" }, cancellationToken);
            return;
        }

        var issue = await issues.GetIssueAsync(context.Project.Id, fingerprint, cancellationToken);
        if (issue is null)
        {
            return;
        }

        var recipients = await RecipientsAsync(context, rule.Trigger, cancellationToken);
        if (recipients.Count == 0)
        {
            NotificationLog.NoRecipients(logger, context.Project.Id, rule.Id);
            return;
        }

        var first = await activity.GetFirstEventAsync(context.Project.Id, fingerprint, rule.Filter, cancellationToken);
        var sample = sampleSince is { } since ? await activity.GetFirstEventSinceAsync(context.Project.Id, fingerprint, rule.Filter, since, cancellationToken) : first;
        var latest = await issues.GetEventsAsync(context.Project.Id, fingerprint, 1, cancellationToken) is [var newest, ..] ? newest : null;
        var assignee = (await states.GetStateAsync(context.Project.Id, fingerprint, cancellationToken))?.AssigneeId is { } assigneeId
            ? (await access.GetUserAsync(assigneeId, cancellationToken))?.Name
            : null;
        var mail = IssueMails.Compose(new IssueAlert(context.Project.Name, rule.Trigger, issue, first, sample, latest, IssueLink(context.Project.Id, fingerprint), SettingsLink(context.Project.Id))
        {
            Reason = reason,
            Assignee = assignee,
            Environment = rule.Filter.Environment,
            HeldBack = counts.HeldBack,
        });
        var recorded = await threading.RecordAsync(
            notification with { Recipients = recipients, TextBody = mail.Text, HtmlBody = mail.Html },
            mail.Subject,
            cancellationToken);
        if (recorded)
        {
            NotificationLog.Recorded(logger, context.Project.Id, notification.Trigger, key);
        }
    }

    /// <summary>After digests were missed, one digest sums up at most this many days: older ones are old news.</summary>
    internal const int MaxDigestDays = 7;

    /// <summary>The latest day whose digest was due at <paramref name="at"/> (its hour passed).</summary>
    private DateOnly LatestDigestDay(DateTimeOffset at)
    {
        var today = DateOnly.FromDateTime(at.UtcDateTime);
        return at >= DigestTime(today) ? today : today.AddDays(-1);
    }

    private DateTimeOffset DigestTime(DateOnly day) => new(day.ToDateTime(new TimeOnly(_options.DigestHourUtc, 0)), TimeSpan.Zero);

    /// <summary>
    /// The digest due at <paramref name="digestDay"/>'s hour, covering every day since the last one sent
    /// (<paramref name="lastDay"/>): when rounds failed or did not run across one or more digest hours, one late digest
    /// says what happened since, never one per missed day, and never a day twice.
    /// </summary>
    private async Task DigestAsync(ProjectContext context, AlertRule rule, DateOnly? lastDay, DateOnly digestDay, CancellationToken cancellationToken)
    {
        if (lastDay >= digestDay)
        {
            return;
        }

        var project = context.Project.Id;
        var group = $"digest:{rule.Id}";

        // A digest recorded by a round whose progress the store then refused to save: what it covered is not covered again.
        if ((await outbox.CountNotificationsAsync(project, context.Now, group, cancellationToken)).LastOfGroup is { } recordedAt
            && LatestDigestDay(recordedAt) is var recordedDay && (lastDay is null || recordedDay > lastDay))
        {
            lastDay = recordedDay;
            if (lastDay >= digestDay)
            {
                return;
            }
        }

        var recipients = await RecipientsAsync(context, AlertTrigger.DailyDigest, cancellationToken);
        if (recipients.Count == 0)
        {
            return;
        }

        var firstDay = lastDay is not { } last ? digestDay : last.AddDays(MaxDigestDays) >= digestDay ? last.AddDays(1) : digestDay.AddDays(1 - MaxDigestDays);
        var to = DigestTime(digestDay);
        var from = DigestTime(firstDay).AddDays(-1);
        var late = firstDay < digestDay || context.Now - to > TimeSpan.FromHours(1);
        var key = $"digest:{rule.Id}:{digestDay:yyyy-MM-dd}";
        var digest = await ComposeDigestAsync(context.Project, rule.Filter, from, to, context.Now, key, onRequest: false, late, cancellationToken);

        // As Sentry sends no report without data: a day without an event, a new issue, a regression, a resolution or an
        // alert held back is no news, and a daily mail saying so teaches a team to ignore the digest.
        if (digest.IsEmpty)
        {
            return;
        }

        var mail = DigestMails.Compose(digest);

        // Not subject to the hourly cap: it is the one mail that sums up what the cap held back.
        await outbox.AddNotificationAsync(
            new Notification(Guid.NewGuid(), project, key, group, TriggerName(AlertTrigger.DailyDigest), context.Now)
            {
                Recipients = recipients,
                Subject = mail.Subject,
                TextBody = mail.Text,
                HtmlBody = mail.Html,
                NextAttemptAt = context.Now,
            },
            cancellationToken);
    }

    /// <summary>
    /// The digest of [<paramref name="from"/>, <paramref name="to"/>) (24 hours, or whole days after missed ones): the daily
    /// one at its hour, or one an admin or member asked for on the Alerts page (<paramref name="onRequest"/>, recorded under
    /// its own key, never as the day's). Its totals are compared with those of as long a stretch before it.
    /// </summary>
    internal async Task<Digest> ComposeDigestAsync(
        Project projectInfo, EventFilter filter, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, string key, bool onRequest, bool late, CancellationToken cancellationToken)
    {
        var due = to;
        var project = projectInfo.Id;
        var totals = await activity.GetTotalsAsync(project, filter, from, due, cancellationToken);
        var before = await activity.GetTotalsAsync(project, filter, from - (due - from), from, cancellationToken);
        var newIssues = (await activity.GetNewIssuesAsync(project, filter, from, 10_000, cancellationToken)).Where(n => n.FirstSeen < due).ToList();
        var top = await activity.GetActivityAsync(new ActivityQuery(project, from, due) { Filter = filter, Limit = 5 }, cancellationToken);
        var topUsers = await activity.GetActivityAsync(new ActivityQuery(project, from, due) { Filter = filter, Sort = ActivitySort.Users, MinUsers = 1, Limit = 5 }, cancellationToken);
        var history = await outbox.GetNotificationsAsync(project, 1_000, cancellationToken);
        var seenSinceResolved = await ResolvedIssuesSeenSinceAsync(project, cancellationToken);

        // Regressions of the day whether or not a regression rule mailed them: resolved issues whose first
        // reopening event came that day, plus those mailed that day (they may have been resolved again since).
        var regressed = history.Where(n => n.Trigger == TriggerName(AlertTrigger.Regression) && n.State != NotificationState.HeldBack && n.CreatedAt >= from && n.CreatedAt < due && n.Fingerprint is not null)
            .Select(n => n.Fingerprint!).ToList();
        IReadOnlyDictionary<string, DateTimeOffset>? releaseTimes = null;
        foreach (var state in seenSinceResolved.Where(s => s.ChangedAt < due))
        {
            var releases = await activity.GetReleasesAfterAsync(project, state.Fingerprint, filter, state.ChangedAt, cancellationToken);
            releaseTimes ??= releases.Any(r => state.NeedsReleaseTimes(r.Release)) ? await releaseReader.GetFirstSeenByReleaseAsync(project, cancellationToken) : null;
            if (releases.Where(r => state.IsReopenedBy(r.Release, releaseTimes)).MinBy(r => r.FirstSeen) is { } back && back.FirstSeen >= from && back.FirstSeen < due)
            {
                regressed.Add(state.Fingerprint);
            }
        }

        regressed = [.. regressed.Distinct(StringComparer.Ordinal)];
        var resolved = (await ResolvedBetweenAsync(project, from, due, cancellationToken)).Select(s => s.Fingerprint).ToList();
        var counts = await outbox.CountNotificationsAsync(project, now, key, cancellationToken);

        var digest = new Digest(projectInfo.Name, from, due, totals, before, urls.Link($"projects/{project}/issues"), SettingsLink(project))
        {
            NewIssueCount = newIssues.Count,
            NewIssues = await LinkedAsync(project, newIssues.Take(10).Select(n => n.Fingerprint), cancellationToken),
            TopByEvents = await WithActivityAsync(project, top, cancellationToken),
            TopByUsers = await WithActivityAsync(project, topUsers, cancellationToken),
            Regressions = await LinkedAsync(project, regressed.Take(20), cancellationToken),
            Resolved = await LinkedAsync(project, resolved.Take(20), cancellationToken),
            HeldBack = counts.HeldBack,
            OnRequest = onRequest,
            Late = late,
        };
        return digest;
    }

    /// <summary>
    /// The states of the resolved issues that can have regressed: those with events after their resolution (their own or those
    /// of issues merged into them), which the store finds from its per-issue aggregates; only their states are read, so a
    /// project with hundreds of thousands of resolved issues reads what one with a few does. Without those of issues merged
    /// into another (their events are the other's).
    /// </summary>
    private async Task<IReadOnlyList<IssueState>> ResolvedIssuesSeenSinceAsync(int projectId, CancellationToken cancellationToken)
    {
        var seen = await activity.GetIssuesSeenAfterChangesAsync(projectId, cancellationToken);
        if (seen.Count == 0)
        {
            return [];
        }

        var resolved = (await states.GetStatesOfAsync(projectId, [.. seen.Select(issue => issue.Fingerprint)], cancellationToken)).Where(state => state.Status == IssueStatus.Resolved).ToList();
        return await WithoutMergedAsync(projectId, resolved, cancellationToken);
    }

    /// <summary>The issues resolved in [<paramref name="from"/>, <paramref name="to"/>), without those merged into another since.</summary>
    private async Task<IReadOnlyList<IssueState>> ResolvedBetweenAsync(int projectId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        await WithoutMergedAsync(projectId, await states.GetStatesChangedAsync(projectId, IssueStatus.Resolved, from, to, cancellationToken), cancellationToken);

    private async Task<IReadOnlyList<IssueState>> WithoutMergedAsync(int projectId, IReadOnlyList<IssueState> resolved, CancellationToken cancellationToken)
    {
        if (resolved.Count == 0)
        {
            return resolved;
        }

        var merged = await merges.GetMergesAsync(projectId, cancellationToken);
        return merged.Count == 0 ? resolved : [.. resolved.Where(state => !merged.ContainsKey(state.Fingerprint))];
    }

    private async Task<IReadOnlyList<(IssueSummary, Uri)>> LinkedAsync(int project, IEnumerable<string> fingerprints, CancellationToken cancellationToken)
    {
        var linked = new List<(IssueSummary, Uri)>();
        foreach (var fingerprint in fingerprints)
        {
            if (await issues.GetIssueAsync(project, fingerprint, cancellationToken) is { } issue)
            {
                linked.Add((issue, IssueLink(project, fingerprint)));
            }
        }

        return linked;
    }

    private async Task<IReadOnlyList<(IssueSummary, IssueActivity, Uri)>> WithActivityAsync(int project, IReadOnlyList<IssueActivity> activities, CancellationToken cancellationToken)
    {
        var linked = new List<(IssueSummary, IssueActivity, Uri)>();
        foreach (var item in activities)
        {
            if (await issues.GetIssueAsync(project, item.Fingerprint, cancellationToken) is { } issue)
            {
                linked.Add((issue, item, IssueLink(project, item.Fingerprint)));
            }
        }

        return linked;
    }

    /// <summary>
    /// Members who did not opt out of <paramref name="trigger"/> (disabled accounts left out), then the project's extra
    /// addresses; each address once. A project without members has its admins instead (admins see every project),
    /// so a one-person installation hears about its crashes without setting anything up.
    /// </summary>
    internal async Task<IReadOnlyList<string>> RecipientsAsync(ProjectContext context, AlertTrigger trigger, CancellationToken cancellationToken)
    {
        var addresses = new List<string>();
        var members = await access.GetMembersAsync(context.Project.Id, cancellationToken);
        var users = new List<UserAccount>();
        if (members.Count == 0)
        {
            users.AddRange((await access.GetUsersAsync(cancellationToken)).Where(u => u.Role == UserRole.Admin));
        }
        else
        {
            foreach (var userId in members)
            {
                if (await access.GetUserAsync(userId, cancellationToken) is { } user)
                {
                    users.Add(user);
                }
            }
        }

        addresses.AddRange(users.Where(u => !u.IsDisabled && context.Settings.Wants(u.Id, trigger)).Select(u => u.Email));

        addresses.AddRange(context.Settings.ExtraAddresses);
        return addresses.Select(a => a.Trim()).Where(a => a.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    internal async Task DeliverAsync(CancellationToken cancellationToken, DateTimeOffset? workUntil = null)
    {
        await RecordSentAsync(cancellationToken);
        var recheck = new RecipientRecheck(access, outbox, settingsStore);
        while (!OutOfTime(workUntil))
        {
            var now = time.GetUtcNow();
            var due = await outbox.GetDueNotificationsAsync(now, DeliveryBatch, cancellationToken);
            if (due.Count == 0)
            {
                return;
            }

            var from = sender.From;
            var anySent = false;
            var sending = new List<(Notification Notification, string? NotSentTo)>(due.Count);
            var outgoing = new List<OutgoingMail>(due.Count);
            await recheck.PrepareAsync(due, cancellationToken);
            foreach (var notification in due)
            {
                // Who was owed the mail when it was recorded may have been disabled, removed or unsubscribed since.
                var owed = notification.DeliverTo ?? notification.Recipients;
                var notOwed = await recheck.NotOwedAsync(notification, owed, cancellationToken);
                var notSentTo = notOwed.Count == 0 ? null : RecipientRecheck.Describe(notOwed);
                if (notOwed.Count == owed.Count && owed.Count > 0)
                {
                    var skipped = notification with { State = GivenUp(notification), DeliverTo = null, LastError = notSentTo };
                    await outbox.UpdateNotificationAsync(skipped, cancellationToken);
                    NotificationLog.NotOwed(logger, notification.ProjectId, notification.Key, notSentTo!);
                    anySent = true; // done with, as a sent one: the batch after it may hold more
                    continue;
                }

                var stillOwed = notOwed.Count == 0 ? notification : notification with { DeliverTo = [.. owed.Except(notOwed.Select(n => n.Address), StringComparer.Ordinal)] };
                sending.Add((notification, notSentTo));
                outgoing.Add(await messages.CreateAsync(stillOwed, from, cancellationToken));
            }

            var results = await sender.SendAsync(outgoing, cancellationToken);
            var anyNotTried = false;
            var outcomes = new List<Notification>(sending.Count);
            for (var i = 0; i < sending.Count; i++)
            {
                if (results[i].Outcome == DeliveryOutcome.NotTried)
                {
                    // Still due, attempts untouched: a mail that breaks the connection each time (one the server
                    // chokes on) must not use up the attempts of every mail queued behind it.
                    anyNotTried = true;
                    continue;
                }

                var (notification, notSentTo) = sending[i];
                var updated = Apply(notification, results[i], time.GetUtcNow());
                if (notSentTo is not null)
                {
                    updated = updated with { LastError = updated.LastError is null ? notSentTo : notSentTo + ". " + updated.LastError };
                }

                if (results[i].Outcome == DeliveryOutcome.Sent)
                {
                    // Taken by the server: from here on, only its record may be owed, never the mail.
                    _sentNotRecorded[updated.Id] = updated;
                }

                outcomes.Add(updated);
            }

            foreach (var updated in outcomes)
            {
                // A failure here ends the round; what the server took and the store did not record waits in _sentNotRecorded.
                await outbox.UpdateNotificationAsync(updated, cancellationToken);
                _sentNotRecorded.Remove(updated.Id);
                anySent |= updated.State == NotificationState.Sent;
                LogDelivery(updated);
            }

            // The first mail of every batch is tried (sent, failed or put off), so going on after a broken connection ends.
            if (!anyNotTried && (!anySent || due.Count < DeliveryBatch))
            {
                return; // a failing server is tried again next round, after the back-off
            }
        }
    }

    /// <summary>
    /// Records the mails an earlier round sent while the store failed, each once; throws (sending nothing) while the store
    /// still fails. A failed attempt the store missed is not kept: the mail is simply tried again, its attempt uncounted.
    /// </summary>
    private async Task RecordSentAsync(CancellationToken cancellationToken)
    {
        foreach (var sent in _sentNotRecorded.Values.ToList())
        {
            await outbox.UpdateNotificationAsync(sent, cancellationToken);
            _sentNotRecorded.Remove(sent.Id);
            NotificationLog.RecordedLate(logger, sent.ProjectId, sent.Key);
        }
    }

    private void LogDelivery(Notification notification)
    {
        if (notification.State == NotificationState.Sent && notification.LastError is null)
        {
            NotificationLog.Delivered(logger, notification.ProjectId, notification.Key);
            return;
        }

        var outcome = notification.State switch
        {
            NotificationState.Sent => "was sent, but not to every recipient",
            NotificationState.Failed => "was given up",
            _ when notification.DeliverTo is not null => "was sent to some recipients and will be tried again for the others",
            _ => $"will be tried again at {notification.NextAttemptAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC",
        };
        NotificationLog.NotDelivered(logger, notification.ProjectId, notification.Key, outcome, notification.LastError);
    }

    internal Notification Apply(Notification notification, DeliveryResult result, DateTimeOffset now)
    {
        var attempts = notification.Attempts + 1;
        return result.Outcome switch
        {
            // Some recipients refused for now while the others got it: the notification stays due for them alone.
            DeliveryOutcome.Sent when result.TryAgainFor is { Count: > 0 } later && attempts < _options.MaxAttempts => notification with
            {
                Attempts = attempts,
                NextAttemptAt = now + RetryDelay(attempts),
                SentAt = notification.SentAt ?? now,
                DeliverTo = later,
                LastError = $"Sent to the others; to be tried again for {string.Join(", ", later)}: {result.Error}",
            },
            DeliveryOutcome.Sent when result.TryAgainFor is { Count: > 0 } => notification with
            {
                State = NotificationState.Sent,
                Attempts = attempts,
                SentAt = notification.SentAt ?? now,
                DeliverTo = null,
                LastError = $"Gave up on {string.Join(", ", result.TryAgainFor)} after {attempts} attempts: {result.Error}",
            },
            DeliveryOutcome.Sent => notification with { State = NotificationState.Sent, Attempts = attempts, SentAt = notification.SentAt ?? now, DeliverTo = null, LastError = result.Error },
            DeliveryOutcome.Permanent => notification with { State = GivenUp(notification), Attempts = attempts, LastError = result.Error },
            DeliveryOutcome.NotTried => notification,
            _ when attempts >= _options.MaxAttempts => notification with { State = GivenUp(notification), Attempts = attempts, LastError = $"Gave up after {attempts} attempts: {result.Error}" },
            _ => notification with { Attempts = attempts, NextAttemptAt = now + RetryDelay(attempts), LastError = result.Error },
        };
    }

    /// <summary>A notification given up is still sent when an earlier attempt reached some of its recipients (its error says who missed it).</summary>
    private static NotificationState GivenUp(Notification notification) =>
        notification.DeliverTo is null ? NotificationState.Failed : NotificationState.Sent;

    internal TimeSpan RetryDelay(int attempts)
    {
        var delay = _options.FirstRetryDelay * Math.Pow(2, Math.Min(attempts - 1, 20));
        return delay > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : delay;
    }

    internal static string TriggerName(AlertTrigger trigger) => trigger switch
    {
        AlertTrigger.NewIssue => "new-issue",
        AlertTrigger.Regression => "regression",
        AlertTrigger.EventFrequency => "event-frequency",
        AlertTrigger.UserFrequency => "user-frequency",
        AlertTrigger.DailyDigest => "daily-digest",
        AlertTrigger.Assignment => WorkflowMail.TriggerKey,
        _ => "other",
    };

    /// <summary>The trigger a notification's <see cref="Notification.Trigger"/> names; null for mails of no trigger (a test, a digest on request).</summary>
    internal static AlertTrigger? TriggerOf(string name) =>
        Enum.GetValues<AlertTrigger>().Where(t => TriggerName(t) == name).Select(t => (AlertTrigger?)t).FirstOrDefault();

    private async Task<WorkerProgress> ReadProgressAsync(int projectId, CancellationToken cancellationToken)
    {
        if (await outbox.GetDocumentAsync(projectId, WorkerProgress.DocumentKind, cancellationToken) is not { } json)
        {
            return new WorkerProgress();
        }

        var progress = WorkerProgress.Read(json, out var unreadable);
        if (unreadable.Count > 0)
        {
            logger.LogWarning("Project {ProjectId}: the stored notification progress had values that could not be read ({Fields}); they start afresh, as in the project's first round.", projectId, string.Join(", ", unreadable));
        }

        return progress;
    }

    private Uri IssueLink(int projectId, string fingerprint) =>
        urls.Link(FormattableString.Invariant($"projects/{projectId}/issues/{Uri.EscapeDataString(fingerprint)}"));

    private Uri SettingsLink(int projectId) => urls.Link(FormattableString.Invariant($"projects/{projectId}/alerts"));

    internal sealed record ProjectContext(Project Project, AlertSettings Settings, DateTimeOffset Now);
}
