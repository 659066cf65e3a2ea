using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>What ingest needs from the store: append events. Ingest never reads before it writes.</summary>
public interface IEventWriter
{
    /// <summary>Stores a batch in one write; when it returns, the batch is durable. An event id stored twice counts once in queries.</summary>
    Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// The first half of <see cref="InsertEventsAsync"/>, for a caller that runs it while an earlier write is at the store:
    /// what the store must look up before it writes (which events it has already, the issue each is filed under). The result
    /// goes to <see cref="InsertPreparedAsync"/>, alone or joined with other prepared batches. It reflects what was stored
    /// when it was asked: an event that a write still under way carries is not seen, so the caller keeps such events out.
    /// A store without look-ups returns the events as they are.
    /// </summary>
    Task<IReadOnlyList<ErrorEvent>> PrepareInsertAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default) =>
        Task.FromResult(events);

    /// <summary>The second half of <see cref="InsertEventsAsync"/>: writes what <see cref="PrepareInsertAsync"/> returned (an event id twice in it is written once).</summary>
    Task InsertPreparedAsync(IReadOnlyList<ErrorEvent> prepared, CancellationToken cancellationToken = default) =>
        InsertEventsAsync(prepared, cancellationToken);

    /// <summary>
    /// An empty batch for one later insert of about <paramref name="expectedEvents"/> events, for a caller that would otherwise
    /// keep the events themselves until the insert ends (<see cref="EventBatch"/>). A store without an encoded form keeps the events.
    /// </summary>
    EventBatch CreateBatch(int expectedEvents) => new EventObjectBatch(this, expectedEvents);
}
