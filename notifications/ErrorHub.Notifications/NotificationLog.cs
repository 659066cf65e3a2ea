using ErrorHub.Storage;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Notifications;

internal static partial class NotificationLog
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Alerts of project {ProjectId} could not be evaluated; trying again next round")]
    public static partial void EvaluationFailed(ILogger logger, int projectId, Exception exception);

    // One warning per round, not one per project: a round ends at the store's first failure to answer.
    [LoggerMessage(EventId = 9017, Level = LogLevel.Warning, Message = "Alerts of project {ProjectId} could not be evaluated: the store is not answering. The round ends here; the other projects and the mail due wait for the next round")]
    public static partial void StoreNotAnswering(ILogger logger, int projectId, Exception exception);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Rule {RuleId} of project {ProjectId} fired, but nobody gets its mail (no members who want it, no extra addresses)")]
    public static partial void NoRecipients(ILogger logger, int projectId, string ruleId);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "Recorded a {Trigger} notification for project {ProjectId} ({Key})")]
    public static partial void Recorded(ILogger logger, int projectId, string trigger, string key);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "Notification {Key} of project {ProjectId} sent")]
    public static partial void Delivered(ILogger logger, int projectId, string key);

    // A warning, not information: a mail that failed is one somebody did not get, and an operator who keeps only
    // warnings must still see the SMTP server refusing mail.
    [LoggerMessage(EventId = 9008, Level = LogLevel.Warning, Message = "Notification {Key} of project {ProjectId} {Outcome}: {Error}")]
    public static partial void NotDelivered(ILogger logger, int projectId, string key, string outcome, string? error);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "A notification round failed; trying again next round")]
    public static partial void RoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Information, Message = "E-mail notifications are off: set ErrorHub:Notifications:Smtp:Host and :From to send them")]
    public static partial void Off(ILogger logger);

    [LoggerMessage(EventId = 9007, Level = LogLevel.Warning, Message = "A notification round ran out of its share of the lease; the rest waits for the next round")]
    public static partial void RoundCutShort(ILogger logger);

    [LoggerMessage(EventId = 9009, Level = LogLevel.Warning, Message = "The workflow mail (participants, assignment, comment, status change) of an issue in project {ProjectId} could not be recorded; the change itself is made")]
    public static partial void WorkflowFailed(ILogger logger, int projectId, Exception exception);

    [LoggerMessage(EventId = 9010, Level = LogLevel.Warning, Message = "A password reset mail was not queued: SMTP is not configured, or too many are waiting")]
    public static partial void PasswordResetMailDropped(ILogger logger);

    [LoggerMessage(EventId = 9011, Level = LogLevel.Warning, Message = "A password reset mail could not be sent: {Error}")]
    public static partial void PasswordResetMailFailed(ILogger logger, string error, Exception? exception);

    [LoggerMessage(EventId = 9012, Level = LogLevel.Information, Message = "Notification {Key} of project {ProjectId} was not sent: nobody is owed it any more ({Why})")]
    public static partial void NotOwed(ILogger logger, int projectId, string key, string why);

    [LoggerMessage(EventId = 9013, Level = LogLevel.Warning, Message = "An invitation mail was not queued: too many are waiting")]
    public static partial void InvitationMailDropped(ILogger logger);

    [LoggerMessage(EventId = 9014, Level = LogLevel.Warning, Message = "An invitation mail could not be sent: {Error}")]
    public static partial void InvitationMailFailed(ILogger logger, string error, Exception? exception);

    [LoggerMessage(EventId = 9015, Level = LogLevel.Information, Message = "Notification {Key} of project {ProjectId} was sent while the store failed; recorded as sent now, not sent again")]
    public static partial void RecordedLate(ILogger logger, int projectId, string key);

    [LoggerMessage(EventId = 9016, Level = LogLevel.Information, Message = "Events of project {ProjectId} arrived late, with times in {Ranges}: their new issues and spikes are looked for again")]
    public static partial void LateEvents(ILogger logger, int projectId, string ranges);
}
