using System.Buffers;
using System.IO.Compression;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ErrorHub;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Http;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks;

/// <summary>
/// One realistic event (20 frames in two exceptions, 12 headers, a user, tags): the SDK's MessagePack
/// encoding and ingest's decoding, each against System.Text.Json doing the same job in the same run.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private static readonly EventGrouping Grouping = new("0123456789abcdef0123456789abcdef", 2, "title", null, "culprit", [], "fedcba9876543210fedcba9876543210");
    private readonly EventBatchDecoder _decoder = new(new IngestLimits());
    private ErrorHubEvent[] _batch = null!;
    private byte[] _messagePack = null!;
    private string _json = null!;
    private byte[] _messagePackBatch = null!;
    private string[] _jsonBatch = null!;
    private byte[] _gzippedBatch = null!;
    private readonly IngestLimits _limits = new();

    /// <summary>Events in the batch benchmarks: what the SDK sends at most in one request by default.</summary>
    public const int BatchSize = 100;

    [GlobalSetup]
    public void Setup()
    {
        _batch = [RealisticEvent.Create()];
        _buffer.ResetWrittenCount();
        EventWireWriter.WriteBatch(_buffer, _batch);
        _messagePack = _buffer.WrittenSpan.ToArray();
        _json = EventPayloadJson.Serialize((ErrorEvent)DecodeMessagePack());
        Console.WriteLine($"// event size: MessagePack {_messagePack.Length} bytes, JSON {System.Text.Encoding.UTF8.GetByteCount(_json)} bytes");

        var events = Enumerable.Range(0, BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        _buffer.ResetWrittenCount();
        EventWireWriter.WriteBatch(_buffer, events);
        _messagePackBatch = _buffer.WrittenSpan.ToArray();
        _gzippedBatch = Gzip(_messagePackBatch);
        _jsonBatch = [.. _decoder.Decode(_messagePackBatch).Events.Select(e => EventPayloadJson.Serialize((ErrorEvent)EventNormalizer.Normalize(e, Grouping, new BatchContext(1, DateTimeOffset.UtcNow, null))))];
    }

    [Benchmark(Baseline = true, Description = "encode, System.Text.Json")]
    [BenchmarkCategory("encode")]
    public int EncodeJson()
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        JsonSerializer.Serialize(writer, _batch[0], RealisticEvent.JsonContext.Default.ErrorHubEvent);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "encode, ErrorHub MessagePack")]
    [BenchmarkCategory("encode")]
    public int EncodeMessagePack()
    {
        _buffer.ResetWrittenCount();
        EventWireWriter.WriteBatch(_buffer, _batch);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "decode, System.Text.Json")]
    [BenchmarkCategory("decode")]
    public object DecodeJson() => EventPayloadJson.Deserialize(_json);

    [Benchmark(Description = "decode + validate, ErrorHub MessagePack")]
    [BenchmarkCategory("decode")]
    public object DecodeMessagePack()
    {
        // Decoding and normalizing: what ingest does to an event before grouping it, so that both sides produce the stored event.
        var batch = _decoder.Decode(_messagePack);
        return EventNormalizer.Normalize(batch.Events[0], Grouping, new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk));
    }

    [Benchmark(Description = "decode a batch of 100, per event, System.Text.Json", OperationsPerInvoke = BatchSize)]
    [BenchmarkCategory("decode batch")]
    public int DecodeJsonBatch()
    {
        var count = 0;
        foreach (var json in _jsonBatch)
        {
            count += EventPayloadJson.Deserialize(json) is null ? 0 : 1;
        }

        return count;
    }

    [Benchmark(Description = "decode + validate a batch of 100, per event, ErrorHub MessagePack", OperationsPerInvoke = BatchSize)]
    [BenchmarkCategory("decode batch")]
    public int DecodeMessagePackBatch() => DecodeAndNormalize(_decoder, _messagePackBatch);

    [Benchmark(Description = "decode a batch of 100 into incoming events (no normalizing), per event, ErrorHub MessagePack", OperationsPerInvoke = BatchSize)]
    [BenchmarkCategory("decode batch")]
    public int DecodeOnlyMessagePackBatch() => _decoder.Decode(_messagePackBatch).Events.Count;

    [Benchmark(Description = "gunzip + decode + validate a batch of 100, per event, ErrorHub MessagePack", OperationsPerInvoke = BatchSize)]
    [BenchmarkCategory("decode batch")]
    public int GunzipDecodeMessagePackBatch() => GunzipDecodeAndNormalize(_decoder, _gzippedBatch, _limits);

    /// <summary>The batch gzip'd as the SDK's sender does it (fastest level).</summary>
    internal static byte[] Gzip(byte[] body)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(body);
        }

        return compressed.ToArray();
    }

    /// <summary>The endpoint's steps for a gzip'd body (read into a pooled buffer, inflated into another), then <see cref="DecodeAndNormalize"/>.</summary>
    internal static int GunzipDecodeAndNormalize(EventBatchDecoder decoder, byte[] gzipped, IngestLimits limits)
    {
        using var raw = RequestBody.ReadAsync(new MemoryStream(gzipped, writable: false), gzipped.Length, limits.MaxBodyBytes, "the body", CancellationToken.None).GetAwaiter().GetResult();
        using var body = raw.GunzipAsync(limits.MaxDecompressedBytes, CancellationToken.None).GetAwaiter().GetResult();
        return DecodeAndNormalize(decoder, body.Memory);
    }

    /// <summary>What ingest does to a batch before grouping: decode it and make each event a stored one (here with a fixed grouping).</summary>
    internal static int DecodeAndNormalize(EventBatchDecoder decoder, ReadOnlyMemory<byte> body)
    {
        var batch = decoder.Decode(body);
        var context = new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk);
        var count = 0;
        foreach (var incoming in batch.Events)
        {
            count += EventNormalizer.Normalize(incoming, Grouping, context) is null ? 0 : 1;
        }

        return count;
    }
}
