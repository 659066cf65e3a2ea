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
    }
}
