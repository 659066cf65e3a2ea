using System.Buffers.Binary;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Normalizing;

/// <summary>
/// Where and when a batch arrived: what the server knows about its events beyond their bytes. <paramref name="BatchId"/>,
/// when not empty, is the id the journal gave the batch: the ids of its events sent without one are derived from it.
/// </summary>
internal sealed record BatchContext(int ProjectId, DateTimeOffset ReceivedAt, NameVersion? BatchSdk, Guid BatchId = default);

/// <summary>
/// The pipeline's step after decoding and grouping: the server's decisions about what a client sent
/// (an id for events without one, a time that is neither in the future nor long past, one of five levels, the batch's SDK
/// for events that did not name their own), assembled with the grouping into the complete event that
/// is stored. Everything here is documented in docs/protocol.md.
/// </summary>
internal static class EventNormalizer
{
    /// <summary>How far ahead of the server's clock an event may claim to be before its time is not believed.</summary>
    internal static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long before its arrival an event may claim to have happened before its time is not believed (a device whose clock
    /// was reset to 1970, a corrupt or hostile client). Retention deletes events by their time, so such an event would be
    /// gone soon after its 202; and on ClickHouse every week the events of one insert name is a partition of its own: one
    /// batch of 1,000 events a week apart made 5,000 parts (about 200,000 files). A spool of a few days keeps its times.
    /// </summary>
    internal static readonly TimeSpan MaxAge = TimeSpan.FromDays(30);

    /// <summary>The five levels, and the names other logging libraries use for them (.NET, Serilog, log4net, syslog).</summary>
    private static readonly Dictionary<string, string> Levels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fatal"] = "fatal",
        ["critical"] = "fatal",
        ["error"] = "error",
        ["warning"] = "warning",
        ["warn"] = "warning",
        ["info"] = "info",
        ["information"] = "info",
        ["debug"] = "debug",
        ["trace"] = "debug",
        ["verbose"] = "debug",
    };

    public static ErrorEvent Normalize(IncomingEvent incoming, EventGrouping grouping, BatchContext batch, int index = 0) => new()
    {
        // The nil UUID is no id: every event that sent it would count as one.
        EventId = incoming.EventId is { } id && id != Guid.Empty ? id : IdFor(batch.BatchId, index),
        ProjectId = batch.ProjectId,
        Timestamp = Time(incoming.Timestamp, batch.ReceivedAt),
        ReceivedAt = batch.ReceivedAt,
        Fingerprint = grouping.Fingerprint,
        GroupingVersion = grouping.Version,
        LegacyFingerprint = grouping.LegacyFingerprint == grouping.Fingerprint ? null : grouping.LegacyFingerprint,
        EarlierLegacyFingerprints = grouping.EarlierLegacyFingerprints,
        GroupingComponents = grouping.Components,
        Title = grouping.Title,
        TitleWrapper = grouping.TitleWrapper,
        Culprit = grouping.Culprit,
        Level = Level(incoming.Level),
        Message = incoming.Message,
        Logger = incoming.Logger,
        Platform = incoming.Platform,
        Release = incoming.Release,
        Environment = incoming.Environment,
        ServerName = incoming.ServerName,
        Exceptions = incoming.Exceptions,
        Request = incoming.Request,
        User = incoming.User,
        Tags = incoming.Tags,
        Runtime = incoming.Runtime,
        Os = incoming.Os,
        Sdk = incoming.Sdk ?? batch.BatchSdk,
        Extra = incoming.Extra,
        Breadcrumbs = incoming.Breadcrumbs?.Select(b => b with { Level = Level(b.Level) }).ToList(),
    };

    /// <summary>
    /// The id of an event sent without one. Within a journaled batch it is the batch's id with the event's place in the batch
    /// mixed in: preparing the batch again after a crash (the journal's replay) gives the same id, so an event already
    /// stored is counted once. The batch id is random, so ids of different batches do not meet.
    /// </summary>
    internal static Guid IdFor(Guid batchId, int index)
    {
        if (batchId == Guid.Empty)
        {
            return Guid.NewGuid();
        }

        Span<byte> bytes = stackalloc byte[16];
        batchId.TryWriteBytes(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes, BinaryPrimitives.ReadInt32LittleEndian(bytes) ^ index);
        return new Guid(bytes);
    }

    /// <summary>Unknown or missing levels are "error": an event nobody classified is still a failure.</summary>
    internal static string Level(string? sent) =>
        sent is not null && Levels.TryGetValue(sent.Trim(), out var level) ? level : "error";

    /// <summary>A clock running ahead must not put events in the future; a late event keeps its own time, up to <see cref="MaxAge"/>.</summary>
    internal static DateTimeOffset Time(DateTimeOffset? sent, DateTimeOffset receivedAt) =>
        sent is { } time && time - receivedAt <= ClockSkewAllowance && receivedAt - time <= MaxAge ? time : receivedAt; // differences: no overflow at the ends of time
}
