using BenchmarkDotNet.Attributes;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ZstdSharp;

namespace ErrorHub.Benchmarks.ClickHouse;

/// <summary>
/// What the ClickHouse payload costs ingest per event (docs/benchmarks.md, chpayload): the JSON alone (the store before),
/// the JSON compressed as the store writes it (LZ4), and zstd level 1 as the alternative; sizes are printed once.
/// Run: <c>dotnet run -c Release -- --filter '*PayloadBenchmarks*' --job short --inProcess</c>.
/// </summary>
[MemoryDiagnoser]
public class PayloadBenchmarks
{
    private readonly Compressor _zstd = new(1);
    private ErrorEvent _event = null!;
    private byte[] _stored = null!;
    private byte[] _json = null!;

    [GlobalSetup]
    public void Setup()
    {
        _event = ClickHouseInsertComparison.DecodeRealisticEvent();
        _json = EventPayloadJson.SerializeToUtf8Bytes(_event);
        _stored = ClickHousePayload.Encode(_event);
        Console.WriteLine($"// payload: JSON {_json.Length:N0} B, stored (LZ4) {_stored.Length:N0} B, zstd -1 {_zstd.Wrap(_json).Length:N0} B");
    }

    [Benchmark(Baseline = true)]
    public byte[] JsonOnly() => EventPayloadJson.SerializeToUtf8Bytes(_event);

    [Benchmark]
    public byte[] JsonLz4AsStored() => ClickHousePayload.Encode(_event);

    [Benchmark]
    public byte[] JsonZstd1() => _zstd.Wrap(EventPayloadJson.SerializeToUtf8Bytes(_event)).ToArray();

    [Benchmark]
    public ErrorEvent ReadStored() => ClickHousePayload.Decode(_stored);

    [Benchmark]
    public ErrorEvent ReadPlainJson() => ClickHousePayload.Decode(_json);
}
