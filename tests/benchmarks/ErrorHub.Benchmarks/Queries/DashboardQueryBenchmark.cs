using System.Diagnostics;
using System.Globalization;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// Server time of the dashboard's store queries on a filled store: fills SQLite or ClickHouse with N events in
/// M issues over 90 days (through the store's own writer, in big batches), then times the issue list with each
/// filter and sort, the issue page's queries and the affected users. Median and slowest of the timed runs.
/// <code>dotnet run -c Release -- dashboard-queries --store clickhouse --events 1000000 --issues 2000</code>
/// With <c>ERRORHUB_TEST_CLICKHOUSE_URL</c> set (a server kept running) and <c>--database NAME</c>, a database filled by
/// an earlier run is measured again without filling it (the schema is brought up to date first, as a new release would):
/// how a change of the read path is measured against the same data, and how long an upgrade of a filled store takes.
/// </summary>
internal static class DashboardQueryBenchmark
{
    private const int ProjectId = 1;
    private const int Runs = 5;

    /// <summary>Only the measurements whose name holds this text (<c>--only "issue page"</c>); all when absent.</summary>
    private static string? s_only;

    public static async Task RunAsync(string[] args)
    {
        var store = Option(args, "--store") ?? "sqlite";
        var events = int.Parse(Option(args, "--events") ?? "100000", CultureInfo.InvariantCulture);
        var issues = int.Parse(Option(args, "--issues") ?? "2000", CultureInfo.InvariantCulture);
        var database = Option(args, "--database");
        s_only = Option(args, "--only");
        var now = DateTimeOffset.UtcNow;

        await using var opened = await GeneratedEventStore.OpenAsync(store, "querybench", database);
        var hub = opened.Hub;
        var schema = Stopwatch.StartNew();
        await hub.Schema.EnsureSchemaAsync();
        Console.WriteLine($"schema ready in {schema.Elapsed.TotalSeconds:0.0} s");
        var filled = (await hub.Issues.GetIssuesAsync(new IssueQuery(ProjectId) { Sort = IssueSort.LastSeen, Limit = 1 })).Items;
        if (database is not null && filled.Count > 0)
        {
            // The events were made relative to the first run's clock: its "now" is the newest event's time.
            now = filled[0].LastSeen.AddSeconds(1);
            Console.WriteLine($"measuring the filled database {database} (newest event {filled[0].LastSeen:u})");
        }
        else
        {
            var fill = Stopwatch.StartNew();
            await opened.FillAsync(new EventGenerator(issues, now, seed: 8), events, written => Console.Write($"\rfilled {written:N0} of {events:N0} events ({fill.Elapsed.TotalSeconds:0} s)"));
            Console.WriteLine();
        }

        if (opened.Server is { } server)
        {
            // What the events' columns take, the payload's beside the rest (docs/benchmarks.md, chpayload).
            using var http = new HttpClient(ClickHouseClient.CreateHandler());
            var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
            var name = opened.Database!;
            await client.ExecuteAsync($"OPTIMIZE TABLE {ClickHouseSql.QuoteIdentifier(name)}.events FINAL", CancellationToken.None);
            var sizes = await client.QueryAsync(
                $"""
                SELECT name = 'payload' AS is_payload, sum(data_compressed_bytes) AS on_disk, sum(data_uncompressed_bytes) AS uncompressed
                FROM system.columns WHERE database = {ClickHouseSql.Quote(name)} AND table = 'events'
                GROUP BY is_payload ORDER BY is_payload
                """,
                row => (OnDisk: ClickHouseClient.ReadInt64(row.GetProperty("on_disk")), Uncompressed: ClickHouseClient.ReadInt64(row.GetProperty("uncompressed"))),
                CancellationToken.None);
            Console.WriteLine($"events per row: payload {(double)sizes[1].Uncompressed / events:N0} B uncompressed, {(double)sizes[1].OnDisk / events:N0} B on disk; " +
                $"other columns {(double)sizes[0].Uncompressed / events:N0} B uncompressed, {(double)sizes[0].OnDisk / events:N0} B on disk");
        }

        await MeasureAsync(hub.Issues, new EventGenerator(issues, now, seed: 8), now, store, events, issues);
    }

