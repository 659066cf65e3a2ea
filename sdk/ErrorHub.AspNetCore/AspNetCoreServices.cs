using ErrorHub.Internal;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.AspNetCore.Diagnostics;
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
        AddFirstExceptionHandler(services);
    }

    /// <summary>
    /// <c>UseExceptionHandler</c> asks the app's <see cref="IExceptionHandler"/>s in the order they were registered and stops at
    /// the first that handles the exception: ErrorHub's goes before any the app registered before <c>AddErrorHub()</c>.
    /// </summary>
    private static void AddFirstExceptionHandler(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(IExceptionHandler) && d.ImplementationType == typeof(ExceptionHandlerReporting)))
        {
            return;
        }

        var descriptor = ServiceDescriptor.Singleton<IExceptionHandler, ExceptionHandlerReporting>();
        var firstOfApp = -1;
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i].ServiceType == typeof(IExceptionHandler))
            {
                firstOfApp = i;
                break;
            }
        }

        if (firstOfApp < 0)
        {
            services.Add(descriptor);
        }
        else
        {
            services.Insert(firstOfApp, descriptor);
        }
    }
}
