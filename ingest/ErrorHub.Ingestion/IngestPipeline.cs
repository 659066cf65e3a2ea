using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Journal;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Ingestion.Writing;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion;

/// <summary>
/// What happens to a batch between the HTTP endpoint and the store, as steps that each hand a complete
/// value to the next: decode (bytes → <see cref="IncomingEvent"/>s, bounded), scrub (sensitive values
/// filtered, <see cref="EventScrubber"/>), group (the issue each belongs to), normalize (the server's defaults, assembled into the stored <see cref="ErrorEvent"/>),
/// write (group commit, or the durable journal on ClickHouse when it is on; durable when it returns). The endpoint maps HTTP to this and its outcomes to
/// statuses; a host other than HTTP could drive it the same way.
/// </summary>
internal sealed class IngestPipeline(BatchPreparer preparer, StoreWriter writer, IngestJournal journal, TimeProvider timeProvider)
{
    /// <summary>Whether batches go to the journal (<see cref="Validate"/>, then <see cref="JournalAsync"/>) instead of being prepared and stored here.</summary>
    public bool JournalsBatches => journal.IsActive;

    /// <summary>False when the journal is on and past one of its bounds: a batch would be refused, so its body need not be read.</summary>
    public bool HasRoom => !journal.IsActive || journal.HasRoom;

    /// <summary>
    /// The complete events of a batch for <paramref name="projectId"/>, ready to store; throws
    /// <see cref="BatchFormatException"/> naming the field when the batch is not valid. Synchronous and
    /// done with <paramref name="body"/> when it returns, so the caller can give its buffer back before storing.
    /// </summary>
    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body) => Prepare(projectId, body, out _);

    /// <inheritdoc cref="Prepare(int, ReadOnlyMemory{byte})"/>
    /// <param name="sdkDrops">The counts of events the SDK dropped, by reason, as the batch reported them; null when it did not.</param>
    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body, out IReadOnlyDictionary<string, long>? sdkDrops) =>
        preparer.Prepare(projectId, body, timeProvider.GetUtcNow(), out sdkDrops);

    /// <inheritdoc cref="Prepare(int, ReadOnlyMemory{byte}, out IReadOnlyDictionary{string, long}?)"/>
    /// <param name="receivedAt">The server's time of receipt, which the journal keeps to prepare the same events again.</param>
    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body, DateTimeOffset receivedAt, out IReadOnlyDictionary<string, long>? sdkDrops) =>
        preparer.Prepare(projectId, body, receivedAt, out sdkDrops);

    /// <summary>
    /// With the journal on: whether the batch is valid and how many events it carries (decoding only; the journal's flusher
    /// prepares it). Throws <see cref="BatchFormatException"/> when it is not valid.
    /// </summary>
    public int Validate(ReadOnlyMemory<byte> body, out IReadOnlyDictionary<string, long>? sdkDrops) => preparer.Validate(body, out sdkDrops);

    /// <summary>Journals a validated batch as sent; completes once it is durable. Throws <see cref="StoreBusyException"/> or <see cref="StoreUnavailableException"/> when it cannot be.</summary>
    public Task JournalAsync(JournalPayload sent, int eventCount, CancellationToken cancellationToken) =>
        eventCount == 0 ? Task.CompletedTask : journal.AppendAsync(sent, eventCount, cancellationToken);

    /// <summary>Stores prepared events; completes when they are committed. Throws <see cref="StoreBusyException"/> or <see cref="StoreUnavailableException"/> when they cannot be.</summary>
    public Task StoreAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken) =>
        events.Count == 0 ? Task.CompletedTask : writer.WriteAsync(events, cancellationToken);
}