    private static async Task MeasureAsync(IIssueReader reader, EventGenerator generator, DateTimeOffset now, string store, int events, int issues)
    {
        Console.WriteLine($"| {store}, {events:N0} events, {issues:N0} issues | median ms | slowest ms | rows |");
        Console.WriteLine("|---|---:|---:|---:|");

        var filters = new (string Name, IssueFilter Filter)[]
        {
            ("no filter", IssueFilter.None),
            ("last 24 hours", new IssueFilter { Since = now.AddDays(-1) }),
            ("last 7 days", new IssueFilter { Since = now.AddDays(-7) }),
            ("last 90 days", new IssueFilter { Since = now.AddDays(-90) }),
            ("environment", new IssueFilter { Environment = "production" }),
            ("release", new IssueFilter { Release = EventGenerator.Releases[^1] }),
            ("level", new IssueFilter { Level = "warning" }),
            ("search", new IssueFilter { Search = "checkout" }),
            ("search + 7 days", new IssueFilter { Search = "alice", Since = now.AddDays(-7) }),
        };
        foreach (var (name, filter) in filters)
        {
            foreach (var sort in Enum.GetValues<IssueSort>())
            {
                await TimeAsync($"issue list, {name}, by {sort}", async () =>
                    (await reader.GetIssuesAsync(new IssueQuery(ProjectId) { Filter = filter, Sort = sort, Limit = 25 })).Items.Count);
            }
        }

        // What the list page asks for beside the page itself: its filters' values and a sparkline per listed issue.
        await TimeAsync("issue list filter values", async () =>
        {
            var values = await reader.GetFilterValuesAsync(ProjectId);
            return values.Environments.Count + values.Releases.Count;
        });
        var listed = (await reader.GetIssuesAsync(new IssueQuery(ProjectId) { Sort = IssueSort.Events, Limit = 25 })).Items.Select(i => i.Fingerprint).ToList();
        await TimeAsync("issue list sparklines, 25 largest issues, 90 days", async () =>
            (await reader.GetEventCountsAsync(new EventCountQuery(ProjectId, listed, now.AddDays(-90), TimeSpan.FromDays(3), 30))).Count);

        foreach (var (label, fingerprint) in new[] { ("largest issue", generator.Fingerprint(0)), ("median issue", generator.Fingerprint(issues / 2)) })
        {
            await TimeAsync($"issue page, {label}", () => IssuePageAsync(reader, fingerprint, now));
            await TimeAsync($"issue page (independent reads together), {label}", () => IssuePageTogetherAsync(reader, fingerprint, now));
            await TimeAsync($"issue page 90-day chart and breakdowns, {label}", async () =>
            {
                await reader.GetEventCountsAsync(new EventCountQuery(ProjectId, [fingerprint], now.AddDays(-90), TimeSpan.FromDays(3), 30));
                return (await reader.GetBreakdownsAsync(new BreakdownQuery(ProjectId, fingerprint) { Since = now.AddDays(-90), Limit = 5 })).Dimensions.Count;
            });
            await TimeAsync($"affected users, {label}", async () =>
                (await reader.GetAffectedUsersAsync(new AffectedUserQuery(ProjectId, fingerprint) { Limit = 50 })).Items.Count);
            await TimeAsync($"affected users searched, {label}", async () =>
                (await reader.GetAffectedUsersAsync(new AffectedUserQuery(ProjectId, fingerprint) { Search = "example.com", Limit = 50 })).Items.Count);
        }
    }

