using ErrorHub.Storage.Events;

namespace ErrorHub.Ingestion.Decoding;

/// <summary>
/// An event as the client sent it: every value type-checked and bounded (docs/protocol.md, limits),
/// nothing decided yet. Absent fields are null; <see cref="Normalizing.EventNormalizer"/> applies the
/// server's defaults and the grouping, and turns it into the stored <see cref="ErrorEvent"/>.
/// </summary>
internal sealed record IncomingEvent
{
    private static readonly IReadOnlyDictionary<string, string> NoTags = new Dictionary<string, string>();

    public Guid? EventId { get; init; }

    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>The level's name as sent (any case, any logging library's synonym).</summary>
    public string? Level { get; init; }

    public string? Message { get; init; }
    public string? Logger { get; init; }
    public string? Platform { get; init; }
    public string? Release { get; init; }
    public string? Environment { get; init; }
    public string? ServerName { get; init; }

    /// <summary>The exception chain, outermost first (inner exceptions follow their parent).</summary>
    public IReadOnlyList<ExceptionRecord> Exceptions { get; init; } = [];
    public RequestRecord? Request { get; init; }
    public UserRecord? User { get; init; }
    public IReadOnlyDictionary<string, string> Tags { get; init; } = NoTags;
    public NameVersion? Runtime { get; init; }
    public NameVersion? Os { get; init; }

    /// <summary>The event's own SDK; the batch's applies when absent.</summary>
    public NameVersion? Sdk { get; init; }

    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    /// <summary>Breadcrumbs as sent, their level names not yet normalized.</summary>
    public IReadOnlyList<BreadcrumbRecord>? Breadcrumbs { get; init; }

    /// <summary>The fingerprint the SDK set, if any: it overrides grouping (docs/grouping.md).</summary>
    public IReadOnlyList<string>? Fingerprint { get; init; }
}

/// <summary>A decoded batch: the protocol version, the batch's SDK, its events in order.</summary>
internal sealed record IncomingBatch(int Version, NameVersion? Sdk, IReadOnlyList<IncomingEvent> Events)
{
    /// <summary>The SDK's counts of events it dropped, by known reason name (docs/protocol.md, <c>dropped</c>); null when absent.</summary>
    public IReadOnlyDictionary<string, long>? Dropped { get; init; }
}

/// <summary>
/// What validating a batch tells (<see cref="EventBatchDecoder.Validate"/>): it is valid, how many events it holds, and the SDK's
/// drop report, read as <see cref="IncomingBatch.Dropped"/> is.
/// </summary>
internal readonly record struct ValidatedBatch(int EventCount, IReadOnlyDictionary<string, long>? Dropped);
