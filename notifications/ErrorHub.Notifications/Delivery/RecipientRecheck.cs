using ErrorHub.Server;
using ErrorHub.Storage;

namespace ErrorHub.Notifications.Delivery;

/// <summary>
/// Who of a queued mail's recipients is no longer owed it when the worker delivers it, and why: an account disabled,
/// removed from the project, or unsubscribed (the project's switch of the mail's trigger, or, for workflow mail, the
/// issue) after the mail was recorded. Recipients are checked when a mail is made; this holds for the time the mail
/// waits in the outbox (a round, or the retries after a failing SMTP server), as a mail provider honours an unsubscribe
/// at once. A project's extra addresses keep their rules (no switch stops them), as do addresses of no account on alert
/// mail. One per delivery round, and bounded: the accounts are read once, each project's members and settings once, and
/// the subscriptions of a batch's issues in one query per project, however many mails the round delivers.
/// </summary>
internal sealed class RecipientRecheck(IAccessStore access, INotificationStore outbox, AlertSettingsStore settings)
{
    /// <summary>The most addresses the history names as not sent to; the rest are counted.</summary>
    internal const int MaxNamed = 10;

    private readonly Dictionary<int, ProjectAudience> _projects = [];
    private readonly HashSet<(int ProjectId, string Fingerprint)> _subscriptionsRead = [];
    private readonly HashSet<(int ProjectId, string Fingerprint, Guid UserId)> _leftIssue = [];
    private Dictionary<string, UserAccount>? _accounts;

    /// <summary>Reads, in one query per project, the issue subscriptions the workflow mails of <paramref name="batch"/> need and this round has not read yet.</summary>
    public async Task PrepareAsync(IReadOnlyList<Notification> batch, CancellationToken cancellationToken)
    {
        var wanted = batch
            .Where(n => n.Trigger == WorkflowMail.TriggerKey && n.Fingerprint is { Length: > 0 })
            .Select(n => (n.ProjectId, Fingerprint: n.Fingerprint!))
            .Where(_subscriptionsRead.Add)
            .GroupBy(pair => pair.ProjectId);
        foreach (var project in wanted)
        {
            var subscriptions = await outbox.GetSubscriptionsAsync(project.Key, [.. project.Select(pair => pair.Fingerprint)], cancellationToken);
            foreach (var left in subscriptions.Where(s => !s.IsSubscribed))
            {
                _leftIssue.Add((left.ProjectId, left.Fingerprint, left.UserId));
            }
        }
    }

    /// <summary>The addresses of <paramref name="owed"/> the mail must not go to any more, each with why (for the history).</summary>
    public async Task<IReadOnlyList<(string Address, string Why)>> NotOwedAsync(Notification notification, IReadOnlyList<string> owed, CancellationToken cancellationToken)
    {
        var accounts = _accounts ??= ByAddress(await access.GetUsersAsync(cancellationToken));
        if (!_projects.TryGetValue(notification.ProjectId, out var audience))
        {
            var projectSettings = await settings.GetAsync(notification.ProjectId, cancellationToken);
            var members = await access.GetMembersAsync(notification.ProjectId, cancellationToken);
            audience = new ProjectAudience(projectSettings, [.. members], projectSettings.ExtraAddresses.Select(a => a.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase));
            _projects[notification.ProjectId] = audience;
        }

        var trigger = NotificationCycle.TriggerOf(notification.Trigger);
        var workflow = notification.Trigger == WorkflowMail.TriggerKey;
        var notOwed = new List<(string, string)>();
        foreach (var address in owed)
        {
            var trimmed = address.Trim();
            if (!workflow && audience.ExtraAddresses.Contains(trimmed))
            {
                continue; // on the project's alert list: only an admin takes it off, as before
            }

            if (!accounts.TryGetValue(trimmed, out var account))
            {
                if (workflow)
                {
                    notOwed.Add((address, "no account has this address any more"));
                }

                continue; // an alert to an address of no account keeps the rules it was recorded by
            }

            var why = account.IsDisabled ? "the account was disabled"
                : account.Role != UserRole.Admin && !audience.Members.Contains(account.Id) ? "the account may no longer read the project"
                : trigger is { } t && !audience.Settings.Wants(account.Id, t) ? $"turned \"{AlertTriggerNames.Label(t)}\" mails of this project off"
                : workflow && notification.Fingerprint is { } fingerprint && _leftIssue.Contains((notification.ProjectId, fingerprint, account.Id)) ? "unsubscribed from this issue"
                : null;
            if (why is not null)
            {
                notOwed.Add((address, why));
            }
        }

        return notOwed;
    }

    /// <summary>The history's words for recipients not sent to: <c>Not sent to ana@example.com: the account was disabled</c>; at most <see cref="MaxNamed"/> named, in the order of their addresses (the store keeps recipients in no particular order).</summary>
    public static string Describe(IReadOnlyList<(string Address, string Why)> notOwed)
    {
        var named = notOwed.OrderBy(n => n.Address.Trim(), StringComparer.OrdinalIgnoreCase).Take(MaxNamed).Select(n => $"{n.Address.Trim()}: {n.Why}");
        var rest = notOwed.Count > MaxNamed ? $"; and {notOwed.Count - MaxNamed} more" : "";
        return "Not sent to " + string.Join("; to ", named) + rest;
    }

    /// <summary>Accounts by address; of two with one address (an old disabled one and its successor), the active one.</summary>
    private static Dictionary<string, UserAccount> ByAddress(IReadOnlyList<UserAccount> users)
    {
        var byAddress = new Dictionary<string, UserAccount>(StringComparer.OrdinalIgnoreCase);
        foreach (var user in users.OrderBy(u => !u.IsDisabled))
        {
            byAddress.TryAdd(user.Email.Trim(), user);
        }

        return byAddress;
    }

    private sealed record ProjectAudience(AlertSettings Settings, HashSet<Guid> Members, HashSet<string> ExtraAddresses);
}
