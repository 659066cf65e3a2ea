using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ErrorHub.Internal;

/// <summary>
/// Binds the <c>ErrorHub</c> configuration section when the app has configuration (every host does);
/// a bare service collection without <see cref="IConfiguration"/> simply gets the defaults.
/// </summary>
internal sealed class ErrorHubOptionsFromConfiguration(IServiceProvider services) : IConfigureOptions<ErrorHubOptions>
{
    // A trimmed app (a published Blazor WebAssembly app) would otherwise lose the setters the app never calls itself, the
    // DSN's among them, and run with ErrorHub disabled. The options are strings, numbers, booleans, TimeSpans and an enum.
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(ErrorHubOptions))]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "ErrorHubOptions' properties are kept by the DynamicDependency above.")]
    public void Configure(ErrorHubOptions options) =>
        services.GetService<IConfiguration>()?.GetSection(ErrorHubOptions.SectionName).Bind(options);
}
