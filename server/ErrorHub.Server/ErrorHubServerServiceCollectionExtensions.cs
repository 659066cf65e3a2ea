using System.Text.RegularExpressions;
using ErrorHub.Ingestion;
using ErrorHub.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>How the ingest host and the dashboard compose ErrorHub's server parts.</summary>
public static partial class ErrorHubServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ingest pipeline (key checks, decoding, grouping, group-committing writer) and the
    /// start-up project bootstrap, on the store configured in <c>ErrorHub:Store</c> (<c>AddErrorHubStore</c>,
    /// added here so that the store's schema step always runs before the bootstrap, whatever the call order).
    /// </summary>
    public static IServiceCollection AddErrorHubIngest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddErrorHubStore(configuration);
        services.AddErrorHubIngestPipeline();
        services.AddOptions<ProjectBootstrapOptions>()
            .Bind(configuration.GetSection(ProjectBootstrapOptions.SectionName))
            .PostConfigure(o => o.PublicKey = string.IsNullOrWhiteSpace(o.PublicKey) ? null : o.PublicKey.Trim()) // an empty setting is no key
            .Validate(o => o.Id > 0, "ErrorHub:Project:Id must be a positive integer.")
            .Validate(o => o.Name is null || o.Name.Trim().Length > 0, "ErrorHub:Project:Name must not be empty.")
            .Validate(o => o.PublicKey is null || KeyPattern().IsMatch(o.PublicKey), "ErrorHub:Project:PublicKey must be 16 to 64 letters, digits, '-' or '_'.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProjectBootstrap>());
        return services;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{16,64}$")]
    private static partial Regex KeyPattern();
}
