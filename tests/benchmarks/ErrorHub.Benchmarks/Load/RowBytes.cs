using System.Buffers;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// What an <c>events</c> row of the load benchmark's event holds, column by column, as ClickHouse receives it (RowBinary,
/// uncompressed: what its insert and merges pay for). Run: <c>dotnet run -c Release -- row-bytes</c>.
/// </summary>
internal static class RowBytes
{
    public static void Run()
    {
        var e = RealisticEvent.Create();
        e.User!.Id = "user-4821";
        e.Exceptions[0].Value = "Sequence contains more than one matching element (7)";
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [e]);
        var batch = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var stored = EventNormalizer.Normalize(batch.Events[0], Grouper.Group(batch.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk));
        var row = new ArrayBufferWriter<byte>();
        ClickHouseEventEncoding.Write(row, stored);
        var payload = ClickHousePayload.Encode(stored);
        var grouping = EventPayloadJson.SerializeGrouping(stored);
        Console.WriteLine($"row {row.WrittenCount} B; payload {payload.Length} B; grouping {System.Text.Encoding.UTF8.GetByteCount(grouping)} B: {grouping}");
        var json = EventPayloadJson.Serialize(stored);
        Console.WriteLine($"payload JSON {System.Text.Encoding.UTF8.GetByteCount(json)} B: {json}");
        Console.WriteLine($"fingerprint {stored.Fingerprint.Length}: {stored.Fingerprint}");
        Console.WriteLine($"title {stored.Title.Length}: {stored.Title}");
        Console.WriteLine($"culprit {stored.Culprit?.Length}: {stored.Culprit}");
        Console.WriteLine($"message {stored.Message?.Length}: {stored.Message}");
        Console.WriteLine($"exceptions: {string.Join(" | ", stored.Exceptions.Select(x => $"{x.Type} / {x.Value} / {x.Module}"))}");
        Console.WriteLine($"tags: {string.Join(", ", stored.Tags.Select(t => t.Key + "=" + t.Value))}");
        Console.WriteLine($"url {stored.Request?.Url}; release {stored.Release}; env {stored.Environment}; server {stored.ServerName}; logger {stored.Logger}; platform {stored.Platform}");
        SplicedPayloads(stored);
    }

    /// <summary>
    /// The payload of an event whose chain an insert already compressed (<see cref="ClickHousePayload.CompressChain"/>), by
    /// the chain's LZ4 level, against the whole JSON compressed as one: bytes, and the encoding thread's CPU per event.
    /// </summary>
    private static void SplicedPayloads(ErrorHub.Storage.Events.ErrorEvent stored)
    {
        var chainJson = ClickHousePayload.SerializeChain(stored.Exceptions);
        var whole = new ArrayBufferWriter<byte>();
        ClickHousePayload.Write(whole, stored, chainJson);
        Console.WriteLine($"payload JSON {EventPayloadJson.SerializeToUtf8Bytes(stored).Length} B, of it the chain {chainJson.Length} B; whole: {whole.WrittenCount} B (with its length)");
        const int rounds = 20_000;
        Console.WriteLine("| payload | bytes (with its length) | encoding CPU per event, µs (best of 5) |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| whole JSON, LZ4 fast | {whole.WrittenCount} | {BestOf(() => ClickHousePayload.Write(Reset(whole), stored, chainJson), rounds):N2} |");
        foreach (var level in new[] { K4os.Compression.LZ4.LZ4Level.L00_FAST, K4os.Compression.LZ4.LZ4Level.L03_HC, K4os.Compression.LZ4.LZ4Level.L09_HC, K4os.Compression.LZ4.LZ4Level.L12_MAX })
        {
            var chain = ClickHousePayload.CompressChain(chainJson, level)!;
            var spliced = new ArrayBufferWriter<byte>();
            ClickHousePayload.Write(spliced, stored, chainJson, chain);
            var decoded = ClickHousePayload.Decode(spliced.WrittenSpan[LengthBytes(spliced.WrittenSpan)..]);
            var same = EventPayloadJson.Serialize(decoded) == EventPayloadJson.Serialize(stored);
            var cpu = BestOf(() => ClickHousePayload.Write(Reset(spliced), stored, chainJson, chain), rounds);
            Console.WriteLine($"| chain {level} ({chain.Block.Length} B) spliced between prefix and suffix, LZ4 fast{(same ? "" : ", DECODES TO ANOTHER EVENT")} | {spliced.WrittenCount} | {cpu:N2} |");
        }
    }

    private static ArrayBufferWriter<byte> Reset(ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        return buffer;
    }

    private static int LengthBytes(ReadOnlySpan<byte> column)
    {
        var i = 0;
        while ((column[i] & 0x80) != 0)
        {
            i++;
        }

        return i + 1;
    }

    private static double BestOf(Action encode, int rounds)
    {
        var best = double.MaxValue;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var start = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < rounds; i++)
            {
                encode();
            }

            best = Math.Min(best, (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - start).TotalMicroseconds / rounds);
        }

        return best;
    }
}
