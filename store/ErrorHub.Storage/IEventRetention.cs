namespace ErrorHub.Storage;

/// <summary>
/// Deletes events past their project's retention, and what was derived from them only (issue counts, users,
/// first-seen times; an issue left without events disappears). Run on a schedule by the retention worker.
/// </summary>
public interface IEventRetention
{
    /// <summary>
    /// Deletes the events older than their project's cutoff (<paramref name="plan"/>) and returns how many
    /// it deleted (on ClickHouse, as counted just before the delete). Idempotent; safe to run from several processes.
    /// </summary>
    Task<long> DeleteExpiredAsync(RetentionPlan plan, CancellationToken cancellationToken = default);
}

/// <summary>
/// Which events are expired: those of a project in <see cref="CutoffByProject"/> older than its cutoff; those of
/// any other project id (a deleted project, events of an id without a project) older than <see cref="OthersCutoff"/>.
/// A null cutoff keeps the events (no retention).
/// </summary>
public sealed record RetentionPlan(IReadOnlyDictionary<int, DateTimeOffset?> CutoffByProject, DateTimeOffset? OthersCutoff);
