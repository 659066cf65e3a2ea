using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;

namespace ErrorHub.Internal;

/// <summary>
/// Reports what fails outside requests: an exception nobody caught (sent before the process dies, within
/// ShutdownTimeout) and a faulted task nobody awaited. Failures of a <c>BackgroundService</c> reach ErrorHub through
/// the host's log. Hooked from the moment the app's logging or <c>UseErrorHub()</c> first reaches the host's client
/// until the host stops (see <see cref="HookForHost"/>), or while the handle of <c>ErrorHubSdk.Init</c> lives.
/// </summary>
internal sealed class ProcessHooks(ErrorHubClient client) : IHostedService, IDisposable
{
    /// <summary>
    /// What a hook of any client in this process reported. A worker that calls <c>ErrorHubSdk.Init</c> at the top of
    /// <c>Main</c> (to report what fails before its host runs) and <c>AddErrorHub()</c> has two clients, each with these
    /// hooks: the runtime hands both the same exception, and each client reported it, so every crash and forgotten task
    /// arrived twice. One hook reports it, the others only flush: a host's, while one is hooked (its client knows the
    /// environment and has the breadcrumbs of the host's log), else the first.
    /// </summary>
    private static readonly ConditionalWeakTable<Exception, object> s_reported = new();

    /// <summary>How many hosts' hooks are hooked: <c>Init</c>'s leave the reports to them.</summary>
    private static int s_hostHooks;

    private int _hooked;
    private bool _hostHooked;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        HookForHost();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Hooks this client's handlers as a host's. Called when the host starts, and before: when the app's logging first
    /// reaches the client and when <c>UseErrorHub()</c> adds it to the pipeline. An app that fails between
    /// <c>Build()</c> and <c>Run()</c> (a database migration at start-up, a service it resolves there) dies of an
    /// exception nobody catches before any hosted service started: without this, that crash, and what the app's log
    /// had reported just before it, never left the process. The container's disposal unhooks them (a host that is
    /// built and never run, as design-time tools and test factories do).
    /// </summary>
    public void HookForHost()
    {
        if (Hook())
        {
            _hostHooked = true;
            Interlocked.Increment(ref s_hostHooks);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Hooks this client's handlers; false when they already were, or the client is disabled.</summary>
    public bool Hook()
    {
        if (!client.IsEnabled || Interlocked.Exchange(ref _hooked, 1) == 1)
        {
            return false;
        }

        AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        TaskScheduler.UnobservedTaskException += OnUnobservedTaskException;
        return true;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _hooked, 0) == 1)
        {
            AppDomain.CurrentDomain.UnhandledException -= OnUnhandledException;
            TaskScheduler.UnobservedTaskException -= OnUnobservedTaskException;
            if (_hostHooked)
            {
                _hostHooked = false;
                Interlocked.Decrement(ref s_hostHooks);
            }
        }
    }

    /// <summary>Whether this hook reports <paramref name="exception"/>: no other hook did, and no host's hook will.</summary>
    private bool Reports(Exception exception) =>
        (_hostHooked || Volatile.Read(ref s_hostHooks) == 0) && s_reported.TryAdd(exception, s_reported);

    private void OnUnhandledException(object sender, UnhandledExceptionEventArgs args)
    {
        if (args.ExceptionObject is not Exception exception)
        {
            return;
        }

        if (Reports(exception))
        {
            client.Capture(exception, ErrorHubLevel.Fatal, CaptureSource.Process, e => e.Tags["mechanism"] = "AppDomain.UnhandledException");
        }

        if (args.IsTerminating)
        {
            // The process ends when this handler returns: the one place where the SDK blocks a thread on purpose,
            // bounded by ShutdownTimeout. Every client sends what it has queued, whichever reported this exception.
            // What it could not send is said on standard error too: the app's console logger dies with the process.
            try
            {
                if (!client.ShutdownAsync().Result)
                {
                    client.ReportGivenUpAtCrash(Console.Error);
                }
            }
            catch (AggregateException)
            {
            }
        }
    }

    private void OnUnobservedTaskException(object? sender, UnobservedTaskExceptionEventArgs args)
    {
        if (args.Exception.InnerExceptions.Count > 0 && args.Exception.InnerExceptions.All(IsBlazorRedirect))
        {
            return;
        }

        var exception = args.Exception.InnerExceptions.Count == 1 ? args.Exception.InnerExceptions[0] : args.Exception;
        if (IsReplyToEndedCircuit(exception) || !Reports(exception))
        {
            return;
        }

        client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Process, e => e.Tags["mechanism"] = "TaskScheduler.UnobservedTaskException");
    }

    /// <summary>
    /// Blazor's static rendering on .NET 8 and 9 redirects by throwing a <c>NavigationException</c>, which the framework
    /// catches; a task of it that the framework left unobserved (every sign-in and registration of the Identity template's
    /// <c>IdentityRedirectManager</c>, dotnet/aspnetcore#62554) reaches the finalizer at the next collection. It is a redirect
    /// that happened, not a failure. Known by name: this package does not reference ASP.NET Core.
    /// </summary>
    private static bool IsBlazorRedirect(Exception exception) =>
        exception.GetType().FullName == "Microsoft.AspNetCore.Components.NavigationException";

    /// <summary>
    /// When a component's unhandled exception ends a Blazor Server circuit, a JS interop call still in flight completes
    /// afterwards and Blazor answers it through the circuit's client, which is gone: a <see cref="NullReferenceException"/>
    /// in SignalR's <c>SendAsync</c> under <c>RemoteJSRuntime.EndInvokeDotNet</c>, in a task nobody observes
    /// (dotnet/aspnetcore#45980). It is the echo of the failure already reported, not a failure of its own. Known by its
    /// frames: this package does not reference ASP.NET Core.
    /// </summary>
    internal static bool IsReplyToEndedCircuit(Exception exception)
    {
        if (exception is not NullReferenceException)
        {
            return false;
        }

        var frames = new StackTrace(exception, fNeedFileInfo: false).GetFrames();
        if (frames.Length < 2 || !Is(frames[0], "Microsoft.AspNetCore.SignalR.ClientProxyExtensions", "SendAsync"))
        {
            return false;
        }

        // SendAsync is an extension method that only forwards: the next frames are Blazor's.
        for (var i = 1; i < Math.Min(frames.Length, 4); i++)
        {
            if (Is(frames[i], "Microsoft.AspNetCore.Components.Server.Circuits.RemoteJSRuntime", "EndInvokeDotNet"))
            {
                return true;
            }
        }

        return false;

        static bool Is(StackFrame frame, string type, string method) =>
            ExceptionConverter.MethodOf(frame) is { } found && found.Name == method && found.DeclaringType?.FullName == type;
    }
}
