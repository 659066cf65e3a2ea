namespace ErrorHub.Storage;

/// <summary>
/// Whether the store's schema exists yet, and the start-up work that waits for it. When the store cannot make its tables
/// at start (ClickHouse not up yet, ZooKeeper down on a cluster whose tables do not exist), the process starts anyway and
/// <see cref="StoreSchemaInitializer"/> keeps trying in the background; what needs the tables (saving the configured
/// project, the first admin) is deferred here and runs once they exist, and only then is the store ready: until then
/// ingest answers 503 (its key checks would find no project and be cached as refusals), <c>/readyz</c> says why, and
/// the journal keeps what it holds.
/// </summary>
internal sealed class StoreSchemaState
{
    private readonly Lock _lock = new();
    private readonly List<DeferredStep> _deferred = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _created;
    private volatile string _notReadyReason = "its tables are being created";

    /// <summary>The schema exists and the deferred start-up work is done.</summary>
    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Completes when <see cref="IsReady"/> turns true (it never turns false again).</summary>
    public Task Ready => _ready.Task;

    /// <summary>Why the store is not ready yet, for <c>/readyz</c> and the pages; null once ready.</summary>
    public string? NotReadyReason => IsReady ? null : _notReadyReason;

    /// <summary>
    /// Runs <paramref name="step"/> once the schema exists, before the store counts as ready, and returns true; returns false
    /// when the schema already exists, and the caller does the work itself. A failed step is tried again with back-off.
    /// </summary>
    public bool DeferUntilCreated(string what, Func<CancellationToken, Task> step)
    {
        lock (_lock)
        {
            if (_created)
            {
                return false;
            }

            _deferred.Add(new DeferredStep(what, step));
            return true;
        }
    }

    internal void NotReadyBecause(string reason) => _notReadyReason = reason;

    /// <summary>
    /// Why the process gave up creating the schema and stops (a store migrated by a newer build, a cluster node without
    /// ZooKeeper, a store still unreachable after <c>ErrorHub:Store:SchemaWaitLimit</c>); null while it has not.
    /// The host's run reports it and exits with code 1.
    /// </summary>
    public Exception? StartFailure { get; private set; }

    internal void GaveUp(Exception reason)
    {
        StartFailure = reason;
        _notReadyReason = $"the process gave up creating its tables and stops: {reason.Message}";
    }

    /// <summary>The schema exists: from now on nothing is deferred. Returns what was, in the order it was deferred.</summary>
    internal IReadOnlyList<DeferredStep> Created()
    {
        lock (_lock)
        {
            _created = true;
            var steps = _deferred.ToList();
            _deferred.Clear();
            return steps;
        }
    }

    internal void MarkReady() => _ready.TrySetResult();

    internal sealed record DeferredStep(string What, Func<CancellationToken, Task> Run);
}
