namespace ErrorHub.Ingestion.Quotas;

/// <summary>Why ingest refused a project's batch: the reasons counted per project in the store and on /metrics.</summary>
internal enum DropReason
{
    /// <summary>The project's rate limit (its own, or the server's default) is spent: 429.</summary>
    RateLimit,

    /// <summary>The project sent more than spike protection lets through: 429.</summary>
    SpikeProtection,

    /// <summary>The batch was not valid: 400.</summary>
    Invalid,

    /// <summary>The batch was larger than the limits: 413.</summary>
    TooLarge,
}

internal static class DropReasons
{
    public static string Name(DropReason reason) => reason switch
    {
        DropReason.RateLimit => "rate_limit",
        DropReason.SpikeProtection => "spike_protection",
        DropReason.Invalid => "invalid",
        DropReason.TooLarge => "too_large",
        _ => "other",
    };
}

/// <summary>
/// Reasons an SDK reports for events it dropped before sending (docs/protocol.md, <c>dropped</c>). Stored beside the
/// server's own reasons with the prefix <c>sdk:</c>, so the two never mix.
/// </summary>
internal static class SdkDropReasons
{
    public const string Prefix = "sdk:";
    public const int MaxReasonsPerBatch = 32;

    /// <summary>A count above this in one batch is taken as this: no SDK drops more between two batches it sends.</summary>
    public const long MaxEventsPerReason = 100_000_000;

    private static readonly HashSet<string> KnownReasons = new(StringComparer.Ordinal)
    {
        "queue_full", "too_large", "rejected", "unauthorized", "shutdown", "spool_full", "before_send", "send_failed",
        "sample_rate", "rate_limit",
    };

    /// <summary>The reason as reported, when the server knows it; otherwise "other".</summary>
    public static string Known(string reason) => KnownReasons.Contains(reason) ? reason : "other";

    public static string Stored(string knownReason) => Prefix + knownReason;
}
