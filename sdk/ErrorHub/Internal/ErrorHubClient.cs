using System.Diagnostics;
using System.Runtime.CompilerServices;
using ErrorHub.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Internal;

/// <summary>
/// The SDK's one entry point for events: builds them on the caller's thread (cheaply, and only when
/// something went wrong), adds the current scope and request, runs <see cref="ErrorHubOptions.BeforeSend"/>,
/// and hands them to the sender. Never throws into the app.
/// </summary>
internal sealed partial class ErrorHubClient : IErrorHubClient, IAsyncDisposable, IDisposable
{
    /// <summary>Prefix of the SDK's own log categories: the ErrorHub logger provider ignores them.</summary>
    internal const string OwnLogCategory = "ErrorHub.Sdk";

    // Set while this thread runs SDK code that may call the app (BeforeSend, the user provider): whatever they
    // log or capture is not reported again, so the SDK never recurses into itself.
    [ThreadStatic]
    private static int t_inside;

    private readonly ErrorHubOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ThrottledWarning _beforeSendFailures;
    private readonly ThrottledWarning _userProviderFailures;
    private readonly ThrottledWarning _ownEventsPostFailures;
    private readonly ILogger _logger;
    private readonly ExceptionConverter _exceptions;
    private readonly BackgroundSender? _sender;
    private readonly UnwindingEvents? _unwinding;
    private readonly IRequestContext? _requestContext;
    private readonly IErrorHubUserProvider? _userProvider;
    private readonly LogScopes? _logScopes;
    private readonly string? _environment;
    private readonly string? _release;
    private readonly string _serverName;
    private readonly ErrorHubScope _processScope;
    private readonly AsyncLocal<ErrorHubScope?> _pushedScope = new();

    // Where this SDK posts its batches and with which key: a request of this app that is such a post is ErrorHub's ingest
    // hosted in the app itself, receiving the SDK's own events (see IsPostOfOwnEvents).
    private readonly string? _ownEventsPath;
    private readonly string? _ownKey;

    // Remembers exceptions already reported, without keeping them alive or touching Exception.Data.
    private readonly SeenExceptions _captured = new();

    public ErrorHubClient(
        IOptions<ErrorHubOptions> options,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IHostEnvironment? hostEnvironment = null,
        IRequestContext? requestContext = null,
        IErrorHubUserProvider? userProvider = null,
        LogScopes? logScopes = null)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _beforeSendFailures = new ThrottledWarning(timeProvider);
        _userProviderFailures = new ThrottledWarning(timeProvider);
        _ownEventsPostFailures = new ThrottledWarning(timeProvider);
        _logger = loggerFactory.CreateLogger(OwnLogCategory + ".Client");
        _exceptions = new ExceptionConverter(_options);
        _requestContext = requestContext;
        _userProvider = userProvider;
        _logScopes = logScopes;
        _processScope = new ErrorHubScope(null, _options.MaxBreadcrumbs);
        // A Blazor WebAssembly host registers no IHostEnvironment: its events say where they come from unless configured.
        _environment = _options.Environment ?? hostEnvironment?.EnvironmentName?.ToLowerInvariant() ?? (OperatingSystem.IsBrowser() ? "browser" : null);
        _release = _options.Release ?? EnvironmentInfo.EntryRelease();
        _serverName = _options.ServerName ?? EnvironmentInfo.MachineName();

        if (!_options.Enabled)
        {
            return;
        }

        if (!Dsn.TryParse(_options.Dsn, out var dsn, out var error))
        {
            LogDisabled(_logger, error);
            return;
        }

