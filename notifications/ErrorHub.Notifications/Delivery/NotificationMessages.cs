using System.Text;
using System.Text.Encodings.Web;
using ErrorHub.Notifications.Content;
using ErrorHub.Server;
using ErrorHub.Storage;
using MimeKit;

namespace ErrorHub.Notifications.Delivery;

/// <summary>One copy of a mail and whom the SMTP envelope delivers it to, which its headers need not show.</summary>
internal sealed record MailCopy(MimeMessage Message, IReadOnlyList<MailboxAddress> Recipients);

/// <summary>
/// A notification as it goes out: one copy for the recipients without a switch of their own (the project's extra
/// addresses), and one per member, whose copy carries the link that turns this trigger off for them alone.
/// </summary>
internal sealed record OutgoingMail(IReadOnlyList<MailCopy> Copies);

/// <summary>
/// Recorded notifications as MIME messages: plain text and HTML, and a Message-ID from the notification's id, so a
/// resend is recognisably the same mail. The headers mail systems and people expect of an automatic sender: a
/// <c>Date</c>; <c>Auto-Submitted</c> and <c>Precedence</c> so auto-responders and out-of-office replies stay quiet
/// (RFC 3834); a <c>List-Id</c> per project to filter on (RFC 2919); <c>In-Reply-To</c> and <c>References</c> to the
/// first mail about the issue, so its mails are one conversation; and, in a member's copy, one-click unsubscribe
/// (RFC 8058) from that trigger of that project, or, for workflow mail about one issue, from that issue. Recipients are on the envelope only: the To: header names a lone
/// recipient, otherwise the empty group "undisclosed-recipients", so nobody sees the others' addresses. After an attempt
/// that reached only some recipients, it goes to the rest (<see cref="Notification.DeliverTo"/>) only.
/// </summary>
internal sealed class NotificationMessages(IProjectStore projects, IAccessStore access, AlertSettingsStore settings, ServerUrls urls, UnsubscribeLinks unsubscribe)
{
    private const string UndisclosedRecipients = "undisclosed-recipients";

    /// <summary>
    /// <c>&lt;notification id&gt;@&lt;the sender's domain&gt;</c>, as Sentry and most automatic senders make theirs: the same
    /// for a resend, and the right side a real domain (a bare word looks like a sender that does not know its own host).
    /// </summary>
    public static string MessageId(Guid notificationId, string? from) => notificationId.ToString("N") + "@" + MessageIdDomain(from);

    private static string MessageIdDomain(string? from) =>
        MailboxAddress.TryParse(from ?? "", out var sender) && sender.Domain is { Length: > 0 } domain && !domain.Contains('[', StringComparison.Ordinal)
            ? domain.Trim().ToLowerInvariant()
            : "errorhub";

    public async Task<OutgoingMail> CreateAsync(Notification notification, MailboxAddress from, CancellationToken cancellationToken)
    {
        var owed = new List<MailboxAddress>();
        foreach (var recipient in notification.DeliverTo ?? notification.Recipients)
        {
            if (MailboxAddress.TryParse(recipient, out var address))
            {
                owed.Add(address);
            }
        }

        var project = await projects.GetProjectAsync(notification.ProjectId, cancellationToken);
        var trigger = NotificationCycle.TriggerOf(notification.Trigger);
        var switches = project is null || trigger is null
            ? new Dictionary<string, (Guid UserId, string Why)>()
            : await SwitchesAsync(notification.ProjectId, trigger.Value, owed, cancellationToken);

        var copies = new List<MailCopy>();
        var shared = owed.Where(a => !switches.ContainsKey(a.Address)).ToList();
        if (shared.Count > 0 || owed.Count == 0)
        {
            var why = project is null || trigger is null
                ? null
                : $"This address gets these mails because it is on the alert list of {Bounded.Text(project.Name, 60)} on ErrorHub; an admin of the project can take it off";
            copies.Add(new MailCopy(Build(notification, from, project, shared, why, null, null), shared));
        }

        foreach (var address in owed.Where(a => switches.ContainsKey(a.Address)))
        {
            var (userId, why) = switches[address.Address];
            var link = unsubscribe.For(userId, notification.ProjectId, trigger!.Value);

            // Workflow mail about one issue: the mail client's Unsubscribe leaves that issue (as the footer's link does),
            // not every workflow mail of the project; the line under the mail still offers the project-wide switch.
            var oneClick = notification.Trigger == WorkflowMail.TriggerKey && notification.Fingerprint is { Length: > 0 } fingerprint
                ? unsubscribe.ForIssue(userId, notification.ProjectId, fingerprint)
                : link;
            List<MailboxAddress> one = [address];
            copies.Add(new MailCopy(Build(notification, from, project, one, why, link, oneClick), one));
        }

        return new OutgoingMail(copies);
    }

