namespace ErrorHub.Internal;

/// <summary>How an event came to the SDK; decides whether a request may still hold it back.</summary>
internal enum CaptureSource
{
    /// <summary>The app called CaptureException/CaptureMessage: it asked for a report, so it is sent at once.</summary>
    Manual,

    /// <summary>An exception escaped the pipeline into UseErrorHub().</summary>
    Middleware,

    /// <summary>A log entry of level Error or above.</summary>
    Logger,

    /// <summary>
    /// A failure the framework contained and logged, whose request answers as if nothing failed (a Blazor
    /// <c>ErrorBoundary</c> showing its fallback: the page still answers 200). The response's status says nothing about
    /// it, so, as for a manual capture, it is sent at once, with the request.
    /// </summary>
    Contained,

    /// <summary>Outside any request: unhandled, unobserved, a background service.</summary>
    Process,

    /// <summary>
    /// A call on a long-lived connection (a SignalR hub method): the connection's HTTP request is not the failure's (it
    /// completes only when the client leaves), so none is looked up; the integration adds the caller itself.
    /// </summary>
    Connection,
}

/// <summary>
/// What an integration knows about the unit of work running on this flow (ASP.NET Core: the current request).
/// The core package defines it; ErrorHub.AspNetCore implements it.
/// </summary>
internal interface IRequestContext
{
    /// <summary>The scope of the current request (made on first use), or null outside requests.</summary>
    ErrorHubScope? CurrentRequestScope(ErrorHubClient client);

    /// <summary>
    /// The request a report belongs to, found once for the whole report (its scope, then the event handed to it):
    /// <paramref name="request"/> when the caller knows it (the middleware), else the current one; null outside requests.
    /// </summary>
    RequestReport? FindRequest(ErrorHubClient client, object? request);

    /// <summary>
    /// For an exception the full queue refused before an event was made of it: when it is captured inside a request
    /// whose outcome is not known yet, the request counts it as dropped when it completes, if it would have been
    /// reported. False when there is no such request (the caller counts it at once).
    /// </summary>
    bool TryHoldRefused(ErrorHubClient client, ErrorHubHint hint, CaptureSource source, object? request);

    /// <summary>
    /// Whether the request (<paramref name="request"/> when the caller knows it, else the current one) is a POST to
    /// <paramref name="eventsPath"/> carrying <paramref name="publicKey"/>: a batch of this SDK's own events, arriving at an
    /// ingest hosted in this same app. False outside requests.
    /// </summary>
    bool IsPostOfOwnEvents(object? request, string eventsPath, string publicKey) => false;

    /// <summary>
    /// <paramref name="exception"/>, already reported inside the request (by a log entry, held until the response
    /// completes), escaped the pipeline: the held event takes the frames the exception has now. Nothing outside requests.
    /// </summary>
    void SeenAgain(ErrorHubClient client, Exception exception, object? request)
    {
    }

    /// <summary>
    /// The integration's types whose methods marked AggressiveOptimization a report inside a request runs through: the
    /// SDK's warm-up compiles them at start, off the app's threads (see Transport.EventPathWarmUp.PrepareCapturePath).
    /// </summary>
    IReadOnlyList<Type> CapturePathTypes => [];
}

/// <summary>
/// One request as a report inside it sees it: found once per report by <see cref="IRequestContext.FindRequest"/>, so
/// the request's state is looked up once, not once for its scope and again for the hand-over.
/// </summary>
internal abstract class RequestReport
{
    /// <summary>
    /// The request's scope if something made it (a breadcrumb, a tag, the app's ConfigureScope); null while it would be
    /// empty, and a report then applies the process's scope, the request's scope's parent, straight away.
    /// </summary>
    public abstract ErrorHubScope? MadeScope { get; }

    /// <summary>
    /// Adds the request and user to an event captured inside the request and sends it through the client, now or
    /// when the response completes and shows whether the app handled the failure.
    /// </summary>
    public abstract void Take(ErrorHubEvent errorEvent, ErrorHubHint hint, CaptureSource source);
}
