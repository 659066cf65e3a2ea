using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Ingestion.Writing;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Options;

namespace ErrorHub.Ingestion;

/// <summary>
/// What happens to a batch between the HTTP endpoint and the store, as steps that each hand a complete
/// value to the next: decode (bytes → <see cref="IncomingEvent"/>s, bounded), scrub (sensitive values
/// filtered, <see cref="EventScrubber"/>), group (the issue each belongs to), normalize (the server's defaults, assembled into the stored <see cref="ErrorEvent"/>),
/// write (group commit; durable when it returns). The endpoint maps HTTP to this and its outcomes to
/// statuses; a host other than HTTP could drive it the same way.
/// </summary>
internal sealed class IngestPipeline(IOptions<IngestLimits> limits, IOptions<ScrubbingOptions> scrubbing, StoreWriter writer, TimeProvider timeProvider)
{
    private readonly EventBatchDecoder _decoder = new(limits.Value);
    private readonly EventScrubber _scrubber = new(scrubbing.Value);

    /// <summary>
    /// The complete events of a batch for <paramref name="projectId"/>, ready to store; throws
    /// <see cref="BatchFormatException"/> naming the field when the batch is not valid. Synchronous and
    /// done with <paramref name="body"/> when it returns, so the caller can give its buffer back before storing.
    /// </summary>
    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body) => Prepare(projectId, body, out _);

    /// <inheritdoc cref="Prepare(int, ReadOnlyMemory{byte})"/>
    /// <param name="sdkDrops">The counts of events the SDK dropped, by reason, as the batch reported them; null when it did not.</param>
    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body, out IReadOnlyDictionary<string, long>? sdkDrops)
    {
        var batch = _decoder.Decode(body);
        sdkDrops = batch.Dropped;
        var context = new BatchContext(projectId, timeProvider.GetUtcNow(), batch.Sdk);
        var events = new List<ErrorEvent>(batch.Events.Count);
        foreach (var sent in batch.Events)
        {
            var incoming = _scrubber.Scrub(sent);
            events.Add(EventNormalizer.Normalize(incoming, Grouper.Group(incoming), context));
        }

        return events;
    }

    /// <summary>Stores prepared events; completes when they are committed. Throws <see cref="StoreBusyException"/> or <see cref="StoreUnavailableException"/> when they cannot be.</summary>
    public Task StoreAsync(IReadOnlyList<ErrorEvent> events, CancellationToken cancellationToken) =>
        events.Count == 0 ? Task.CompletedTask : writer.WriteAsync(events, cancellationToken);
}
