using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ErrorHub.Storage;

namespace ErrorHub.Ingestion;

/// <summary>
/// Checks a key against the project's active keys (a project has several: one per app, or an old and a
/// new one while rotating) and hands out the project's settings (its rate limit) with the answer.
/// Each project id is looked up in the store at most once per <see cref="CacheFor"/>, whatever the answer
/// and however many requests arrive at once: unknown and deleted project ids are cached as having no keys,
/// and a wrong key is compared against the cached keys, so requests nobody is allowed to make (a scan of
/// ids, a client with a revoked key in a retry loop) never reach the store once per request. A revoked key
/// or a deleted project is refused soon after the change (at once by the process that made it, which calls
/// <see cref="Forget"/>).
/// </summary>
internal sealed class ProjectKeys(IProjectStore store, TimeProvider timeProvider) : IProjectKeyCache
{
    internal const int MaxCachedProjects = 10_000;
    internal static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<int, Entry> _cache = new();

    /// <summary>The project's settings when <paramref name="publicKey"/> is one of its active keys; null when it is not (or there is no such project).</summary>
    /// <param name="staleWhileUnknown">
    /// While a renewed lookup runs or has failed, answer from the last answer the store gave (the ingest journal accepts
    /// batches while the store is stalled or down, so the key check must not wait for it either). A key revoked while the
    /// store cannot be read counts as active until it can.
    /// </param>
    public async ValueTask<ProjectSettings?> AuthenticateAsync(int projectId, string publicKey, CancellationToken cancellationToken, bool staleWhileUnknown = false)
    {
        var known = await LookUpAsync(projectId, staleWhileUnknown).WaitAsync(cancellationToken);
        var given = Encoding.UTF8.GetBytes(publicKey);
        var valid = false;
        foreach (var key in known.ActiveKeys)
        {
            // Every key is compared, so the time taken does not tell which one came close.
            valid |= CryptographicOperations.FixedTimeEquals(key, given);
        }

        return valid ? known.Settings : null;
    }

    /// <summary>Drops what is cached about a project: its next request reads the keys again.</summary>
    public void Forget(int projectId) => _cache.TryRemove(projectId, out _);

    /// <summary>
    /// The cached answer, or one lookup shared by every request that asks while it runs. A failed lookup is
    /// not kept: the next request tries again (and, while the store is down, gets its 503).
    /// </summary>
    private Task<KnownProject> LookUpAsync(int projectId, bool staleWhileUnknown)
    {
        var now = timeProvider.GetUtcNow();
        while (true)
        {
            if (_cache.TryGetValue(projectId, out var cached))
            {
                if (!cached.Lookup.IsFaulted && !cached.Lookup.IsCanceled && (!cached.Lookup.IsCompleted || cached.Expires > now))
                {
                    return staleWhileUnknown && !cached.Lookup.IsCompleted && cached.Previous is { } stale ? Task.FromResult(stale) : cached.Lookup;
                }

                var previous = cached.Lookup.IsCompletedSuccessfully ? cached.Lookup.Result : cached.Previous;
                var renewed = new Entry(this, projectId, now, previous);
                if (_cache.TryUpdate(projectId, renewed, cached))
                {
                    var lookup = renewed.Start();
                    return staleWhileUnknown && previous is not null ? Task.FromResult(previous) : lookup;
                }

                continue; // another request renewed it first: share its lookup
            }

            MakeRoom(now);
            var created = new Entry(this, projectId, now, previous: null);
            if (_cache.TryAdd(projectId, created))
            {
                return created.Start();
            }
        }
    }

    /// <summary>
    /// Keeps the cache bounded without letting a scan of unknown ids push out the projects that send events:
    /// expired answers go first, then the cached "no such project" answers, and only then everything.
    /// </summary>
    private void MakeRoom(DateTimeOffset now)
    {
        if (_cache.Count < MaxCachedProjects)
        {
            return;
        }

        foreach (var (id, entry) in _cache)
        {
            if (entry.Lookup.IsCompleted && entry.Expires <= now)
            {
                _cache.TryRemove(new KeyValuePair<int, Entry>(id, entry));
            }
        }

        if (_cache.Count >= MaxCachedProjects)
        {
            foreach (var (id, entry) in _cache)
            {
                if (entry.Lookup.IsCompletedSuccessfully && entry.Lookup.Result.ActiveKeys.Length == 0)
                {
                    _cache.TryRemove(new KeyValuePair<int, Entry>(id, entry));
                }
            }
        }

        if (_cache.Count >= MaxCachedProjects)
        {
            _cache.Clear();
        }
    }

    private async Task<KnownProject> ReadAsync(int projectId)
    {
        // Not bound to one request's cancellation: other requests share this lookup. The endpoint bounds the wait.
        var keys = await store.GetKeysAsync(projectId, CancellationToken.None).ConfigureAwait(false);
        byte[][] active = [.. keys.Where(key => key.IsActive).Select(key => Encoding.UTF8.GetBytes(key.PublicKey))];
        if (active.Length == 0)
        {
            return KnownProject.None; // a deleted project has no keys; no need to ask for its settings
        }

        var settings = await store.GetSettingsAsync(projectId, CancellationToken.None).ConfigureAwait(false);
        return settings is null ? KnownProject.None : new KnownProject(active, settings);
    }

    private sealed record KnownProject(byte[][] ActiveKeys, ProjectSettings Settings)
    {
        public static KnownProject None { get; } = new([], ProjectSettings.None);
    }

    /// <summary>One lookup of a project and until when its answer holds (counted from when it was asked).</summary>
    private sealed class Entry(ProjectKeys owner, int projectId, DateTimeOffset asked, KnownProject? previous)
    {
        /// <summary>The last answer the store gave before this lookup, for callers that may use it while this one is unknown.</summary>
        public KnownProject? Previous { get; } = previous;

        private readonly TaskCompletionSource<KnownProject> _lookup = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<KnownProject> Lookup => _lookup.Task;

        public DateTimeOffset Expires { get; } = asked + CacheFor;

        /// <summary>Runs the lookup; called only by the request that put this entry in the cache.</summary>
        public Task<KnownProject> Start()
        {
            _ = RunAsync();
            return _lookup.Task;
        }

        private async Task RunAsync()
        {
            try
            {
                _lookup.SetResult(await owner.ReadAsync(projectId).ConfigureAwait(false));
            }
            catch (Exception exception)
            {
                _lookup.SetException(exception);
            }
        }
    }
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
