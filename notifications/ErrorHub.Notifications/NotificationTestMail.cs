using ErrorHub.Notifications.Content;
using ErrorHub.Notifications.Delivery;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>"Send a test e-mail": sends at once (so the page can say what the SMTP server answered) and records it in the project's history.</summary>
public sealed class NotificationTestMail
{
    private readonly SmtpMailSender _sender;
    private readonly INotificationStore _outbox;
    private readonly IProjectStore _projects;
    private readonly ServerUrls _urls;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _time;

    internal NotificationTestMail(SmtpMailSender sender, INotificationStore outbox, IProjectStore projects, ServerUrls urls, IOptions<NotificationOptions> options, TimeProvider time)
    {
        _sender = sender;
        _outbox = outbox;
        _projects = projects;
        _urls = urls;
        _options = options.Value;
        _time = time;
    }

    /// <summary>Whether SMTP is configured at all.</summary>
    public bool CanSend => _options.CanSend;

    /// <summary>Sends a test mail for <paramref name="projectId"/> to <paramref name="address"/>; returns null when it was accepted, else what went wrong.</summary>
    public async Task<string?> SendAsync(int projectId, string address, CancellationToken cancellationToken = default)
    {
        if (!CanSend)
        {
            return "SMTP is not configured: set ErrorHub:Notifications:Smtp:Host and :From.";
        }

        if (!MimeKit.MailboxAddress.TryParse(address, out var mailbox) || mailbox.Address.IndexOf('@', StringComparison.Ordinal) <= 0)
        {
            return "That is not an e-mail address.";
        }

        var project = await _projects.GetProjectAsync(projectId, cancellationToken);
        if (project is null)
        {
            return "The project does not exist.";
        }

        var now = _time.GetUtcNow();
        var mail = new MailWriter()
            .Heading("ErrorHub can send you mail")
            .Paragraph($"This is a test e-mail for the project {project.Name}, sent on {MailWriter.Time(now)}. Alerts of this project will look like they come from the same sender.")
            .Link("Open the project's alert rules", _urls.Link(FormattableString.Invariant($"projects/{projectId}/alerts")))
            .Build($"[{Bounded.Text(project.Name, 60)}] Test e-mail from ErrorHub");
        var notification = new Notification(Guid.NewGuid(), projectId, "test:" + Guid.NewGuid().ToString("N"), "test", "test", now)
        {
            Recipients = [mailbox.Address],
            Subject = mail.Subject,
            TextBody = mail.Text,
            HtmlBody = mail.Html,
            NextAttemptAt = now,
        };

        var result = (await _sender.SendAsync([NotificationMessages.Create(notification, _sender.From)], cancellationToken))[0];
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
