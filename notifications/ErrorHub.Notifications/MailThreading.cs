using ErrorHub.Notifications.Delivery;
using ErrorHub.Storage;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>
/// One mail thread per issue: the first mail recorded about an issue starts it (its Message-ID and subject are kept
/// in the store); every later one about the issue (a regression, a spike, an assignment, a comment) answers it and
/// carries the same subject, which Gmail needs as well as the references. Mails about an issue merged into another are
/// about the other (the store counts the merged issue's events for it, and a merged issue is no issue of its own), so
/// they answer the other's thread. The digest is about no issue and in no thread.
/// </summary>
internal sealed class MailThreading(INotificationStore outbox, IOptions<NotificationOptions> options)
{
    /// <summary>
    /// Records <paramref name="notification"/> (about its <see cref="Notification.Fingerprint"/>) in the thread:
    /// with the thread's subject and In-Reply-To when there is one, else as its first mail with <paramref name="subject"/>.
    /// True when recorded (false: its key was already recorded).
    /// </summary>
    public async Task<bool> RecordAsync(Notification notification, string subject, CancellationToken cancellationToken)
    {
        if (notification.Fingerprint is not { } fingerprint)
        {
            return await outbox.AddNotificationAsync(notification with { Subject = subject }, cancellationToken);
        }

        if (await outbox.GetMailThreadAsync(notification.ProjectId, fingerprint, cancellationToken) is { } thread)
        {
            return await outbox.AddNotificationAsync(notification with { Subject = thread.Subject, InReplyTo = thread.MessageId }, cancellationToken);
        }

        // Recorded first, then made the thread: a key recorded before (a round repeated after a crash) starts none.
        var recorded = await outbox.AddNotificationAsync(notification with { Subject = subject }, cancellationToken);
        if (recorded)
        {
            await outbox.StartMailThreadAsync(notification.ProjectId, fingerprint, new MailThread(NotificationMessages.MessageId(notification.Id, options.Value.Smtp.From), subject, notification.CreatedAt), cancellationToken);
        }

        return recorded;
    }
}
