using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ErrorHub;

/// <summary>
/// ErrorHub for apps without a host (console apps, tools): <c>using var errorHub = ErrorHubSdk.Init(o => o.Dsn = ...);</c>
/// at the top of <c>Main</c>. Apps with a host (ASP.NET Core, worker services) call <c>AddErrorHub()</c> instead.
/// </summary>
public static class ErrorHubSdk
{
    private static readonly IErrorHubClient Disabled = new DisabledClient();
    private static IErrorHubClient s_current = Disabled;

    /// <summary>The client of the last <c>Init</c> not yet disposed; a client that drops everything otherwise.</summary>
    public static IErrorHubClient Client => Volatile.Read(ref s_current);

    /// <summary>
    /// Starts the SDK: the DSN from <paramref name="configure"/> or the <c>ErrorHub__Dsn</c> environment variable, the
    /// environment from <paramref name="configure"/> or <c>DOTNET_ENVIRONMENT</c> (lower-cased, as a host's);
    /// reports exceptions nobody caught (sent before the process dies) and faulted tasks nobody awaited. Disposing
    /// the handle sends what is queued, waiting at most <see cref="ErrorHubOptions.ShutdownTimeout"/>.
    /// </summary>
    public static IDisposable Init(Action<ErrorHubOptions>? configure = null) => Start(configure, loggerFactory: null);

    /// <summary>
    /// <see cref="Init(Action{ErrorHubOptions}?)"/>, with the SDK's own log lines (a key the server refused, events
    /// given up, a full queue) written to <paramref name="loggerFactory"/>: without a host they go nowhere otherwise.
    /// The factory stays the app's: disposing the handle does not dispose it.
    /// </summary>
    public static IDisposable Init(Action<ErrorHubOptions>? configure, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return Start(configure, loggerFactory);
    }

    private static Handle Start(Action<ErrorHubOptions>? configure, ILoggerFactory? loggerFactory)
    {
        var services = new ServiceCollection();
        if (loggerFactory is null)
        {
            services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
            services.TryAddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        }
        else
        {
            services.AddSingleton(loggerFactory); // an instance: the container never disposes it
            services.TryAddSingleton(typeof(ILogger<>), typeof(Logger<>));
        }

        services.AddErrorHub(options =>
        {
            options.Dsn ??= Environment.GetEnvironmentVariable("ErrorHub__Dsn");
            // What a host would have read: without one, events would say no environment at all.
            options.Environment ??= Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") is { Length: > 0 } name ? name.ToLowerInvariant() : null;
            configure?.Invoke(options);
        });
        var provider = services.BuildServiceProvider();
        ErrorHubClient client;
        try
        {
            client = provider.GetRequiredService<ErrorHubClient>();
            _ = provider.GetService<Microsoft.Extensions.Options.IOptions<ErrorHubOptions>>()?.Value; // validation, as a host's start does
        }
        catch (Exception)
        {
            provider.Dispose();
            throw;
        }

        var hooks = new ProcessHooks(client);
        hooks.Hook();
        Volatile.Write(ref s_current, client);
        return new Handle(provider, hooks, client);
    }

    private sealed class Handle(ServiceProvider provider, ProcessHooks hooks, ErrorHubClient client) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            hooks.Dispose();
            Interlocked.CompareExchange(ref s_current, Disabled, client);
            provider.Dispose(); // the client's disposal sends what is queued, within ShutdownTimeout
        }
    }

    private sealed class DisabledClient : IErrorHubClient
    {
        public bool IsEnabled => false;

        public Guid? CaptureException(Exception exception, Action<ErrorHubEvent>? configure = null) => null;

        public Guid? CaptureMessage(string message, ErrorHubLevel level = ErrorHubLevel.Info, Action<ErrorHubEvent>? configure = null) => null;

        public Guid? CaptureEvent(ErrorHubEvent errorEvent) => null;

        public void AddBreadcrumb(Breadcrumb breadcrumb)
        {
        }

        public void ConfigureScope(Action<ErrorHubScope> configure)
        {
        }

        public IDisposable PushScope() => NoScope.Instance;

        public Task<bool> FlushAsync(TimeSpan timeout) => Task.FromResult(true);
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();

        public void Dispose()
        {
        }
    }
}
