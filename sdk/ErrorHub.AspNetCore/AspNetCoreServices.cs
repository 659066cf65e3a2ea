using ErrorHub.Internal;
using Microsoft.AspNetCore.Http;
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
        // The accessor is how a capture anywhere in a request (a logger, the app's catch block) finds the request.
        services.AddHttpContextAccessor();
        services.TryAddSingleton<IRequestContext, HttpRequestContext>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LoggerFilterOptions>, FrameworkLogDefaults>());
    }
}
