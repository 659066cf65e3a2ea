using System.ComponentModel.DataAnnotations;

namespace ErrorHub.Notifications;

/// <summary>
/// E-mail notifications, bound from <c>ErrorHub:Notifications</c> (docs/configuration.md). Nothing is sent
/// until <see cref="SmtpOptions.Host"/> and <see cref="SmtpOptions.From"/> are set.
/// </summary>
public sealed class NotificationOptions
{
    public const string SectionName = "ErrorHub:Notifications";

    /// <summary>Where mail goes out.</summary>
    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>How often the worker looks for new alerts and due mail.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many alert mails per project per hour; more are held back and counted in the next mail.</summary>
    [Range(1, 10_000)]
    public int MaxPerProjectPerHour { get; set; } = 20;

    /// <summary>A frequency rule that fired for an issue stays quiet for that issue this long, unless the rule says otherwise.</summary>
    public TimeSpan DefaultCooldown { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Transient failures (connection errors, 4xx replies) are retried this many times in all, with growing pauses.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The first pause after a transient failure; each next one doubles, up to an hour.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The hour of the day (UTC) when daily digests go out, for the 24 hours before.</summary>
    [Range(0, 23)]
    public int DigestHourUtc { get; set; } = 8;

    /// <summary>How long the active worker holds its lease without renewing; another server takes over after it.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    internal bool CanSend => !string.IsNullOrWhiteSpace(Smtp.Host) && !string.IsNullOrWhiteSpace(Smtp.From);
}

/// <summary>The SMTP server notifications are sent through.</summary>
public sealed class SmtpOptions
{
    /// <summary>Host name or address; empty: no mail is sent.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 587;

    /// <summary><see cref="SmtpSecurity.StartTls"/> (port 587), <see cref="SmtpSecurity.Implicit"/> (port 465) or <see cref="SmtpSecurity.None"/>.</summary>
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;

    /// <summary>User name for SMTP authentication; empty: none.</summary>
    public string? UserName { get; set; }

    public string? Password { get; set; }

    /// <summary>The sender, e.g. <c>ErrorHub &lt;errors@example.com&gt;</c>.</summary>
    public string? From { get; set; }

    /// <summary>
    /// A PEM file with certificates to trust for the SMTP server's TLS besides the system's: a private relay's
    /// self-signed certificate, or the private CA that issued its certificate. Empty: only the system's.
    /// </summary>
    public string? TrustedCertificatePath { get; set; }

    /// <summary>How long one SMTP conversation may take before it counts as a transient failure.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

public enum SmtpSecurity
{
    /// <summary>Plain SMTP: only for a relay on the same machine or network.</summary>
    None,

    /// <summary>Upgrade to TLS with STARTTLS; refuse to send if the server does not offer it.</summary>
    StartTls,

    /// <summary>TLS from the first byte (SMTPS, usually port 465).</summary>
    Implicit,
}
