using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Http;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks;

/// <summary>
/// What bounding a body's read by the request's time costs a batch: ingest's steps for a gzip'd batch of 100 realistic
/// events (read, inflate, decode, validate) with the comparison against the request's start it makes now, against the
/// cancellation source with a timeout per request it made before (created and disposed around the same steps), and each
/// guard alone. Run: <c>dotnet run -c Release -- --filter '*ReadDeadlineBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ReadDeadlineBenchmarks
{
    private static readonly TimeSpan MaxRequestTime = new IngestLimits().MaxRequestTime;
    private readonly IngestLimits _limits = new();
    private readonly EventBatchDecoder _decoder = new(new IngestLimits());
    private byte[] _gzippedBatch = null!;

    [GlobalSetup]
    public void Setup()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        EventWireWriter.WriteBatch(buffer, Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray());
        _gzippedBatch = CodecBenchmarks.Gzip(buffer.WrittenSpan.ToArray());
    }

    [Benchmark(Baseline = true, Description = "batch of 100: read + gunzip + decode + validate, a timer per request (before)")]
    [BenchmarkCategory("batch")]
    public int BatchWithTimer()
    {
        using var timeUp = new CancellationTokenSource(MaxRequestTime, TimeProvider.System);
        return ReadAndDecode(default) + (timeUp.IsCancellationRequested ? 1 : 0);
    }

    [Benchmark(Description = "batch of 100: read + gunzip + decode + validate, compared with the request's start (after)")]
    [BenchmarkCategory("batch")]
    public int BatchWithDeadline() => ReadAndDecode(new ReadDeadline(TimeProvider.System, TimeProvider.System.GetTimestamp(), MaxRequestTime));

    [Benchmark(Baseline = true, Description = "guard alone: a cancellation source with a timeout, created, checked, disposed (before)")]
    [BenchmarkCategory("guard")]
    public bool TimerAlone()
    {
        using var timeUp = new CancellationTokenSource(MaxRequestTime, TimeProvider.System);
        return timeUp.IsCancellationRequested;
    }

    [Benchmark(Description = "guard alone: the request's start and one comparison (after)")]
    [BenchmarkCategory("guard")]
    public bool DeadlineAlone() => new ReadDeadline(TimeProvider.System, TimeProvider.System.GetTimestamp(), MaxRequestTime).IsPast;

    private int ReadAndDecode(ReadDeadline deadline)
    {
        using var raw = RequestBody.ReadAsync(new MemoryStream(_gzippedBatch, writable: false), _gzippedBatch.Length, _limits.MaxBodyBytes, "the body", CancellationToken.None, deadline)
            .GetAwaiter().GetResult();
        using var body = raw.GunzipAsync(_limits.MaxDecompressedBytes, CancellationToken.None).GetAwaiter().GetResult();
        return CodecBenchmarks.DecodeAndNormalize(_decoder, body.Memory);
    }
}
