namespace ErrorHub.Ingestion;

/// <summary>
/// What ingest accepts from a client. Anything above a hard limit is refused with a clear status;
/// anything above a soft limit is truncated and kept. Set under <c>ErrorHub:Ingest</c>; documented in
/// docs/protocol.md (what each limit means) and docs/configuration.md (how to set it).
/// </summary>
public sealed class IngestLimits
{
    /// <summary>Largest request body as sent (after any gzip): larger is 413.</summary>
    public int MaxBodyBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Largest body after decompression: larger is 413 (a decompression bomb stops here).</summary>
    public int MaxDecompressedBytes { get; set; } = 16 * 1024 * 1024;

    public int MaxEventsPerBatch { get; set; } = 1000;

    /// <summary>
    /// Decompressed bytes of all batches being decoded, grouped and stored at once. A batch that would go
    /// past it is answered 503 with Retry-After (a batch alone is always admitted). Decoded events take
    /// several times their wire size, so this bounds ingest's memory under load.
    /// </summary>
    public long MaxBytesInFlight { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// How long a request waits for the store (the key check, the commit of its batch) before it is answered
    /// 503 with Retry-After: a stalled store must not hold clients until a network timeout. A batch answered
    /// 503 may still be stored later; its retry is then deduplicated by event id.
    /// </summary>
    public TimeSpan MaxStoreWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest a request takes from the moment ingest starts on it to its answer, whatever step it is in (reading the
    /// body, decompressing, decoding, waiting for the store): past it the answer is 503 with Retry-After. On a starved
    /// machine the steps before the store are slow too, and <see cref="MaxStoreWait"/> alone does not bound them.
    /// </summary>
    public TimeSpan MaxRequestTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Events per minute a project may send when it has no rate limit of its own (set per project in the
    /// dashboard); past it, batches are answered 429 with Retry-After. Null (default): no limit.
    /// </summary>
    public int? DefaultRateLimitPerMinute { get; set; }

    /// <summary>
    /// Spike protection, for every project: events per second a project is refilled with after a burst of
    /// <see cref="SpikeBurstEvents"/>; past it, 429 with Retry-After. 0 turns spike protection off.
    /// </summary>
    public int SpikeEventsPerSecond { get; set; } = 1000;

    /// <summary>Events a project may send at once above <see cref="SpikeEventsPerSecond"/> before spike protection refuses.</summary>
    public int SpikeBurstEvents { get; set; } = 20_000;

    /// <summary>Longest single string the decoder accepts at all: longer is 400.</summary>
    public int MaxRawStringBytes { get; set; } = 256 * 1024;

    /// <summary>Deepest nesting of an unknown value the decoder skips: deeper is 400.</summary>
    public int MaxDepth { get; set; } = 32;

    /// <summary>Most entries one array or map may declare: more is 400 (and never more than the bytes left in the body).</summary>
    public int MaxCollectionEntries { get; set; } = 100_000;

    // Soft limits: longer values are cut to these many characters.
    public int MaxMessageChars { get; set; } = 8192;
    public int MaxShortChars { get; set; } = 256;
    public int MaxUrlChars { get; set; } = 2048;
    public int MaxFileChars { get; set; } = 1024;
    public int MaxHeaderValueChars { get; set; } = 2048;

    // Soft limits on counts: entries past these are dropped.
    public int MaxExceptions { get; set; } = 32;
    public int MaxFramesPerException { get; set; } = 250;
    public int MaxHeaders { get; set; } = 100;
    public int MaxTags { get; set; } = 50;
    public int MaxFingerprintParts { get; set; } = 16;

    /// <summary>The durable ingest journal for the ClickHouse stores (<c>ErrorHub:Ingest:Journal</c>); off by default.</summary>
    public IngestJournalOptions Journal { get; set; } = new();

    /// <summary>What is wrong with these limits, one message per setting, each naming its key under <paramref name="section"/>.</summary>
    public IReadOnlyList<string> Validate(string section = "ErrorHub:Ingest")
    {
        var problems = new List<string>();
        void Check(bool ok, string key, string rule, object value)
        {
            if (!ok)
            {
                problems.Add(FormattableString.Invariant($"{section}:{key} must be {rule}, not {value}."));
            }
        }

        const int MiB = 1024 * 1024;
        Check(MaxBodyBytes is >= 1024 and <= 256 * MiB, nameof(MaxBodyBytes), "between 1024 and 268435456 bytes", MaxBodyBytes);
        Check(MaxDecompressedBytes is >= 1024 and <= 1024 * MiB, nameof(MaxDecompressedBytes), "between 1024 and 1073741824 bytes", MaxDecompressedBytes);
        Check(MaxEventsPerBatch is >= 1 and <= 100_000, nameof(MaxEventsPerBatch), "between 1 and 100000", MaxEventsPerBatch);
        Check(MaxBytesInFlight >= 1, nameof(MaxBytesInFlight), "positive", MaxBytesInFlight);
        Check(MaxStoreWait >= TimeSpan.FromMilliseconds(100) && MaxStoreWait <= TimeSpan.FromMinutes(10), nameof(MaxStoreWait), "between 00:00:00.1 and 00:10:00", MaxStoreWait);
        Check(MaxRequestTime >= TimeSpan.FromMilliseconds(100) && MaxRequestTime <= TimeSpan.FromMinutes(10), nameof(MaxRequestTime), "between 00:00:00.1 and 00:10:00", MaxRequestTime);
        Check(DefaultRateLimitPerMinute is null or (>= 1 and <= 10_000_000), nameof(DefaultRateLimitPerMinute), "empty (no limit) or between 1 and 10000000 events per minute", DefaultRateLimitPerMinute?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "");
        Check(SpikeEventsPerSecond is >= 0 and <= 10_000_000, nameof(SpikeEventsPerSecond), "between 0 (off) and 10000000 events per second", SpikeEventsPerSecond);
        Check(SpikeBurstEvents >= 1 && SpikeBurstEvents <= 100_000_000, nameof(SpikeBurstEvents), "between 1 and 100000000 events", SpikeBurstEvents);
        Check(MaxRawStringBytes >= 64 && MaxRawStringBytes <= MaxDecompressedBytes, nameof(MaxRawStringBytes), "at least 64 and at most MaxDecompressedBytes", MaxRawStringBytes);

        // A batch's fields sit seven levels deep (batch, events, event, exceptions, exception, frames, frame).
        Check(MaxDepth is >= 8 and <= 256, nameof(MaxDepth), "between 8 and 256", MaxDepth);
        Check(MaxCollectionEntries >= MaxEventsPerBatch, nameof(MaxCollectionEntries), "at least MaxEventsPerBatch", MaxCollectionEntries);
        Check(MaxMessageChars >= 16, nameof(MaxMessageChars), "at least 16", MaxMessageChars);
        Check(MaxShortChars >= 16, nameof(MaxShortChars), "at least 16", MaxShortChars);
        Check(MaxUrlChars >= 16, nameof(MaxUrlChars), "at least 16", MaxUrlChars);
        Check(MaxFileChars >= 16, nameof(MaxFileChars), "at least 16", MaxFileChars);
        Check(MaxHeaderValueChars >= 16, nameof(MaxHeaderValueChars), "at least 16", MaxHeaderValueChars);
        Check(MaxExceptions >= 1, nameof(MaxExceptions), "at least 1", MaxExceptions);
        Check(MaxFramesPerException >= 1, nameof(MaxFramesPerException), "at least 1", MaxFramesPerException);
        Check(MaxHeaders >= 0, nameof(MaxHeaders), "0 or more", MaxHeaders);
        Check(MaxTags >= 0, nameof(MaxTags), "0 or more", MaxTags);
        Check(MaxFingerprintParts >= 1, nameof(MaxFingerprintParts), "at least 1", MaxFingerprintParts);
        problems.AddRange(Journal.Validate(section + ":Journal"));
        return problems;
    }
}
