using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Logging;

/// <summary>
/// Turns the app's log into ErrorHub reports: an entry of level Error or above with an exception becomes an event
/// (with the request and user inside a request; once per exception, whichever of logger, middleware or the app's
/// own capture sees it first; once per failing message, whose retries a messaging library logs alike); entries from <see cref="ErrorHubOptions.MinimumBreadcrumbLevel"/> up become
/// breadcrumbs; <c>BeginScope</c> values become tags. Its levels come from the <c>Logging:ErrorHub</c> section.
/// The SDK's own categories never come back here.
/// </summary>
[ProviderAlias("ErrorHub")]
internal sealed class ErrorHubLoggerProvider(IServiceProvider services, LogScopes scopes) : ILoggerProvider, ISupportExternalScope
{
    // The client is made on first use, not here: it logs through the logger factory that is making this provider.
    private ErrorHubClient? _client;

    /// <summary>
    /// Blazor's <c>ErrorBoundary</c> logs the failure it contained (a component threw; the boundary shows its fallback
    /// instead, and the page answers 200 or the circuit lives on) as a Warning with the exception. The component still
    /// failed, as behind a request's error page: such an entry is reported as an error, once, at once.
    /// </summary>
    internal const string ErrorBoundaryCategory = "Microsoft.AspNetCore.Components.Web.ErrorBoundary";

    /// <summary>
    /// Hangfire logs a background job that threw as a Warning with the exception ("Failed to process the job '12': an
    /// exception occurred. Retry attempt 1 of 10 will be performed in 00:00:41."), and only the last of its 10 automatic
    /// retries, hours later (about four and a half by default), at Error. The first failure is reported, as an error, at
    /// once (not hours later), and the job's end (that Error, or the Warning that it was deleted); the retries between
    /// them fail alike and stay breadcrumbs, or every failing job would be eleven reports of one failure.
    /// </summary>
    internal const string HangfireRetryCategory = "Hangfire.AutomaticRetryAttribute";

    /// <summary>
    /// YARP catches what fails while it forwards a request, answers 502 itself (no middleware sees the exception) and
    /// logs it as a Warning with the exception, its <c>error</c> saying at which stage. A destination that refused, timed
    /// out or broke off is the destination's failure, not the gateway's bug, and stays a breadcrumb, as YARP means it by
    /// logging it as a Warning. The stages <c>RequestCreation</c> (building the request to the destination) and
    /// <c>ResponseHeaders</c> (copying its status and headers back) run the gateway's own code, its request and response
    /// transforms: a failure there is the gateway's, reported as an error, once.
    /// </summary>
    internal const string YarpForwarderCategory = "Yarp.ReverseProxy.Forwarder.HttpForwarder";

    /// <summary>
    /// Rebus logs each failed delivery of a message as a Warning with the exception, then moves the message it gives up
    /// to its error queue with an Error that carries the exceptions only as text (see <see cref="RebusDeliveries"/>): the
    /// message given up is reported with its last delivery's exception, once, as MassTransit's fault is; the deliveries
    /// stay breadcrumbs. Rebus 8 logs them under <c>Rebus.Retry.Simple.DefaultExceptionLogger</c> and
    /// <c>Rebus.Retry.PoisonQueues.DeadletterQueueErrorHandler</c>: any category of Rebus's retries.
    /// </summary>
    internal const string RebusRetryCategoryPrefix = "Rebus.Retry.";

    private readonly RebusDeliveries _rebusDeliveries = new(RebusDeliveries.DefaultCapacity);

    /// <summary>
    /// Polly's telemetry (every resilience pipeline of Microsoft.Extensions.Http.Resilience and Microsoft.Extensions.Resilience)
    /// logs under this category. A circuit breaker that opens logs it at Error ("Resilience event occurred. EventName:
    /// 'OnCircuitOpened'") with the exception of the call that opened it: a change of the circuit's state, not a failure
    /// of its own. That call's failure is reported where it fails the app (the exception it throws, or the
    /// <c>BrokenCircuitException</c> a retry around the breaker then gets), once, with the app's frames; the entry is a
    /// breadcrumb. Reporting it too made two events of one failed request, the first without any frame of the app.
    /// </summary>
    internal const string ResilienceCategory = "Polly";

    private readonly ReportedMessageFailures _reportedMessages = new(ReportedMessageFailures.DefaultCapacity);

    private readonly ReportedInvocationFailures _reportedInvocations = new();

    private volatile bool _askedForLogger;

    /// <summary>
    /// Whether a logger factory (or a logging library's sink) ever asked this provider for a logger: a factory that
    /// replaced Microsoft.Extensions.Logging's (Serilog's, without <c>writeToProviders</c>) never does, and then
    /// nothing the app logs reaches ErrorHub (see <see cref="LoggingConnectionCheck"/>).
    /// </summary>
    internal bool WasAskedForLogger => _askedForLogger;

    /// <summary>Set when a logging library's sink (ErrorHub.Serilog's) feeds its events into this provider.</summary>
    internal bool IsFedBySink { get; set; }

