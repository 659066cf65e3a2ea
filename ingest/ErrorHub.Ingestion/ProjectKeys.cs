using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ErrorHub.Storage;

namespace ErrorHub.Ingestion;

/// <summary>
/// Checks a key against the project's active keys (a project has several: one per app, or an old and a
/// new one while rotating). Looks each project's keys up in the store at most every few seconds, so ingest
/// does not query the store on every request, and a revoked key or a deleted project is refused soon after
/// (at once by the process that made the change, which calls <see cref="Forget"/>).
/// </summary>
internal sealed class ProjectKeys(IProjectStore store, TimeProvider timeProvider) : IProjectKeyCache
{
    private const int MaxCachedProjects = 10_000;
    internal static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<int, (byte[][] ActiveKeys, DateTimeOffset Expires)> _cache = new();

    public async ValueTask<bool> IsValidAsync(int projectId, string publicKey, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (!_cache.TryGetValue(projectId, out var entry) || entry.Expires <= now)
        {
            // A deleted project has no keys.
            var keys = await store.GetKeysAsync(projectId, cancellationToken);
            entry = ([.. keys.Where(key => key.IsActive).Select(key => Encoding.UTF8.GetBytes(key.PublicKey))], now + CacheFor);
            if (_cache.Count >= MaxCachedProjects)
            {
                // Requests for ever new project ids (a scan, an attack) must not freeze the cache: start over.
                _cache.Clear();
            }

            _cache[projectId] = entry;
        }

        var given = Encoding.UTF8.GetBytes(publicKey);
        var valid = false;
        foreach (var key in entry.ActiveKeys)
        {
            // Every key is compared, so the time taken does not tell which one came close.
            valid |= CryptographicOperations.FixedTimeEquals(key, given);
        }

        return valid;
    }

    /// <summary>Drops what is cached about a project: its next request reads the keys again.</summary>
    public void Forget(int projectId) => _cache.TryRemove(projectId, out _);
}

/// <summary>
/// Ingest's cache of project keys, for whoever changes keys in the same process (the all-in-one dashboard):
/// after revoking a key or deleting a project, <see cref="Forget"/> makes the change count at once instead
/// of within a few seconds.
/// </summary>
public interface IProjectKeyCache
{
    void Forget(int projectId);
}
