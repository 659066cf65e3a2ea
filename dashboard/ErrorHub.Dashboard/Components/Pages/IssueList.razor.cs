namespace ErrorHub.Dashboard.Components.Pages;

public sealed partial class IssueList
{
    [LoggerMessage(1, LogLevel.Warning, "A bulk change of issues stopped after {Done} of {Total}; the page offers to retry the rest: {Reason}")]
    private static partial void LogBulkStopped(ILogger logger, int done, int total, Exception? exception, string reason);
}
