using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serilog.Core;

namespace ErrorHub.Serilog;

/// <summary>
/// Called by <c>AddErrorHub()</c> when this package is present: the sink, as itself for <c>WriteTo.ErrorHub(services)</c>
/// and as an <see cref="ILogEventSink"/> for Serilog's <c>ReadFrom.Services(services)</c>, which then needs nothing more.
/// </summary>
internal static class SerilogServices
{
    public static void Add(IServiceCollection services)
    {
        services.TryAddSingleton<ErrorHubSink>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILogEventSink, ErrorHubSink>(sp => sp.GetRequiredService<ErrorHubSink>()));
    }
}
