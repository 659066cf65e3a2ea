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
/// What each materialized view that fires on every insert costs ClickHouse, at the INSERT and in the merges after it: per
/// variant, a database of its own with the schema's <c>events</c> and only the variant's views (and their tables), the same
/// realistic rows inserted in parts of a given size (one issue, users varying, as <c>ingest-load</c> sends), then the
/// background merges waited for and what is left merged (<c>OPTIMIZE ... FINAL</c> on every table). ClickHouse's CPU is
/// split by thread: the statements' threads (<c>HTTPHandler</c>) while the inserts run are the INSERT; everything else
/// until the last merge is the merges (background pool, and the statement threads running <c>OPTIMIZE</c>). Variants take
/// turns each round. Run: <c>dotnet run -c Release -- view-cost [parts] [rows a part] [rounds] [variant ...]</c>
/// (default 6 parts of 10,000 rows, 2 rounds, every variant below).
/// </summary>
internal static class ViewCost
{
    private const string Hourly = "issue_hourly";
    private const string Firsts = "issue_firsts";
    private const string IssueEvents = "issue_events";
    private const string Days = "issue_days";
    private const string Minutely = "issue_minutely";

    /// <summary><c>issue_events</c> with its <c>search_text</c> written empty: what the per-event search text costs.</summary>
    private const string IssueEventsWithoutSearch = "issue_events-no-search";

    /// <summary>
    /// <c>issue_events</c> with other forms of its search text, each matching what the schema's matches for a search
    /// without the separator (every field is in it, fields only joined by the separator): what a cheaper form would save.
    /// </summary>
    private static readonly Dictionary<string, string> SearchForms = new()
    {
        // The form of releases before issue 7 §2's search text change: one array per row, made distinct and filtered.
        ["issue_events-array"] = "arrayStringConcat(arrayFilter(field -> field != '', arrayDistinct(arrayConcat([title, culprit, message, user_id, user_email, user_username], exceptions.type, exceptions.value))), {0})",

        // That form without arrayDistinct: equal fields are joined twice.
        ["issue_events-no-distinct"] = "arrayStringConcat(arrayFilter(field -> field != '', arrayConcat([title, culprit, message, user_id, user_email, user_username], exceptions.type, exceptions.value)), {0})",

        // No array built per row: the fixed fields and the exceptions' types and values joined by concat, empty ones kept.
        ["issue_events-concat"] = "concat(title, {0}, culprit, {0}, message, {0}, user_id, {0}, user_email, {0}, user_username, {0}, arrayStringConcat(exceptions.type, {0}), {0}, arrayStringConcat(exceptions.value, {0}))",

        // As concat, the message left out when it is the title or one of the exceptions' values (the usual duplicate).
        ["issue_events-concat-dedup"] = "concat(title, {0}, culprit, {0}, if(message = title OR has(exceptions.value, message), '', message), {0}, user_id, {0}, user_email, {0}, user_username, {0}, arrayStringConcat(exceptions.type, {0}), {0}, arrayStringConcat(exceptions.value, {0}))",

        // Written by ingest in an events column (RowVariant.EmptyGroupingWithSearchText) that the view copies.
        [IssueEventsFromIngest] = "search_text",
    };

    private const string IssueEventsFromIngest = "issue_events-ingest";

    private static readonly Dictionary<string, string[]> Variants = new()
    {
        ["events"] = [],
        ["+" + Hourly] = [Hourly],
        ["+" + Firsts] = [Firsts],
        ["+" + IssueEvents] = [IssueEvents],
        ["+" + IssueEventsWithoutSearch] = [IssueEventsWithoutSearch],
        ["+issue_events-array"] = ["issue_events-array"],
        ["+issue_events-no-distinct"] = ["issue_events-no-distinct"],
        ["+issue_events-concat"] = ["issue_events-concat"],
        ["+issue_events-concat-dedup"] = ["issue_events-concat-dedup"],
        ["+" + IssueEventsFromIngest] = [IssueEventsFromIngest],
        ["+" + Days] = [Days],
        ["+" + Minutely] = [Minutely],
        ["all five"] = [Hourly, Firsts, IssueEvents, Days, Minutely],
    };

