using System.Globalization;
using System.Security.Cryptography;
using ErrorHub.Server;
using Microsoft.AspNetCore.DataProtection;

namespace ErrorHub.Notifications;

/// <summary>What an unsubscribe link says, once its signature and age are checked.</summary>
public enum UnsubscribeStatus
{
    /// <summary>Signed by this server and not expired: it names the member, project and trigger to turn off.</summary>
    Valid,

    /// <summary>Signed by this server, but older than <see cref="UnsubscribeLinks.Lifetime"/>.</summary>
    Expired,

    /// <summary>Not a link this server made (changed, cut short, made up, or signed with keys it no longer has).</summary>
    Invalid,
}

/// <summary>An unsubscribe link read back: on <see cref="UnsubscribeStatus.Valid"/>, whose switch of which project and trigger it turns off.</summary>
public sealed record UnsubscribeRequest(UnsubscribeStatus Status, Guid UserId = default, int ProjectId = 0, AlertTrigger Trigger = default);

/// <summary>
/// The one-click unsubscribe links of alert mails (RFC 8058): <c>unsubscribe?token=…</c> on the dashboard, where the
/// token names one member, one project and one trigger, signed with the dashboard's Data Protection keys (those of its
/// sign-in cookies), so nobody can make one for another member or another switch. It expires after
/// <see cref="Lifetime"/>: a link in a mail from long ago does nothing but say so.
/// </summary>
public sealed class UnsubscribeLinks
{
    /// <summary>How long a mail's unsubscribe link works.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);

    internal const string Path = "unsubscribe";
    private const string Purpose = "ErrorHub.Notifications.Unsubscribe.v1";

    private readonly IDataProtector _protector;
    private readonly IDataProtector _issueProtector;
    private readonly ServerUrls _urls;
    private readonly TimeProvider _time;

    internal UnsubscribeLinks(IDataProtectionProvider protection, ServerUrls urls, TimeProvider time)
    {
        _protector = protection.CreateProtector(Purpose);
        _issueProtector = protection.CreateProtector(IssuePurpose);
        _urls = urls;
        _time = time;
    }

    /// <summary>The link that turns <paramref name="trigger"/> off for <paramref name="userId"/> on <paramref name="projectId"/>.</summary>
    public Uri For(Guid userId, int projectId, AlertTrigger trigger) =>
        _urls.Link(Path + "?token=" + Uri.EscapeDataString(Token(userId, projectId, trigger, _time.GetUtcNow() + Lifetime)));

    internal string Token(Guid userId, int projectId, AlertTrigger trigger, DateTimeOffset expires) =>
        _protector.Protect(string.Join(
            '|',
            userId.ToString("N"),
            projectId.ToString(CultureInfo.InvariantCulture),
            ((int)trigger).ToString(CultureInfo.InvariantCulture),
            expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));

    /// <summary>Reads a token from a link; never throws, whatever it is given.</summary>
    public UnsubscribeRequest Read(string? token)
    {
        if (Open(_protector, token, 2_000) is not { } payload)
        {
            return new UnsubscribeRequest(UnsubscribeStatus.Invalid);
        }

        var parts = payload.Split('|');
        if (parts.Length != 4
            || !Guid.TryParseExact(parts[0], "N", out var userId)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var projectId)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var trigger)
            || !Enum.IsDefined((AlertTrigger)trigger)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return new UnsubscribeRequest(UnsubscribeStatus.Invalid);
        }

        var status = _time.GetUtcNow().ToUnixTimeSeconds() >= expires ? UnsubscribeStatus.Expired : UnsubscribeStatus.Valid;
        return new UnsubscribeRequest(status, userId, projectId, (AlertTrigger)trigger);
    }

    private const string IssuePurpose = "ErrorHub.Notifications.IssueUnsubscribe.v1";
    internal const string IssuePath = "unsubscribe/issue";

    /// <summary>The link that unsubscribes <paramref name="userId"/> from the workflow mail of one issue (a footer of those mails).</summary>
    public Uri ForIssue(Guid userId, int projectId, string fingerprint) =>
        _urls.Link(IssuePath + "?token=" + Uri.EscapeDataString(IssueToken(userId, projectId, fingerprint, _time.GetUtcNow() + Lifetime)));

    internal string IssueToken(Guid userId, int projectId, string fingerprint, DateTimeOffset expires) =>
        _issueProtector.Protect(string.Join(
            '|',
            userId.ToString("N"),
            projectId.ToString(CultureInfo.InvariantCulture),
            expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            fingerprint));

    /// <summary>A token's payload: empty for none or one far too long to be ours, null for one this server did not make.</summary>
    private static string? Open(IDataProtector protector, string? token, int maxLength)
    {
        try
        {
            return string.IsNullOrEmpty(token) || token.Length > maxLength ? "" : protector.Unprotect(token);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Reads a token of <see cref="ForIssue"/>; never throws, whatever it is given.</summary>
    public IssueUnsubscribeRequest ReadIssue(string? token)
    {
        if (Open(_issueProtector, token, 4_000) is not { } payload)
        {
            return new IssueUnsubscribeRequest(UnsubscribeStatus.Invalid);
        }

        // The fingerprint comes last and may hold '|' itself.
        var parts = payload.Split('|', 4);
        if (parts.Length != 4
            || !Guid.TryParseExact(parts[0], "N", out var userId)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var projectId)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || parts[3].Length == 0)
        {
            return new IssueUnsubscribeRequest(UnsubscribeStatus.Invalid);
        }

        var status = _time.GetUtcNow().ToUnixTimeSeconds() >= expires ? UnsubscribeStatus.Expired : UnsubscribeStatus.Valid;
        return new IssueUnsubscribeRequest(status, userId, projectId, parts[3]);
    }
}

/// <summary>An issue's unsubscribe link read back: on <see cref="UnsubscribeStatus.Valid"/>, who leaves which issue.</summary>
public sealed record IssueUnsubscribeRequest(UnsubscribeStatus Status, Guid UserId = default, int ProjectId = 0, string Fingerprint = "");
