using System.Diagnostics;
using System.Globalization;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// What the notifier's and the releases page's reads of resolved states cost as a project grows old, read the old way (every
/// resolved state, every state) and the new way (the states of issues seen after their change, those resolved in a day,
/// those naming 25 releases), and on ClickHouse the look-up of one timeline entry by id alone (old) and by issue and id
/// (new) in a timeline of that many entries. For each size (the first one the small baseline): a fresh store, that many issues
/// with one event each, every one resolved after it as the dashboard writes a state, and 20 of them with an event since.
/// Medians of <c>--runs</c>; ratios against the first size in the same run, and new against old at each size.
/// <code>dotnet run -c Release -- resolved-reads-at-scale --store clickhouse --sizes 1000,100000,300000 [--timeline 10000,1000000]</code>
/// </summary>
internal static class ResolvedReadsAtScale
{
    private const int Regressed = 20;

    public static async Task RunAsync(string[] args)
    {
        var store = "sqlite";
        int[] sizes = [1_000, 100_000];
        int[] timeline = [];
        var runs = 5;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--store": store = args[++i]; break;
                case "--sizes": sizes = [.. args[++i].Split(',').Select(size => int.Parse(size, CultureInfo.InvariantCulture))]; break;
                case "--timeline": timeline = [.. args[++i].Split(',').Select(size => int.Parse(size, CultureInfo.InvariantCulture))]; break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown argument {args[i]}");
            }
        }

        ClickHouseServerFixture? clickHouse = null;
        if (store == "clickhouse")
        {
            clickHouse = new ClickHouseServerFixture();
            await clickHouse.InitializeAsync();
        }

        try
        {
            var columns = new[] { "notifier old", "notifier new", "releases page old", "releases page new" };
            var rows = new List<(int Size, Dictionary<string, double> Values, List<string> Notes)>();
            foreach (var size in sizes)
            {
                rows.Add(await MeasureStatesAsync(store, size, runs, clickHouse));
            }

            Print($"resolved issues ({store})", columns, rows, [("notifier new", "notifier old"), ("releases page new", "releases page old")]);
            if (clickHouse is not null && timeline.Length > 0)
            {
                var entries = new List<(int Size, Dictionary<string, double> Values, List<string> Notes)>();
                foreach (var size in timeline)
                {
                    entries.Add(await MeasureTimelineAsync(size, runs, clickHouse));
                }

                Print("timeline entries (clickhouse)", ["entry by id (old)", "entry by issue and id (new)"], entries, [("entry by issue and id (new)", "entry by id (old)")]);
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

    private static void Print(string what, IReadOnlyList<string> columns, List<(int Size, Dictionary<string, double> Values, List<string> Notes)> rows, (string New, string Old)[] pairs)
    {
        var all = columns.Concat(pairs.Select(pair => $"{pair.New} / {pair.Old}")).ToList();
        Console.WriteLine($"| {what} | " + string.Join(" | ", all) + " | notes |");
        Console.WriteLine("|---|" + string.Concat(all.Select(_ => "---|")) + "---|");
        var baseline = rows[0].Values;
        foreach (var (size, values, notes) in rows)
        {
            string Cell(string column) => !values.TryGetValue(column, out var value) ? "-"
                : $"{value:N1} ms" + (size == rows[0].Size || !baseline.TryGetValue(column, out var small) || small <= 0 ? "" : $" (×{value / small:0.0})");
            string Ratio((string New, string Old) pair) =>
                values.TryGetValue(pair.New, out var after) && values.TryGetValue(pair.Old, out var before) && before > 0 ? (after / before).ToString("0.000", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"| {size:N0} | " + string.Join(" | ", columns.Select(Cell).Concat(pairs.Select(Ratio))) + $" | {string.Join("; ", notes)} |");
        }
    }

    private static async Task<(int, Dictionary<string, double>, List<string>)> MeasureStatesAsync(string store, int size, int runs, ClickHouseServerFixture? clickHouse)
    {
        var directory = Directory.CreateTempSubdirectory("errorhub-resolved-").FullName;
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        ClickHouseClient? client = null;
        string? database = null;
        var values = new Dictionary<string, double>();
        var notes = new List<string>();
        try
        {
            ErrorHubStore hub;
            if (clickHouse is not null)
            {
                database = ClickHouseServerFixture.NewDatabaseName("resolved");
                client = new ClickHouseClient(http, new ClickHouseConnection(clickHouse.Url));
                hub = ClickHouseDatabase.Open(client, database);
            }
            else
            {
                hub = SqliteDatabase.Open(Path.Combine(directory, SqliteStoreOptions.DefaultFileName));
            }

            var fill = Stopwatch.StartNew();
            await hub.Schema.EnsureSchemaAsync();
            var (day, releases) = await FillAsync(hub, size);
            Console.WriteLine($"// {store}: {size:N0} resolved issues filled in {fill.Elapsed.TotalSeconds:0} s; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            var states = hub.Notifications.States;
            var activity = hub.Notifications.Activity;

            // NotificationCycle until December 2026: every resolved state (and the merges), once per rule and digest.
            await TimeAsync("notifier old", runs, values, notes, async () =>
            {
                await states.GetStatesAsync(1, IssueStatus.Resolved);
                await hub.Merges.GetMergesAsync(1);
            });

            // Now: the issues seen after their change, their states by name, and the digest's day's resolutions.
            await TimeAsync("notifier new", runs, values, notes, async () =>
            {
                var seen = await activity.GetIssuesSeenAfterChangesAsync(1);
                var resolved = await states.GetStatesOfAsync(1, [.. seen.Select(issue => issue.Fingerprint)]);
                await states.GetStatesChangedAsync(1, IssueStatus.Resolved, day, day.AddDays(1));
                if (resolved.Count(state => state.Status == IssueStatus.Resolved) != Regressed)
                {
                    throw new InvalidOperationException($"{resolved.Count} states seen after their change, not {Regressed}.");
                }

                await hub.Merges.GetMergesAsync(1);
            });

            // The releases page until December 2026: every state of the project, and the issues seen after their change.
            await TimeAsync("releases page old", runs, values, notes, async () =>
            {
                await states.GetStatesAsync(1);
                await activity.GetIssuesSeenAfterChangesAsync(1);
            });

            // Now: the list's evaluation (the issues seen after their change, the assigned or timed states) and the page's releases'.
            await TimeAsync("releases page new", runs, values, notes, async () =>
            {
                var seen = await activity.GetIssuesSeenAfterChangesAsync(1);
                await states.GetStatesOfAsync(1, [.. seen.Select(issue => issue.Fingerprint)]);
                await states.GetAssignedOrTimedStatesAsync(1);
                await states.GetStatesResolvedForReleasesAsync(1, releases);
            });
        }
        finally
        {
            if (client is not null && database is not null)
            {
                await client.ExecuteAsync($"DROP DATABASE IF EXISTS {database}", CancellationToken.None);
            }

            Directory.Delete(directory, recursive: true);
        }

        return (size, values, notes);
    }

    /// <summary>
    /// Issue i has one event, i × 20 s after the first, and is resolved an hour after it in one of 100 releases (half of them "in
    /// the next release"); the first <see cref="Regressed"/> have an event since. Answers a day with resolutions and 25 releases.
    /// </summary>
    private static async Task<(DateTimeOffset Day, string[] Releases)> FillAsync(ErrorHubStore hub, int size)
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeSeconds());
        DateTimeOffset At(int i) => start.AddSeconds(i * 20L % (29L * 86_400));
        const int Batch = 10_000;
        for (var from = 0; from < size; from += Batch)
        {
            await hub.Events.InsertEventsAsync([.. Enumerable.Range(from, Math.Min(Batch, size - from)).Select(i => TestEvents.Create(1, $"issue-{i:D6}", At(i)))]);
        }

        var actor = Guid.Parse("6f1c1f8e-2b44-4a55-9d1a-3f6f0c9e8a01");
        IssueState StateOf(int i)
        {
            var release = $"shop@1.{i % 100}.0";
            var state = new IssueState(1, $"issue-{i:D6}", IssueStatus.Resolved, At(i).AddHours(1));
            state = i % 2 == 0 ? state with { ResolvedInRelease = release } : state with { ResolvedAfterRelease = release };
            return state with
            {
                Actions = Guid.NewGuid().ToString("N"),
                Entries = new IssueEntries([new IssueChange(1, state.Fingerprint, Guid.NewGuid(), state.ChangedAt, IssueChangeKind.Status, actor, "Ada Admin") { Text = "Resolved in " + release, Value = "resolved" }]),
            };
        }

        foreach (var chunk in Enumerable.Range(0, size).Select(StateOf).Chunk(5_000))
        {
            await hub.Notifications.States.SetStatesAsync(chunk);
        }

        await hub.Events.InsertEventsAsync([.. Enumerable.Range(0, Regressed).Select(i => TestEvents.Create(1, $"issue-{i:D6}", DateTimeOffset.UtcNow.AddMinutes(-1)))]);
        return (start.AddDays(1), [.. Enumerable.Range(0, 25).Select(i => $"shop@1.{i}.0")]);
    }

    /// <summary>One issue's timeline entries of a project's <paramref name="size"/> (ten an issue), written by the server itself.</summary>
    private static async Task<(int, Dictionary<string, double>, List<string>)> MeasureTimelineAsync(int size, int runs, ClickHouseServerFixture clickHouse)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(clickHouse.Url));
        var database = ClickHouseServerFixture.NewDatabaseName("timeline");
        var values = new Dictionary<string, double>();
        var notes = new List<string>();
        try
        {
            var hub = ClickHouseDatabase.Open(client, database);
            await hub.Schema.EnsureSchemaAsync();
            await client.InsertSelectAsync(
                $"""
                INSERT INTO {database}.issue_history (project_id, fingerprint, id, at_ms, kind, actor_id, actor_name, text, value, deleted, version)
                SELECT 1, concat('issue-', toString(intDiv(number, 10))), substring(concat('00000000000000000000000000000000', toString(number)), length(toString(number)) + 1, 32), 1700000000000 + number, 'comment', '', 'Ada', 'looking into it', '', 0, 1
                FROM numbers({size})
                """,
                CancellationToken.None);
            var wanted = size / 2;
            var id = Guid.ParseExact(wanted.ToString("D32", CultureInfo.InvariantCulture), "N"); // the entry's number in 32 digits, as written
            var fingerprint = "issue-" + (wanted / 10).ToString(CultureInfo.InvariantCulture);
            Console.WriteLine($"// clickhouse: {size:N0} timeline entries; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            await TimeAsync("entry by id (old)", runs, values, notes, async () =>
            {
                if (await hub.History.GetChangeAsync(1, id) is null)
                {
                    throw new InvalidOperationException("The entry is not found by id.");
                }
            });
            await TimeAsync("entry by issue and id (new)", runs, values, notes, async () =>
            {
                if (await hub.History.GetChangeAsync(1, fingerprint, id) is null)
                {
                    throw new InvalidOperationException("The entry is not found by issue and id.");
                }
            });
        }
        finally
        {
            await client.ExecuteAsync($"DROP DATABASE IF EXISTS {database}", CancellationToken.None);
        }

        return (size, values, notes);
    }

    /// <summary>The median of <paramref name="runs"/> timings after one warm-up; a failure is a note, not a time.</summary>
    private static async Task TimeAsync(string column, int runs, Dictionary<string, double> values, List<string> notes, Func<Task> read)
    {
        var times = new List<double>();
        for (var run = 0; run <= runs; run++)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                await read();
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                notes.Add($"{column} failed: " + failure.Message.Split('\n')[0]);
                return;
            }

            if (run > 0)
            {
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
        }

        values[column] = times.Order().ElementAt(times.Count / 2);
    }
}
