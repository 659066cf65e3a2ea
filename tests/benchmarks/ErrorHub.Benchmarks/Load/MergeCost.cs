using System.Buffers;
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
/// What MergeTree settings of the <c>events</c> table would change in what its merges cost ClickHouse: per variant, a copy
/// of <c>events</c> (no views) made with the schema's DDL and the variant's settings added, the same realistic rows inserted
/// in parts of a given size, then its background merges waited for and what is left merged (<c>OPTIMIZE ... FINAL</c>);
/// ClickHouse's CPU over all of it, the variants taking turns each round. The inserts are the same in every variant, so
/// what differs is the merges. Run: <c>dotnet run -c Release -- merge-cost [parts] [rows a part] [rounds] [variant=settings ...]</c>
/// (default 8 parts of 10,000 rows, 3 rounds, and the variants below).
/// </summary>
internal static class MergeCost
{
    private static readonly Dictionary<string, string> DefaultVariants = new()
    {
        ["as-made"] = "",
        ["horizontal"] = "enable_vertical_merge_algorithm = 0",
        ["vertical"] = "vertical_merge_algorithm_min_rows_to_activate = 1",
    };

    public static async Task RunAsync(string[] args)
    {
        var numbers = args.Where(a => !a.Contains('=', StringComparison.Ordinal)).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        var parts = numbers.Length > 0 ? numbers[0] : 8;
        var rows = numbers.Length > 1 ? numbers[1] : 10_000;
        var rounds = numbers.Length > 2 ? numbers[2] : 3;
        var variants = args.Where(a => a.Contains('=', StringComparison.Ordinal)).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
        if (variants.Count == 0)
        {
            variants = DefaultVariants;
        }

        await using var server = new ClickHouseServerFixture { SystemLogs = true };
        await server.InitializeAsync();
        var database = ClickHouseServerFixture.NewDatabaseName("mergecost");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var schema = new ClickHouseSchema(database);
        await client.ExecuteAsync(schema.CreateDatabase, CancellationToken.None);
        var raw = new RawClickHouseInsert(server.Url, database);
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [RealisticEvent.Create()]);
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var template = EventNormalizer.Normalize(decoded.Events[0], Grouper.Group(decoded.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, decoded.Sdk));
        var serial = 0;
        List<ErrorEvent> Next(int n) => Enumerable.Range(0, n).Select(_ => template with { EventId = Guid.NewGuid(), Fingerprint = "fp" + (serial++ % 50) }).ToList();

        var cpu = variants.Keys.ToDictionary(v => v, _ => new List<double>());
        var merged = variants.Keys.ToDictionary(v => v, _ => new List<long>());
        Console.WriteLine($"// merge-cost: {parts} parts of {rows:N0} rows a round, {rounds} rounds, variants taking turns; {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, settings) in variants)
            {
                var table = $"events_{name.Replace('-', '_')}_{round}";
                var ddl = schema.Tables[0].Replace(schema.Events, schema.Table(table), StringComparison.Ordinal).TrimEnd();
                if (settings.Length > 0)
                {
                    ddl += ", " + settings;
                }

                await client.ExecuteAsync(ddl, CancellationToken.None);
                var batches = Enumerable.Range(0, parts).Select(_ => Next(rows)).ToList();
                var before = CpuWatch.Seconds(server.ProcessId!.Value);
                foreach (var batch in batches)
                {
                    await raw.InsertAsync(batch, compress: false, schema.Table(table), RowVariant.Store);
                }

                while ((await client.QueryAsync($"SELECT count() AS n FROM system.merges WHERE database = {ClickHouseSql.Quote(database)} AND table = {ClickHouseSql.Quote(table)}", row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None))[0] > 0)
                {
                    await Task.Delay(100);
                }

                await client.ExecuteAsync($"OPTIMIZE TABLE {schema.Table(table)} FINAL", CancellationToken.None);
                cpu[name].Add((CpuWatch.Seconds(server.ProcessId!.Value) - before) * 1000);
                await client.ExecuteAsync("SYSTEM FLUSH LOGS", CancellationToken.None);
                merged[name].Add((await client.QueryAsync(
                    $"SELECT sum(rows) AS n FROM system.part_log WHERE event_type = 2 AND database = {ClickHouseSql.Quote(database)} AND table = {ClickHouseSql.Quote(table)}",
                    row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None))[0]);
                await client.ExecuteAsync($"DROP TABLE {schema.Table(table)}", CancellationToken.None);
            }
        }

        Console.WriteLine("| variant | settings | ClickHouse CPU ms a round (inserts + merges), each round | rows merged a round | ClickHouse CPU per row inserted, median, µs |");
        Console.WriteLine("|---|---|---|---|---:|");
        foreach (var (name, settings) in variants)
        {
            var sorted = cpu[name].Order().ToList();
            Console.WriteLine($"| {name} | {(settings.Length == 0 ? "(the schema's)" : settings)} | {string.Join(", ", cpu[name].Select(c => c.ToString("N0", CultureInfo.InvariantCulture)))} | {string.Join(", ", merged[name].Select(m => m.ToString("N0", CultureInfo.InvariantCulture)))} | {sorted[sorted.Count / 2] * 1000 / (parts * (double)rows):N1} |");
        }
    }
}
