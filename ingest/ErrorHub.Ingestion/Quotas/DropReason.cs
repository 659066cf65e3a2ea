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
