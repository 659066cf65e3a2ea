using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Logging;

/// <summary>
/// Turns the app's log into ErrorHub reports: an entry of level Error or above with an exception becomes an event
/// (with the request and user inside a request; once per exception, whichever of logger, middleware or the app's
/// own capture sees it first); entries from <see cref="ErrorHubOptions.MinimumBreadcrumbLevel"/> up become
/// breadcrumbs; <c>BeginScope</c> values become tags. Its levels come from the <c>Logging:ErrorHub</c> section.
/// The SDK's own categories never come back here.
/// </summary>
[ProviderAlias("ErrorHub")]
internal sealed class ErrorHubLoggerProvider(IServiceProvider services, LogScopes scopes) : ILoggerProvider, ISupportExternalScope
{
    // The client is made on first use, not here: it logs through the logger factory that is making this provider.
    private ErrorHubClient? _client;

    public ILogger CreateLogger(string categoryName) =>
        categoryName.StartsWith(ErrorHubClient.OwnLogCategory, StringComparison.Ordinal)
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : new ErrorHubLogger(this, categoryName);

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
                return _client = services.GetRequiredService<ErrorHubClient>();
            }
            catch (Exception)
            {
                // The container is being built or torn down: nothing to report to yet, or any more.
                return null;
            }
        }
    }

    private sealed class ErrorHubLogger(ErrorHubLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider.Scopes.Provider?.Push(state);

        public bool IsEnabled(LogLevel logLevel) =>
            logLevel != LogLevel.None && !ErrorHubClient.IsInsideSdk && provider.Client is { IsEnabled: true } client
            && (logLevel >= LogLevel.Error || logLevel >= client.Options.MinimumBreadcrumbLevel || logLevel >= client.Options.MinimumEventLevel);

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
                if (exception is not null && logLevel >= LogLevel.Error)
                {
                    if (client.WasCaptured(exception))
                    {
                        return; // the middleware (or the app) reported it already: not even worth formatting the message
                    }

                    // Formatted only when an event is made of it: not when the full queue refuses it.
                    client.Capture(exception, level, CaptureSource.Logger, e =>
                    {
                        e.Logger = category;
                        e.Message = FormatOrNull(state, exception, formatter);
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
