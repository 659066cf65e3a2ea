namespace ErrorHub;

/// <summary>
/// Captures exceptions and messages and sends them to ErrorHub in the background. Never throws and
/// never blocks: when the SDK is disabled or its queue is full, events are dropped.
/// </summary>
public interface IErrorHubClient
{
    /// <summary>True when a valid DSN is configured and the SDK is enabled.</summary>
    bool IsEnabled { get; }

    /// <summary>
    /// Captures an exception; returns the event id, or null when nothing was queued. Inside an HTTP request the
    /// event carries the request and the user. An exception is reported once, however many paths see it.
    /// </summary>
    Guid? CaptureException(Exception exception, Action<ErrorHubEvent>? configure = null);

    /// <summary>Captures a message without an exception.</summary>
    Guid? CaptureMessage(string message, ErrorHubLevel level = ErrorHubLevel.Info, Action<ErrorHubEvent>? configure = null);

    /// <summary>Queues an event built by the caller.</summary>
    Guid? CaptureEvent(ErrorHubEvent errorEvent);

    /// <summary>Adds a breadcrumb to the current scope (the request's, the flow's or the process's).</summary>
    void AddBreadcrumb(Breadcrumb breadcrumb);

    /// <summary>Changes the current scope: tags, extra values, user and fingerprint of the events that follow.</summary>
    void ConfigureScope(Action<ErrorHubScope> configure);

    /// <summary>
    /// Starts a scope for this async flow, inheriting the current one; disposing it returns to the previous scope.
    /// </summary>
    IDisposable PushScope();

    /// <summary>Waits until every event queued so far was sent (or given up on), at most <paramref name="timeout"/>.</summary>
    /// <returns>True when the queue drained in time.</returns>
    Task<bool> FlushAsync(TimeSpan timeout);
}
