using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ErrorHub.Internal;

/// <summary>
/// Binds the <c>ErrorHub</c> configuration section when the app has configuration (every host does);
/// a bare service collection without <see cref="IConfiguration"/> simply gets the defaults.
/// </summary>
/// <remarks>
/// The binding is written at build time by the configuration binder's source generator, so it needs no reflection: a
/// trimmed app (a published Blazor WebAssembly app) keeps every setter it binds, a NativeAOT app binds as a JIT app does.
/// </remarks>
internal sealed class ErrorHubOptionsFromConfiguration(IServiceProvider services) : IConfigureOptions<ErrorHubOptions>
{
    public void Configure(ErrorHubOptions options) =>
        services.GetService<IConfiguration>()?.GetSection(ErrorHubOptions.SectionName).Bind(options);
}
