namespace ErrorHub.Storage;

/// <summary>
/// Which issues were merged into which (Sentry's semantics): a merged issue's fingerprint keeps pointing at the
/// issue it was merged into, so its stored events and every later one are read as the target's (list counts,
/// issue page, events, affected users, charts); unmerging lets the issue stand on its own again with all its
/// events. Nothing is rewritten: events keep their fingerprint and the readers apply the mapping
/// (docs/storage.md). Written by the dashboard, never by ingest.
/// </summary>
public interface IIssueMerges
{
    /// <summary>At most this many issues merge at once (the list's page).</summary>
    const int MaxSources = 100;

    /// <summary>
    /// Merges <paramref name="sources"/> into <paramref name="target"/>. Issues that had been merged into a source
    /// now point at the target too (no chains); the target itself is never a source afterwards.
    /// </summary>
    Task MergeAsync(int projectId, string target, IReadOnlyCollection<string> sources, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Lets <paramref name="source"/> stand on its own again; nothing happens when it is not merged.</summary>
    Task UnmergeAsync(int projectId, string source, CancellationToken cancellationToken = default);

    /// <summary>The project's merged issues: source fingerprint → the fingerprint of the issue it is merged into.</summary>
    Task<IReadOnlyDictionary<string, string>> GetMergesAsync(int projectId, CancellationToken cancellationToken = default);
}

/// <summary>The merge rules both stores share: what the mapping becomes after a merge.</summary>
internal static class IssueMergeRules
{
    public const int MaxSources = IIssueMerges.MaxSources;

    /// <summary>
    /// The fingerprints to point at the target: each source and each issue merged into a source. A target that is
    /// itself merged stands for the issue it is merged into.
    /// </summary>
    public static (string Target, IReadOnlyList<string> Sources) Plan(IReadOnlyDictionary<string, string> current, string target, IReadOnlyCollection<string> sources)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sources.Count, MaxSources, nameof(sources));
        if (sources.Any(source => source is null))
        {
            throw new ArgumentException("A fingerprint is null.", nameof(sources));
        }

        var effective = current.TryGetValue(target, out var outer) ? outer : target;
        var moving = sources.Where(source => source != effective).ToHashSet(StringComparer.Ordinal);
        var pointing = moving
            .Concat(current.Where(pair => moving.Contains(pair.Value)).Select(pair => pair.Key))
            .Where(source => source != effective)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return (effective, pointing);
    }
}
