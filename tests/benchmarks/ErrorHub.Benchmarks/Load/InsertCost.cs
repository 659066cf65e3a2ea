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
/// What one insert of events costs ClickHouse and ingest, by the number of events in it, measured as CPU time of
/// both processes (which the machine's load does not distort the way it distorts wall time) and wall time: the store's
/// writer (duplicate and legacy look-ups, then the insert), the insert alone, and the driver's raw insert of the same rows.
/// The store can be filled first, so that what grows with it (the look-ups) shows.
/// Run: <c>dotnet run -c Release -- insert-cost [--views] [events to fill the store with] [insert sizes...]</c>;
/// <c>--views</c> then drops the views one by one and measures the insert after each, which shows what each table costs;
/// <c>--rows</c> measures instead what other rows of <c>events</c> would cost (<see cref="RowVariant"/>), at the first insert size
/// (<c>--variants Store,EmptyGrouping</c> to take only some, <c>--rounds N</c>, default 6).
/// </summary>
internal static class InsertCost
{
    public static async Task RunAsync(string[] args)
    {
        var viewsCost = args.Contains("--views");
        var rowsCost = args.Contains("--rows");
        var variantRounds = 6;
        var variants = Enum.GetValues<RowVariant>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--views" or "--rows":
                    break;
                case "--rounds":
                    variantRounds = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--variants":
                    variants = args[++i].Split(',').Select(Enum.Parse<RowVariant>).ToArray();
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }

        args = [.. rest];
        var prefill = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 0;
        args = args.Skip(1).ToArray();
        await using var server = new ClickHouseServerFixture();
        await server.InitializeAsync();
        var database = ClickHouseServerFixture.NewDatabaseName("steps");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var store = ClickHouseDatabase.Open(client, database);
        await store.Schema.EnsureSchemaAsync();
        var schema = new ClickHouseSchema(database);
        var raw = new RawClickHouseInsert(server.Url, database);

        var buffer = new ArrayBufferWriter<byte>();
        var sent = new List<ErrorHubEvent> { RealisticEvent.Create() };
        EventWireWriter.WriteBatch(buffer, sent);
        var batch = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var template = EventNormalizer.Normalize(batch.Events[0], Grouper.Group(batch.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk));
        var serial = 0;
        List<ErrorEvent> Next(int n) => Enumerable.Range(0, n).Select(_ => template with { EventId = Guid.NewGuid(), Fingerprint = "fp" + (serial++ % 50) }).ToList();

        var clock0 = Stopwatch.StartNew();
        for (var filled = 0; filled < prefill; filled += 10_000)
        {
            // 90 days of events over 2,000 issues, as a store in use holds them.
            var old = Enumerable.Range(0, Math.Min(10_000, prefill - filled)).Select(i => template with
            {
                EventId = Guid.NewGuid(),
                Fingerprint = "old" + ((filled + i) % 2000),
                Timestamp = template.Timestamp.AddSeconds(-Random.Shared.Next(90 * 86_400)),
            }).ToList();
            await raw.InsertAsync(old, compress: false);
        }

