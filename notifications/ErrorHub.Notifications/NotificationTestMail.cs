using ErrorHub.Notifications.Content;
using ErrorHub.Notifications.Delivery;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>
/// "Send a test e-mail" and "Send the digest now": each sends at once (so the page can say what the SMTP server answered)
/// to one address, and records it in the project's history; neither is ever retried by the worker.
/// </summary>
public sealed class NotificationTestMail
{
    private readonly SmtpMailSender _sender;
    private readonly INotificationStore _outbox;
    private readonly IProjectStore _projects;
    private readonly ServerUrls _urls;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _time;
    private readonly NotificationCycle _cycle;
    private readonly AlertSettingsStore _settings;
    private readonly NotificationMessages _messages;

    internal NotificationTestMail(SmtpMailSender sender, INotificationStore outbox, IProjectStore projects, ServerUrls urls, IOptions<NotificationOptions> options, TimeProvider time, NotificationCycle cycle, AlertSettingsStore settings, NotificationMessages messages)
    {
        _messages = messages;
        _sender = sender;
        _outbox = outbox;
        _projects = projects;
        _urls = urls;
        _options = options.Value;
        _time = time;
        _cycle = cycle;
        _settings = settings;
    }

    /// <summary>Whether SMTP is configured at all.</summary>
    public bool CanSend => _options.CanSend;

    /// <summary>Sends a test mail for <paramref name="projectId"/> to <paramref name="address"/>; returns null when it was accepted, else what went wrong.</summary>
    public async Task<string?> SendAsync(int projectId, string address, CancellationToken cancellationToken = default)
    {
        var (project, mailbox, problem) = await CheckAsync(projectId, address, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var now = _time.GetUtcNow();
        var mail = new MailWriter()
            .Heading("ErrorHub can send you mail")
            .Paragraph($"This is a test e-mail for the project {project!.Name}, sent on {MailWriter.Time(now)}. Alerts of this project will look like they come from the same sender.")
            .Link("Open the project's alert rules", _urls.Link(FormattableString.Invariant($"projects/{projectId}/alerts")))
            .Build($"[{Bounded.Text(project.Name, 60)}] Test e-mail from ErrorHub");
        return await SendNowAsync(projectId, "test", mail, mailbox!.Address, now, cancellationToken);
    }

    /// <summary>
    /// Sends <paramref name="address"/> the project's digest of the last 24 hours, as the daily digest rule would (its
    /// environment and level filter, when the project has one), marked as sent on request; the day's digest is unaffected.
    /// Returns null when the SMTP server accepted it, else what went wrong.
    /// </summary>
    public async Task<string?> SendDigestAsync(int projectId, string address, CancellationToken cancellationToken = default)
    {
        var (project, mailbox, problem) = await CheckAsync(projectId, address, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var settings = await _settings.GetAsync(projectId, cancellationToken);
        var rule = settings.Rules.FirstOrDefault(r => r.Trigger == AlertTrigger.DailyDigest && r.Enabled)
            ?? settings.Rules.FirstOrDefault(r => r.Trigger == AlertTrigger.DailyDigest);
        var now = _time.GetUtcNow();
        var key = "digest-on-request:" + Guid.NewGuid().ToString("N");
        var mail = DigestMails.Compose(await _cycle.ComposeDigestAsync(project!, rule?.Filter ?? new EventFilter(null, null), now.AddDays(-1), now, now, key, onRequest: true, late: false, cancellationToken));
        return await SendNowAsync(projectId, "digest-on-request", mail, mailbox!.Address, now, cancellationToken, key);
    }

    private async Task<(Project? Project, MimeKit.MailboxAddress? Mailbox, string? Problem)> CheckAsync(int projectId, string address, CancellationToken cancellationToken)
    {
        if (!CanSend)
        {
            return (null, null, "SMTP is not configured: set ErrorHub:Notifications:Smtp:Host and :From.");
        }

        if (!MimeKit.MailboxAddress.TryParse(address, out var mailbox) || mailbox.Address.IndexOf('@', StringComparison.Ordinal) <= 0)
        {
            return (null, null, "That is not an e-mail address.");
        }

        var project = await _projects.GetProjectAsync(projectId, cancellationToken);
        return project is null ? (null, null, "The project does not exist.") : (project, mailbox, null);
    }

    private async Task<string?> SendNowAsync(int projectId, string trigger, MailContent mail, string address, DateTimeOffset now, CancellationToken cancellationToken, string? key = null)
    {
        key ??= trigger + ":" + Guid.NewGuid().ToString("N");
        var notification = new Notification(Guid.NewGuid(), projectId, key, trigger, trigger, now)
        {
            Recipients = [address],
            Subject = mail.Subject,
            TextBody = mail.Text,
            HtmlBody = mail.Html,
            NextAttemptAt = now,
        };

        var result = (await _sender.SendAsync([await _messages.CreateAsync(notification, _sender.From, cancellationToken)], cancellationToken))[0];
        var sent = result.Outcome == DeliveryOutcome.Sent;

        // Recorded after the attempt, as sent or failed: a test is never retried by the worker.
        await _outbox.AddNotificationAsync(
            notification with
            {
                State = sent ? NotificationState.Sent : NotificationState.Failed,
                Attempts = 1,
                SentAt = sent ? _time.GetUtcNow() : null,
                LastError = result.Error,
            },
            cancellationToken);
        return sent ? null : result.Error;
    }
}
