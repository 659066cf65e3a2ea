using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using ErrorHub;
using ErrorHub.Internal;
using ErrorHub.Logging;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ErrorHub SDK.</summary>
public static class ErrorHubServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ErrorHub SDK: options from the <c>ErrorHub</c> configuration section, then
    /// <paramref name="configure"/>; an <see cref="IErrorHubClient"/>; a background sender that is
    /// flushed when the host stops. Safe to call more than once.
    /// </summary>
    public static IServiceCollection AddErrorHub(this IServiceCollection services, Action<ErrorHubOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Configuration first, so that the delegate given here has the last word.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<ErrorHubOptions>, ErrorHubOptionsFromConfiguration>());
        services.AddOptions<ErrorHubOptions>().ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ErrorHubOptions>, ErrorHubOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LogScopes>();
        services.TryAddSingleton<ErrorHubClient>();
        services.TryAddSingleton<IErrorHubClient>(sp => sp.GetRequiredService<ErrorHubClient>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ErrorHubFlushOnStop>());
        // One instance, also reachable as itself: a logging library's sink (ErrorHub.Serilog) feeds the same provider.
        services.TryAddSingleton<ErrorHubLoggerProvider>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, ErrorHubLoggerProvider>(sp => sp.GetRequiredService<ErrorHubLoggerProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LoggingConnectionCheck>());
        services.TryAddSingleton<ProcessHooks>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProcessHooks>(sp => sp.GetRequiredService<ProcessHooks>()));
        AddIntegration(services, "ErrorHub.AspNetCore.AspNetCoreServices, ErrorHub.AspNetCore");
        AddIntegration(services, "ErrorHub.Serilog.SerilogServices, ErrorHub.Serilog");
        if (OperatingSystem.IsBrowser())
        {
            // Blazor WebAssembly: the page an event happened on stands in for a server's request.
            services.TryAddSingleton<IRequestContext, BrowserPage>();
        }

        return services;
    }

    /// <summary>
    /// An app that references an integration package has its services join here, so one <c>AddErrorHub()</c> is all
    /// an app writes: ErrorHub.AspNetCore's (the request and user for events captured anywhere in a request, by the
    /// logger or by hand), ErrorHub.Serilog's (its sink, for Serilog's <c>ReadFrom.Services(services)</c>).
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The types are kept by DynamicDependency.")]
    [UnconditionalSuppressMessage("Trimming", "IL2057", Justification = "The types are kept by DynamicDependency.")]
    [UnconditionalSuppressMessage("Trimming", "IL2035", Justification = "The integration packages are optional: a trimmed app without them (a Blazor WebAssembly app) has nothing to keep.")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicMethods, "ErrorHub.AspNetCore.AspNetCoreServices", "ErrorHub.AspNetCore")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicMethods, "ErrorHub.Serilog.SerilogServices", "ErrorHub.Serilog")]
    private static void AddIntegration(IServiceCollection services, string typeName)
    {
        Type? integration;
        try
        {
            integration = Type.GetType(typeName, throwOnError: false);
        }
        catch (Exception exception) when (exception is IOException or BadImageFormatException)
        {
            return;
        }

        integration?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static)?.Invoke(null, [services]);
    }
}
