using System.Diagnostics;
using System.Globalization;
using ErrorHub.Notifications;
using ErrorHub.Storage;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// What the notifications' late-event watch costs the store, against the read every round makes anyway: fills SQLite or
/// ClickHouse with N events over the last day (through the store's own writer; the sizes are filled one after another
/// into the same store), then times, alternating, (1) the baseline, a frequency rule's count of the 5-minute window
/// ending now (<c>NotificationCycle.FrequencyAsync</c>'s query), (2) the watch as it was until December 2026 (the day's
/// 1,000 busiest issues, their hourly counts, all events of the unfinished hour, and that hour again at the next count)
/// and (3) the watch as <c>NotificationCycle</c> counts now (<c>WatchAsync</c> and <c>LateRangesAsync</c>). Median and
/// slowest of the timed runs in ms, bytes this process allocated per run. With <c>--copy-from N</c> (SQLite), events beyond
/// the first N are copies of the written ones made in SQL (the rows of <c>events</c> and <c>issue_events</c> with new ids,
/// stamped up to 10 minutes earlier within the day): the writer takes about 2 ms per event on a busy 2-core machine, too
/// long for a million.
/// <code>dotnet run -c Release --no-build -- late-recount --store sqlite --per-day 10000,100000,1000000 --copy-from 100000</code>
/// With <c>--hours</c> (SQLite) it times instead, beside the baseline, the watch's hourly counts read as one query grouped by
/// hour (until December 2026) and as one count of an index range per hour (now), and copies only <c>events</c>, the one
/// table these reads touch (docs/benchmarks.md section 104).
/// </summary>
internal static class LateRecountBenchmark
{
    private const int ProjectId = 1;
    private const int Runs = 7;
    private static readonly TimeSpan LateAfter = TimeSpan.FromMinutes(10);

