using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ErrorHub.Tests.Infrastructure;

/// <summary>A worker or console app's generic host (without the defaults' configuration and loggers) whose logging reports to an ingest.</summary>
internal static class ReportingHost
{
    /// <summary>The host, started, with <c>AddErrorHub()</c> sending to <paramref name="dsn"/>.</summary>
    public static async Task<IHost> StartAsync(string dsn)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = dsn);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
