using System.Runtime.CompilerServices;
using ErrorHub.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Internal;

/// <summary>
/// The SDK's one entry point for events: builds them on the caller's thread (cheaply, and only when
/// something went wrong), runs <see cref="ErrorHubOptions.BeforeSend"/>, and hands them to the sender.
/// Never throws into the app.
/// </summary>
internal sealed partial class ErrorHubClient : IErrorHubClient, IAsyncDisposable, IDisposable
{
    private readonly ErrorHubOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ExceptionConverter _exceptions;
    private readonly BackgroundSender? _sender;
    private readonly string? _environment;
    private readonly string? _release;
    private readonly string _serverName;

    // Remembers exceptions already reported, without keeping them alive or touching Exception.Data.
    private readonly ConditionalWeakTable<Exception, object> _captured = [];

    public ErrorHubClient(
        IOptions<ErrorHubOptions> options,
        IHttpClientFactory httpClientFactory,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IHostEnvironment? hostEnvironment = null)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("ErrorHub.Client");
        _exceptions = new ExceptionConverter(_options);
        _environment = _options.Environment ?? hostEnvironment?.EnvironmentName?.ToLowerInvariant();
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

        // One client for the sender's lifetime, created now: resolving a handler later could meet a container
        // that is already being disposed, which is exactly when the last events must still leave.
        var http = httpClientFactory.CreateClient(BackgroundSender.HttpClientName);
        _sender = new BackgroundSender(dsn, _options, http, timeProvider, loggerFactory.CreateLogger("ErrorHub.Transport"));
    }

    public bool IsEnabled => _sender is not null;

    internal ErrorHubOptions Options => _options;

    internal BackgroundSender? Sender => _sender;

    public Guid? CaptureException(Exception exception, Action<ErrorHubEvent>? configure = null)
    {
        if (_sender is null || exception is null)
        {
            return null;
        }

        try
        {
            if (!TryMarkCaptured(exception))
            {
                return null; // the same exception already reached us through another path
            }

            var errorEvent = NewEvent(ErrorHubLevel.Error);
            _exceptions.AddExceptions(errorEvent, exception);
            configure?.Invoke(errorEvent);
            return Enqueue(errorEvent);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
            return null;
        }
    }

    public Guid? CaptureMessage(string message, ErrorHubLevel level = ErrorHubLevel.Info, Action<ErrorHubEvent>? configure = null)
    {
        if (_sender is null)
        {
            return null;
        }

        try
        {
            var errorEvent = NewEvent(level);
            errorEvent.Message = message;
            configure?.Invoke(errorEvent);
            return Enqueue(errorEvent);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
            return null;
        }
    }

    public Guid? CaptureEvent(ErrorHubEvent errorEvent)
    {
        if (_sender is null || errorEvent is null)
        {
            return null;
        }

        try
        {
            errorEvent.Release ??= _release;
            errorEvent.Environment ??= _environment;
            errorEvent.ServerName ??= _serverName;
            errorEvent.Runtime ??= EnvironmentInfo.Runtime;
            errorEvent.OperatingSystem ??= EnvironmentInfo.OperatingSystem;
            return Enqueue(errorEvent);
        }
        catch (Exception failure)
        {
            LogCaptureFailed(_logger, failure.Message);
            return null;
        }
    }

    public Task<bool> FlushAsync(TimeSpan timeout) => _sender?.FlushAsync(timeout) ?? Task.FromResult(true);

    /// <summary>True the first time an exception is seen; false for every later report of the same instance.</summary>
    internal bool TryMarkCaptured(Exception exception) => _captured.TryAdd(exception, true);

    internal bool WasCaptured(Exception exception) => _captured.TryGetValue(exception, out _);

    public ValueTask DisposeAsync() => _sender?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>For containers disposed synchronously: the same bounded flush, waited for on this thread.</summary>
    public void Dispose() => _sender?.Dispose();

    private ErrorHubEvent NewEvent(ErrorHubLevel level) => new()
    {
        Timestamp = _timeProvider.GetUtcNow(),
        Level = level,
        Release = _release,
        Environment = _environment,
        ServerName = _serverName,
        Runtime = EnvironmentInfo.Runtime,
        OperatingSystem = EnvironmentInfo.OperatingSystem,
    };

    private Guid? Enqueue(ErrorHubEvent errorEvent)
    {
        if (_options.BeforeSend is { } beforeSend)
        {
            try
            {
                var changed = beforeSend(errorEvent);
                if (changed is null)
                {
                    return null;
                }

                errorEvent = changed;
            }
            catch (Exception failure)
            {
                LogBeforeSendFailed(_logger, failure.Message);
            }
        }

        return _sender!.TryEnqueue(errorEvent) ? errorEvent.EventId : null;
    }

    [LoggerMessage(10, LogLevel.Warning, "ErrorHub is disabled: {Reason}")]
    private static partial void LogDisabled(ILogger logger, string reason);

    [LoggerMessage(11, LogLevel.Warning, "ErrorHub could not capture an event: {Reason}")]
    private static partial void LogCaptureFailed(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Warning, "ErrorHub BeforeSend threw; the event is sent unchanged: {Reason}")]
    private static partial void LogBeforeSendFailed(ILogger logger, string reason);
}
