namespace ErrorHub.Dashboard.Triage;

/// <summary>A merge or an unmerge: the issue merged into, and the issues that moved into it or out of it.</summary>
internal sealed record IssueMergeChange(int ProjectId, string Target, IReadOnlyCollection<string> Sources)
{
    public bool Concerns(int projectId, string fingerprint) =>
        projectId == ProjectId && (Target == fingerprint || Sources.Contains(fingerprint, StringComparer.Ordinal));
}

/// <summary>
/// Tells the open pages of this dashboard process at once that issues were merged or unmerged (by anyone, in the UI or
/// through the API), so an issue page or list shows the issues and counts as they are now instead of until a reload.
/// Merges are made only by the dashboard, so every one passes here. Subscribers must not block: they hand the work to
/// their own circuit.
/// </summary>
internal sealed class IssueMergeFeed
{
    private readonly Lock _gate = new();
    private Action<IssueMergeChange>[] _subscribers = [];

    public IDisposable Subscribe(Action<IssueMergeChange> onChange)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, onChange];
        }

        return new Subscription(this, onChange);
    }

    public void Publish(IssueMergeChange change)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            try
            {
                subscriber(change);
            }
            catch (Exception)
            {
                // One page that fails to take the news must not keep it from the others, nor fail the merge that was made.
            }
        }
    }

    private void Unsubscribe(Action<IssueMergeChange> onChange)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(subscriber => subscriber != onChange)];
        }
    }

    private sealed class Subscription(IssueMergeFeed feed, Action<IssueMergeChange> onChange) : IDisposable
    {
        public void Dispose() => feed.Unsubscribe(onChange);
    }
}
