using ErrorHub.Notifications.Content;
using MimeKit;

namespace ErrorHub.Notifications.Delivery;

/// <summary>
/// A mail about one person's account (a password reset link, an invitation): a robot's mail to one address, sent straight
/// to the SMTP server rather than through the outbox, since its link opens an account and the outbox stores every body.
/// </summary>
internal static class AccountMail
{
    public static MimeMessage Message(MailContent content, MailboxAddress from, MailboxAddress to)
    {
        var message = new MimeMessage { Subject = content.Subject };
        message.From.Add(from);
        message.To.Add(to);
        // RFC 3834: no vacation or out-of-office answers to a robot (X-Auto-Response-Suppress for Exchange).
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Headers.Add("X-Auto-Response-Suppress", "All");
        message.Body = new BodyBuilder { TextBody = content.Text, HtmlBody = content.Html }.ToMessageBody();
        return message;
    }

    public static async Task<DeliveryResult> SendAsync(SmtpMailSender sender, MimeMessage message, CancellationToken cancellationToken) =>
        (await sender.SendAsync([new OutgoingMail([new MailCopy(message, message.To.Mailboxes.ToList())])], cancellationToken))[0];
}
