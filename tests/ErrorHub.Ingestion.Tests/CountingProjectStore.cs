using System.Collections.Concurrent;
using ErrorHub.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Ingestion.Tests;

/// <summary>The real project store, counting the key lookups that reach it per project id.</summary>
internal sealed class CountingProjectStore(IProjectStore inner) : IProjectStore
{
    private readonly ConcurrentDictionary<int, int> _keyLookups = new();

    public int KeyLookups(int projectId) => _keyLookups.TryGetValue(projectId, out var count) ? count : 0;

    public int AllKeyLookups => _keyLookups.Values.Sum();

    /// <summary>Wraps the project store a host registered, so ingest talks to the store through the counter.</summary>
    public static void Wrap(IServiceCollection services, Action<CountingProjectStore> created)
    {
        var original = services.Last(descriptor => descriptor.ServiceType == typeof(IProjectStore));
        services.Add(ServiceDescriptor.Singleton<IProjectStore>(provider =>
        {
            var inner = original.ImplementationInstance as IProjectStore
                ?? (IProjectStore)original.ImplementationFactory!(provider);
            var counting = new CountingProjectStore(inner);
            created(counting);
            return counting;
        }));
    }

    public Task<IReadOnlyList<ProjectKey>> GetKeysAsync(int projectId, CancellationToken cancellationToken = default)
    {
        _keyLookups.AddOrUpdate(projectId, 1, (_, count) => count + 1);
        return inner.GetKeysAsync(projectId, cancellationToken);
    }

    public Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default) => inner.UpsertProjectAsync(project, cancellationToken);

    public Task<Project> CreateProjectAsync(string name, string publicKey, DateTimeOffset createdAt, CancellationToken cancellationToken = default) =>
        inner.CreateProjectAsync(name, publicKey, createdAt, cancellationToken);

    public Task<bool> RenameProjectAsync(int projectId, string name, CancellationToken cancellationToken = default) => inner.RenameProjectAsync(projectId, name, cancellationToken);

    public Task<bool> DeleteProjectAsync(int projectId, DateTimeOffset deletedAt, CancellationToken cancellationToken = default) =>
        inner.DeleteProjectAsync(projectId, deletedAt, cancellationToken);

    public Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default) => inner.GetProjectAsync(projectId, cancellationToken);

    public Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default) => inner.GetProjectsAsync(cancellationToken);

    public Task<bool> AddKeyAsync(int projectId, string publicKey, string label, DateTimeOffset createdAt, CancellationToken cancellationToken = default) =>
        inner.AddKeyAsync(projectId, publicKey, label, createdAt, cancellationToken);

    public Task<bool> RevokeKeyAsync(int projectId, string publicKey, DateTimeOffset revokedAt, CancellationToken cancellationToken = default) =>
        inner.RevokeKeyAsync(projectId, publicKey, revokedAt, cancellationToken);

    public Task<ProjectSettings?> GetSettingsAsync(int projectId, CancellationToken cancellationToken = default) => inner.GetSettingsAsync(projectId, cancellationToken);

    public Task<bool> SaveSettingsAsync(int projectId, ProjectSettings settings, CancellationToken cancellationToken = default) =>
        inner.SaveSettingsAsync(projectId, settings, cancellationToken);

    public Task AddDropsAsync(IReadOnlyCollection<ProjectDrops> drops, CancellationToken cancellationToken = default) => inner.AddDropsAsync(drops, cancellationToken);

    public Task<IReadOnlyList<ProjectDrops>> GetDropsAsync(int projectId, DateTimeOffset since, CancellationToken cancellationToken = default) =>
        inner.GetDropsAsync(projectId, since, cancellationToken);
}
