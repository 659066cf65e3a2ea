using System.Text.Json.Serialization;

namespace ErrorHub.Storage;

/// <summary>
/// What the notification worker keeps: an outbox of notifications (recorded before they are sent,
/// marked after), per-project documents (alert settings, the worker's progress), and the lease that lets
/// one worker be active across servers. Written only by the lease holder and the dashboard's settings pages.
/// </summary>
public interface INotificationStore
{
    /// <summary>Records a notification unless one with the same <see cref="Notification.Key"/> exists in its project; true when recorded.</summary>
    Task<bool> AddNotificationAsync(Notification notification, CancellationToken cancellationToken = default);

    /// <summary>Stores a notification's new delivery state (state, attempts, next attempt, error, sent time).</summary>
    Task UpdateNotificationAsync(Notification notification, CancellationToken cancellationToken = default);

    /// <summary>Pending notifications of every project whose next attempt is due at <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<Notification>> GetDueNotificationsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);

    /// <summary>The project's notifications, newest first: the history the dashboard shows.</summary>
    Task<IReadOnlyList<Notification>> GetNotificationsAsync(int projectId, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// For the cap and the cooldowns: the project's notifications (not held back) created since <paramref name="since"/>,
    /// those held back since its latest one that was not (at the same instant or later: held back only once the cap was full), and when <paramref name="group"/> last got one that was not held back.
    /// </summary>
    Task<NotificationCounts> CountNotificationsAsync(int projectId, DateTimeOffset since, string group, CancellationToken cancellationToken = default);

    /// <summary>A project's document of <paramref name="kind"/> (JSON, the caller's format), or null.</summary>
    Task<string?> GetDocumentAsync(int projectId, string kind, CancellationToken cancellationToken = default);

    /// <summary>Replaces a project's document of <paramref name="kind"/>.</summary>
    Task SaveDocumentAsync(int projectId, string kind, string json, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes or renews the lease <paramref name="name"/> for <paramref name="holder"/> until <paramref name="now"/> +
    /// <paramref name="duration"/>, unless another holder has it past <paramref name="now"/>; true when <paramref name="holder"/> holds it.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string name, string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>The mail thread of an issue (the first mail about it), or null before its first mail.</summary>
    Task<MailThread?> GetMailThreadAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes <paramref name="thread"/> the issue's mail thread unless it has one; returns the one it has after this
    /// (the first stays: two servers starting a thread at once both get the same answer).
    /// </summary>
    Task<MailThread> StartMailThreadAsync(int projectId, string fingerprint, MailThread thread, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records implied participation (a comment, an assignment, a status change, a mention): each one is kept unless its
    /// member already has a subscription to that issue (the first reason stays; an unsubscribe by hand stays).
    /// </summary>
    Task AddParticipantsAsync(IReadOnlyList<IssueSubscription> participants, CancellationToken cancellationToken = default);

    /// <summary>A choice made by hand (<see cref="SubscriptionReason.Manual"/>): replaces the member's subscription to the issue, whatever it was.</summary>
    Task SetSubscriptionAsync(IssueSubscription subscription, CancellationToken cancellationToken = default);

    /// <summary>The subscriptions (subscribed or not) of the project's issues <paramref name="fingerprints"/>, in no particular order.</summary>
    Task<IReadOnlyList<IssueSubscription>> GetSubscriptionsAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default);

    /// <summary>Removes every subscription of the project's issues (the project was deleted); answers once they are gone.</summary>
    Task DeleteSubscriptionsAsync(int projectId, CancellationToken cancellationToken = default);
}

/// <summary>
/// The first mail about an issue: later mails about it answer it (<c>In-Reply-To</c>, <c>References</c>) and carry
/// its <see cref="Subject"/>, so mail clients, Gmail included, show them as one conversation.
/// </summary>
/// <param name="MessageId">The first mail's <c>Message-ID</c>, without angle brackets.</param>
public sealed record MailThread(string MessageId, string Subject, DateTimeOffset StartedAt);

[JsonConverter(typeof(JsonStringEnumConverter<NotificationState>))]
public enum NotificationState
{
    /// <summary>Recorded, not delivered yet (also while retrying).</summary>
    Pending,

    /// <summary>The SMTP server accepted it.</summary>
    Sent,

    /// <summary>Given up: a permanent SMTP refusal, or too many transient failures.</summary>
    Failed,

    /// <summary>Not sent: the project's hourly cap was reached. The next mail counts it.</summary>
    HeldBack,
}

/// <summary>
/// One e-mail to send: its content and recipients are fixed when it is recorded, so what was sent is what
/// the history shows. <see cref="Key"/> identifies the occasion (e.g. the new issue) so re-evaluating after a
/// crash does not record it twice; <see cref="Group"/> is what cooldowns count (an issue and a rule).
/// </summary>
public sealed record Notification(Guid Id, int ProjectId, string Key, string Group, string Trigger, DateTimeOffset CreatedAt)
{
    public string? Fingerprint { get; init; }

    /// <summary>The <c>Message-ID</c> (without angle brackets) of the first mail of the issue's thread this one answers; null for a thread's first mail and mails of no issue.</summary>
    public string? InReplyTo { get; init; }

    public IReadOnlyList<string> Recipients { get; init; } = [];

    /// <summary>
    /// The recipients still owed the mail, when an attempt reached the others but the server refused these for now (4xx);
    /// null when every recipient is owed it (not tried yet) or nobody is.
    /// </summary>
    public IReadOnlyList<string>? DeliverTo { get; init; }
    public string Subject { get; init; } = "";
    public string TextBody { get; init; } = "";
    public string HtmlBody { get; init; } = "";
    public NotificationState State { get; init; } = NotificationState.Pending;
    public int Attempts { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public string? LastError { get; init; }
}

/// <summary>Notifications of a project since a time, those held back since its latest mail, and when a group last got one.</summary>
public sealed record NotificationCounts(int Since, int HeldBack, DateTimeOffset? LastOfGroup);

/// <summary>
/// Why a member participates in an issue (Sentry's "You're subscribed because..."). <see cref="Manual"/> is a choice made
/// by hand, subscribed or not; the others are implied by what the member did to the issue.
/// </summary>
public enum SubscriptionReason
{
    /// <summary>Subscribed or unsubscribed by hand on the issue's page (or the unsubscribe link of a workflow mail).</summary>
    Manual,

    /// <summary>Commented on the issue.</summary>
    Commented,

    /// <summary>Was assigned the issue.</summary>
    Assigned,

    /// <summary>Resolved, ignored, reopened or merged it.</summary>
    StatusChanged,

    /// <summary>Was @mentioned in a comment on it.</summary>
    Mentioned,
}

/// <summary>
/// Whether a member hears about an issue's workflow (comments, assignment, status changes, regressions), and why. One
/// per member and issue: the first implied reason stays, and a choice made by hand (<see cref="SubscriptionReason.Manual"/>)
/// replaces any other and is never replaced by an implied one, so an explicit unsubscribe wins over later participation.
/// </summary>
public sealed record IssueSubscription(int ProjectId, string Fingerprint, Guid UserId, bool IsSubscribed, SubscriptionReason Reason, DateTimeOffset At);