    public ILogger CreateLogger(string categoryName)
    {
        _askedForLogger = true;
        return categoryName.StartsWith(ErrorHubClient.OwnLogCategory, StringComparison.Ordinal)
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : new ErrorHubLogger(this, categoryName, ContainedMechanism(categoryName));
    }

    /// <summary>The mechanism tag of a category that logs contained failures below Error, else null.</summary>
    private static string? ContainedMechanism(string categoryName) =>
        string.Equals(categoryName, ErrorBoundaryCategory, StringComparison.Ordinal) ? "ErrorBoundary"
        : string.Equals(categoryName, HangfireRetryCategory, StringComparison.Ordinal) ? "Hangfire"
        : string.Equals(categoryName, YarpForwarderCategory, StringComparison.Ordinal) ? "YARP"
        : categoryName.StartsWith(RebusRetryCategoryPrefix, StringComparison.Ordinal) ? "Rebus"
        : null;

    /// <summary>
    /// Whether a contained entry below Error is a failure to report: every one of ErrorBoundary; of Hangfire's all but
    /// its second and later retry attempts; of YARP's forwarder only those of the gateway's own stages (its message is
    /// "{error}: {message}"); none of Rebus's (the message it gives up is reported from its move to the error queue).
    /// </summary>
    private static bool IsContainedFailure<TState>(string categoryName, TState state) =>
        string.Equals(categoryName, YarpForwarderCategory, StringComparison.Ordinal)
            ? state is IReadOnlyList<KeyValuePair<string, object?>> values
              && values.Any(value => value.Key == "error" && value.Value?.ToString() is "RequestCreation" or "ResponseHeaders")
            : !categoryName.StartsWith(RebusRetryCategoryPrefix, StringComparison.Ordinal)
            && (!string.Equals(categoryName, HangfireRetryCategory, StringComparison.Ordinal) || !IsLaterRetry(state?.ToString()));

    /// <summary>Whether Polly's entry is of a circuit breaker that opened (see <see cref="ResilienceCategory"/>).</summary>
    private static bool IsCircuitOpened<TState>(TState state) =>
        state is IReadOnlyList<KeyValuePair<string, object?>> values
        && values.Any(value => value.Key == "EventName" && value.Value?.ToString() is "OnCircuitOpened");

    /// <summary>
    /// Whether Hangfire's entry is of a retry after the first ("... Retry attempt 2 of 10 will be performed in ..."):
    /// Hangfire hands its logger a message it formatted itself, so the attempt is read from the text.
    /// </summary>
    private static bool IsLaterRetry(string? message)
    {
        const string retryAttempt = "Retry attempt ";
        var at = message?.IndexOf(retryAttempt, StringComparison.Ordinal) ?? -1;
        if (at < 0)
        {
            return false;
        }

        var digits = message.AsSpan(at + retryAttempt.Length);
        var length = 0;
        while (length < digits.Length && char.IsAsciiDigit(digits[length]))
        {
            length++;
        }

        return int.TryParse(digits[..length], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var attempt)
            && attempt > 1;
    }

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes.Provider = scopeProvider;

    private LogScopes Scopes => scopes;

    public void Dispose()
    {
    }

    internal ErrorHubClient? Client
    {
        get
        {
            if (_client is { } client)
            {
                return client;
            }

            try
            {
                client = services.GetRequiredService<ErrorHubClient>();
                services.GetService<ProcessHooks>()?.HookForHost();
                return _client = client;
            }
            catch (Exception)
            {
                // The container is being built or torn down: nothing to report to yet, or any more.
                return null;
            }
        }
    }

    /// <summary>
    /// One category's logger. A category with a <c>mechanism</c> logs failures the framework contained below Error (see
    /// <see cref="ErrorBoundaryCategory"/>, <see cref="HangfireRetryCategory"/>, <see cref="YarpForwarderCategory"/>,
    /// <see cref="RebusRetryCategoryPrefix"/>): from
    /// Warning up, its entries with an exception (of YARP's, those of the gateway's own stages) are reported, as errors,
    /// tagged with the mechanism, and not held for the response's status.
    /// </summary>
    private sealed class ErrorHubLogger(ErrorHubLoggerProvider provider, string category, string? mechanism) : ILogger
    {
        private readonly bool _contained = mechanism is not null;
        private readonly bool _rebusRetries = category.StartsWith(RebusRetryCategoryPrefix, StringComparison.Ordinal);
        private readonly LogLevel _failureLevel = mechanism is not null ? LogLevel.Warning : LogLevel.Error;
        private readonly bool _resilience = string.Equals(category, ResilienceCategory, StringComparison.Ordinal);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider.Scopes.Provider?.Push(state);

        public bool IsEnabled(LogLevel logLevel) =>
            logLevel != LogLevel.None && !ErrorHubClient.IsInsideSdk && provider.Client is { IsEnabled: true } client
            && (logLevel >= _failureLevel || logLevel >= client.Options.MinimumBreadcrumbLevel || logLevel >= client.Options.MinimumEventLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || provider.Client is not { } client)
            {
                return;
            }

