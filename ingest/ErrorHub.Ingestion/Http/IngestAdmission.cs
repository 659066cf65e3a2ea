using Microsoft.Extensions.Options;

namespace ErrorHub.Ingestion.Http;

/// <summary>
/// Bounds the memory that batches take between decoding and being stored. A decoded batch costs several
/// times its decompressed size (a 200 KB gzip body of minimal frames inflates to 16 MiB and decodes to
/// about 100 MB of objects), so the budget is counted in decompressed bytes of the batches in flight.
/// A batch that does not fit is not queued: it is answered 503 with Retry-After, and the client retries.
/// A batch alone is always admitted, whatever its size, so no valid batch is refused forever.
/// </summary>
internal sealed class IngestAdmission(IOptions<IngestLimits> limits)
{
    private readonly long _budget = limits.Value.MaxBytesInFlight;
    private long _inFlight;

    /// <summary>Decompressed bytes of the batches admitted and not yet answered.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    public bool TryEnter(long bytes)
    {
        var total = Interlocked.Add(ref _inFlight, bytes);
        if (total > _budget && total != bytes)
        {
            Interlocked.Add(ref _inFlight, -bytes);
            return false;
        }

        return true;
    }

    public void Exit(long bytes) => Interlocked.Add(ref _inFlight, -bytes);
}
