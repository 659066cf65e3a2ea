using System.Net.Sockets;
using ErrorHub.Storage;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace ErrorHub.Notifications.Delivery;

/// <summary>How one delivery attempt ended.</summary>
internal enum DeliveryOutcome
{
    Sent,

    /// <summary>Worth another try later: the server could not be reached, the conversation broke, or it answered 4xx.</summary>
    Transient,

    /// <summary>The server refused for good (5xx): trying again would be refused again.</summary>
    Permanent,

    /// <summary>
    /// Never put to the server: the connection broke on an earlier mail. It is no attempt of this mail's, so it costs
    /// none of its attempts and waits for no back-off.
    /// </summary>
    NotTried,
}

/// <param name="TryAgainFor">
/// With <see cref="DeliveryOutcome.Sent"/>: the recipients the server refused for now (4xx: a full mailbox, a relay's
/// per-mail recipient limit, greylisting) while it took the mail for the others; they are owed the mail still.
/// </param>
internal sealed record DeliveryResult(DeliveryOutcome Outcome, string? Error = null, IReadOnlyList<string>? TryAgainFor = null);

/// <summary>Sends mails over one SMTP connection with MailKit, and sorts failures into transient and permanent.</summary>
internal sealed class SmtpMailSender(IOptions<NotificationOptions> options)
{
    private readonly NotificationOptions _options = options.Value;

