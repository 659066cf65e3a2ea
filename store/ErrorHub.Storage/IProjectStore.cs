namespace ErrorHub.Storage;

/// <summary>
/// Projects, their keys and settings: read by ingest on every key check (cached), written at start-up and
/// by admins in the dashboard. A deleted project disappears from every read and its keys stop working;
/// its id is never given to another project (its events may still be stored).
/// </summary>
public interface IProjectStore
{
    /// <summary>
    /// Creates the project or renames it, and makes <see cref="Project.PublicKey"/> one of its keys unless the
    /// project has that key already (a revoked key stays revoked; a new one is dated <see cref="Project.CreatedAt"/>).
    /// Its creation time stays the first one recorded. A deleted project stays deleted.
    /// </summary>
    Task UpsertProjectAsync(Project project, CancellationToken cancellationToken = default);

    /// <summary>Creates a project with the next unused id (ids of deleted projects included) and its first key.</summary>
    Task<Project> CreateProjectAsync(string name, string publicKey, DateTimeOffset createdAt, CancellationToken cancellationToken = default);

    /// <summary>False when there is no such project (or it was deleted).</summary>
    Task<bool> RenameProjectAsync(int projectId, string name, CancellationToken cancellationToken = default);

    /// <summary>Deletes the project: gone from every read, its keys refused. False when there is no such project.</summary>
    Task<bool> DeleteProjectAsync(int projectId, DateTimeOffset deletedAt, CancellationToken cancellationToken = default);

    /// <summary>The project, unless it does not exist or was deleted.</summary>
    Task<Project?> GetProjectAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>Every project that was not deleted, by id.</summary>
    Task<IReadOnlyList<Project>> GetProjectsAsync(CancellationToken cancellationToken = default);

    /// <summary>The project's keys, revoked ones included, oldest first (ties by key); empty for a deleted project.</summary>
    Task<IReadOnlyList<ProjectKey>> GetKeysAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>Adds an active key. False when the project does not exist, was deleted, or already has this key.</summary>
    Task<bool> AddKeyAsync(int projectId, string publicKey, string label, DateTimeOffset createdAt, CancellationToken cancellationToken = default);

    /// <summary>Revokes a key for good: ingest refuses it from then on. False when the project has no such active key.</summary>
    Task<bool> RevokeKeyAsync(int projectId, string publicKey, DateTimeOffset revokedAt, CancellationToken cancellationToken = default);

    /// <summary>The project's settings; defaults (no limits) when none were saved. Null for a missing or deleted project.</summary>
    Task<ProjectSettings?> GetSettingsAsync(int projectId, CancellationToken cancellationToken = default);

    /// <summary>False when there is no such project.</summary>
    Task<bool> SaveSettingsAsync(int projectId, ProjectSettings settings, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds to the counts of batches and events ingest refused per project, hour and reason (added to what is
    /// stored for the same project, hour and reason, from any number of ingest processes).
    /// </summary>
    Task AddDropsAsync(IReadOnlyCollection<ProjectDrops> drops, CancellationToken cancellationToken = default);

    /// <summary>The project's refused batches and events per hour and reason from <paramref name="since"/> on, oldest hour first (ties by reason).</summary>
    Task<IReadOnlyList<ProjectDrops>> GetDropsAsync(int projectId, DateTimeOffset since, CancellationToken cancellationToken = default);
}

/// <summary>
/// What ingest refused of a project's events in one hour for one reason (<c>rate_limit</c>, <c>spike_protection</c>,
/// <c>invalid</c>, <c>too_large</c>). <see cref="Events"/> counts only the events of batches that were decoded: a batch
/// refused before its body was read (the project's quota already spent) counts as a batch only.
/// </summary>
public sealed record ProjectDrops(int ProjectId, DateTimeOffset Hour, string Reason, long Batches, long Events);

/// <summary>
/// A project: what a DSN points at. <see cref="PublicKey"/> is its newest active key, the one the DSN shows
/// by default (empty when every key is revoked); <see cref="IProjectStore.GetKeysAsync"/> has all of them.
/// </summary>
public sealed record Project(int Id, string Name, string PublicKey, DateTimeOffset CreatedAt);

/// <summary>One of a project's keys: the user part of a DSN. Ingest accepts every active key of the project.</summary>
public sealed record ProjectKey(int ProjectId, string PublicKey, string Label, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsActive => RevokedAt is null;

    /// <summary>A new key: 128 random bits as 32 lowercase hex digits, for a project made or a key added in the dashboard or by configuration.</summary>
    internal static string NewPublicKey() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}

/// <summary>
/// Per-project limits, stored and shown in the dashboard; null means the server's default
/// (<c>ErrorHub:Ingest:DefaultRateLimitPerMinute</c>, none unless set; <c>ErrorHub:Retention:DefaultDays</c>, 90).
/// Ingest enforces the rate limit (429); the retention worker deletes older events.
/// </summary>
public sealed record ProjectSettings(int? RateLimitPerMinute, int? RetentionDays)
{
    public static ProjectSettings None { get; } = new(null, null);
}
