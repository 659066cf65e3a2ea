using Hangfire.AspNetCore;
using Hangfire.Logging;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Jobs;

/// <summary>
/// Hangfire's log provider for apps that run one after another in one process (the tests'): it logs into the app that
/// runs now. Hangfire binds each filter's logger to the provider current when the filter is made, and keeps the filter
/// (its global <c>AutomaticRetryAttribute</c>, a job method's own, cached per method), so with its usual provider the
/// jobs of every later app would log into the first app's stopped logger factory. An app in production is alone in its
/// process, and a restart is a new process: this gives each test's app what a restarted app has.
/// </summary>
internal sealed class HangfireLogs : ILogProvider
{
    public static readonly HangfireLogs Instance = new();

    private volatile AspNetCoreLogProvider? _current;

    private HangfireLogs()
    {
    }

    /// <summary>Sends Hangfire's log into this app's logging from now on.</summary>
    public void Follow(ILoggerFactory app) => _current = new AspNetCoreLogProvider(app);

    public ILog GetLogger(string name) => new ForwardingLog(this, name);

    private sealed class ForwardingLog(HangfireLogs logs, string name) : ILog
    {
        public bool Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) =>
            logs._current?.GetLogger(name).Log(logLevel, messageFunc, exception) ?? false;
    }
}
