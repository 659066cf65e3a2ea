using ErrorHub.Dashboard.Formatting;
using ErrorHub.Notifications;
using ErrorHub.Server;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Access;

/// <summary>An invitation just made, its link (shown once to the admin), and its mail's state (null when nothing is mailed: no SMTP).</summary>
internal sealed record MadeInvitation(Invitation Invitation, Uri Link, InvitationMailStatus? Mail);

/// <summary>
/// The Users page's invitations with mail: an invitation is made (<see cref="Accounts"/>) and, with SMTP configured, its link
/// mailed to the invitee (<see cref="InvitationMail"/>, straight to the SMTP server, never through the outbox). Resending makes
/// a fresh link, so the old one stops working. One address gets at most <see cref="MailsPerEmail"/> invitation mails per
/// <see cref="MailWindow"/>, whoever asks, so a double-click or a script cannot flood it; past that the link is still shown.
/// </summary>
internal sealed class InvitationMailing(Accounts accounts, InvitationMail mail, IAccessStore store, IProjectStore projects, ServerUrls urls, TimeProvider clock)
{
    public const int MailsPerEmail = 3;

    public static readonly TimeSpan MailWindow = TimeSpan.FromHours(1);

    private readonly UnknownEmailFailures _mailsPerEmail = new();

    public bool CanSend => mail.CanSend;

    public InvitationMailStatus? StatusOf(Guid invitationId) => mail.StatusOf(invitationId);

    /// <summary>An invitation's mail changed state (raised off the request, on the send loop).</summary>
    public event Action<Guid>? StatusChanged
    {
        add => mail.StatusChanged += value;
        remove => mail.StatusChanged -= value;
    }

    public async Task<AccountResult<MadeInvitation>> InviteAsync(Guid adminId, string? email, UserRole role, IReadOnlyList<int> projectIds, CancellationToken cancellationToken = default)
    {
        var made = await accounts.InviteAsync(adminId, email, role, projectIds, cancellationToken);
        if (!made.Succeeded)
        {
            return AccountResult<MadeInvitation>.Refused(made.Problem!);
        }

        return AccountResult<MadeInvitation>.Ok(await MailAsync(adminId, made.Value.Invitation, made.Value.Secret, cancellationToken));
    }

    /// <summary>A fresh link for an open invitation, mailed; refused (the old link still working) while its address is at its limit.</summary>
    public async Task<AccountResult<MadeInvitation>> ResendAsync(Guid adminId, Guid invitationId, CancellationToken cancellationToken = default)
    {
        if (!CanSend)
        {
            return AccountResult<MadeInvitation>.Refused("This ErrorHub sends no mail (SMTP is not configured): copy the link instead.");
        }

        var invitation = (await store.GetInvitationsAsync(cancellationToken)).SingleOrDefault(i => i.Id == invitationId);
        if (invitation is not null && _mailsPerEmail.LockedUntil(invitation.Email, clock.GetUtcNow()) is { } until)
        {
            return AccountResult<MadeInvitation>.Refused(LimitReached(invitation.Email, until));
        }

        var replaced = await accounts.ReplaceInvitationAsync(adminId, invitationId, cancellationToken);
        if (!replaced.Succeeded)
        {
            return AccountResult<MadeInvitation>.Refused(replaced.Problem!);
        }

        return AccountResult<MadeInvitation>.Ok(await MailAsync(adminId, replaced.Value.Invitation, replaced.Value.Secret, cancellationToken));
    }

    private async Task<MadeInvitation> MailAsync(Guid adminId, Invitation invitation, string secret, CancellationToken cancellationToken)
    {
        var link = urls.Link(DashboardPaths.Invitation(secret));
        if (!CanSend)
        {
            return new MadeInvitation(invitation, link, null);
        }

        var now = clock.GetUtcNow();
        if (_mailsPerEmail.LockedUntil(invitation.Email, now) is { } until)
        {
            return new MadeInvitation(invitation, link, mail.RecordNotSent(invitation.Id, LimitReached(invitation.Email, until)));
        }

        _mailsPerEmail.Fail(invitation.Email, now, MailsPerEmail, MailWindow);
        var inviter = await store.GetUserAsync(adminId, cancellationToken);
        var names = new List<string>(invitation.ProjectIds.Count);
        foreach (var projectId in invitation.ProjectIds)
        {
            if (await projects.GetProjectAsync(projectId, cancellationToken) is { } project)
            {
                names.Add(project.Name);
            }
        }

        var details = new InvitationMailDetails(inviter?.Name ?? "An admin", inviter?.Email ?? "", names);
        return new MadeInvitation(invitation, link, mail.TryQueue(invitation, details, link));
    }

    private static string LimitReached(string email, DateTimeOffset until) =>
        $"Not mailed: {email} got {MailsPerEmail} invitation mails within {MailWindow.TotalHours:0.#} hour; mail again after {RelativeTime.ExactUtc(until)}, or send the link yourself.";
}
