using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ErrorHub.Storage;

namespace ErrorHub.Ingestion;

/// <summary>
/// Checks a project's public key. Looks projects up in the store at most every few seconds per
/// project, so ingest does not query the store on every request, and a changed key takes effect quickly.
/// </summary>
internal sealed class ProjectKeys(IProjectStore store, TimeProvider timeProvider)
{
    private const int MaxCachedProjects = 10_000;
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<int, (Project? Project, DateTimeOffset Expires)> _cache = new();

    public async ValueTask<bool> IsValidAsync(int projectId, string publicKey, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (!_cache.TryGetValue(projectId, out var entry) || entry.Expires <= now)
        {
            var project = await store.GetProjectAsync(projectId, cancellationToken);
            entry = (project, now + CacheFor);
            if (_cache.Count >= MaxCachedProjects)
            {
                // Requests for ever new project ids (a scan, an attack) must not freeze the cache: start over.
                _cache.Clear();
            }

            _cache[projectId] = entry;
        }

        return entry.Project is { } found
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(found.PublicKey), Encoding.UTF8.GetBytes(publicKey));
    }

    public void Forget(int projectId) => _cache.TryRemove(projectId, out _);
}
