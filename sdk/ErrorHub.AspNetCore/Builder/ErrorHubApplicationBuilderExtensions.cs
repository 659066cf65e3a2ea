using ErrorHub.AspNetCore;
using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds ErrorHub to the request pipeline.</summary>
public static class ErrorHubApplicationBuilderExtensions
{
    /// <summary>
    /// Reports every exception that escapes the middleware and endpoints after this call, then lets it
    /// continue, so the app's own error handling still runs. Call it after <c>UseExceptionHandler</c> /
    /// <c>UseDeveloperExceptionPage</c> and before the middleware you want covered. An exception whose request
    /// ends below 500 (the app handled it) is not reported unless <c>ReportHandledExceptions</c> is set. When the
    /// SDK is disabled (no DSN) nothing is added to the pipeline.
    /// </summary>
    public static IApplicationBuilder UseErrorHub(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var client = app.ApplicationServices.GetService<ErrorHubClient>()
            ?? throw new InvalidOperationException(
                "ErrorHub services are missing: call builder.Services.AddErrorHub() before app.UseErrorHub().");
        app.ApplicationServices.GetService<ProcessHooks>()?.HookForHost();
        return client.IsEnabled ? app.UseMiddleware<ErrorHubMiddleware>(client) : app;
    }
}
