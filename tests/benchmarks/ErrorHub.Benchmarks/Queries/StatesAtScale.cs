using System.Diagnostics;
using System.Globalization;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// What the issue list, search, an issue's detail and the notifier's triage reads cost as a project grows old: for each size
/// (the first one the small baseline), fills a fresh store through its own writers with that many issues (one event each) of
/// which 80 % have a triage state (50 % resolved, 20 % ignored, 10 % unresolved but assigned), starts this build's dashboard
/// on it and times over HTTP the list API's first page of each tab, a search, and one issue; then in this process the
/// notifier's reads of a round (the project's ignored and its resolved states, as <c>NotificationCycle</c> reads them) with
/// the bytes they allocate. On ClickHouse also the bytes the server sent per list render (<c>system.query_log</c>).
/// Medians of <c>--runs</c>; ratios against the first size in the same run.
/// <code>dotnet run -c Release -- states-at-scale --store clickhouse --sizes 1000,10000,100000,300000 [--dashboard PATH/ErrorHub.Dashboard.dll]</code>
/// </summary>
internal static class StatesAtScale
{
    private const string Token = "states-at-scale-token-0123456789abcdef01";
    private const int PageSize = 50;

    private static readonly (string Label, string Query)[] Requests =
    [
        ("unresolved", ""),
        ("resolved", "&status=resolved"),
        ("ignored", "&status=ignored"),
        ("regressed", "&status=regressed"),
        ("all", "&status=all"),
        ("search", "&q=issue-0000"),
    ];