    public static async Task RunAsync(string[] args)
    {
        var numbers = args.Where(a => int.TryParse(a, CultureInfo.InvariantCulture, out _)).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        var parts = numbers.Length > 0 ? numbers[0] : 6;
        var rows = numbers.Length > 1 ? numbers[1] : 10_000;
        var rounds = numbers.Length > 2 ? numbers[2] : 2;
        var chosen = args.Where(a => !int.TryParse(a, CultureInfo.InvariantCulture, out _)).ToList();
        var variants = chosen.Count == 0 ? Variants : chosen.ToDictionary(v => v, v => Variants[v]);

        await using var server = new ClickHouseServerFixture { SystemLogs = true };
        await server.InitializeAsync();
        var pid = server.ProcessId!.Value;
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));

        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [RealisticEvent.Create()]);
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var template = EventNormalizer.Normalize(decoded.Events[0], Grouper.Group(decoded.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, decoded.Sdk));
        var serial = 0;
        List<ErrorEvent> Next(int n) => Enumerable.Range(0, n).Select(_ =>
        {
            var user = "user-" + (serial++ % 5000);
            return template with { EventId = Guid.NewGuid(), User = template.User! with { Id = user } };
        }).ToList();

        var insert = variants.Keys.ToDictionary(v => v, _ => new List<double>());
        var merges = variants.Keys.ToDictionary(v => v, _ => new List<double>());
        var faults = variants.Keys.ToDictionary(v => v, _ => new List<double>());
        var bytes = variants.Keys.ToDictionary(v => v, _ => "");
        Console.WriteLine($"// view-cost: {parts} parts of {rows:N0} rows a round, {rounds} rounds, variants taking turns; {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}, {DateTime.UtcNow:HH:mm:ss} UTC");
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, views) in variants)
            {
                var database = ClickHouseServerFixture.NewDatabaseName("viewcost");
                var schema = new ClickHouseSchema(database);
                var notifications = new ClickHouseNotificationSchema(schema);
                var fromIngest = views.Contains(IssueEventsFromIngest);
                var statements = new List<string> { schema.CreateDatabase, fromIngest ? WithSearchTextColumn(schema.Tables[0]) : schema.Tables[0] };
                foreach (var view in views)
                {
                    statements.AddRange(Ddl(schema, notifications, view));
                }

                foreach (var statement in statements)
                {
                    await client.ExecuteAsync(statement, CancellationToken.None);
                }

                var tables = await client.QueryAsync(
                    $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(database)} AND engine LIKE '%MergeTree'",
                    row => row.GetProperty("name").GetString()!, CancellationToken.None);
                var raw = new RawClickHouseInsert(server.Url, database);
                var batches = Enumerable.Range(0, parts).Select(_ => Next(rows)).ToList();

                var inserting = ThreadCpu.Start(pid);
                foreach (var batch in batches)
                {
                    await raw.InsertAsync(batch, compress: false, schema.Events, fromIngest ? RowVariant.EmptyGroupingWithSearchText : RowVariant.EmptyGrouping);
                }

                var atInsert = inserting.Stop();
                var merging = ThreadCpu.Start(pid);
                while ((await client.QueryAsync($"SELECT count() AS n FROM system.merges WHERE database = {ClickHouseSql.Quote(database)}", row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None))[0] > 0)
                {
                    await Task.Delay(100);
                }

                foreach (var table in tables)
                {
                    await client.ExecuteAsync($"OPTIMIZE TABLE {schema.Table(table)} FINAL", CancellationToken.None);
                }

                var afterInsert = merging.Stop();
                var statementThreads = atInsert.Where(t => t.Name.StartsWith("HTTPHandler", StringComparison.Ordinal)).ToList();
                var insertSeconds = statementThreads.Sum(t => t.UserSeconds + t.SystemSeconds);
                var allSeconds = atInsert.Sum(t => t.UserSeconds + t.SystemSeconds) + afterInsert.Sum(t => t.UserSeconds + t.SystemSeconds);
                var perRow = 1e6 / (parts * (double)rows);
                insert[name].Add(insertSeconds * perRow);
                merges[name].Add((allSeconds - insertSeconds) * perRow);
                faults[name].Add(statementThreads.Sum(t => t.MinorFaults) / (parts * (double)rows));
                var sizes = await client.QueryAsync(
                    $"SELECT table, sum(bytes) AS disk, sum(rows) AS n FROM system.parts WHERE database = {ClickHouseSql.Quote(database)} AND active GROUP BY table",
                    row => (Table: row.GetProperty("table").GetString()!, Disk: ClickHouseClient.ReadInt64(row.GetProperty("disk")), Rows: ClickHouseClient.ReadInt64(row.GetProperty("n"))),
                    CancellationToken.None);
                var text = tables.Contains("issue_events")
                    ? (await client.QueryAsync(
                        $"SELECT avg(length(search_text)) AS l FROM {schema.IssueEvents}",
                        row => row.GetProperty("l").GetDouble(), CancellationToken.None))[0]
                    : 0;
                bytes[name] = string.Join(", ", sizes.OrderBy(s => s.Table, StringComparer.Ordinal).Select(s => $"{s.Table} {s.Disk / (double)Math.Max(s.Rows, 1):F1}"))
                    + (text > 0 ? $"; search_text {text:F0} B uncompressed" : "");
                await client.ExecuteAsync($"DROP DATABASE {ClickHouseSql.QuoteIdentifier(database)}", CancellationToken.None);
            }
        }

        Console.WriteLine("| variant | INSERT µs a row, each round | INSERT minor faults a row | merges µs a row, each round | **INSERT + merges, median, µs a row** | on disk, bytes a row (last round) |");
        Console.WriteLine("|---|---|---|---|---:|---|");
        foreach (var name in variants.Keys)
        {
            var total = insert[name].Zip(merges[name], (i, m) => i + m).Order().ToList();
            Console.WriteLine($"| {name} | {Join(insert[name])} | {Join(faults[name], "F2")} | {Join(merges[name])} | {Median(total):F1} | {bytes[name]} |");
        }
    }

    /// <summary>
    /// What each form of the search text costs to compute, apart from the inserts' and merges' spread: the same rows in an
    /// <c>events</c> table, then each form summed over them by one thread (<c>max_threads = 1</c>), the forms taking turns;
    /// ClickHouse's statement threads' CPU less a baseline that reads the same columns (their lengths). Run:
    /// <c>dotnet run -c Release -- search-text-cost [rows] [rounds]</c> (default 60,000 rows, 10 rounds).
    /// </summary>
    public static async Task SearchTextCostAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 60_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
        await using var server = new ClickHouseServerFixture();
        await server.InitializeAsync();
        var pid = server.ProcessId!.Value;
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var database = ClickHouseServerFixture.NewDatabaseName("searchtext");
        var schema = new ClickHouseSchema(database);
        await client.ExecuteAsync(schema.CreateDatabase, CancellationToken.None);
        await client.ExecuteAsync(schema.Tables[0], CancellationToken.None);
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [RealisticEvent.Create()]);
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        var template = EventNormalizer.Normalize(decoded.Events[0], Grouper.Group(decoded.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, decoded.Sdk));
        var events = Enumerable.Range(0, rows).Select(i => template with { EventId = Guid.NewGuid(), User = template.User! with { Id = "user-" + (i % 5000) } }).ToList();
        await new RawClickHouseInsert(server.Url, database).InsertAsync(events, compress: false, schema.Events, RowVariant.EmptyGrouping);
        await client.ExecuteAsync($"OPTIMIZE TABLE {schema.Events} FINAL", CancellationToken.None);

        var separator = ClickHouseSql.Quote(ClickHouseSchema.SearchSeparator.ToString());
        var forms = new Dictionary<string, string>
        {
            ["baseline: the columns' lengths"] = "length(title) + length(culprit) + length(message) + length(user_id) + length(user_email) + length(user_username) + length(exceptions.type) + length(exceptions.value)",
        };
        foreach (var (name, form) in SearchForms.Where(f => f.Key != IssueEventsFromIngest))
        {
            forms[name] = "length(" + string.Format(CultureInfo.InvariantCulture, form, separator) + ")";
        }

        var cpu = forms.Keys.ToDictionary(f => f, _ => new List<double>());
        Console.WriteLine($"// search-text-cost: {rows:N0} rows, {rounds} rounds, forms taking turns; load average {File.ReadAllText("/proc/loadavg").Trim()}, {DateTime.UtcNow:HH:mm:ss} UTC");
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, form) in forms)
            {
                var measuring = ThreadCpu.Start(pid);
                await client.QueryAsync($"SELECT sum({form}) AS n FROM {schema.Events} SETTINGS max_threads = 1", row => row.GetProperty("n").ToString(), CancellationToken.None);
                var threads = measuring.Stop().Where(t => t.Name.StartsWith("HTTPHandler", StringComparison.Ordinal));
                cpu[name].Add(threads.Sum(t => t.UserSeconds + t.SystemSeconds) * 1e6 / rows);
            }
        }

        var baseline = Median([.. cpu[forms.Keys.First()].Order()]);
        Console.WriteLine("| form | µs a row, each round | median | **median less the baseline** |");
        Console.WriteLine("|---|---|---:|---:|");
        foreach (var name in forms.Keys)
        {
            var median = Median([.. cpu[name].Order()]);
            Console.WriteLine($"| {name} | {Join(cpu[name], "F2")} | {median:F2} | {median - baseline:F2} |");
        }
    }

    /// <summary>The statements that make <paramref name="view"/>'s table and view, as the schema makes them.</summary>
    private static IEnumerable<string> Ddl(ClickHouseSchema schema, ClickHouseNotificationSchema notifications, string view) => view switch
    {
        Hourly => [schema.Tables[1], schema.Views[0]],
        Firsts => [schema.Tables[2], schema.Views[1]],
        IssueEvents => [schema.Tables[3], schema.Views[2]],
        IssueEventsWithoutSearch => [schema.Tables[3], WithoutSearchText(schema.Views[2])],
        Days => [schema.Tables[4], schema.Views[3]],
        _ when SearchForms.TryGetValue(view, out var form) => [schema.Tables[3], WithSearchText(schema.Views[2], string.Format(CultureInfo.InvariantCulture, form, ClickHouseSql.Quote(ClickHouseSchema.SearchSeparator.ToString())))],
        Minutely => [notifications.Statements[0], notifications.Statements[1]],
        _ => throw new ArgumentException($"unknown view {view}"),
    };

    /// <summary>The issue_events view with its search text written as an empty string (everything else as the schema's).</summary>
    private static string WithoutSearchText(string view) => WithSearchText(view, "''");

    /// <summary>The issue_events view with its search text computed by <paramref name="expression"/>.</summary>
    private static string WithSearchText(string view, string expression)
    {
        const string before = "user_ip, url,";
        var start = view.IndexOf(before, StringComparison.Ordinal) + before.Length;
        var end = view.IndexOf("AS search_text", StringComparison.Ordinal);
        return view[..start] + expression + " " + view[end..];
    }

    /// <summary>The events table with a <c>search_text</c> column after its last one, for the search text written by ingest.</summary>
    private static string WithSearchTextColumn(string events)
    {
        var end = events.IndexOf("grouping String", StringComparison.Ordinal) + "grouping String".Length;
        return events[..end] + ",\n    search_text String" + events[end..];
    }

    private static double Median(List<double> sorted) => sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static string Join(List<double> values, string format = "F1") => string.Join(", ", values.Select(v => v.ToString(format, CultureInfo.InvariantCulture)));
}
