using System.Collections.Concurrent;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// A store writer behind a gate, for tests of the group commit (StoreWriter): look-ups pass (and are recorded by event id); each insert, numbered from 1
/// as it starts, waits for the test, and may be made to fail before or after the store took its rows.
/// </summary>
internal sealed class GatedStore(IEventWriter store) : IEventWriter
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _started = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _released = new();
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _prepared = new();
    private readonly ConcurrentDictionary<int, bool> _failures = new();
    private readonly ConcurrentQueue<int> _inserted = new();
    private int _count;

    /// <summary>Events each insert wrote (after the look-ups).</summary>
    public IReadOnlyList<int> Inserted => [.. _inserted];

    public Task InsertStartedAsync(int insert) => Signal(_started, insert).Task;

    public Task PreparedAsync(Guid eventId) => _prepared.GetOrAdd(eventId, _ => NewSignal()).Task;

    public void Release(int insert) => Signal(_released, insert).TrySetResult();

    public void Fail(int insert, bool afterStoring) => _failures[insert] = afterStoring;

    public void ReleaseAll()
    {
        for (var i = 1; i <= Volatile.Read(ref _count) + 1; i++)
        {
            Release(i);
        }
    }

    public Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("the group commit looks up and writes apart");

    public async Task<IReadOnlyList<ErrorEvent>> PrepareInsertAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        var prepared = await store.PrepareInsertAsync(events, cancellationToken);
        foreach (var e in events)
        {
            _prepared.GetOrAdd(e.EventId, _ => NewSignal()).TrySetResult();
        }

        return prepared;
    }

    public async Task InsertPreparedAsync(IReadOnlyList<ErrorEvent> prepared, CancellationToken cancellationToken = default)
    {
        var number = Interlocked.Increment(ref _count);
        _inserted.Enqueue(prepared.Count);
        Signal(_started, number).TrySetResult();
        await Signal(_released, number).Task;
        if (_failures.TryGetValue(number, out var afterStoring) && !afterStoring)
        {
            throw new InvalidOperationException("the store refused the insert");
        }

        await store.InsertPreparedAsync(prepared, cancellationToken);
        if (_failures.ContainsKey(number))
        {
            throw new TimeoutException("the answer was lost after the store took the rows");
        }
    }

    private static TaskCompletionSource Signal(ConcurrentDictionary<int, TaskCompletionSource> signals, int insert) =>
        signals.GetOrAdd(insert, _ => NewSignal());

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
