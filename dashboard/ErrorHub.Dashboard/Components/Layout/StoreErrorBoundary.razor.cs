namespace ErrorHub.Dashboard.Components.Layout;

public sealed partial class StoreErrorBoundary
{
    [LoggerMessage(1, LogLevel.Warning, "An open page could not read or write the store; it shows a retry instead of ending its circuit: {Reason}")]
    private static partial void LogStoreFailure(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Error, "An open page failed; it shows a retry instead of ending its circuit")]
    private static partial void LogPageFailure(ILogger logger, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Signing in or out could not use the store; the page says so: {Reason}")]
    internal static partial void LogSignInStoreFailure(ILogger logger, string reason);
}