    public static async Task RunAsync(string[] args)
    {
        var store = "sqlite";
        int[] sizes = [1_000, 10_000, 100_000];
        var runs = 3;
        var dashboard = RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--store": store = args[++i]; break;
                case "--sizes": sizes = [.. args[++i].Split(',').Select(size => int.Parse(size, CultureInfo.InvariantCulture))]; break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dashboard": dashboard = Path.GetFullPath(args[++i]); break;
                default: throw new ArgumentException($"Unknown argument {args[i]}");
            }
        }

        ClickHouseServerFixture? clickHouse = null;
        if (store == "clickhouse")
        {
            clickHouse = new ClickHouseServerFixture { SystemLogs = true };
            await clickHouse.InitializeAsync();
        }

        try
        {
            var rows = new List<(int Size, Dictionary<string, double> Values, List<string> Notes)>();
            foreach (var size in sizes)
            {
                rows.Add(await MeasureSizeAsync(store, size, runs, clickHouse, dashboard));
            }

            var columns = Requests.Select(request => request.Label).Concat(["detail", "notifier reads", "notifier allocated MB", "list bytes from ClickHouse MB"]).ToList();
            Console.WriteLine($"| issues ({store}) | " + string.Join(" | ", columns) + " | notes |");
            Console.WriteLine("|---|" + string.Concat(columns.Select(_ => "---|")) + "---|");
            var baseline = rows[0].Values;
            foreach (var (size, values, notes) in rows)
            {
                string Cell(string column) => !values.TryGetValue(column, out var value) ? "-"
                    : column.EndsWith("MB", StringComparison.Ordinal) ? value.ToString("0.00", CultureInfo.InvariantCulture)
                    : $"{value:N0} ms" + (size == rows[0].Size || !baseline.TryGetValue(column, out var small) || small <= 0 ? "" : $" (×{value / small:0.0})");
                Console.WriteLine($"| {size:N0} | " + string.Join(" | ", columns.Select(Cell)) + $" | {string.Join("; ", notes)} |");
            }
        }
        finally
        {
            if (clickHouse is not null)
            {
                await clickHouse.DisposeAsync();
            }
        }
    }

    private static async Task<(int Size, Dictionary<string, double> Values, List<string> Notes)> MeasureSizeAsync(
        string store, int size, int runs, ClickHouseServerFixture? clickHouse, string dashboard)
    {
        var directory = Directory.CreateTempSubdirectory("errorhub-states-").FullName;
        using var clickHouseHttp = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        ClickHouseClient? clickHouseClient = null;
        string? database = null;
        var values = new Dictionary<string, double>();
        var notes = new List<string>();
        try
        {
            if (clickHouse is not null)
            {
                database = ClickHouseServerFixture.NewDatabaseName("states");
                clickHouseClient = new ClickHouseClient(clickHouseHttp, new ClickHouseConnection(clickHouse.Url));
            }

            var hub = IssuesAtScale.Open(directory, clickHouseClient, database);
            var fill = Stopwatch.StartNew();
            await hub.Schema.EnsureSchemaAsync();
            await FillAsync(hub, size);
            Console.WriteLine($"// {store}: {size:N0} issues filled in {fill.Elapsed.TotalSeconds:0} s; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

            // The notifier's reads of one round: the project's ignored states, then its resolved ones.
            var notifier = new List<double>();
            long allocated = 0;
            for (var run = 0; run <= runs; run++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                var watch = Stopwatch.StartNew();
                try
                {
                    await hub.Notifications.States.GetStatesAsync(1, IssueStatus.Ignored);
                    await hub.Notifications.States.GetStatesAsync(1, IssueStatus.Resolved);
                }
                catch (Exception failure) when (failure is not OutOfMemoryException)
                {
                    notes.Add("notifier reads failed: " + failure.Message.Split('\n')[0]);
                    break;
                }

                if (run > 0)
                {
                    notifier.Add(watch.Elapsed.TotalMilliseconds);
                    allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                }
            }

            if (notifier.Count > 0)
            {
                values["notifier reads"] = IssuesAtScale.Median(notifier);
                values["notifier allocated MB"] = allocated / 1e6;
            }

            await MeasureDashboardAsync(dashboard, directory, clickHouse, database, clickHouseClient, runs, values, notes);
        }
        finally
        {
            if (clickHouseClient is not null && database is not null)
            {
                await clickHouseClient.ExecuteAsync($"DROP DATABASE IF EXISTS {database}", CancellationToken.None);
            }

            Directory.Delete(directory, recursive: true);
        }

        return (size, values, notes);
    }

    /// <summary>Issue i has one event (<see cref="IssuesAtScale.InsertOneEventPerIssueAsync"/>); of every ten issues five are resolved, two ignored and one assigned, after their event.</summary>
    private static async Task FillAsync(ErrorHubStore hub, int size)
    {
        var eventAt = await IssuesAtScale.InsertOneEventPerIssueAsync(hub, size);
        var assignee = Guid.Parse("6f1c1f8e-2b44-4a55-9d1a-3f6f0c9e8a01");
        // As the dashboard writes them: with the action that wrote the state and its timeline entry.
        IssueState Written(IssueState state, string text, string value) => state with
        {
            Actions = Guid.NewGuid().ToString("N"),
            Entries = new IssueEntries([new IssueChange(1, state.Fingerprint, Guid.NewGuid(), state.ChangedAt, IssueChangeKind.Status, assignee, "Ada Admin") { Text = text, Value = value }]),
        };
        IssueState? StateOf(int i) => (i % 10) switch
        {
            < 5 => Written(new IssueState(1, $"issue-{i:D6}", IssueStatus.Resolved, eventAt(i).AddHours(1)), "Resolved", "resolved"),
            < 7 => Written(new IssueState(1, $"issue-{i:D6}", IssueStatus.Ignored, eventAt(i).AddHours(1)) { IgnoredUntilEvents = i % 2 == 0 ? 100 : null }, "Ignored", "ignored"),
            7 => Written(new IssueState(1, $"issue-{i:D6}", IssueStatus.Unresolved, eventAt(i).AddHours(1)) { AssigneeId = assignee }, "Assigned to Ada Admin", assignee.ToString()),
            _ => null,
        };
        foreach (var chunk in Enumerable.Range(0, size).Select(StateOf).OfType<IssueState>().Chunk(5_000))
        {
            await hub.Notifications.States.SetStatesAsync(chunk);
        }
    }

    private static async Task MeasureDashboardAsync(
        string path, string directory, ClickHouseServerFixture? clickHouse, string? database, ClickHouseClient? clickHouseClient, int runs,
        Dictionary<string, double> values, List<string> notes)
    {
        await using var dashboard = await IssuesAtScale.StartDashboardAsync("dashboard", path, directory, clickHouse, database, Token, TimeSpan.FromMinutes(3));
        var http = dashboard.Http;

        async Task<double> GetAsync(string label, string address)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync(address);
            await response.Content.ReadAsStringAsync();
            watch.Stop();
            if (!response.IsSuccessStatusCode && !notes.Contains($"{label}: HTTP {(int)response.StatusCode}"))
            {
                notes.Add($"{label}: HTTP {(int)response.StatusCode}");
            }

            return watch.Elapsed.TotalMilliseconds;
        }

        foreach (var (label, query) in Requests)
        {
            await GetAsync(label, $"/api/projects/1/issues?limit={PageSize}{query}");
            var times = new List<double>();
            var bytesBefore = clickHouseClient is null || label != "unresolved" ? 0 : await SentBytesAsync(clickHouseClient, database!);
            for (var run = 0; run < runs; run++)
            {
                times.Add(await GetAsync(label, $"/api/projects/1/issues?limit={PageSize}{query}"));
            }

            if (clickHouseClient is not null && label == "unresolved")
            {
                values["list bytes from ClickHouse MB"] = (await SentBytesAsync(clickHouseClient, database!) - bytesBefore) / (double)runs / 1e6;
            }

            values[label] = IssuesAtScale.Median(times);
        }

        // A resolved issue's detail (issue-000000 is resolved).
        await GetAsync("detail", "/api/projects/1/issues/issue-000000");
        var detail = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            detail.Add(await GetAsync("detail", "/api/projects/1/issues/issue-000000"));
        }

        values["detail"] = IssuesAtScale.Median(detail);
    }

    /// <summary>What the server has sent in answers to the queries naming the database so far (the dashboard's background work included; 18.16's log has no list of databases).</summary>
    private static async Task<long> SentBytesAsync(ClickHouseClient client, string database)
    {
        await client.ExecuteAsync("SYSTEM FLUSH LOGS", CancellationToken.None);
        var rows = await client.QueryAsync(
            $"SELECT toInt64(sum(result_bytes)) AS n FROM system.query_log WHERE type = 2 AND position(query, {ClickHouseSql.Quote(database)}) > 0",
            row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
            CancellationToken.None);
        return rows[0];
    }
}
