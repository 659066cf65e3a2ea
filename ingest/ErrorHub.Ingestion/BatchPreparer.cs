using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Options;

namespace ErrorHub.Ingestion;

/// <summary>
/// Decode, scrub, group and normalize: a batch's bytes to the events to store. Deterministic for the same bytes,
/// project, received-at time and batch id, so the journal's replay gives the events the request was answered for.
/// </summary>
internal sealed class BatchPreparer(IOptions<IngestLimits> limits, IOptions<ScrubbingOptions> scrubbing)
{
    private readonly EventBatchDecoder _decoder = new(limits.Value);
    private readonly EventScrubber _scrubber = new(scrubbing.Value);

    /// <summary>
    /// Validates the batch only: what it takes to know it is valid and how many events it carries, without making its events
    /// (<see cref="EventBatchDecoder.Validate"/> refuses exactly what decoding refuses). The rest of <see cref="Prepare"/>
    /// (scrubbing, grouping, normalizing) never refuses a decoded event, so a batch that validates is one that prepares; the
    /// journal's flusher prepares it, once. Throws <see cref="BatchFormatException"/> like <see cref="Prepare"/>.
    /// </summary>
    public int Validate(ReadOnlyMemory<byte> body, out IReadOnlyDictionary<string, long>? sdkDrops)
    {
        var validated = _decoder.Validate(body);
        sdkDrops = validated.Dropped;
        return validated.EventCount;
    }

    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body, DateTimeOffset receivedAt, out IReadOnlyDictionary<string, long>? sdkDrops) =>
        Prepare(projectId, body, receivedAt, new GroupingCache(), out sdkDrops);

    /// <summary>
    /// <see cref="Prepare(int, ReadOnlyMemory{byte}, DateTimeOffset, out IReadOnlyDictionary{string, long}?)"/> with the
    /// groupings of earlier batches at hand: the journal's flusher prepares an insert's batches with one cache, so a failure
    /// that came in every batch is grouped once an insert, not once a batch. The events are the same either way.
    /// With a <paramref name="batchId"/> (the journal's), an event sent without an id gets one derived from it and its place
    /// in the batch, so preparing the batch again gives it the same id; without one, a random id.
    /// </summary>
    public IReadOnlyList<ErrorEvent> Prepare(int projectId, ReadOnlyMemory<byte> body, DateTimeOffset receivedAt, GroupingCache grouping, out IReadOnlyDictionary<string, long>? sdkDrops, Guid batchId = default)
    {
        var batch = _decoder.Decode(body, grouping.Chains);
        sdkDrops = batch.Dropped;
        var context = new BatchContext(projectId, receivedAt, batch.Sdk, batchId);
        var events = new List<ErrorEvent>(batch.Events.Count);
        for (var index = 0; index < batch.Events.Count; index++)
        {
            var incoming = _scrubber.Scrub(batch.Events[index]);
            events.Add(EventNormalizer.Normalize(incoming, grouping.Group(incoming), context, index));
        }

        return events;
    }
}
