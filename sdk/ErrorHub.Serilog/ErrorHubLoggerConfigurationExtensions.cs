using ErrorHub.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Configuration;

namespace Serilog;

/// <summary>Writes an app's Serilog events to ErrorHub.</summary>
public static class ErrorHubLoggerConfigurationExtensions
{
    /// <summary>
    /// Feeds Serilog's events into ErrorHub, as its logger provider is fed in an app without Serilog: an Error or Fatal
    /// event with an exception is reported (once, with the request and user inside a request), earlier events become
    /// breadcrumbs, LogContext and scope properties become tags; levels from the <c>Logging:ErrorHub</c> section. Needs
    /// <c>builder.Services.AddErrorHub()</c>; <paramref name="services"/> is the app's, as
    /// <c>UseSerilog((context, services, configuration) =&gt; ...)</c> and <c>AddSerilog((services, configuration) =&gt; ...)</c>
    /// give it. Not needed with <c>.ReadFrom.Services(services)</c>, which finds the sink by itself.
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>AddErrorHub()</c> was not called.</exception>
    public static LoggerConfiguration ErrorHub(this LoggerSinkConfiguration writeTo, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(writeTo);
        ArgumentNullException.ThrowIfNull(services);
        var sink = services.GetService<ErrorHubSink>()
            ?? throw new InvalidOperationException("WriteTo.ErrorHub(services) needs ErrorHub's services: call builder.Services.AddErrorHub().");
        return writeTo.Sink(sink);
    }
}
