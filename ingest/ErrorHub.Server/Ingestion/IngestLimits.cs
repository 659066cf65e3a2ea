namespace ErrorHub.Server.Ingestion;

/// <summary>
/// What ingest accepts from a client. Anything above a hard limit is refused with a clear status;
/// anything above a soft limit is truncated and kept. Documented in docs/protocol.md.
/// </summary>
public sealed record IngestLimits
{
    /// <summary>Largest request body as sent (after any gzip): larger is 413.</summary>
    public int MaxBodyBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>Largest body after decompression: larger is 413 (a decompression bomb stops here).</summary>
    public int MaxDecompressedBytes { get; init; } = 16 * 1024 * 1024;

    public int MaxEventsPerBatch { get; init; } = 1000;

    /// <summary>
    /// Decompressed bytes of all batches being decoded, grouped and stored at once. A batch that would go
    /// past it is answered 503 with Retry-After (a batch alone is always admitted). Decoded events take
    /// several times their wire size, so this bounds ingest's memory under load.
    /// </summary>
    public long MaxBytesInFlight { get; init; } = 64L * 1024 * 1024;

    /// <summary>Longest single string the decoder accepts at all: longer is 400.</summary>
    public int MaxRawStringBytes { get; init; } = 256 * 1024;

    /// <summary>Deepest nesting of an unknown value the decoder skips: deeper is 400.</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>Most entries one array or map may declare: more is 400 (and never more than the bytes left in the body).</summary>
    public int MaxCollectionEntries { get; init; } = 100_000;

    // Soft limits: longer values are cut to these many characters.
    public int MaxMessageChars { get; init; } = 8192;
    public int MaxShortChars { get; init; } = 256;
    public int MaxUrlChars { get; init; } = 2048;
    public int MaxFileChars { get; init; } = 1024;
    public int MaxHeaderValueChars { get; init; } = 2048;

    // Soft limits on counts: entries past these are dropped.
    public int MaxExceptions { get; init; } = 32;
    public int MaxFramesPerException { get; init; } = 250;
    public int MaxHeaders { get; init; } = 100;
    public int MaxTags { get; init; } = 50;
    public int MaxFingerprintParts { get; init; } = 16;
}
