using Microsoft.Extensions.Logging;

namespace ErrorHub.Storage;

internal static partial class StoreLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Using ClickHouse {Version} at {Url}, database {Database}")]
    public static partial void UsingClickHouse(ILogger logger, string version, Uri url, string database);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "ErrorHub store ready ({Kind})")]
    public static partial void StoreReady(ILogger logger, string kind);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "The stored payload of event {EventId} in project {ProjectId} cannot be read, and the event is left out of what was asked: {Reason}")]
    public static partial void UnreadablePayload(ILogger logger, string eventId, int projectId, string reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "ClickHouse at {Url} lacks rows the other replicas have of {Tables} (restarted empty, or behind): waiting up to {Bound} for it to fetch them before this process reads them")]
    public static partial void WaitingForReplicas(ILogger logger, Uri url, string tables, TimeSpan bound);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "ClickHouse at {Url} has fetched them from the other replicas, after {Duration}")]
    public static partial void ReplicasCaughtUp(ILogger logger, Uri url, TimeSpan duration);
}
