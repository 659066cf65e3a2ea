using ErrorHub.Storage.Events;

namespace ErrorHub.Storage;

/// <summary>What ingest needs from the store: append events. Ingest never reads before it writes.</summary>
public interface IEventWriter
{
    /// <summary>Stores a batch in one write; when it returns, the batch is durable. An event id stored twice counts once in queries.</summary>
    Task InsertEventsAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken = default);
}
