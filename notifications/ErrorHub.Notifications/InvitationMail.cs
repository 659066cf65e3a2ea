using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using ErrorHub.Notifications.Content;
using ErrorHub.Notifications.Delivery;
using ErrorHub.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace ErrorHub.Notifications;

/// <summary>Where an invitation's mail is: waiting to be sent, taken by the SMTP server, or not sent (and why).</summary>
public enum InvitationMailState
{
    Queued,
    Sent,
    Failed,
}

/// <param name="Reason">With <see cref="InvitationMailState.Failed"/>: why, in one bounded line (the SMTP server's answer, or ErrorHub's).</param>
public sealed record InvitationMailStatus(InvitationMailState State, DateTimeOffset At, string? Reason = null);

/// <summary>What an invitation mail says besides its link: who invited, to which projects.</summary>
public sealed record InvitationMailDetails(string InviterName, string InviterEmail, IReadOnlyList<string> ProjectNames);

/// <summary>
/// Mails an invitation link to the invitee, the way <see cref="PasswordResetMail"/> mails a reset link: straight to the SMTP
/// server, never through the outbox. The link creates an account; the outbox keeps every mail's body in plain text in the
/// store and shows it in a project's history, while the store keeps an invitation's link only hashed. Queued and sent off the
/// request by one background loop over a bounded queue (full: not queued, logged, never waited for). What became of each
/// invitation's mail is kept in memory, per dashboard process, for the Users page (<see cref="StatusOf"/>): a restart
/// forgets it, and the page then shows no mail state, as for an invitation made without SMTP.
/// </summary>
public sealed class InvitationMail : BackgroundService
{
    private const int QueueLength = 100;

    /// <summary>Statuses kept: far more than the open invitations of any ErrorHub; past it the oldest are forgotten.</summary>
    private const int MaxStatuses = 1_000;

    private const int MaxReasonLength = 300;

    private readonly Channel<(Invitation Invitation, InvitationMailDetails Details, Uri Link)> _queue =
        Channel.CreateBounded<(Invitation, InvitationMailDetails, Uri)>(new BoundedChannelOptions(QueueLength) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly ConcurrentDictionary<Guid, InvitationMailStatus> _statuses = new();
    private readonly SmtpMailSender _sender;
    private readonly NotificationOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<InvitationMail> _logger;

    internal InvitationMail(SmtpMailSender sender, IOptions<NotificationOptions> options, TimeProvider clock, ILogger<InvitationMail> logger)
    {
        _sender = sender;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Whether this server can mail at all (SMTP configured): without it, the admin passes the link on by hand.</summary>
    public bool CanSend => _options.CanSend;

    /// <summary>Raised (on the send loop's thread) when an invitation's mail changes state, so an open Users page can show it.</summary>
    public event Action<Guid>? StatusChanged;

    /// <summary>What became of the invitation's mail in this process; null when none was asked for here.</summary>
    public InvitationMailStatus? StatusOf(Guid invitationId) => _statuses.GetValueOrDefault(invitationId);

    /// <summary>
    /// Queues the mail; the status says what became of it (<see cref="InvitationMailState.Failed"/> at once when it cannot be
    /// sent: no SMTP, an address no mail can go to, a full queue). Never blocks, never throws for the address.
    /// </summary>
    public InvitationMailStatus TryQueue(Invitation invitation, InvitationMailDetails details, Uri link)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        ArgumentNullException.ThrowIfNull(details);
        ArgumentNullException.ThrowIfNull(link);
        if (!CanSend)
        {
            return Record(invitation.Id, InvitationMailState.Failed, "This ErrorHub sends no mail (SMTP is not configured).");
        }

        if (!MailboxAddress.TryParse(invitation.Email, out var address) || address.Address != invitation.Email)
        {
            // Our own check of an invitation's email is loose (it is what people type); a mail needs an address MimeKit can
            // write into a header and an envelope as it is.
            return Record(invitation.Id, InvitationMailState.Failed, "Not sent: a mail cannot be addressed to this e-mail address.");
        }

        var queued = Record(invitation.Id, InvitationMailState.Queued, null);
        if (!_queue.Writer.TryWrite((invitation, details, link)))
        {
            NotificationLog.InvitationMailDropped(_logger);
            return Record(invitation.Id, InvitationMailState.Failed, "Not sent: too many mails are waiting; resend it in a minute, or send the link yourself.");
        }

        return queued;
    }

    /// <summary>Notes that the invitation's mail was not sent for a reason of the caller's (a limit): the page shows it.</summary>
    public InvitationMailStatus RecordNotSent(Guid invitationId, string reason) => Record(invitationId, InvitationMailState.Failed, reason);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (invitation, details, link) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                var message = Compose(invitation, details, link, _sender.From);
                var result = await AccountMail.SendAsync(_sender, message, stoppingToken);
                if (result.Outcome == DeliveryOutcome.Sent)
                {
                    Record(invitation.Id, InvitationMailState.Sent, null);
                }
                else
                {
                    var error = result.Error ?? result.Outcome.ToString();
                    NotificationLog.InvitationMailFailed(_logger, error, null);
                    Record(invitation.Id, InvitationMailState.Failed, error);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                NotificationLog.InvitationMailFailed(_logger, ex.Message, ex);
                Record(invitation.Id, InvitationMailState.Failed, ex.Message);
            }
        }
    }

    private InvitationMailStatus Record(Guid invitationId, InvitationMailState state, string? reason)
    {
        var status = new InvitationMailStatus(state, _clock.GetUtcNow(), reason is null ? null : Bounded.Text(reason, MaxReasonLength));
        _statuses[invitationId] = status;
        if (_statuses.Count > MaxStatuses)
        {
            foreach (var oldest in _statuses.OrderBy(entry => entry.Value.At).Take(_statuses.Count - MaxStatuses).ToList())
            {
                _statuses.TryRemove(oldest.Key, out _);
            }
        }

        try
        {
            StatusChanged?.Invoke(invitationId);
        }
        catch (Exception ex)
        {
            // A page that went away mid-render is no reason for the send loop to stop.
            NotificationLog.InvitationMailFailed(_logger, "a listener of the mail state failed: " + ex.Message, ex);
        }

        return status;
    }

    internal static MimeMessage Compose(Invitation invitation, InvitationMailDetails details, Uri link, MailboxAddress from)
    {
        var inviter = Bounded.Text(details.InviterName, 80);
        var role = invitation.Role == UserRole.Admin ? "admin (every project, and the users)" : "member";
        var projects = invitation.Role == UserRole.Admin
            ? "all"
            : details.ProjectNames.Count == 0 ? "none yet (an admin adds you to projects)" : Bounded.Text(string.Join(", ", details.ProjectNames), 500);
        var expires = invitation.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var content = new MailWriter()
            .Heading("You are invited to ErrorHub")
            .Paragraph($"{inviter} ({Bounded.Text(details.InviterEmail, 200)}) invited {Bounded.Text(invitation.Email, 200)} to ErrorHub, where errors of their applications are collected. Follow the link to choose your name and password. It works once, until {expires}. If you did not expect this mail, ignore it: no account is made without the link.")
            .Facts(("Role", role), ("Projects", projects), ("Link works until", expires))
            .Link("Create your account", link)
            .Build($"{inviter} invited you to ErrorHub");
        return AccountMail.Message(content, from, new MailboxAddress("", invitation.Email));
    }
}
