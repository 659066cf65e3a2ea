using ErrorHub.Storage;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>
/// The store's reads, with one answer made late: the first read that finds <paramref name="lateFingerprint"/> gone (merged
/// away) is answered only when the test lets it go, as a busy store answers after the browser has moved on. Counts the
/// issue list's reads, which each part that lists issues makes once it is drawn.
/// </summary>
internal sealed class LateGoneIssueReads(IIssueReader store, string lateFingerprint) : IIssueReader
{
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _letGo = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _holding;
    private int _issueListReads;

    /// <summary>Completes once the read that found the issue gone is held.</summary>
    public Task Held => _held.Task;

    public int IssueListReads => Volatile.Read(ref _issueListReads);

    public void LetGo() => _letGo.TrySetResult();

    public async Task<IssueSummary?> GetIssueAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
    {
        var issue = await store.GetIssueAsync(projectId, fingerprint, cancellationToken);
        if (issue is null && fingerprint == lateFingerprint && Interlocked.Exchange(ref _holding, 1) == 0)
        {
            _held.TrySetResult();
            await _letGo.Task.WaitAsync(cancellationToken);
        }

        return issue;
    }

    public Task<IssuePage> GetIssuesAsync(IssueQuery query, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _issueListReads);
        return store.GetIssuesAsync(query, cancellationToken);
    }

    public Task<IReadOnlyList<ErrorEvent>> GetEventsAsync(int projectId, string fingerprint, int limit, CancellationToken cancellationToken = default) =>
        store.GetEventsAsync(projectId, fingerprint, limit, cancellationToken);

    public Task<ErrorEvent?> GetEventAsync(int projectId, Guid eventId, CancellationToken cancellationToken = default) =>
        store.GetEventAsync(projectId, eventId, cancellationToken);

    public Task<ErrorEvent?> GetIssueEventAsync(int projectId, string fingerprint, Guid eventId, CancellationToken cancellationToken = default) =>
        store.GetIssueEventAsync(projectId, fingerprint, eventId, cancellationToken);

    public Task<IssueFilterValues> GetFilterValuesAsync(int projectId, CancellationToken cancellationToken = default) =>
        store.GetFilterValuesAsync(projectId, cancellationToken);

    public Task<IReadOnlyDictionary<string, long[]>> GetEventCountsAsync(EventCountQuery query, CancellationToken cancellationToken = default) =>
        store.GetEventCountsAsync(query, cancellationToken);

    public Task<EventPage> GetEventPageAsync(EventQuery query, CancellationToken cancellationToken = default) =>
        store.GetEventPageAsync(query, cancellationToken);

    public Task<AffectedUserPage> GetAffectedUsersAsync(AffectedUserQuery query, CancellationToken cancellationToken = default) =>
        store.GetAffectedUsersAsync(query, cancellationToken);

    public IAsyncEnumerable<AffectedUser> ReadAllAffectedUsersAsync(int projectId, string fingerprint, string? search, CancellationToken cancellationToken = default) =>
        store.ReadAllAffectedUsersAsync(projectId, fingerprint, search, cancellationToken);

    public Task<IssueBreakdowns> GetBreakdownsAsync(BreakdownQuery query, CancellationToken cancellationToken = default) =>
        store.GetBreakdownsAsync(query, cancellationToken);
}