        Console.WriteLine($"// store filled with {prefill:N0} events in {clock0.Elapsed.TotalSeconds:N0} s; {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        var sizes = args.Length > 0 ? args.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [100, 1000, 10000];
        if (rowsCost)
        {
            await RowVariantsAsync(client, server, database, raw, Next, sizes[0], variants, variantRounds);
            return;
        }

        Console.WriteLine("| rows | way | wall ms per insert (median) | our CPU ms per insert | ClickHouse CPU ms per insert |");
        Console.WriteLine("|---:|---|---:|---:|---:|");
        foreach (var size in sizes)
        {
            var rounds = Math.Max(5, 20_000 / size);
            foreach (var (name, insert) in new (string, Func<List<ErrorEvent>, Task>)[]
            {
                ("store writer (look-ups + insert)", events => store.Events.InsertEventsAsync(events)),
                ("client.InsertAsync (rows only)", events => client.InsertAsync(schema.Events, events.ConvertAll(e => new ClickHouseEventRow(e)), CancellationToken.None)),
                ("raw driver insert, uncompressed", events => raw.InsertAsync(events, compress: false)),
            })
            {
                await insert(Next(size)); // warm
                var walls = new List<double>();
                var ours = Process.GetCurrentProcess().TotalProcessorTime;
                var theirs = CpuWatch.Seconds(server.ProcessId!.Value);
                for (var r = 0; r < rounds; r++)
                {
                    var events = Next(size);
                    var clock = Stopwatch.StartNew();
                    await insert(events);
                    walls.Add(clock.Elapsed.TotalMilliseconds);
                }

                var ourCpu = (Process.GetCurrentProcess().TotalProcessorTime - ours).TotalMilliseconds / rounds;
                var theirCpu = (CpuWatch.Seconds(server.ProcessId!.Value) - theirs) * 1000 / rounds;
                walls.Sort();
                Console.WriteLine($"| {size:N0} | {name} | {walls[walls.Count / 2]:N1} | {ourCpu:N1} | {theirCpu:N1} |");
            }
        }

        // What ClickHouse's cost follows: the uncompressed bytes of a row (docs/benchmarks.md, chpayload).
        var stored = await client.QueryAsync(
            $"""
            SELECT sum(rows) AS stored_rows, sum(data_uncompressed_bytes) AS uncompressed, sum(data_compressed_bytes) AS compressed
            FROM system.parts WHERE database = {ClickHouseSql.Quote(database)} AND table = 'events' AND active
            """,
            row => (Rows: ClickHouseClient.ReadInt64(row.GetProperty("stored_rows")), Uncompressed: ClickHouseClient.ReadInt64(row.GetProperty("uncompressed")), Compressed: ClickHouseClient.ReadInt64(row.GetProperty("compressed"))),
            CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine($"// one event: payload JSON {ErrorHub.Storage.EventPayloadJson.SerializeToUtf8Bytes(template).Length:N0} B, stored payload {ClickHouseEventRowPayloadLength(template):N0} B; " +
            $"events table: {stored[0].Rows:N0} rows, {(double)stored[0].Uncompressed / Math.Max(1, stored[0].Rows):N0} B uncompressed and {(double)stored[0].Compressed / Math.Max(1, stored[0].Rows):N0} B on disk per row");

        if (viewsCost)
        {
            // What each table a view feeds adds to an insert: the views are dropped one by one (the notification
            // schema's too), measuring the insert of the events' rows after each.
            var views = await client.QueryAsync(
                $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(database)} AND engine = 'MaterializedView' ORDER BY name",
                row => row.GetProperty("name").GetString()!, CancellationToken.None);
            Console.WriteLine();
            Console.WriteLine("| views left | rows | wall ms per insert (median) | ClickHouse CPU ms per insert |");
            Console.WriteLine("|---|---:|---:|---:|");
            for (var dropped = 0; dropped <= views.Count; dropped++)
            {
                if (dropped > 0)
                {
                    await client.ExecuteAsync($"DROP TABLE {schema.Table(views[dropped - 1])}", CancellationToken.None);
                }

                foreach (var size in sizes)
                {
                    var rounds = Math.Max(5, 20_000 / size);
                    await client.InsertAsync(schema.Events, Next(size).ConvertAll(e => new ClickHouseEventRow(e)), CancellationToken.None);
                    var walls = new List<double>();
                    var theirs = CpuWatch.Seconds(server.ProcessId!.Value);
                    for (var r = 0; r < rounds; r++)
                    {
                        var rows = Next(size).ConvertAll(e => new ClickHouseEventRow(e));
                        var clock = Stopwatch.StartNew();
                        await client.InsertAsync(schema.Events, rows, CancellationToken.None);
                        walls.Add(clock.Elapsed.TotalMilliseconds);
                    }

                    var theirCpu = (CpuWatch.Seconds(server.ProcessId!.Value) - theirs) * 1000 / rounds;
                    walls.Sort();
                    var left = dropped == views.Count ? "none" : string.Join(", ", views.Skip(dropped));
                    Console.WriteLine($"| {left} | {size:N0} | {walls[walls.Count / 2]:N1} | {theirCpu:N1} |");
                }
            }
        }
    }

    /// <summary>
    /// What other rows of <c>events</c> would cost: each variant into a copy of <c>events</c> without views, the
    /// variants taking turns each round so that the machine's load falls on all of them alike.
    /// </summary>
    private static async Task RowVariantsAsync(ClickHouseClient client, ClickHouseServerFixture server, string database, RawClickHouseInsert raw, Func<int, List<ErrorEvent>> next, int size, RowVariant[] variants, int rounds)
    {
        foreach (var variant in variants)
        {
            await client.ExecuteAsync($"CREATE TABLE {Copy(database, variant)} AS {ClickHouseSql.QuoteIdentifier(database)}.events", CancellationToken.None);
        }

        var cpu = variants.ToDictionary(v => v, _ => new List<double>());
        var walls = variants.ToDictionary(v => v, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var variant in variants)
            {
                var events = next(size);
                var theirs = CpuWatch.Seconds(server.ProcessId!.Value);
                walls[variant].Add((await raw.InsertAsync(events, compress: false, Copy(database, variant), variant)).TotalMilliseconds);
                cpu[variant].Add((CpuWatch.Seconds(server.ProcessId!.Value) - theirs) * 1000);
            }
        }

        var bytes = await client.QueryAsync(
            $"""
            SELECT table, sum(rows) AS stored_rows, sum(data_uncompressed_bytes) AS uncompressed, sum(data_compressed_bytes) AS compressed
            FROM system.parts WHERE database = {ClickHouseSql.Quote(database)} AND table LIKE 'events_variant_%' AND active
            GROUP BY table
            """,
            row => (Table: row.GetProperty("table").GetString()!, Rows: ClickHouseClient.ReadInt64(row.GetProperty("stored_rows")),
                Uncompressed: ClickHouseClient.ReadInt64(row.GetProperty("uncompressed")), Compressed: ClickHouseClient.ReadInt64(row.GetProperty("compressed"))),
            CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine($"// {size:N0}-row inserts into copies of events without views, {rounds} rounds, variants taking turns; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| rows | uncompressed bytes per row | on disk per row | wall ms per insert (median) | ClickHouse CPU ms per insert (median; min-max) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var variant in variants)
        {
            var b = bytes.Single(x => x.Table == "events_variant_" + variant.ToString().ToLowerInvariant());
            Console.WriteLine($"| {variant} | {(double)b.Uncompressed / b.Rows:N0} | {(double)b.Compressed / b.Rows:N0} | {Median(walls[variant]):N0} | {Median(cpu[variant]):N0} ({cpu[variant].Min():N0}-{cpu[variant].Max():N0}) |");
        }
    }

    private static string Copy(string database, RowVariant variant) =>
        $"{ClickHouseSql.QuoteIdentifier(database)}.{ClickHouseSql.QuoteIdentifier("events_variant_" + variant.ToString().ToLowerInvariant())}";

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static int ClickHouseEventRowPayloadLength(ErrorEvent e) => new ClickHouseEventRow(e).Payload.Length;
}
