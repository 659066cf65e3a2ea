using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// How much ClickHouse's background merges rewrite per event stored, by the size of ingest's inserts: the same number of
/// realistic events stored through the store's own writer in inserts of each size, one after the other, each size into a
/// fresh database of the current schema; then what <c>system.part_log</c> says each table's merges wrote. Counts of rows,
/// parts and merges do not depend on the machine's load; merge times and CPU do.
/// Run: <c>dotnet run -c Release -- merge-amplification [events per size] [insert sizes...]</c> (default 40,000; 100 400 1000).
/// </summary>
internal static class MergeAmplification
{
    public static async Task RunAsync(string[] args)
    {
        var total = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40_000;
        var sizes = args.Length > 1 ? args.Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [100, 400, 1000];
        await using var server = new ClickHouseServerFixture { SystemLogs = true };
        await server.InitializeAsync();
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));

        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [RealisticEvent.Create()]);
        var batch = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var template = EventNormalizer.Normalize(batch.Events[0], Grouper.Group(batch.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk));
        var serial = 0;

        Console.WriteLine($"// {total:N0} events per insert size, inserted one insert after the other through the store's writer; {Environment.ProcessorCount} cores, load average before: {LoadAverage()}");
        Console.WriteLine("| events an insert | table | new parts | merges (of them, of 2 parts) | rows merged per row inserted | merged bytes per inserted byte | merge time per 1,000 events | ClickHouse CPU per 1,000 events (everything) |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var size in sizes)
        {
            var database = ClickHouseServerFixture.NewDatabaseName("merges" + size);
            var store = ClickHouseDatabase.Open(client, database);
            await store.Schema.EnsureSchemaAsync();
            var cpu = CpuWatch.Seconds(server.ProcessId!.Value);
            var clock = Stopwatch.StartNew();
            for (var stored = 0; stored < total; stored += size)
            {
                var events = Enumerable.Range(0, Math.Min(size, total - stored)).Select(i => template with
                {
                    EventId = Guid.NewGuid(),
                    Fingerprint = "fp" + (serial++ % 50),
                    User = template.User is null ? null : template.User with { Id = "user-" + (serial % 5000) },
                }).ToList();
                await store.Events.InsertEventsAsync(events);
            }

            // The merges the inserts caused, to their end (bounded).
            var inserted = clock.Elapsed;
            while (clock.Elapsed < inserted + TimeSpan.FromMinutes(2)
                && (await client.QueryAsync("SELECT count() AS n FROM system.merges", row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None))[0] > 0)
            {
                await Task.Delay(500);
            }

            var clickHouseCpu = (CpuWatch.Seconds(server.ProcessId!.Value) - cpu) * 1000;
            await client.ExecuteAsync("SYSTEM FLUSH LOGS", CancellationToken.None);
            var tables = await client.QueryAsync(
                $"""
                SELECT table,
                       countIf(event_type = 1) AS new_parts, sumIf(rows, event_type = 1) AS new_rows, sumIf(size_in_bytes, event_type = 1) AS new_bytes,
                       countIf(event_type = 2) AS merges, countIf(event_type = 2 AND length(merged_from) = 2) AS pair_merges,
                       sumIf(rows, event_type = 2) AS merged_rows, sumIf(size_in_bytes, event_type = 2) AS merged_bytes, sumIf(duration_ms, event_type = 2) AS merge_ms
                FROM system.part_log
                WHERE database = {ClickHouseSql.Quote(database)}
                GROUP BY table ORDER BY merged_bytes DESC
                """,
                row => (Table: row.GetProperty("table").GetString()!, NewParts: ClickHouseClient.ReadInt64(row.GetProperty("new_parts")),
                    NewRows: ClickHouseClient.ReadInt64(row.GetProperty("new_rows")), NewBytes: ClickHouseClient.ReadInt64(row.GetProperty("new_bytes")),
                    Merges: ClickHouseClient.ReadInt64(row.GetProperty("merges")), PairMerges: ClickHouseClient.ReadInt64(row.GetProperty("pair_merges")),
                    MergedRows: ClickHouseClient.ReadInt64(row.GetProperty("merged_rows")), MergedBytes: ClickHouseClient.ReadInt64(row.GetProperty("merged_bytes")),
                    MergeMilliseconds: ClickHouseClient.ReadInt64(row.GetProperty("merge_ms"))),
                CancellationToken.None);
            var first = true;
            foreach (var t in tables)
            {
                Console.WriteLine($"| {size:N0} | {t.Table} | {t.NewParts:N0} | {t.Merges:N0} ({t.PairMerges:N0}) | {(double)t.MergedRows / Math.Max(1, t.NewRows):N1} | " +
                    $"{(double)t.MergedBytes / Math.Max(1, t.NewBytes):N1} | {t.MergeMilliseconds * 1000.0 / total:N0} ms | {(first ? $"{clickHouseCpu * 1000 / total:N0} ms" : "")} |");
                first = false;
            }

            await client.ExecuteAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(database)}", CancellationToken.None);
        }

        Console.WriteLine($"// load average after: {LoadAverage()}");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
}
