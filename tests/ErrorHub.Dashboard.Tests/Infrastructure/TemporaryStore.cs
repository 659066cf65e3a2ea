using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Server;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using ErrorHub.Dashboard.Access;
using Microsoft.Extensions.Options;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>The dashboard's default store, the real embedded SQLite one, on a file of its own in a temporary folder.</summary>
internal sealed class TemporaryStore : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-dashboard-tests-" + Guid.NewGuid().ToString("N"));

    public TemporaryStore()
    {
        Store = SqliteDatabase.Open(DatabasePath);
    }

    public ErrorHubStore Store { get; }

    /// <summary>The SQLite file, for a test that makes the real store fail (a trigger that aborts one write).</summary>
    public string DatabasePath => Path.Combine(_directory, "errorhub.db");

    /// <summary>The admin every seeded store has; the tests' pages are rendered for them unless a test signs in someone else.</summary>
    public static readonly UserAccount Admin = new(
        Guid.Parse("00000000-0000-0000-0000-00000000ad01"), "admin@example.com", "Ada Admin", "not-a-real-hash", UserRole.Admin, "stamp", DashboardTestContext.Now.AddDays(-60));

    /// <summary>Gives the pages the store and the access checks, as the dashboard's host does.</summary>
    public void AddTo(IServiceCollection services) => AddStore(services, Store);

    /// <summary>Gives the pages <paramref name="store"/> (SQLite or ClickHouse) and the access checks, as the dashboard's host does.</summary>
    public static void AddStore(IServiceCollection services, ErrorHubStore store)
    {
        var options = Options.Create(new ErrorHubServerOptions());
        services.AddSingleton(store.Issues);
        services.AddSingleton(store.Notifications.States);
        services.AddSingleton(store.Notifications.Activity);
        services.AddSingleton(store.Notifications.Outbox);
        services.AddSingleton(store.History);
        services.AddSingleton(store.Merges);
        services.AddSingleton(store.Bookmarks);
        services.AddSingleton(store.SavedSearches);
        services.AddSingleton<ErrorHub.Dashboard.Triage.SavedSearchCatalog>();
        services.AddSingleton(store.Releases);
        services.AddSingleton<ErrorHub.Dashboard.Triage.IssueTriage>();
        services.AddSingleton<ErrorHub.Dashboard.Triage.IssueTimeline>();
        services.AddSingleton<ErrorHub.Dashboard.Triage.IssueMerging>();
        services.AddSingleton<ErrorHub.Dashboard.Triage.IssueMergeFeed>();
        services.AddSingleton(store.Projects);
        services.AddSingleton(store.Access);
        services.AddSingleton(options);
        services.AddSingleton(new ServerUrls(options));
        services.AddLogging();
        services.AddDataProtection(); // Accounts signs password reset links with it, as the dashboard does
        services.AddSingleton<Microsoft.AspNetCore.Identity.IPasswordHasher<UserAccount>, Microsoft.AspNetCore.Identity.PasswordHasher<UserAccount>>();
        services.AddSingleton<Accounts>();
        services.AddSingleton<ProjectAccess>();
        services.AddSingleton<ProjectAdmin>();
    }

    public async Task<TemporaryStore> SeedAsync(IEnumerable<Project> projects, IReadOnlyList<ErrorEvent> events)
    {
        await Store.Schema.EnsureSchemaAsync();
        await Store.Access.CreateUserAsync(Admin);
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
