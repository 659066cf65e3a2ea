using ErrorHub.Ingestion;
using ErrorHub.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>
/// At start-up: makes sure the configured project exists (with the configured key among its keys, or a
/// random one the first time, kept from then on), and once the server
/// listens, prints each project's DSN so the first event is one copy-paste away. With
/// <c>ErrorHub:Project:Create</c> off it does not touch the store at start-up, so ingest can start while
/// its store is still unreachable (requests then get 503 until it is back). With it on and a store that cannot make its
/// tables yet, the project is saved once it has (<see cref="StoreSchemaState"/>), before ingest takes a batch.
/// </summary>
internal sealed partial class ProjectBootstrap(
    IProjectStore store,
    StoreSchemaState schema,
    IOptions<ProjectBootstrapOptions> options,
    IHostApplicationLifetime lifetime,
    ServerUrls urls,
    TimeProvider timeProvider,
    ILogger<ProjectBootstrap> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Create && !schema.DeferUntilCreated("saving the configured project", SaveConfiguredProjectAsync))
        {
            await SaveConfiguredProjectAsync(cancellationToken);
        }

        lifetime.ApplicationStarted.Register(() => _ = PrintDsnsAsync());
    }

    private async Task SaveConfiguredProjectAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var existing = await store.GetProjectAsync(settings.Id, cancellationToken);
        if (existing is null)
        {
            var name = settings.Name ?? "Default";
            await store.UpsertProjectAsync(new Project(settings.Id, name, settings.PublicKey ?? ProjectKey.NewPublicKey(), timeProvider.GetUtcNow()), cancellationToken);
            if (await store.GetProjectAsync(settings.Id, cancellationToken) is null)
            {
                // Deleted in the dashboard: deleting wins over the configuration.
                LogProjectDeleted(logger, settings.Id);
            }
            else
            {
                LogProjectSaved(logger, settings.Id, name);
            }
        }
        else
        {
            if (settings.Name is { } name && name != existing.Name)
            {
                await store.RenameProjectAsync(settings.Id, name, cancellationToken);
                LogProjectSaved(logger, settings.Id, name);
            }

            // A configured key is added once; revoking it in the dashboard is final. Other keys stay.
            if (settings.PublicKey is { } key && await store.AddKeyAsync(settings.Id, key, "Configured", timeProvider.GetUtcNow(), cancellationToken))
            {
                LogKeyAdded(logger, settings.Id);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task PrintDsnsAsync()
    {
        try
        {
            // Started before the store could make its tables: the DSNs once it has, and the configured project is saved.
            await schema.Ready.WaitAsync(lifetime.ApplicationStopping);
            foreach (var project in await store.GetProjectsAsync(lifetime.ApplicationStopping))
            {
                LogDsn(logger, project.Id, project.Name, urls.Dsn(project));
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // stopped before the store was ready
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

    [LoggerMessage(4, LogLevel.Information, "Project {ProjectId}: the configured key (ErrorHub:Project:PublicKey) was added to its keys")]
    private static partial void LogKeyAdded(ILogger logger, int projectId);

    [LoggerMessage(5, LogLevel.Warning, "Project {ProjectId} was deleted in the dashboard; it is not created again (set ErrorHub:Project:Create=false to stop this message)")]
    private static partial void LogProjectDeleted(ILogger logger, int projectId);

    [LoggerMessage(3, LogLevel.Warning, "Could not list the projects' DSNs: {Reason}")]
    private static partial void LogDsnFailed(ILogger logger, string reason);
}
