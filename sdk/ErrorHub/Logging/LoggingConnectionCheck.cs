using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Logging;

/// <summary>
/// Says once, as the host starts, when nothing the app logs can reach ErrorHub: the app's logger factory is not
/// Microsoft.Extensions.Logging's (Serilog's <c>UseSerilog()</c>/<c>AddSerilog()</c> replace it, and pass entries on to
/// other providers only with <c>writeToProviders: true</c>), or the app cleared the logging providers after
/// <c>AddErrorHub()</c>. The middleware still reports what reaches it; everything that only the log carries is lost, and
/// without this line nobody would know. Never throws: a check that fails says nothing.
/// </summary>
internal sealed partial class LoggingConnectionCheck(IServiceProvider services) : IHostedService
{
    private const string SerilogFactory = "Serilog.Extensions.Logging.SerilogLoggerFactory";

    private const string Lost =
        "failures the app only logs (its own catch-all middleware that logs and answers 500, IExceptionHandlers, " +
        "\"BackgroundService failed\", Hangfire jobs, LogError entries from MinimumEventLevel up), breadcrumbs, and log scopes as tags; " +
        "only exceptions that reach UseErrorHub() are reported";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            Check();
        }
        catch (Exception)
        {
            // The container is being torn down, or a logger factory of the app that throws: nothing worth failing a start for.
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal void Check()
    {
        if (services.GetService<ILoggerFactory>() is not { } factory || services.GetService<ErrorHubClient>() is not { IsEnabled: true })
        {
            return; // no DSN: the client said so already
        }

        var provider = services.GetRequiredService<ErrorHubLoggerProvider>();

        // Microsoft.Extensions.Logging's factory asks every provider it has for a logger of each new category, at once.
        var logger = factory.CreateLogger(ErrorHubClient.OwnLogCategory + ".Logging");
        if (provider.IsFedBySink)
        {
            return;
        }

        if (!services.GetServices<ILoggerProvider>().Contains(provider))
        {
            LogProviderRemoved(logger);
        }
        else if (!provider.WasAskedForLogger && !FeedsProviders(factory))
        {
            var type = factory.GetType().FullName ?? factory.GetType().Name;
            if (type == SerilogFactory)
            {
                LogBypassedBySerilog(logger);
            }
            else
            {
                LogBypassed(logger, type);
            }
        }
    }

    /// <summary>
    /// Serilog's factory with <c>writeToProviders: true</c> keeps the DI providers in a collection and asks them for a
    /// logger only when an entry comes: it feeds ErrorHub, later. A version whose insides differ is taken as feeding
    /// (no warning rather than a wrong one).
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification =
        "A field of Serilog's factory trimmed away reads as null, which is taken as feeding: no warning rather than a wrong one.")]
    private static bool FeedsProviders(ILoggerFactory factory)
    {
        if (factory.GetType().FullName != SerilogFactory)
        {
            return false;
        }

        var collection = factory.GetType().GetField("_providerCollection", BindingFlags.Instance | BindingFlags.NonPublic);
        return collection is null || collection.GetValue(factory) is not null;
    }

    [LoggerMessage(25, LogLevel.Warning,
        "ErrorHub receives nothing from the app's log: Serilog replaced the logger factory and does not pass entries on to ErrorHub's logger provider. " +
        "Lost: " + Lost + ". Fix: add the ErrorHub.Serilog package and .WriteTo.ErrorHub(services) to the Serilog configuration " +
        "(UseSerilog((context, services, configuration) => configuration...WriteTo.ErrorHub(services)), or .ReadFrom.Services(services))")]
    private static partial void LogBypassedBySerilog(ILogger logger);

    [LoggerMessage(26, LogLevel.Warning,
        "ErrorHub receives nothing from the app's log: the app's logger factory ({Factory}) does not pass entries on to ErrorHub's logger provider. " +
        "Lost: " + Lost + ". Fix: have that logging write to the ILoggerProviders registered in the services (ErrorHub's is one)")]
    private static partial void LogBypassed(ILogger logger, string factory);

    [LoggerMessage(27, LogLevel.Warning,
        "ErrorHub receives nothing from the app's log: its logger provider was removed after AddErrorHub() (logging.ClearProviders()). " +
        "Lost: " + Lost + ". Fix: call AddErrorHub() after ClearProviders()")]
    private static partial void LogProviderRemoved(ILogger logger);
}
