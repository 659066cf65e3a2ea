using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>
/// Events gathered for one later insert, held in the store's own form: a caller that keeps thousands of events until their
/// insert ends (ingest's journal) drops each event once it is added, and the batch keeps only what the insert needs (on
/// ClickHouse the rows' bytes in pooled buffers, which the garbage collector neither traces nor copies). Made by
/// <see cref="IEventWriter.CreateBatch"/>; used by one caller at a time; disposed once its insert has ended.
/// </summary>
public abstract class EventBatch : IDisposable
{
    /// <summary>Events added (an event id added twice counts twice here and is stored once).</summary>
    public abstract int Count { get; }

    /// <summary>Bytes of the events in the store's encoded form, what their insert sends (0 for a store without one).</summary>
    public virtual long EncodedBytes => 0;

    /// <summary>The project and id of the <paramref name="index"/>th event added.</summary>
    public abstract (int ProjectId, Guid EventId) IdAt(int index);

    /// <summary>
    /// Takes the events; the caller may drop them once this completes. Throws only for an event that cannot be held
    /// (a bug), never because the store is unavailable: what needs the store then waits for <see cref="InsertAsync"/>.
    /// </summary>
    public abstract ValueTask AddAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores what was added, as <see cref="IEventWriter.InsertEventsAsync"/> would (an id already stored is left out); when it
    /// returns, the batch is durable. After a failure it may be called again (a retry): nothing is stored twice.
    /// </summary>
    public abstract Task InsertAsync(CancellationToken cancellationToken = default);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>A store without an encoded form (SQLite, tests' writers): the events themselves, inserted by <see cref="IEventWriter.InsertEventsAsync"/>.</summary>
internal sealed class EventObjectBatch(IEventWriter writer, int expectedEvents) : EventBatch
{
    private readonly List<ErrorEvent> _events = new(Math.Max(expectedEvents, 0));

    public override int Count => _events.Count;

    public override (int ProjectId, Guid EventId) IdAt(int index) => (_events[index].ProjectId, _events[index].EventId);

    public override ValueTask AddAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default)
    {
        _events.AddRange(events);
        return ValueTask.CompletedTask;
    }

    public override Task InsertAsync(CancellationToken cancellationToken = default) =>
        _events.Count == 0 ? Task.CompletedTask : writer.InsertEventsAsync(_events, cancellationToken);
}
