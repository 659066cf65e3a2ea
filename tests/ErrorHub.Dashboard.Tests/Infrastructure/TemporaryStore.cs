using ErrorHub.Server.Events;
using ErrorHub.Server.Storage;
using ErrorHub.Server.Storage.Sqlite;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>The dashboard's default store, the real embedded SQLite one, on a file of its own in a temporary folder.</summary>
internal sealed class TemporaryStore : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-dashboard-tests-" + Guid.NewGuid().ToString("N"));

    public TemporaryStore()
    {
        Store = new SqliteStore(Path.Combine(_directory, "errorhub.db"));
    }

    public SqliteStore Store { get; }

    public async Task<TemporaryStore> SeedAsync(IEnumerable<Project> projects, IReadOnlyList<ErrorEvent> events)
    {
        await Store.EnsureSchemaAsync();
        foreach (var project in projects)
        {
            await Store.UpsertProjectAsync(project);
        }

        await Store.InsertEventsAsync(events);
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
