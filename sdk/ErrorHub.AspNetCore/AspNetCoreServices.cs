using ErrorHub.Internal;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.AspNetCore;

/// <summary>Called by <c>AddErrorHub()</c> when this package is present (see there why).</summary>
internal static class AspNetCoreServices
{
    public static void Add(IServiceCollection services)
    {
        // How a capture anywhere in a request (a logger, the app's catch block) finds the request: not an
        // IHttpContextAccessor, whose AsyncLocal every request would pay for (see CurrentRequests).
        services.TryAddSingleton<CurrentRequests>();
        services.TryAddSingleton<IRequestContext, HttpRequestContext>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LoggerFilterOptions>, FrameworkLogDefaults>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<HubOptions>, HubReporting>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFilterProvider, MvcReporting>());
        services.TryAddEnumerable(ServiceDescriptor.Scoped<CircuitHandler, CircuitPages>());
    }
}