            try
            {
                var options = client.Options;
                var level = ToLevel(logLevel);
                if (_rebusRetries && RebusGaveUp(client, logLevel, state, exception))
                {
                    return;
                }

                if (exception is not null && logLevel >= _failureLevel
                    && (logLevel >= LogLevel.Error || IsContainedFailure(category, state))
                    && !(_resilience && IsCircuitOpened(state)))
                {
                    if (client.WasCaptured(exception))
                    {
                        // The middleware (or the app, or a library's earlier entry) reported it already: not even worth
                        // formatting the message. An event of it still waiting to unwind takes the frames it has now.
                        client.SeenAgain(exception);
                        return;
                    }

                    if ((RepeatedFailures.MessageIdOf(state) is { } messageId && !provider._reportedMessages.TryAdd(messageId, exception))
                        || IsInvocationRetry(client, state, exception))
                    {
                        // A retry of a message whose failure was reported, failing alike (Wolverine logs every attempt, and
                        // the move to its dead-letter queue, at Error): a breadcrumb, and the instance counts as reported.
                        client.TryMarkCaptured(exception);
                        if (logLevel >= options.MinimumBreadcrumbLevel)
                        {
                            client.AddBreadcrumb(new Breadcrumb(client.Now, FormatOrNull(state, exception, formatter) ?? exception.Message, category, level));
                        }

                        return;
                    }

                    var (eventLevel, source) = _contained
                        ? (logLevel < LogLevel.Error ? ErrorHubLevel.Error : level, CaptureSource.Contained)
                        : (level, CaptureSource.Logger);

                    // Formatted only when an event is made of it: not when the full queue refuses it.
                    client.Capture(exception, eventLevel, source, e =>
                    {
                        e.Logger = category;
                        e.Message = FormatOrNull(state, exception, formatter);
                        if (mechanism is not null)
                        {
                            // Blazor WebAssembly's ErrorBoundary logs the exception's whole text (type, message, stack) as
                            // the entry's message: the event shows all of that already, from the exception itself.
                            if (e.Message == exception.ToString())
                            {
                                e.Message = null;
                            }

                            e.Tags["mechanism"] = mechanism; // the framework contained it: a fallback shown, a job to retry
                        }
                    });
                    return;
                }

                if (logLevel >= options.MinimumEventLevel)
                {
                    var message = formatter(state, exception);
                    client.CaptureMessage(message, level, CaptureSource.Logger, e => e.Logger = category);
                    return;
                }

                if (logLevel >= options.MinimumBreadcrumbLevel)
                {
                    client.AddBreadcrumb(new Breadcrumb(client.Now, formatter(state, exception), category, level));
                }
            }
            catch (Exception)
            {
                // A formatter of the app that throws must not turn logging into a crash.
            }
        }

        /// <summary>
        /// Whether the entry is a retry, failing alike, of a message invoked outside a request whose failure was reported:
        /// Wolverine's <c>InvokeAsync</c> from a <c>BackgroundService</c> logs every inline attempt with the message and
        /// no id. Inside a request the request holds its failures and keeps the last attempt's (see HttpRequestContext).
        /// </summary>
        private bool IsInvocationRetry<TState>(ErrorHubClient client, TState state, Exception exception) =>
            RepeatedFailures.MessageObjectOf(state) is { } message && !client.IsInsideRequest
            && !provider._reportedInvocations.TryAdd(message, exception);

        /// <summary>
        /// Keeps a failed delivery's exception (the entry then goes on as a breadcrumb), and reports it when Rebus's entry
        /// says the message was moved to the error queue: true then, the entry has become the event. Rebus renders its
        /// messages itself: they are read from the text.
        /// </summary>
        private bool RebusGaveUp<TState>(ErrorHubClient client, LogLevel logLevel, TState state, Exception? exception)
        {
            if (exception is not null)
            {
                if (logLevel == LogLevel.Warning && state?.ToString() is { } delivery)
                {
                    provider._rebusDeliveries.FailedDelivery(delivery, exception);
                }

                return false;
            }

            if (logLevel < LogLevel.Error || state?.ToString() is not { } text || provider._rebusDeliveries.GivenUp(text) is not { } lastFailure)
            {
                return false;
            }

            client.Capture(lastFailure, ErrorHubLevel.Error, CaptureSource.Contained, e =>
            {
                e.Logger = category;
                e.Message = RebusDeliveries.WithoutErrorDetails(text);
                e.Tags["mechanism"] = mechanism!;
            });
            return true;
        }

        /// <summary>A formatter of the app that throws costs the event its message, not the event.</summary>
        private static string? FormatOrNull<TState>(TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                return formatter(state, exception);
            }
            catch (Exception)
            {
                return null;
            }
        }

        private static ErrorHubLevel ToLevel(LogLevel level) => level switch
        {
            LogLevel.Critical => ErrorHubLevel.Fatal,
            LogLevel.Error => ErrorHubLevel.Error,
            LogLevel.Warning => ErrorHubLevel.Warning,
            LogLevel.Information => ErrorHubLevel.Info,
            _ => ErrorHubLevel.Debug,
        };
    }
}
