using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>The dashboard's default store, the real embedded SQLite one, on a file of its own in a temporary folder.</summary>
internal sealed class TemporaryStore : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-dashboard-tests-" + Guid.NewGuid().ToString("N"));

    public TemporaryStore()
    {
        Store = SqliteDatabase.Open(Path.Combine(_directory, "errorhub.db"));
    }

    public ErrorHubStore Store { get; }

    /// <summary>Gives the pages the store's readers, as the dashboard's host does.</summary>
    public void AddTo(IServiceCollection services)
    {
        services.AddSingleton(Store.Issues);
        services.AddSingleton(Store.Projects);
        services.AddSingleton(new ServerUrls(Options.Create(new ErrorHubServerOptions())));
    }

    public async Task<TemporaryStore> SeedAsync(IEnumerable<Project> projects, IReadOnlyList<ErrorEvent> events)
    {
        await Store.Schema.EnsureSchemaAsync();
        foreach (var project in projects)
        {
            await Store.Projects.UpsertProjectAsync(project);
        }

        await Store.Events.InsertEventsAsync(events);
        return this;
    }

    public void Dispose()
    {
        Store.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A pooled connection may still hold the file for a moment; the temp folder is cleaned eventually.
        }
    }
}
