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
}
