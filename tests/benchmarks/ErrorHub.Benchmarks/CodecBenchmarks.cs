using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ErrorHub;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
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

    [GlobalSetup]
    public void Setup()
    {
        _batch = [RealisticEvent.Create()];
        _buffer.ResetWrittenCount();
        EventWireWriter.WriteBatch(_buffer, _batch);
        _messagePack = _buffer.WrittenSpan.ToArray();
        _json = EventPayloadJson.Serialize((ErrorEvent)DecodeMessagePack());
        Console.WriteLine($"// event size: MessagePack {_messagePack.Length} bytes, JSON {System.Text.Encoding.UTF8.GetByteCount(_json)} bytes");
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
}
