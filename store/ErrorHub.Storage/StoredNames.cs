namespace ErrorHub.Storage;

/// <summary>
/// How enum values are spelled in both stores' tables: lower-case words that stay readable in SQL and
/// do not change when a C# name is refactored.
/// </summary>
internal static class StoredNames
{
    public static string Of(IssueStatus status) => status switch
    {
        IssueStatus.Unresolved => "unresolved",
        IssueStatus.Resolved => "resolved",
        IssueStatus.Ignored => "ignored",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown issue status."),
    };

    public static IssueStatus ParseIssueStatus(string value) => value switch
    {
        "resolved" => IssueStatus.Resolved,
        "ignored" => IssueStatus.Ignored,
        _ => IssueStatus.Unresolved,
    };

    public static string Of(NotificationState state) => state switch
    {
        NotificationState.Pending => "pending",
        NotificationState.Sent => "sent",
        NotificationState.Failed => "failed",
        NotificationState.HeldBack => "held",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Unknown notification state."),
    };

    public static string Of(SubscriptionReason reason) => reason switch
    {
        SubscriptionReason.Manual => "manual",
        SubscriptionReason.Commented => "commented",
        SubscriptionReason.Assigned => "assigned",
        SubscriptionReason.StatusChanged => "status",
        SubscriptionReason.Mentioned => "mentioned",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "Unknown subscription reason."),
    };

    public static SubscriptionReason ParseSubscriptionReason(string value) => value switch
    {
        "commented" => SubscriptionReason.Commented,
        "assigned" => SubscriptionReason.Assigned,
        "status" => SubscriptionReason.StatusChanged,
        "mentioned" => SubscriptionReason.Mentioned,
        _ => SubscriptionReason.Manual,
    };
}
