namespace ErrorHub.Storage;

/// <summary>A project's releases as its events tell them: when each was first and last seen, its events, and the issues it brought.</summary>
public interface IReleaseReader
{
    /// <summary>One page of the project's releases (events without a release are left out), the newest (by first event) first.</summary>
    Task<ReleasePage> GetReleasesAsync(ReleaseQuery query, CancellationToken cancellationToken = default);
}

public sealed record ReleaseQuery(int ProjectId)
{
    public const int MaxLimit = 1000;

    public int Offset { get; init; }

    public int Limit { get; init; } = 50;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Offset, nameof(Offset));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Limit, nameof(Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Limit, MaxLimit, nameof(Limit));
    }
}

/// <summary>
/// A release: its first and last event (whole seconds), its events, and its new issues: issues whose first event
/// is of this release (an issue with issues merged into it counts once, by the first event of them all).
/// </summary>
public sealed record ReleaseSummary(string Release, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, long Events, long NewIssues);

public sealed record ReleasePage(IReadOnlyList<ReleaseSummary> Items, long TotalCount);

public static class ReleaseReaderExtensions
{
    /// <summary>
    /// When the project first saw each of its newest <see cref="ReleaseQuery.MaxLimit"/> releases (by first event): what
    /// triage orders releases of different apps by (<see cref="IssueState.IsReopenedBy"/>). One page, so it stays bounded.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, DateTimeOffset>> GetFirstSeenByReleaseAsync(this IReleaseReader releases, int projectId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(releases);
        var page = await releases.GetReleasesAsync(new ReleaseQuery(projectId) { Limit = ReleaseQuery.MaxLimit }, cancellationToken);
        return page.Items.ToDictionary(release => release.Release, release => release.FirstSeen, StringComparer.Ordinal);
    }
}
