
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Transport;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;

namespace ErrorHub.Benchmarks.ClickHouse;

/// <summary>
/// Insert rate of realistic events on a real server: the store's insert (ClickHouse.Driver) against
/// the encoder it replaced (<see cref="RowBinaryBaseline"/>), alternating within one run. Not a
/// BenchmarkDotNet benchmark: one insert takes seconds and most of it is the server's work.
/// Run: <c>dotnet run -c Release -- clickhouse-insert [events per insert] [rounds]</c>.
/// </summary>
internal static class ClickHouseInsertComparison
{
    public static async Task RunAsync(string[] args)
    {
        var batchSize = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        var server = new ClickHouseServerFixture();
        await server.InitializeAsync();
        try
        {
            await RunAsync(server, batchSize, rounds);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task RunAsync(ClickHouseServerFixture server, int batchSize, int rounds)
    {
        var database = ClickHouseServerFixture.NewDatabaseName("insertbench");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        await new ClickHouseDatabase(client, database).EnsureSchemaAsync();
        var schema = new ClickHouseSchema(database);
        var nullTable = $"{ClickHouseSql.QuoteIdentifier(database)}.events_null";
        await client.ExecuteAsync($"CREATE TABLE {nullTable} AS {schema.Events} ENGINE = Null", CancellationToken.None);

        using var baselineHttp = new HttpClient(new SocketsHttpHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var baseline = new RowBinaryBaseline(baselineHttp, server.Url);
        var variants = new (string Name, Func<string, List<ErrorEvent>, Task> Insert)[]
        {
            ("before: own RowBinary encoder", (table, events) => baseline.InsertAsync(table, events)),
            ("now: ClickHouse.Driver", (table, events) => client.InsertAsync(table, events.ConvertAll(e => new ClickHouseEventRow(e)), CancellationToken.None)),
        };

        var template = DecodeRealisticEvent();
        var serial = 0;
        List<ErrorEvent> NextBatch() => Enumerable.Range(0, batchSize).Select(_ => Vary(template, serial++)).ToList();

        Console.WriteLine($"ClickHouse {server.ServerVersion}; {Environment.ProcessorCount} cores; .NET {Environment.Version}; {batchSize} events per insert, {rounds} rounds per variant, order rotated each round");
        Console.WriteLine($"one event: payload JSON {EventPayloadJson.SerializeToUtf8Bytes(template).Length} bytes, stored {ClickHousePayload.Encode(template).Length} bytes");
        Console.WriteLine();
        Console.WriteLine("| table | insert | median time | events/s | client CPU | allocated | time min-max |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var (table, label) in new[] { (nullTable, "Null engine (parse only)"), (schema.Events, "events (+2 views)") })
        {
            foreach (var variant in variants)
            {
                await variant.Insert(table, NextBatch()); // warm-up: JIT, connections, the driver's compiled row writers
            }

            var samples = variants.Select(_ => new List<(double Ms, double CpuMs, double MiB)>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 0; k < variants.Length; k++)
                {
                    var v = (k + round) % variants.Length;
                    var events = NextBatch();
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    using var process = Process.GetCurrentProcess();
                    var cpu = process.TotalProcessorTime;
                    var allocated = GC.GetTotalAllocatedBytes(precise: true);
                    var clock = Stopwatch.StartNew();
                    await variants[v].Insert(table, events);
                    clock.Stop();
                    process.Refresh();
                    samples[v].Add((clock.Elapsed.TotalMilliseconds, (process.TotalProcessorTime - cpu).TotalMilliseconds, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1048576.0));
                }
            }

            for (var v = 0; v < variants.Length; v++)
            {
                var ms = Median(samples[v].Select(s => s.Ms));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {label} | {variants[v].Name} | {ms:F0} ms | {batchSize / ms * 1000:F0} | {Median(samples[v].Select(s => s.CpuMs)):F0} ms | {Median(samples[v].Select(s => s.MiB)):F1} MiB | {samples[v].Min(s => s.Ms):F0}-{samples[v].Max(s => s.Ms):F0} ms |"));
            }
        }

        var stored = await client.QueryAsync($"SELECT count() AS n FROM {schema.Events}", row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine($"events stored: {stored[0]} (expected {(rounds + 1) * variants.Length * batchSize})");
        await client.ExecuteAsync($"DROP DATABASE {ClickHouseSql.QuoteIdentifier(database)}", CancellationToken.None);
    }

    /// <summary>The codec benchmark's event, through the SDK's encoder and ingest's decoder and grouping: what the store is given.</summary>
    internal static ErrorEvent DecodeRealisticEvent()
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [RealisticEvent.Create()]);
        var batch = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var decoded = batch.Events[0];
        return EventNormalizer.Normalize(decoded, Grouper.Group(decoded), new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk));
    }

    /// <summary>Distinct ids, three projects, 50 issues, about 1,000 users, one event per second.</summary>
    private static ErrorEvent Vary(ErrorEvent template, int serial) => template with
    {
        EventId = Guid.NewGuid(),
        ProjectId = 1 + (serial % 3),
        Timestamp = template.Timestamp.AddSeconds(serial),
        ReceivedAt = template.ReceivedAt.AddSeconds(serial),
        Fingerprint = template.Fingerprint + (serial % 50).ToString(CultureInfo.InvariantCulture),
        User = template.User! with { Id = "user-" + (serial % 997).ToString(CultureInfo.InvariantCulture) },
    };

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
