using System.Security.Cryptography;
using ErrorHub.Ingestion;
using ErrorHub.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>
/// At start-up: makes sure the configured project exists (with the configured key, or a random one the
/// first time, kept from then on), and once the server
/// listens, prints each project's DSN so the first event is one copy-paste away. With
/// <c>ErrorHub:Project:Create</c> off it does not touch the store at start-up, so ingest can start while
/// its store is still unreachable (requests then get 503 until it is back).
/// </summary>
internal sealed partial class ProjectBootstrap(
    IProjectStore store,
    IOptions<ProjectBootstrapOptions> options,
    IHostApplicationLifetime lifetime,
    ServerUrls urls,
    TimeProvider timeProvider,
    ILogger<ProjectBootstrap> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Create)
        {
            var existing = await store.GetProjectAsync(settings.Id, cancellationToken);
            var key = settings.PublicKey ?? existing?.PublicKey ?? NewKey();
            var name = settings.Name ?? existing?.Name ?? "Default";
            if (existing is null || existing.PublicKey != key || existing.Name != name)
            {
                await store.UpsertProjectAsync(
                    new Project(settings.Id, name, key, existing?.CreatedAt ?? timeProvider.GetUtcNow()), cancellationToken);
                LogProjectSaved(logger, settings.Id, name);
            }
        }

        lifetime.ApplicationStarted.Register(() => _ = PrintDsnsAsync());
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private async Task PrintDsnsAsync()
    {
        try
        {
            foreach (var project in await store.GetProjectsAsync(lifetime.ApplicationStopping))
            {
                LogDsn(logger, project.Id, project.Name, urls.Dsn(project));
            }
        }
        catch (Exception exception)
        {
            LogDsnFailed(logger, exception.Message);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Project {ProjectId} ({Name}) saved")]
    private static partial void LogProjectSaved(ILogger logger, int projectId, string name);

    [LoggerMessage(2, LogLevel.Information, "ErrorHub DSN for project {ProjectId} ({Name}): {Dsn}")]
    private static partial void LogDsn(ILogger logger, int projectId, string name, string dsn);

    [LoggerMessage(3, LogLevel.Warning, "Could not list the projects' DSNs: {Reason}")]
    private static partial void LogDsnFailed(ILogger logger, string reason);
}