    /// <summary>What the issue page asks the store for when it opens (IssueDetails and its components), one read after another: the measure of benchmarks.md §7-§16.</summary>
    private static async Task<int> IssuePageAsync(IIssueReader reader, string fingerprint, DateTimeOffset now)
    {
        var issue = await reader.GetIssueAsync(ProjectId, fingerprint) ?? throw new InvalidOperationException("The issue is missing.");
        var latest = (await reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1 })).Items[0];
        await reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1, OldestFirst = true });
        var shown = await reader.GetIssueEventAsync(ProjectId, fingerprint, latest.EventId) ?? throw new InvalidOperationException("The event is missing.");
        await reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1, OldestFirst = true, After = EventCursor.Of(shown) });
        await reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1, After = EventCursor.Of(shown) });
        await reader.GetEventCountsAsync(new EventCountQuery(ProjectId, [fingerprint], now.AddDays(-1), TimeSpan.FromHours(1), 24));
        await reader.GetBreakdownsAsync(new BreakdownQuery(ProjectId, fingerprint) { Since = now.AddDays(-1), Limit = 5 });
        var table = await reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 25 });
        var users = await reader.GetAffectedUsersAsync(new AffectedUserQuery(ProjectId, fingerprint) { Limit = 25 });
        return (int)Math.Min(int.MaxValue, issue.EventCount) + table.Items.Count + users.Items.Count;
    }

    /// <summary>
    /// The same reads as <see cref="IssuePageAsync"/> with the independent ones together: the issue; its latest and first
    /// event; the shown event; its two neighbours; then the chart, breakdowns, events table and users (four components of
    /// the page, which Blazor does start together once the page above them has loaded). The page itself reads the rest one
    /// after another: reading them together was tried and taken out again (benchmarks.md §18: no lower wall time on the
    /// busy 2-core machine, more server CPU). Kept to measure it again on a quiet machine.
    /// </summary>
    private static async Task<int> IssuePageTogetherAsync(IIssueReader reader, string fingerprint, DateTimeOffset now)
    {
        var issue = await reader.GetIssueAsync(ProjectId, fingerprint) ?? throw new InvalidOperationException("The issue is missing.");
        var latestPage = reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1 });
        var firstPage = reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1, OldestFirst = true });
        await Task.WhenAll(latestPage, firstPage);
        var latest = (await latestPage).Items[0];
        var shown = await reader.GetIssueEventAsync(ProjectId, fingerprint, latest.EventId) ?? throw new InvalidOperationException("The event is missing.");
        await Task.WhenAll(
            reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1, OldestFirst = true, After = EventCursor.Of(shown) }),
            reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 1, After = EventCursor.Of(shown) }));
        var chart = reader.GetEventCountsAsync(new EventCountQuery(ProjectId, [fingerprint], now.AddDays(-1), TimeSpan.FromHours(1), 24));
        var breakdowns = reader.GetBreakdownsAsync(new BreakdownQuery(ProjectId, fingerprint) { Since = now.AddDays(-1), Limit = 5 });
        var table = reader.GetEventPageAsync(new EventQuery(ProjectId, fingerprint) { Limit = 25 });
        var users = reader.GetAffectedUsersAsync(new AffectedUserQuery(ProjectId, fingerprint) { Limit = 25 });
        await Task.WhenAll(chart, breakdowns, table, users);
        return (int)Math.Min(int.MaxValue, issue.EventCount) + (await table).Items.Count + (await users).Items.Count;
    }

    private static async Task TimeAsync(string name, Func<Task<int>> query)
    {
        if (s_only is not null && !name.Contains(s_only, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var rows = await query(); // warm-up: caches and connection pools as a running dashboard has them
        var times = new List<double>();
        for (var i = 0; i < Runs; i++)
        {
            var watch = Stopwatch.StartNew();
            rows = await query();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {times[times.Count / 2]:0} | {times[^1]:0} | {rows} |"));
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}

/// <summary>
/// Events as a real shop sends them, deterministic for a seed: a few issues get most events (Zipf), each issue
/// starts on its own day within the 90 days (or the history asked for), releases follow time, and users, browsers, OSes, servers and
/// environments vary as traffic does.
/// </summary>
internal sealed class EventGenerator
{
    public static readonly string[] Releases = [.. Enumerable.Range(0, 12).Select(i => $"shop@2.{i}.0")];
    private static readonly string[] Browsers = ["Chrome 131", "Chrome 130", "Safari 18", "Firefox 133", "Edge 131", "Samsung Internet 26", "Chrome Mobile 131", "Opera 114"];
    private static readonly string[] ClientOses = ["Windows 10", "macOS 15", "iOS 18", "Android 14", "Linux", "Windows 11"];
    private static readonly string[] Servers = [.. Enumerable.Range(1, 8).Select(i => $"web-{i:00}")];
    private static readonly string[] Areas = ["Checkout", "Cart", "Profile", "Orders", "Search", "Payments", "Catalog", "Shipping"];
    private static readonly string[] Types = ["System.InvalidOperationException", "System.NullReferenceException", "System.ArgumentException", "System.TimeoutException", "System.Collections.Generic.KeyNotFoundException"];
    private static readonly string[] FirstNames = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];

    private readonly Random _random;
    private readonly DateTimeOffset _now;
    private readonly double[] _cumulative;
    private readonly double[] _startOffsetDays;
    private readonly int _issues;
    private readonly double _historyDays;

    public EventGenerator(int issues, DateTimeOffset now, int seed, double historyDays = 90)
    {
        _historyDays = historyDays;
        _issues = issues;
        _now = now;
        _random = new Random(seed);
        _cumulative = new double[issues];
        _startOffsetDays = new double[issues];
        double sum = 0;
        for (var i = 0; i < issues; i++)
        {
            sum += 1.0 / (i + 1);
            _cumulative[i] = sum;
            // The big issues are old; newer ones started any day since.
            _startOffsetDays[i] = i < 20 ? historyDays : _random.NextDouble() * historyDays;
        }

        for (var i = 0; i < issues; i++)
        {
            _cumulative[i] /= sum;
        }
    }

    public string Fingerprint(int issue) => issue.ToString("x8", CultureInfo.InvariantCulture) + "0123456789abcdef0123456789ab"[..24];

    public List<ErrorEvent> Next(int count)
    {
        var batch = new List<ErrorEvent>(count);
        for (var n = 0; n < count; n++)
        {
            var issue = Array.BinarySearch(_cumulative, _random.NextDouble());
            issue = issue < 0 ? Math.Min(~issue, _issues - 1) : issue;
            var age = _random.NextDouble() * _startOffsetDays[issue];
            var timestamp = _now - TimeSpan.FromDays(age);
            var release = Releases[Math.Clamp((int)((_historyDays - age) / _historyDays * Releases.Length), 0, Releases.Length - 1)];
            var area = Areas[issue % Areas.Length];
            var type = Types[issue % Types.Length];
            var userNumber = _random.Next(20_000);
            var user = _random.NextDouble() < 0.7
                ? new UserRecord($"u-{userNumber}", $"{FirstNames[userNumber % FirstNames.Length]}{userNumber}", $"{FirstNames[userNumber % FirstNames.Length]}{userNumber}@example.com", $"203.0.113.{userNumber % 250}")
                : null;
            var culprit = $"Shop.{area}.{area}Service.Handle{issue}Async";
            var message = $"{area} step {issue} failed for item {_random.Next(100_000)}";
            batch.Add(new ErrorEvent
            {
                EventId = Guid.NewGuid(),
                ProjectId = 1,
                Timestamp = timestamp,
                ReceivedAt = timestamp.AddMilliseconds(300),
                Fingerprint = Fingerprint(issue),
                GroupingVersion = 2,
                Level = issue % 10 == 9 ? "warning" : "error",
                Title = $"{type[(type.LastIndexOf('.') + 1)..]}: {area} step {issue} failed",
                Culprit = culprit,
                Message = message,
                Logger = $"Shop.{area}",
                Platform = "csharp",
                Release = release,
                Environment = _random.NextDouble() switch { < 0.8 => "production", < 0.95 => "staging", _ => "development" },
                ServerName = Servers[_random.Next(Servers.Length)],
                Exceptions =
                [
                    new ExceptionRecord(type, message, "Shop",
                    [
                        new FrameRecord($"Handle{issue}Async", $"Shop.{area}.{area}Service", "Shop", $"/src/Shop/{area}/{area}Service.cs", 40 + (issue % 200), 13, InApp: true),
                        new FrameRecord($"{area}Async", $"Shop.{area}.{area}Endpoints", "Shop", $"/src/Shop/{area}/{area}Endpoints.cs", 22, 9, InApp: true),
                        new FrameRecord("ExecuteTaskResult", "Microsoft.AspNetCore.Http.RequestDelegateFactory", "Microsoft.AspNetCore.Http.Extensions", null, null, null, InApp: false),
                        new FrameRecord("Invoke", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Microsoft.AspNetCore.Routing", null, null, null, InApp: false),
                    ]),
                ],
                Request = new RequestRecord("POST", $"https://shop.example/{area.ToLowerInvariant()}/{_random.Next(10_000)}", $"page={_random.Next(10)}",
                    new Dictionary<string, string> { ["Accept"] = "text/html", ["User-Agent"] = "Mozilla/5.0", ["Cookie"] = "session=[Filtered]" }),
                User = user,
                Tags = new Dictionary<string, string>
                {
                    ["browser"] = Browsers[_random.Next(Browsers.Length)],
                    ["client_os"] = ClientOses[_random.Next(ClientOses.Length)],
                    ["route"] = $"POST /{area.ToLowerInvariant()}/{{id}}",
                },
                Runtime = new NameVersion(".NET", "10.0.12"),
                Os = new NameVersion("Linux", "6.1"),
                Sdk = new NameVersion("errorhub.dotnet", "0.1.0"),
            });
        }

        return batch;
    }
}
