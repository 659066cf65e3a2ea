using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Processes;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// The issue list API's default tab (Unresolved) on a project with many resolved and ignored issues: fills a store
/// through its own writers (N issues, one event each, some resolved, some ignored, a few regressed), then starts each
/// given dashboard build on it in turn and times the first and the last page of <c>/api/projects/1/issues</c> (what the
/// list page renders, and what its 10 s refresh repeats), the Regressed tab's first page, the first render of a freshly started
/// dashboard (what a render costs before anything is remembered), and the first render after one new event of every regressed
/// and every noisy ignored issue (<c>--ignored-events</c>: every fifth ignored issue has that many events since its ignore, half of
/// them ignored until 100 more events, half for good). On ClickHouse also the statements per render, from
/// <c>system.query_log</c> (every statement the server finished while the renders ran, the dashboard's background work included).
/// <code>dotnet run -c Release -- tabs-at-scale --store sqlite --dashboard main=PATH/ErrorHub.Dashboard.dll --dashboard branch=PATH2/ErrorHub.Dashboard.dll</code>
/// </summary>
internal static class TabsAtScale
{
    private const string Token = "tabs-at-scale-token-0123456789abcdef0123";
    private const int PageSize = 50;

    public static async Task RunAsync(string[] args)
    {
        var store = "sqlite";
        var issues = 100_000;
        var resolved = 20_000;
        var ignored = 10_000;
        int? regressed = null;
        var ignoredEvents = 20;
        var runs = 5;
        var dashboards = new List<(string Label, string Path)>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--store": store = args[++i]; break;
                case "--issues": issues = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--resolved": resolved = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--ignored": ignored = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--regressed": regressed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--ignored-events": ignoredEvents = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dashboard":
                    var parts = args[++i].Split('=', 2);
                    dashboards.Add((parts[0], Path.GetFullPath(parts[1])));
                    break;
                default: throw new ArgumentException($"Unknown argument {args[i]}");
            }
        }

        if (dashboards.Count == 0)
        {
            dashboards.Add(("this build", RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard")));
        }

        var directory = Directory.CreateTempSubdirectory("errorhub-tabs-").FullName;
        ClickHouseServerFixture? clickHouse = null;
        HttpClient? clickHouseHttp = null;
        ClickHouseClient? clickHouseClient = null;
        string? database = null;
        try
        {
            if (store == "clickhouse")
            {
                clickHouse = new ClickHouseServerFixture { SystemLogs = true };
                await clickHouse.InitializeAsync();
                database = ClickHouseServerFixture.NewDatabaseName("tabs");
                clickHouseHttp = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
                clickHouseClient = new ClickHouseClient(clickHouseHttp, new ClickHouseConnection(clickHouse.Url));
            }

            var hub = IssuesAtScale.Open(directory, clickHouseClient, database);
            var fill = Stopwatch.StartNew();
            await hub.Schema.EnsureSchemaAsync();
            var (cameBack, noisy) = await FillAsync(hub, issues, resolved, ignored, regressed ?? resolved / 1000, ignoredEvents);
            Console.WriteLine($"// {store}: {issues:N0} issues ({resolved:N0} resolved, {cameBack.Count:N0} of them regressed; {ignored:N0} ignored, {noisy.Count:N0} of them " +
                $"with {ignoredEvents} events since, half until 100 more events, half for good) filled in {fill.Elapsed.TotalSeconds:0} s; " +
                $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

            // One more event now for every regressed and every noisy ignored issue: what the first refresh after new events costs.
            Task NewEventsAsync() => hub.Events.InsertEventsAsync(
                [.. cameBack.Concat(noisy).Select(i => TestEvents.Create(1, $"issue-{i:D6}", DateTimeOffset.UtcNow.AddSeconds(-1)))]);
            Console.WriteLine("| build | first render | Unresolved, first page | Unresolved, last page | Regressed, first page | after new events | total | regressed | statements per render |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var (label, path) in dashboards)
            {
                await MeasureAsync(label, path, directory, clickHouse, database, clickHouseClient, runs, NewEventsAsync);
            }
        }
        finally
        {
            clickHouseHttp?.Dispose();
            if (clickHouse is not null)
            {
                await clickHouse.DisposeAsync();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Issue i has one event (<see cref="IssuesAtScale.InsertOneEventPerIssueAsync"/>); the first <paramref name="resolved"/> are resolved an hour after it, the
    /// next <paramref name="ignored"/> ignored; <paramref name="regressed"/> of the resolved ones, spread evenly, came back; every
    /// fifth ignored one had <paramref name="ignoredEvents"/> events since (noisy: the even ones are ignored until 100 more
    /// events, the odd ones for good). Answers the regressed and the noisy ignored issues.
    /// </summary>
    private static async Task<(List<int> Regressed, List<int> Noisy)> FillAsync(ErrorHubStore hub, int issues, int resolved, int ignored, int regressed, int ignoredEvents)
    {
        var eventAt = await IssuesAtScale.InsertOneEventPerIssueAsync(hub, issues);

        // Came back: an event after its resolution (by default every thousandth resolved issue).
        var comeBack = Enumerable.Range(0, Math.Min(regressed, resolved)).Select(k => (int)((long)k * resolved / regressed)).ToList();
        foreach (var chunk in comeBack.Chunk(10_000))
        {
            await hub.Events.InsertEventsAsync([.. chunk.Select(i => TestEvents.Create(1, $"issue-{i:D6}", eventAt(i).AddHours(2)))]);
        }

        var noisy = Enumerable.Range(resolved, ignored).Where(i => (i - resolved) % 5 == 0).ToList();
        foreach (var chunk in noisy.Chunk(500))
        {
            await hub.Events.InsertEventsAsync([.. chunk.SelectMany(i => Enumerable.Range(0, ignoredEvents).Select(k => TestEvents.Create(1, $"issue-{i:D6}", eventAt(i).AddHours(2).AddSeconds(k))))]);
        }
        var states = Enumerable.Range(0, resolved).Select(i => new IssueState(1, $"issue-{i:D6}", IssueStatus.Resolved, eventAt(i).AddHours(1)))
            .Concat(Enumerable.Range(resolved, ignored).Select(i => new IssueState(1, $"issue-{i:D6}", IssueStatus.Ignored, eventAt(i).AddHours(1))
            {
                IgnoredUntilEvents = i % 2 == 0 ? 100 : null,
            }))
            .ToList();
        foreach (var chunk in states.Chunk(5_000))
        {
            await hub.Notifications.States.SetStatesAsync(chunk);
        }

        return (comeBack, noisy);
    }

    private static async Task MeasureAsync(
        string label, string path, string directory, ClickHouseServerFixture? clickHouse, string? database, ClickHouseClient? clickHouseClient, int runs,
        Func<Task> newEvents)
    {
        await using var dashboard = await IssuesAtScale.StartDashboardAsync("dashboard " + label, path, directory, clickHouse, database, Token, TimeSpan.FromMinutes(2));
        var http = dashboard.Http;

        async Task<(double Milliseconds, int Status, long Total)> GetAsync(string query)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync("/api/projects/1/issues?limit=" + PageSize + query);
            var body = await response.Content.ReadAsStringAsync();
            watch.Stop();
            var total = response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("totalCount").GetInt64() : -1;
            return (watch.Elapsed.TotalMilliseconds, (int)response.StatusCode, total);
        }

        var warm = await GetAsync("");
        var last = warm.Total > PageSize ? "&cursor=o" + (warm.Total - PageSize).ToString(CultureInfo.InvariantCulture) : "";
        await GetAsync(last);
        var regressedTab = await GetAsync("&status=regressed");
        var before = clickHouseClient is null ? 0 : await FinishedStatementsAsync(clickHouseClient);
        var first = new List<double>();
        var lastPage = new List<double>();
        var regressedPage = new List<double>();
        var statuses = new HashSet<int>();
        for (var run = 0; run < runs; run++)
        {
            var a = await GetAsync("");
            var b = await GetAsync(last);
            var c = await GetAsync("&status=regressed");
            first.Add(a.Milliseconds);
            lastPage.Add(b.Milliseconds);
            regressedPage.Add(c.Milliseconds);
            statuses.Add(a.Status);
            statuses.Add(b.Status);
            statuses.Add(c.Status);
        }

        var statements = clickHouseClient is null ? "(SQLite: not counted)" : ((await FinishedStatementsAsync(clickHouseClient) - before) / (3.0 * runs)).ToString("0.0", CultureInfo.InvariantCulture);
        await newEvents();
        var refreshed = await GetAsync("");
        string Median(List<double> values) => IssuesAtScale.Median(values).ToString("N0", CultureInfo.InvariantCulture) + " ms";
        var answer = statuses.Count == 1 && statuses.Contains(200) ? "" : $" (HTTP {string.Join(", ", statuses)})";
        string Count(long total) => total < 0 ? "-" : total.ToString("N0", CultureInfo.InvariantCulture);
        Console.WriteLine($"| {label} | {warm.Milliseconds:N0} ms{(warm.Status == 200 ? "" : $" (HTTP {warm.Status})")} | {Median(first)}{answer} | {Median(lastPage)}{answer} | {Median(regressedPage)}{answer} | {refreshed.Milliseconds:N0} ms{(refreshed.Status == 200 ? "" : $" (HTTP {refreshed.Status})")} | " +
            $"{Count(warm.Total)} | {Count(regressedTab.Total)} | {statements} |");
    }

    private static async Task<long> FinishedStatementsAsync(ClickHouseClient client)
    {
        await client.ExecuteAsync("SYSTEM FLUSH LOGS", CancellationToken.None);
        var rows = await client.QueryAsync("SELECT count() AS n FROM system.query_log WHERE type = 2", row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None);
        return rows[0];
    }
}