    public static async Task RunAsync(string[] args)
    {
        var store = Option(args, "--store") ?? "sqlite";
        var sizes = (Option(args, "--per-day") ?? "10000,100000,1000000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Order().ToList();
        var issues = int.Parse(Option(args, "--issues") ?? "2000", CultureInfo.InvariantCulture);
        var copyFrom = Option(args, "--copy-from") is { } copy ? int.Parse(copy, CultureInfo.InvariantCulture) : int.MaxValue;
        var hoursOnly = args.Contains("--hours") && store != "clickhouse";
        var now = DateTimeOffset.UtcNow;

        await using var opened = await GeneratedEventStore.OpenAsync(store, "laterecount");
        var hub = opened.Hub;
        await hub.Schema.EnsureSchemaAsync();
        var generator = new EventGenerator(issues, now, seed: 97, historyDays: 1);
        var filled = 0;
        Console.WriteLine(hoursOnly
            ? $"| {store}, events in the day | spike count (baseline) ms | watch, grouped by hour (until Dec 2026) ms | / baseline | allocated | watch, a count per hour (now) ms | / baseline | allocated | now / before |"
            : $"| {store}, events in the day | spike count (baseline) ms | watch until Dec 2026 ms | / baseline | allocated | watch now ms | / baseline | allocated | now / before |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var size in sizes)
        {
            var fill = Stopwatch.StartNew();
            var written = Math.Max(filled, Math.Min(size, copyFrom));
            await opened.FillAsync(generator, written - filled);
            filled = written;
            if (size > filled && store != "clickhouse")
            {
                await CopyEventsAsync(opened.SqlitePath, size - filled, now - TimeSpan.FromDays(1), hoursOnly ? ["events"] : ["events", "issue_events"]);
            }

            filled = size;
            Console.Error.WriteLine($"filled {size:N0} events in {fill.Elapsed.TotalSeconds:0} s");
            await MeasureAsync(hub.Notifications.Activity, hub.Issues, now, store, size, hoursOnly ? opened.SqlitePath : null);
        }
    }

    private static async Task MeasureAsync(IIssueActivity activity, IIssueReader reader, DateTimeOffset now, string store, int size, string? groupedFrom)
    {
        var previous = now - TimeSpan.FromMinutes(5);
        var before = await NotificationCycle.WatchAsync(activity, ProjectId, previous, CancellationToken.None);
        Func<Task<long>>[] measured =
        [
            async () => (await activity.GetActivityAsync(new ActivityQuery(ProjectId, now - TimeSpan.FromMinutes(5), now + TimeSpan.FromMinutes(1))
            {
                MinEvents = 11,
                Sort = ActivitySort.Events,
                Limit = 100,
            })).Count,
            groupedFrom is null ? () => WatchUntilDecember2026Async(activity, reader, now) : () => GroupedWatchAsync(groupedFrom, now),
            async () =>
            {
                var watch = await NotificationCycle.WatchAsync(activity, ProjectId, now, CancellationToken.None);
                return (await NotificationCycle.LateRangesAsync(activity, ProjectId, before, watch, CancellationToken.None)).Count + watch.Hours.Sum();
            },
        ];
        var times = measured.Select(_ => new List<double>()).ToArray();
        var allocated = new long[measured.Length];
        foreach (var step in measured)
        {
            await step(); // warm: the first read of a filled store fills the page cache
        }

        for (var run = 0; run < Runs; run++)
        {
            for (var i = 0; i < measured.Length; i++)
            {
                var bytes = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                await measured[i]();
                times[i].Add(clock.Elapsed.TotalMilliseconds);
                allocated[i] += GC.GetTotalAllocatedBytes(precise: true) - bytes;
            }
        }

        var median = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
        var slowest = times.Select(t => t.Max()).ToArray();
        string Time(int i) => $"{median[i].ToString("0.0", CultureInfo.InvariantCulture)} ({slowest[i].ToString("0.0", CultureInfo.InvariantCulture)})";
        string Bytes(int i) => $"{allocated[i] / Runs / 1024.0:N0} KB";
        Console.WriteLine(
            $"| {size:N0} | {Time(0)} | {Time(1)} | {median[1] / median[0]:0.0} | {Bytes(1)} | {Time(2)} | {median[2] / median[0]:0.0} | {Bytes(2)} | {median[2] / median[1]:0.000} |");
    }

    /// <summary>The reads of a count and its comparison as NotificationCycle made them until December 2026 (commit 6f9be5f).</summary>
    private static async Task<long> WatchUntilDecember2026Async(IIssueActivity activity, IIssueReader reader, DateTimeOffset now)
    {
        const int watchedHours = 25;
        var until = now - LateAfter;
        var lastHour = new DateTimeOffset(until.Year, until.Month, until.Day, until.Hour, 0, 0, TimeSpan.Zero);
        var since = lastHour.AddHours(1 - watchedHours);
        var active = await activity.GetActivityAsync(new ActivityQuery(ProjectId, since, lastHour) { Limit = EventCountQuery.MaxFingerprints });
        long total = 0;
        if (active.Count > 0)
        {
            var counts = await reader.GetEventCountsAsync(new EventCountQuery(ProjectId, [.. active.Select(a => a.Fingerprint)], since, TimeSpan.FromHours(1), watchedHours - 1));
            total += counts.Values.Sum(c => c.Sum());
        }

        total += (await activity.GetTotalsAsync(ProjectId, EventFilter.All, lastHour, until)).Events;

        // The last count's unfinished hour, counted again as it counted it.
        var previousUntil = until - TimeSpan.FromMinutes(5);
        var previousHour = new DateTimeOffset(previousUntil.Year, previousUntil.Month, previousUntil.Day, previousUntil.Hour, 0, 0, TimeSpan.Zero);
        total += (await activity.GetTotalsAsync(ProjectId, EventFilter.All, previousHour, previousUntil)).Events;
        return total;
    }

    /// <summary>
    /// The watch's two reads (the last day's hours, then the last count's unfinished hour) as SQLite's store made them until
    /// December 2026: one query grouped by the hour computed from each event's time.
    /// </summary>
    private static async Task<long> GroupedWatchAsync(string path, DateTimeOffset now)
    {
        const int watchedHours = 25;
        var until = now - LateAfter;
        var lastHour = new DateTimeOffset(until.Year, until.Month, until.Day, until.Hour, 0, 0, TimeSpan.Zero);
        var since = lastHour.AddHours(1 - watchedHours);
        var previousUntil = until - TimeSpan.FromMinutes(5);
        var previousHour = new DateTimeOffset(previousUntil.Year, previousUntil.Month, previousUntil.Day, previousUntil.Hour, 0, 0, TimeSpan.Zero);
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        long total = 0;
        foreach (var (from, to) in new[] { (since, until), (previousHour, previousUntil) })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT (e.timestamp - $from) / 3600000 AS hour, count(*)
                FROM events e
                WHERE e.project_id = $project AND e.timestamp >= $from AND e.timestamp < $to
                GROUP BY hour
                """;
            command.Parameters.AddWithValue("$project", ProjectId);
            command.Parameters.AddWithValue("$from", from.ToUnixTimeSeconds() / 60 * 60_000);
            command.Parameters.AddWithValue("$to", to.ToUnixTimeSeconds() / 60 * 60_000);
            await using var rows = await command.ExecuteReaderAsync();
            while (await rows.ReadAsync())
            {
                total += rows.GetInt64(1);
            }
        }

        return total;
    }

    /// <summary>Adds <paramref name="count"/> copies of stored events (of <paramref name="tables"/>), each with a new id and up to 10 minutes earlier.</summary>
    private static async Task CopyEventsAsync(string path, int count, DateTimeOffset dayStart, string[] tables)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        foreach (var table in tables)
        {
            var columns = new List<string>();
            await using (var info = connection.CreateCommand())
            {
                info.CommandText = $"SELECT name FROM pragma_table_info('{table}')";
                await using var reader = await info.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    columns.Add(reader.GetString(0));
                }
            }

            var values = columns.Select(c => c switch
            {
                "event_id" => "randomblob(16)",
                "timestamp" => "max($day, timestamp - abs(random() % 600000))",
                _ => c,
            });
            for (var copied = 0; copied < count;)
            {
                await using var transaction = (Microsoft.Data.Sqlite.SqliteTransaction)await connection.BeginTransactionAsync();
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = $"INSERT INTO {table} ({string.Join(", ", columns)}) SELECT {string.Join(", ", values)} FROM {table} LIMIT $n";
                command.Parameters.AddWithValue("$day", dayStart.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("$n", Math.Min(100_000, count - copied));
                copied += await command.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
            }
        }
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
