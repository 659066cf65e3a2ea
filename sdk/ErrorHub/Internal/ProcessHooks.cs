using Microsoft.Extensions.Hosting;

namespace ErrorHub.Internal;

/// <summary>
/// Reports what fails outside requests: an exception nobody caught (sent before the process dies, within
/// ShutdownTimeout) and a faulted task nobody awaited. Failures of a <c>BackgroundService</c> reach ErrorHub through
/// the host's log. Hooked while the host runs, or while the handle of <c>ErrorHubSdk.Init</c> lives.
/// </summary>
internal sealed class ProcessHooks(ErrorHubClient client) : IHostedService, IDisposable
{
    private int _hooked;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Hook();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Hook()
    {
        if (!client.IsEnabled || Interlocked.Exchange(ref _hooked, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        TaskScheduler.UnobservedTaskException += OnUnobservedTaskException;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _hooked, 0) == 1)
        {
            AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
            TaskScheduler.UnobservedTaskException -= OnUnobservedTaskException;
        }
    }

    private void OnUnhandledException(object sender, UnhandledExceptionEventArgs args)
    {
        if (args.ExceptionObject is not Exception exception)
        {
            return;
        }

        client.Capture(exception, ErrorHubLevel.Fatal, CaptureSource.Process, e => e.Tags["mechanism"] = "AppDomain.UnhandledException");
        if (args.IsTerminating)
        {
            // The process ends when this handler returns: the one place where the SDK blocks a thread on purpose,
            // bounded by ShutdownTimeout.
            try
            {
                client.ShutdownAsync().Wait();
            }
            catch (AggregateException)
            {
            }
        }
    }

    private void OnUnobservedTaskException(object? sender, UnobservedTaskExceptionEventArgs args)
    {
        var exception = args.Exception.InnerExceptions.Count == 1 ? args.Exception.InnerExceptions[0] : args.Exception;
        client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Process, e => e.Tags["mechanism"] = "TaskScheduler.UnobservedTaskException");
    }
}
