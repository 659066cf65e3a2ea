namespace ErrorHub.Storage;

/// <summary>
/// Bookmarks (Sentry's too): issues a person starred to find them again, per person and per issue. A bookmark of an
/// issue merged into another counts for the issue it was merged into, as its events do (<see cref="IIssueMerges"/>):
/// nothing is rewritten at a merge. Written by the dashboard (the star, bulk actions), never by ingest.
/// </summary>
public interface IIssueBookmarks
{
    /// <summary>At most this many issues change in one call (the list's bulk limit).</summary>
    const int MaxIssues = 1000;

    /// <summary>
    /// Bookmarks (or removes the bookmarks of) <paramref name="fingerprints"/> for <paramref name="userId"/>. Removing an
    /// issue's bookmark also removes the person's bookmarks of the issues merged into it, so the star goes off.
    /// </summary>
    Task SetBookmarksAsync(int projectId, Guid userId, IReadOnlyCollection<string> fingerprints, bool bookmarked, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>The issues <paramref name="userId"/> bookmarked in the project, a merged issue's bookmark as the issue it is merged into's.</summary>
    Task<IReadOnlySet<string>> GetBookmarksAsync(int projectId, Guid userId, CancellationToken cancellationToken = default);

    /// <summary>Removes everyone's bookmarks of the project's issues (the project was deleted); answers once they are gone.</summary>
    Task DeleteBookmarksAsync(int projectId, CancellationToken cancellationToken = default);
}

/// <summary>What both stores share: argument checks and how merges apply to bookmarks.</summary>
internal static class IssueBookmarkRules
{
    public static void Validate(IReadOnlyCollection<string> fingerprints)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fingerprints.Count, IIssueBookmarks.MaxIssues, nameof(fingerprints));
        if (fingerprints.Any(fingerprint => fingerprint is null))
        {
            throw new ArgumentException("A fingerprint is null.", nameof(fingerprints));
        }
    }

    /// <summary>The fingerprints whose bookmark rows an un-bookmark removes: each issue's own and those of the issues merged into it.</summary>
    public static IReadOnlyList<string> WithMerged(IReadOnlyCollection<string> fingerprints, IReadOnlyDictionary<string, string> merges)
    {
        var issues = fingerprints.ToHashSet(StringComparer.Ordinal);
        return [.. issues.Concat(merges.Where(pair => issues.Contains(pair.Value)).Select(pair => pair.Key)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Stored bookmarks as issues: a merged fingerprint stands for the issue it was merged into.</summary>
    public static IReadOnlySet<string> AsIssues(IEnumerable<string> stored, IReadOnlyDictionary<string, string> merges) =>
        stored.Select(fingerprint => merges.TryGetValue(fingerprint, out var target) ? target : fingerprint).ToHashSet(StringComparer.Ordinal);
}
