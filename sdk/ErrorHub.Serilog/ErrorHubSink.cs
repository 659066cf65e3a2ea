using ErrorHub.Internal;
using ErrorHub.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog.Core;
using Serilog.Events;

namespace ErrorHub.Serilog;

/// <summary>
/// Feeds Serilog's events into ErrorHub's logger provider, the path every Microsoft.Extensions.Logging entry takes in an
/// app without Serilog: an Error or Fatal event with an exception becomes an event (once per exception, held until the
/// response inside a request), events from <see cref="ErrorHubOptions.MinimumBreadcrumbLevel"/> up become breadcrumbs,
/// the event's own properties (LogContext, BeginScope, enrichers; not the message's) become tags, and the message's are
/// the entry's values, as Microsoft.Extensions.Logging gives them (<see cref="LoggedValues"/>). The
/// <c>Logging:ErrorHub</c> levels apply as they would to the provider, through a Microsoft.Extensions.Logging factory
/// that holds only it; the SDK's own categories never come back.
/// </summary>
internal sealed class ErrorHubSink : ILogEventSink, IDisposable
{
    private const string SourceContext = "SourceContext";

    /// <summary>Serilog's events without a source context (<c>Log.Information(...)</c> on the static logger).</summary>
    internal const string DefaultCategory = "Serilog";

    // The same sink given twice (WriteTo.ErrorHub(services) and ReadFrom.Services(services)) sees each event twice, on
    // the thread that logs it: the second time is skipped, or every breadcrumb would be there twice.
    [ThreadStatic]
    private static LogEvent? t_lastEvent;

    private readonly LoggerFactory _loggers;

    public ErrorHubSink(ErrorHubLoggerProvider provider, LogScopes scopes, IOptionsMonitor<LoggerFilterOptions> filters)
    {
        provider.IsFedBySink = true;

        // The factory hands the provider a scope provider of its own, which would take the place of the app's (where the
        // app's factory also feeds the provider): the scopes stay the app's. The sink's events bring theirs along.
        var appScopes = scopes.Provider;
        _loggers = new LoggerFactory([provider], filters);
        scopes.Provider = appScopes;
    }

    public void Emit(LogEvent logEvent)
    {
        if (ReferenceEquals(t_lastEvent, logEvent))
        {
            return;
        }

        t_lastEvent = logEvent;
        try
        {
            var logger = _loggers.CreateLogger(Category(logEvent));
            var level = ToLogLevel(logEvent.Level);
            if (!logger.IsEnabled(level))
            {
                return;
            }

            var previous = LogScopes.EnterLoggedProperties(new ScopeProperties(logEvent));
            try
            {
                logger.Log(level, default, new LoggedValues(logEvent), logEvent.Exception, static (values, _) => values.ToString());
            }
            finally
            {
                LogScopes.ExitLoggedProperties(previous);
            }
        }
        catch (Exception)
        {
            // Reporting never fails the app's logging (Serilog would only write it to its SelfLog).
        }
    }

    public void Dispose() => _loggers.Dispose();

    private static string Category(LogEvent logEvent) =>
        logEvent.Properties.TryGetValue(SourceContext, out var value) && value is ScalarValue { Value: string category } && category.Length > 0
            ? category
            : DefaultCategory;

    private static LogLevel ToLogLevel(LogEventLevel level) => level switch
    {
        LogEventLevel.Fatal => LogLevel.Critical,
        LogEventLevel.Error => LogLevel.Error,
        LogEventLevel.Warning => LogLevel.Warning,
        LogEventLevel.Information => LogLevel.Information,
        LogEventLevel.Debug => LogLevel.Debug,
        _ => LogLevel.Trace,
    };
}