    /// <summary>
    /// Sends each mail in order on one connection and reports each outcome; a connection that cannot be
    /// made fails them all transiently (they are tried again later), one that breaks on a mail leaves the rest
    /// <see cref="DeliveryOutcome.NotTried"/>.
    /// </summary>
    public async Task<IReadOnlyList<DeliveryResult>> SendAsync(IReadOnlyList<OutgoingMail> messages, CancellationToken cancellationToken)
    {
        var results = new List<DeliveryResult>(messages.Count);
        if (messages.Count == 0)
        {
            return results;
        }

        var timeout = TimeSpan.FromMilliseconds(Math.Clamp(_options.Smtp.Timeout.TotalMilliseconds, 1_000, int.MaxValue));
        using var client = new TolerantSmtpClient { Timeout = (int)timeout.TotalMilliseconds };
        var (trustedCertificates, unreadable) = SmtpCertificateTrust.Load(_options.Smtp.TrustedCertificatePath);
        if (unreadable is not null)
        {
            // Checked at start-up; the file may have been removed or broken since. Nothing goes out until it is back.
            return messages.Select(_ => new DeliveryResult(DeliveryOutcome.Transient, unreadable)).ToList();
        }

        var trust = new SmtpCertificateTrust(trustedCertificates);
        client.ServerCertificateValidationCallback = trust.Validate;

        // MailKit's timeout bounds each read and write, so a server that answers a few bytes at a time would hold
        // the worker (and every project's mail) for ever: each step of the conversation also gets a deadline.
        using (var deadline = Deadline(timeout, cancellationToken))
        {
            try
            {
                await ConnectAsync(client, deadline.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A 5xx before any mail was offered (a greeting of 554, a STARTTLS it advertised and then refused with 502,
                // an EHLO or AUTH it refused, a password it no longer takes) is the server's state or ours, not the mails':
                // they wait, with the back-off, for it to be put right instead of failing for good all at once.
                var failure = deadline.IsCancellationRequested || ex is TimeoutException ? TookTooLong("connecting", timeout)
                    : ex is SslHandshakeException && trust.Refusal is not null ? new DeliveryResult(DeliveryOutcome.Transient, trust.Refusal)
                    : ex is SmtpCommandException command ? new DeliveryResult(DeliveryOutcome.Transient, $"{(int)command.StatusCode} {command.Message}")
                    : ex is AuthenticationException auth ? new DeliveryResult(DeliveryOutcome.Transient, AuthenticationFailed(auth))
                    : ex is SocketException socket ? new DeliveryResult(DeliveryOutcome.Transient, CouldNotConnect(socket))
                    : Classify(ex);
                return messages.Select(_ => failure).ToList();
            }
        }

        foreach (var mail in messages)
        {
            var copies = new List<(MailCopy Copy, DeliveryResult Result)>(mail.Copies.Count);
            foreach (var copy in mail.Copies)
            {
                copies.Add((copy, await SendCopyAsync(client, copy, timeout, cancellationToken)));
            }

            results.Add(Combine(copies));
        }

        if (client.IsConnected)
        {
            using var deadline = Deadline(timeout, cancellationToken);
            try
            {
                await client.DisconnectAsync(quit: true, deadline.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ProtocolException or SmtpCommandException
                || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // Every mail already has its outcome; a rude goodbye changes none.
            }
        }

        return results;
    }

    private async Task<DeliveryResult> SendCopyAsync(TolerantSmtpClient client, MailCopy copy, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!client.IsConnected)
        {
            return new DeliveryResult(DeliveryOutcome.NotTried, "The SMTP connection closed on an earlier mail.");
        }

        using var deadline = Deadline(timeout, cancellationToken);
        try
        {
            client.Refused.Clear();
            // One transaction for all recipients of a copy: the server takes the mail for every address it accepts at
            // once, so nobody gets it twice because another address failed, and a team's shared copy costs one message.
            await client.SendAsync(copy.Message, From, copy.Recipients, deadline.Token);
            var later = client.Refused.Where(r => r.Status < 500).Select(r => r.Address).ToList();
            return new DeliveryResult(
                DeliveryOutcome.Sent,
                client.Refused.Count == 0 ? null : "Refused: " + string.Join("; ", client.Refused.Select(r => r.Text)),
                later.Count == 0 ? null : later);
        }
        catch (SmtpCommandException) when (client.Refused.Count > 0)
        {
            // No recipient was accepted: a 4xx refusal of any of them may pass later, 5xx ones will not.
            var outcome = client.Refused.Any(r => r.Status < 500) ? DeliveryOutcome.Transient : DeliveryOutcome.Permanent;
            return new DeliveryResult(outcome, string.Join("; ", client.Refused.Select(r => r.Text)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // MailKit's own timeout (the same setting, for each read) and the step's deadline race when the server goes
            // silent: either way it took too long, and the history says so in the same words.
            if (!deadline.IsCancellationRequested && ex is not TimeoutException)
            {
                if (ex is not SmtpCommandException { StatusCode: not SmtpStatusCode.ServiceNotAvailable })
                {
                    // The connection broke (or the server said 421, closing it): whatever state it is in, the next
                    // mails must not be blamed for it; they go on a new connection.
                    await DropAsync(client);
                }

                return Classify(ex);
            }

            // The conversation is cut mid-command: this mail and the rest wait for the next attempt.
            await DropAsync(client);
            return TookTooLong("sending", timeout);
        }
    }

    /// <summary>
    /// One notification's outcome from those of its copies: sent once any copy was, and then still owed to the
    /// recipients of copies refused for now or never tried (a broken connection), so nobody gets it twice; otherwise
    /// as its copies went (never tried, worth another try, or refused for good).
    /// </summary>
    internal static DeliveryResult Combine(IReadOnlyList<(MailCopy Copy, DeliveryResult Result)> copies)
    {
        if (copies.Count == 1)
        {
            return copies[0].Result;
        }

        var errors = copies.Select(c => c.Result.Error).Where(e => e is not null).Distinct().ToList();
        var error = errors.Count == 0 ? null : string.Join("; ", errors);
        if (copies.All(c => c.Result.Outcome == DeliveryOutcome.NotTried))
        {
            return new DeliveryResult(DeliveryOutcome.NotTried, error);
        }

        if (!copies.Any(c => c.Result.Outcome == DeliveryOutcome.Sent))
        {
            var permanent = copies.All(c => c.Result.Outcome == DeliveryOutcome.Permanent);
            return new DeliveryResult(permanent ? DeliveryOutcome.Permanent : DeliveryOutcome.Transient, error);
        }

        var later = copies.SelectMany(IEnumerable<string> (c) => c.Result.Outcome switch
        {
            DeliveryOutcome.Sent => c.Result.TryAgainFor ?? [],
            DeliveryOutcome.Transient or DeliveryOutcome.NotTried => c.Copy.Recipients.Select(r => r.Address),
            _ => [],
        }).ToList();
        return new DeliveryResult(DeliveryOutcome.Sent, error, later.Count == 0 ? null : later);
    }

    public MailboxAddress From => MailboxAddress.Parse(_options.Smtp.From ?? throw new InvalidOperationException("ErrorHub:Notifications:Smtp:From is not set."));

    private async Task ConnectAsync(SmtpClient client, CancellationToken cancellationToken)
    {
        var smtp = _options.Smtp;
        var security = smtp.Security switch
        {
            SmtpSecurity.None => SecureSocketOptions.None,
            SmtpSecurity.Implicit => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.StartTls,
        };
        // The socket is ours so that its stream can be bounded (BoundedReplyStream); MailKit still does TLS on it.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        Stream stream;
        try
        {
            await socket.ConnectAsync(smtp.Host ?? "", smtp.Port, cancellationToken);
            stream = new BoundedReplyStream(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        try
        {
            await client.ConnectAsync(stream, smtp.Host ?? "", smtp.Port, security, cancellationToken);
        }
        catch (NotSupportedException) when (security == SecureSocketOptions.StartTls && !client.Capabilities.HasFlag(SmtpCapabilities.StartTLS))
        {
            await stream.DisposeAsync();
            throw new SmtpTlsNotOfferedException();
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
        if (!string.IsNullOrEmpty(smtp.UserName))
        {
            await client.AuthenticateAsync(smtp.UserName, smtp.Password ?? "", cancellationToken);
        }
    }

    private static async Task DropAsync(SmtpClient client)
    {
        try
        {
            await client.DisconnectAsync(quit: false, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // Closing a connection that is already broken: nothing to tell.
        }
    }

    private static CancellationTokenSource Deadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        return deadline;
    }

    // "Connection refused" alone does not say which setting to check: the host and port tried do.
    private string CouldNotConnect(SocketException socket) =>
        FormattableString.Invariant($"Could not connect to the SMTP server {_options.Smtp.Host}:{_options.Smtp.Port} (ErrorHub:Notifications:Smtp:Host and Port): {socket.Message}.");

    private static string AuthenticationFailed(AuthenticationException auth) =>
        $"SMTP authentication failed (ErrorHub:Notifications:Smtp:UserName and Password): {auth.Message}";

    private static DeliveryResult TookTooLong(string step, TimeSpan timeout) =>
        new(DeliveryOutcome.Transient, FormattableString.Invariant($"The SMTP server took longer than {timeout.TotalSeconds:0.#} s {step} (ErrorHub:Notifications:Smtp:Timeout)."));

    internal static DeliveryResult Classify(Exception ex) => ex switch
    {
        SmtpCommandException command when (int)command.StatusCode >= 500 =>
            new(DeliveryOutcome.Permanent, $"{(int)command.StatusCode} {command.Message}"),
        SmtpCommandException command => new(DeliveryOutcome.Transient, $"{(int)command.StatusCode} {command.Message}"),
        SmtpTlsNotOfferedException notOffered => new(DeliveryOutcome.Transient, notOffered.Message),
        AuthenticationException auth => new(DeliveryOutcome.Transient, AuthenticationFailed(auth)),
        _ => new(DeliveryOutcome.Transient, $"{ex.GetType().Name}: {ex.Message}"),
    };
}

/// <summary>
/// An SMTP client that sends to the recipients the server accepts and notes the refused ones, instead of
/// failing the whole mail for one mistyped team address; when none is accepted, sending fails as usual.
/// </summary>
internal sealed class TolerantSmtpClient : SmtpClient
{
    public List<(int Status, string Address, string Text)> Refused { get; } = [];

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        Refused.Add(((int)response.StatusCode, mailbox.Address, $"{(int)response.StatusCode} {response.Response} ({mailbox.Address})"));
    }
}

/// <summary>The server offers no STARTTLS while <see cref="SmtpSecurity.StartTls"/> is required: nothing is sent in clear.</summary>
internal sealed class SmtpTlsNotOfferedException() : Exception(
    "The SMTP server does not offer STARTTLS and ErrorHub:Notifications:Smtp:Security is StartTls: no mail is sent in clear (Security=Implicit for a port-465 server; None only for a relay you trust on the same machine or network).");