    /// <summary>
    /// The recipients who get this trigger's mail by a switch of their own, which an unsubscribe link can turn off: the
    /// project's members (its admins when it has none, the assignee of an assigned issue), unless their address is
    /// also one of the project's extra addresses, which no switch stops.
    /// </summary>
    private async Task<Dictionary<string, (Guid UserId, string Why)>> SwitchesAsync(int projectId, AlertTrigger trigger, List<MailboxAddress> owed, CancellationToken cancellationToken)
    {
        var switches = new Dictionary<string, (Guid UserId, string Why)>(StringComparer.OrdinalIgnoreCase);
        if (owed.Count == 0)
        {
            return switches;
        }

        var project = await projects.GetProjectAsync(projectId, cancellationToken);
        var extras = (await settings.GetAsync(projectId, cancellationToken)).ExtraAddresses.Select(a => a.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var members = await access.GetMembersAsync(projectId, cancellationToken);
        var users = await access.GetUsersAsync(cancellationToken);
        var name = Bounded.Text(project?.Name ?? "", 60);
        var label = AlertTriggerNames.Label(trigger);
        foreach (var address in owed)
        {
            if (extras.Contains(address.Address)
                || users.FirstOrDefault(u => !u.IsDisabled && string.Equals(u.Email.Trim(), address.Address, StringComparison.OrdinalIgnoreCase)) is not { } user)
            {
                continue;
            }

            var why = trigger == AlertTrigger.Assignment && (members.Contains(user.Id) || user.Role == UserRole.Admin)
                ? $"You get \"{label}\" mails of {name} on ErrorHub. Turn them all off for this project with one click"
                : members.Contains(user.Id)
                    ? $"You get \"{label}\" mails of {name} on ErrorHub as a member of the project. Turn them off for this project with one click"
                    : user.Role == UserRole.Admin && members.Count == 0
                        ? $"You get \"{label}\" mails of {name} on ErrorHub as an admin: the project has no members. Turn them off for this project with one click"
                        : null;
            if (why is not null)
            {
                switches[address.Address] = (user.Id, why);
            }
        }

        return switches;
    }

    private MimeMessage Build(Notification notification, MailboxAddress from, Project? project, List<MailboxAddress> recipients, string? why, Uri? unsubscribeLink, Uri? oneClickLink)
    {
        var message = new MimeMessage
        {
            Subject = notification.Subject,
            MessageId = MessageId(notification.Id, from.Address),
            Date = notification.CreatedAt,
        };
        message.From.Add(from);
        message.To.Add(recipients.Count == 1 ? recipients[0] : new GroupAddress(UndisclosedRecipients));
        if (notification.InReplyTo is { Length: > 0 } thread)
        {
            message.InReplyTo = thread;
            message.References.Add(thread);
        }

        // RFC 3834: no vacation or out-of-office answers to a robot; Precedence and X-Auto-Response-Suppress for
        // the responders (Exchange, older ones) that read only those.
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Headers.Add("Precedence", "bulk");
        message.Headers.Add("X-Auto-Response-Suppress", "All");
        if (project is not null)
        {
            message.Headers.Add("List-Id", ListId(project));
        }

        if (oneClickLink is not null)
        {
            message.Headers.Add("List-Unsubscribe", "<" + oneClickLink.AbsoluteUri + ">");
            message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }

        message.Headers.Add("X-ErrorHub-Trigger", notification.Trigger);
        var (text, html) = why is null ? (notification.TextBody, notification.HtmlBody) : WithWhy(notification.TextBody, notification.HtmlBody, why, unsubscribeLink);
        message.Body = new BodyBuilder { TextBody = text, HtmlBody = html }.ToMessageBody();
        return message;
    }

    /// <summary>
    /// <c>"Web shop" &lt;web-shop.3.errors.example.com&gt;</c>: the project's id keeps it unique and lets a filter
    /// outlive a renamed project (match on <c>.3.errors.example.com</c>); the host is the dashboard's public one.
    /// </summary>
    internal string ListId(Project project)
    {
        var slug = new StringBuilder();
        foreach (var c in project.Name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }

        var label = slug.ToString().Trim('-');
        label = label.Length == 0 ? "project" : label[..Math.Min(label.Length, 40)].TrimEnd('-');
        var phrase = string.Concat(Bounded.Text(project.Name, 60).Where(c => c is >= ' ' and < (char)127 and not '"' and not '\\')).Trim();
        var id = FormattableString.Invariant($"{label}.{project.Id}.{urls.Public.IdnHost}");
        return phrase.Length == 0 ? $"<{id}>" : $"\"{phrase}\" <{id}>";
    }

    private static (string Text, string Html) WithWhy(string text, string html, string why, Uri? link)
    {
        var line = link is null ? why + "." : why + ":\n" + link.AbsoluteUri;
        var htmlLine = new StringBuilder("<p style=\"font-size:12px;color:#666;margin:8px 0 0\">");
        if (link is null)
        {
            htmlLine.Append(HtmlEncoder.Default.Encode(why)).Append('.');
        }
        else
        {
            // The link is the words that say what it does ("Turn them off for this project with one click"), as in the
            // footer above it, so the HTML part says what the text part says; until December 2026 it read "Unsubscribe".
            var cut = why.LastIndexOf(". ", StringComparison.Ordinal);
            var (lead, action) = cut < 0 ? ("", why) : (why[..(cut + 2)], why[(cut + 2)..]);
            htmlLine.Append(HtmlEncoder.Default.Encode(lead)).Append("<a href=\"").Append(HtmlEncoder.Default.Encode(link.AbsoluteUri))
                .Append("\" style=\"color:#0b5cad\">").Append(HtmlEncoder.Default.Encode(action)).Append("</a>");
        }

        htmlLine.Append("</p>");
        const string End = "</body></html>";
        var at = html.LastIndexOf(End, StringComparison.Ordinal);
        var newHtml = at < 0 ? html + htmlLine : html[..at] + htmlLine + html[at..];
        return (text.TrimEnd('\n') + "\n" + line + "\n", newHtml);
    }
}