        _ownEventsPath = dsn.EventsUri.AbsolutePath;
        _ownKey = dsn.PublicKey;
        _sender = new BackgroundSender(dsn, _options, BackgroundSender.CreateHttpClient(), timeProvider, loggerFactory.CreateLogger(OwnLogCategory + ".Transport"));
        _unwinding = new UnwindingEvents(this, timeProvider);
        _sender.StartWarmUp(WarmUpEvent, [.. CapturePathTypes, .. _requestContext?.CapturePathTypes ?? []]);
    }

    /// <summary>This package's types whose AggressiveOptimization methods every reported exception runs through.</summary>
    internal static readonly Type[] CapturePathTypes =
        [typeof(ErrorHubClient), typeof(SeenExceptions), typeof(ExceptionConverter), typeof(ErrorHubScope), typeof(LogScopes), typeof(EventIds), typeof(BackgroundSender), typeof(BatchBuffer)];

    public bool IsEnabled => _sender is not null;

    internal ErrorHubOptions Options => _options;

    internal BackgroundSender? Sender => _sender;

    internal ErrorHubScope ProcessScope => _processScope;

    internal DateTimeOffset Now => _timeProvider.GetUtcNow();

    /// <summary>True while this thread runs the SDK's own reporting code.</summary>
    internal static bool IsInsideSdk => t_inside > 0;

    public Guid? CaptureException(Exception exception, Action<ErrorHubEvent>? configure = null) =>
        Capture(exception, ErrorHubLevel.Error, CaptureSource.Manual, configure);

    /// <summary>
    /// True (and counted) when the app asked for a report from inside a hook of its own that the SDK runs —
    /// <c>BeforeSend</c>, the user provider, a capture's <c>configure</c>: that report is not made (it could recurse
    /// without end), and the server is told it was dropped, as <c>before_send</c> (the reason the protocol has for what
    /// the app's hooks keep from being sent).
    /// </summary>
    private bool RefusedAsRecursive(CaptureSource source)
    {
        if (!IsInsideSdk)
        {
            return false;
        }

        if (source == CaptureSource.Manual)
        {
            _sender?.CountDropped(SdkDropReason.BeforeSend);
        }

        return true;
    }

    /// <summary>
    /// Every exception path ends here: the same exception instance is reported once, whichever path sees it first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // the report path: see EventPathWarmUp.PrepareCapturePath
    internal Guid? Capture(
        Exception exception, ErrorHubLevel level, CaptureSource source, Action<ErrorHubEvent>? configure, object? request = null)
    {
        if (_sender is null || exception is null || RefusedAsRecursive(source))
        {
            return null;
        }

        t_inside++;
        try
        {
            if (!TryMarkCaptured(exception))
            {
                // The same exception (or one it wraps) already reached us through another path. A library that logged it
                // before throwing it on (EF Core logs a failed SaveChanges, then rethrows) had it reported with the frames
                // it had then, none of the app's: now that it escaped the pipeline, the request's held event takes the
                // frames it unwound through since, as if the middleware had seen it first.
                if (source == CaptureSource.Middleware)
                {
                    _requestContext?.SeenAgain(this, exception, request);
                }

                SeenAgain(exception);
                return null;
            }

            if (source != CaptureSource.Manual && IsPostOfOwnEvents(request))
            {
                // The app hosts the ingest its DSN points at, and that ingest failed on one of this SDK's own batches:
                // reporting the failure would post it to the endpoint that just failed, whose failure would be reported
                // again, without end. A warning in the app's log instead.
                if (_ownEventsPostFailures.TryTake(out var notWritten))
                {
                    LogOwnEventsPostFailed(_logger, _ownEventsPath!, exception.GetType().FullName, exception.Message, notWritten);
                }

                return null;
            }

            if (_sender.WouldRefuse)
            {
                // A storm against a slow or dead ingest keeps the queue full: the event would be refused anyway, so
                // nothing is made of it (trace, scope, request: the costly part) and it is only counted. Inside a
                // request it is counted when the request completes, and only if it would have been reported then.
                if (_requestContext?.TryHoldRefused(this, new ErrorHubHint(exception), source, request) != true)
                {
                    _sender.CountRefused();
                }

                return null;
            }

            var errorEvent = NewEvent(level);
            _exceptions.AddExceptions(errorEvent, exception);
            configure?.Invoke(errorEvent);
            return Dispatch(errorEvent, new ErrorHubHint(exception), source, request);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
            return null;
        }
        finally
        {
            t_inside--;
        }
    }

    /// <summary>Whether the request the report is made in (the given one, else the current one) posts this SDK's own batches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool IsPostOfOwnEvents(object? request) =>
        _requestContext is { } context && _ownEventsPath is not null && context.IsPostOfOwnEvents(request, _ownEventsPath, _ownKey!);

    public Guid? CaptureMessage(string message, ErrorHubLevel level = ErrorHubLevel.Info, Action<ErrorHubEvent>? configure = null) =>
        CaptureMessage(message, level, CaptureSource.Manual, configure);

    internal Guid? CaptureMessage(string message, ErrorHubLevel level, CaptureSource source, Action<ErrorHubEvent>? configure)
    {
        if (_sender is null || RefusedAsRecursive(source))
        {
            return null;
        }

        t_inside++;
        try
        {
            var errorEvent = NewEvent(level);
            errorEvent.Message = message;
            configure?.Invoke(errorEvent);
            return Dispatch(errorEvent, new ErrorHubHint(null), source);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
            return null;
        }
        finally
        {
            t_inside--;
        }
    }

    public Guid? CaptureEvent(ErrorHubEvent errorEvent)
    {
        if (_sender is null || errorEvent is null || RefusedAsRecursive(CaptureSource.Manual))
        {
            return null;
        }

        t_inside++;
        try
        {
            errorEvent.Release ??= _release;
            errorEvent.Environment ??= _environment;
            errorEvent.ServerName ??= _serverName;
            errorEvent.Runtime ??= EnvironmentInfo.Runtime;
            errorEvent.OperatingSystem ??= EnvironmentInfo.OperatingSystem;
            return Dispatch(errorEvent, new ErrorHubHint(null), CaptureSource.Manual);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
            return null;
        }
        finally
        {
            t_inside--;
        }
    }

    public void AddBreadcrumb(Breadcrumb breadcrumb)
    {
        if (_sender is null || breadcrumb is null)
        {
            return;
        }

        try
        {
            CurrentScope().AddBreadcrumb(breadcrumb);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
        }
    }

    public void ConfigureScope(Action<ErrorHubScope> configure)
    {
        if (configure is null)
        {
            return;
        }

        try
        {
            configure(CurrentScope());
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
        }
    }

    public IDisposable PushScope()
    {
        var previous = _pushedScope.Value;
        _pushedScope.Value = new ErrorHubScope(CurrentScope(), _options.MaxBreadcrumbs);
        return new ScopeRestorer(this, previous);
    }

    public Task<bool> FlushAsync(TimeSpan timeout)
    {
        _unwinding?.SendAll(); // a flush promises what was captured before it: held events go now, with the frames they have
        return _sender?.FlushAsync(timeout) ?? Task.FromResult(true);
    }

    /// <summary>The scope events of this flow get: one pushed here, else the request's, else the process's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal ErrorHubScope CurrentScope() =>
        _pushedScope.Value ?? _requestContext?.CurrentRequestScope(this) ?? _processScope;

    /// <summary>Whether this flow runs inside a request of the app (the integration knows; none: never).</summary>
    internal bool IsInsideRequest => _requestContext?.FindRequest(this, null) is not null;

    /// <summary>
    /// True the first time an exception is seen; false for every later report of the same instance, and for a wrapper of
    /// one already reported (see <see cref="WrapsCaptured"/>), which is remembered too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal bool TryMarkCaptured(Exception exception) => _captured.TryAdd(exception) && !WrapsCaptured(exception);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every logged exception asks, in a storm each failing request
    internal bool WasCaptured(Exception exception) => _captured.Contains(exception) || WrapsCaptured(exception);

    /// <summary>
    /// Whether an exception this one wraps (its InnerException, theirs, ...) was reported: the same failure, wrapped on
    /// its way out. UseExceptionHandler wraps the exception it could not handle in an InvalidOperationException ("The
    /// exception handler ... produced a 404 status response") that the server or the developer page then logs; an app's
    /// catch block wraps and throws on. The failure's own event says it all, with its request (Sentry drops these too).
    /// An AggregateException of several failures is not a wrapper: the others may not have been reported.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool WrapsCaptured(Exception exception)
    {
        var current = exception;
        for (var depth = 0; depth < MaxWrappedDepth; depth++)
        {
            if (current is AggregateException { InnerExceptions.Count: > 1 } || current.InnerException is not { } inner
                || ReferenceEquals(inner, exception) || IsOpenCircuitRejection(current))
            {
                // The end of the chain, or a chain that leads back to this exception (a cycle, which only reflection or a
                // broken serializer makes): it was just marked, and does not wrap itself. Or an open circuit's refusal,
                // whose inner exception is an earlier call's failure, not this one's.
                return false;
            }

            if (_captured.Contains(inner))
            {
                return true;
            }

            current = inner;
        }

        return false;
    }

    /// <summary>
    /// Polly's <c>BrokenCircuitException</c> (an open circuit breaker refusing a call) carries the failure that opened the
    /// circuit as its inner exception, the same instance in every call it refuses, in every request, for as long as the
    /// circuit stays open: each is a failure of its own call, not that failure wrapped on its way out. Read by name: the
    /// SDK does not reference Polly (its versions 7 and 8 both name it so, version 7 also with a result type).
    /// </summary>
    private static bool IsOpenCircuitRejection(Exception exception) =>
        exception.GetType() is { Name: "BrokenCircuitException" or "BrokenCircuitException`1", Namespace: "Polly.CircuitBreaker" };

    /// <summary>How deep a chain of wrappers is searched for a reported exception (a chain may be long, never endless).</summary>
    private const int MaxWrappedDepth = 16;

    /// <summary>
    /// <paramref name="exception"/> (or one it wraps) was already reported, and is seen again: an event of it held outside
    /// a request until it unwound into the app's code (see <see cref="UnwindingEvents"/>) takes the frames it has now and is sent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void SeenAgain(Exception exception) => _unwinding?.SeenAgain(exception);

    /// <summary>
    /// The last steps of an event outside a request: a log entry whose exception none of the app's code has seen yet (a
    /// library logged it in its catch block and throws it on) waits for it to unwind (see <see cref="UnwindingEvents"/>);
    /// everything else is sent now.
    /// </summary>
    internal Guid? SendOrHoldUnwinding(ErrorHubEvent errorEvent, ErrorHubHint hint, CaptureSource source)
    {
        if (source == CaptureSource.Logger && _unwinding is { } unwinding && hint.Exception is { } exception
            && NotYetInApp(exception) && unwinding.TryHold(errorEvent, hint))
        {
            return errorEvent.EventId;
        }

        return Send(errorEvent, hint);
    }

    /// <summary>Whether <paramref name="exception"/> was thrown and none of its frames is the app's yet (see <see cref="UnwindingEvents"/>).</summary>
    internal bool NotYetInApp(Exception exception) => _exceptions.NotYetInApp(exception);

    /// <summary>An event not sent yet takes the frames <paramref name="exception"/> has now (see <see cref="Capture"/>).</summary>
    internal void RecaptureExceptions(ErrorHubEvent errorEvent, Exception exception) => _exceptions.AddExceptions(errorEvent, exception);

    public ValueTask DisposeAsync()
    {
        _unwinding?.Dispose();
        return _sender?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>For containers disposed synchronously: the same bounded flush, waited for on this thread.</summary>
    public void Dispose()
    {
        _unwinding?.Dispose();
        _sender?.Dispose();
    }

    /// <summary>
    /// Stops the SDK at the app's shutdown: waits for queued events until <see cref="ErrorHubOptions.ShutdownTimeout"/>
    /// after the first call, whichever of host stop, disposal or the process exit comes first.
    /// </summary>
    internal Task<bool> ShutdownAsync()
    {
        _unwinding?.Stop(); // nothing waits for a timer at shutdown: held events are queued with the frames they have
        return _sender?.ShutdownAsync() ?? Task.FromResult(true);
    }

    /// <summary>At a crash, what <see cref="ShutdownAsync"/> could not send: logged, and written to <paramref name="standardError"/>.</summary>
    internal void ReportGivenUpAtCrash(TextWriter standardError) => _sender?.ReportGivenUpAtCrash(standardError);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ErrorHubEvent NewEvent(ErrorHubLevel level)
    {
        var errorEvent = new ErrorHubEvent
        {
            Timestamp = _timeProvider.GetUtcNow(),
            Level = level,
            Release = _release,
            Environment = _environment,
            ServerName = _serverName,
            Runtime = EnvironmentInfo.Runtime,
            OperatingSystem = EnvironmentInfo.OperatingSystem,
        };

        // The trace this failure belongs to, so it can be found in the app's tracing tool.
        if (Activity.Current is { } activity && activity.IdFormat == ActivityIdFormat.W3C)
        {
            errorEvent.Tags["trace_id"] = activity.TraceId.ToHexString();
            errorEvent.Tags["span_id"] = activity.SpanId.ToHexString();
        }

        errorEvent.Extra["process.uptime"] = UptimeText();
        return errorEvent;
    }

    /// <summary>
    /// The event the encoding's warm-up writes (and discards): shaped like a failed request's, with this client's
    /// release, environment, server, runtime and OS, so the writer's caches of those already hold their bytes. Its
    /// exception is never thrown, and a converter of its own keeps its type out of this client's caches.
    /// </summary>
    internal ErrorHubEvent WarmUpEvent()
    {
        var errorEvent = NewEvent(ErrorHubLevel.Error);
        new ExceptionConverter(_options).AddExceptions(errorEvent, new InvalidOperationException(EventPathWarmUp.Message));
        errorEvent.Request = new RequestInfo(EventPathWarmUp.Request);
        errorEvent.Tags["http.method"] = "GET";
        errorEvent.Tags["route"] = "GET /errorhub-warm-up";
        errorEvent.User = new UserInfo { Id = "warm-up" };
        errorEvent.Breadcrumbs.Add(new Breadcrumb("warm-up", "errorhub"));
        return errorEvent;
    }

    // The uptime as events report it, made once a second: a storm's events share the same few strings.
    private static UptimeSecond? s_uptime;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string UptimeText()
    {
        var seconds = Math.Max(0, (long)(DateTimeOffset.UtcNow - EnvironmentInfo.ProcessStart).TotalSeconds);
        if (Volatile.Read(ref s_uptime) is { } last && last.Seconds == seconds)
        {
            return last.Text;
        }

        var made = new UptimeSecond(seconds, $"{seconds} s");
        Volatile.Write(ref s_uptime, made);
        return made.Text;
    }

    private sealed record UptimeSecond(long Seconds, string Text);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Guid? Dispatch(ErrorHubEvent errorEvent, ErrorHubHint hint, CaptureSource source, object? request = null)
    {
        // Scopes are read now, on the capturing flow: a request may send the event later, from elsewhere.
        _logScopes?.AddTagsTo(errorEvent);

        // The request is found once, for its scope and for the hand-over (CurrentScope() would look it up again). A
        // request scope nothing has written to would only add its parent's, the process's: it is not made for a report.
        var inRequest = source == CaptureSource.Connection ? null : _requestContext?.FindRequest(this, request);
        (_pushedScope.Value ?? inRequest?.MadeScope ?? _processScope).ApplyTo(errorEvent, _options.MaxBreadcrumbs);
        if (inRequest is not null)
        {
            inRequest.Take(errorEvent, hint, source);
            return errorEvent.EventId; // the request adds itself and the user, and decides when, and whether, to send
        }

        return SendOrHoldUnwinding(errorEvent, hint, source);
    }

    /// <summary>The last steps of every event: the user provider, BeforeSend, the queue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Guid? Send(ErrorHubEvent errorEvent, ErrorHubHint hint)
    {
        t_inside++;
        try
        {
            if (_userProvider is not null)
            {
                try
                {
                    errorEvent.User = _userProvider.GetUser(errorEvent.User);
                }
                catch (Exception failure)
                {
                    if (_userProviderFailures.TryTake(out var notWritten))
                    {
                        LogUserProviderFailed(_logger, failure.Message, notWritten);
                    }
                }
            }

            if (_options.BeforeSend is { } beforeSend)
            {
                try
                {
                    var changed = beforeSend(errorEvent, hint);
                    if (changed is null)
                    {
                        _sender!.CountDropped(SdkDropReason.BeforeSend);
                        return null;
                    }

                    errorEvent = changed;
                }
                catch (Exception failure)
                {
                    if (_beforeSendFailures.TryTake(out var notWritten))
                    {
                        LogBeforeSendFailed(_logger, failure.Message, notWritten);
                    }
                }
            }

            return _sender!.TryEnqueue(errorEvent) ? errorEvent.EventId : null;
        }
        finally
        {
            t_inside--;
        }
    }

    private sealed class ScopeRestorer(ErrorHubClient client, ErrorHubScope? previous) : IDisposable
    {
        public void Dispose() => client._pushedScope.Value = previous;
    }

    [LoggerMessage(10, LogLevel.Warning, "ErrorHub is disabled: {Reason}")]
    private static partial void LogDisabled(ILogger logger, string reason);

    [LoggerMessage(11, LogLevel.Warning, "ErrorHub could not capture an event: {Reason}")]
    private static partial void LogCaptureFailed(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Warning, "ErrorHub BeforeSend threw; the event is sent unchanged: {Reason} (at most one such line a minute; {NotWritten} more since the last one)")]
    private static partial void LogBeforeSendFailed(ILogger logger, string reason, long notWritten);

    [LoggerMessage(13, LogLevel.Warning, "ErrorHub's user provider threw; the event keeps the user it had: {Reason} (at most one such line a minute; {NotWritten} more since the last one)")]
    private static partial void LogUserProviderFailed(ILogger logger, string reason, long notWritten);

    [LoggerMessage(14, LogLevel.Warning,
        "ErrorHub did not report a failure of a request that posted its own events to {EventsPath} (the ingest in this app that its DSN points at): " +
        "the report would go to the endpoint that just failed, and its failure would be reported again. {Type}: {Reason} " +
        "(at most one such line a minute; {NotWritten} more since the last one)")]
    private static partial void LogOwnEventsPostFailed(ILogger logger, string eventsPath, string? type, string reason, long notWritten);
}
