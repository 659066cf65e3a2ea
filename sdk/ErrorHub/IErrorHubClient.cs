namespace ErrorHub;

/// <summary>
/// Captures exceptions and messages and sends them to ErrorHub in the background. Never throws and
/// never blocks: when the SDK is disabled or its queue is full, events are dropped.
/// </summary>
public interface IErrorHubClient
{
    /// <summary>True when a valid DSN is configured and the SDK is enabled.</summary>
    bool IsEnabled { get; }

    /// <summary>Captures an exception; returns the event id, or null when nothing was queued.</summary>
    Guid? CaptureException(Exception exception, Action<ErrorHubEvent>? configure = null);

    /// <summary>Captures a message without an exception.</summary>
    Guid? CaptureMessage(string message, ErrorHubLevel level = ErrorHubLevel.Info, Action<ErrorHubEvent>? configure = null);

    /// <summary>Queues an event built by the caller.</summary>
    Guid? CaptureEvent(ErrorHubEvent errorEvent);

    /// <summary>Waits until every event queued so far was sent (or given up on), at most <paramref name="timeout"/>.</summary>
    /// <returns>True when the queue drained in time.</returns>
    Task<bool> FlushAsync(TimeSpan timeout);
}
