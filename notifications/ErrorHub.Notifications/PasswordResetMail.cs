using System.Threading.Channels;
using ErrorHub.Notifications.Content;
using ErrorHub.Notifications.Delivery;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace ErrorHub.Notifications;

/// <summary>
/// Mails a password reset link to someone who asked for one on the sign-in page ("Forgot password?"). Sent straight to
/// the SMTP server, not through the outbox: the link opens the account, and the outbox keeps every mail's body in the
/// store and shows it in a project's history; the mail belongs to no project, and a link that arrives an hour late is
/// worth little. Queued and sent off the request by one background loop, so the page answers at once and in the same
/// time whether or not an account has the address. The queue is bounded: when it is full the request is dropped (and
/// logged), never waited for.
/// </summary>
public sealed class PasswordResetMail : BackgroundService
{
    private const int QueueLength = 100;

    private readonly Channel<(string Email, string Name, Uri Link)> _queue =
        Channel.CreateBounded<(string, string, Uri)>(new BoundedChannelOptions(QueueLength) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly SmtpMailSender _sender;
    private readonly NotificationOptions _options;
    private readonly ILogger<PasswordResetMail> _logger;

    internal PasswordResetMail(SmtpMailSender sender, IOptions<NotificationOptions> options, ILogger<PasswordResetMail> logger)
    {
        _sender = sender;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Whether this server can mail at all (SMTP configured): without it, the sign-in page offers no "Forgot password?".</summary>
    public bool CanSend => _options.CanSend;

    /// <summary>Queues the mail; false when it cannot be sent (no SMTP, or the queue is full). Never blocks.</summary>
    public bool TryQueue(string email, string name, Uri link)
    {
        if (!CanSend || !_queue.Writer.TryWrite((email, name, link)))
        {
            NotificationLog.PasswordResetMailDropped(_logger);
            return false;
        }

        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (email, name, link) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                var message = Compose(email, name, link, _sender.From);
                var result = await AccountMail.SendAsync(_sender, message, stoppingToken);
                if (result.Outcome != DeliveryOutcome.Sent)
                {
                    NotificationLog.PasswordResetMailFailed(_logger, result.Error ?? result.Outcome.ToString(), null);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                NotificationLog.PasswordResetMailFailed(_logger, ex.Message, ex);
            }
        }
    }

    internal static MimeMessage Compose(string email, string name, Uri link, MailboxAddress from)
    {
        var content = new MailWriter()
            .Heading("Reset your ErrorHub password")
            .Paragraph($"Someone, hopefully you, asked for a new password for the ErrorHub account {Bounded.Text(email, 200)}. The link works once, for a day. If it was not you, ignore this mail: your password stays as it is.")
            .Link("Choose a new password", link)
            .Build("Reset your ErrorHub password");
        return AccountMail.Message(content, from, new MailboxAddress(Bounded.Text(name, 80), email));
    }
}
