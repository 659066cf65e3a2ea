using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// A bounded load test of the stand-alone ingest host over loopback, as a client fleet would load it:
/// gzip'd batches of realistic events from the SDK's own encoder, several senders at once. It measures,
/// in one run and on one store: the most events per second accepted (202) and how soon they are
/// visible in the store; accept latency (p50, p99) at half that rate; the server's memory and answers
/// under ten times the senders; and the ceiling, the same events inserted straight into the same store
/// without HTTP. Everything is bounded in time and count, and only 127.0.0.1 is ever contacted.
/// Run: <c>dotnet run -c Release -- ingest-load [sqlite|clickhouse] [seconds per phase] [senders] [--journal]
/// [--insert-events N] [--insert-bytes N] [--pending-events N] [--insert-interval MS] [--insert-linger MS] [--concurrent-inserts N] [--workstation-gc] [--env NAME=VALUE] [--pin-generator CPUS]
/// [--sustain EVENTS_PER_SECOND] [--sustain-seconds N] [--sustain-raw ROWS_PER_SECOND]</c>: <c>--sustain</c> adds a phase offering that rate for N seconds (default 30) and
/// reports what is visible end to end over it and where ClickHouse's CPU went, then the driver's raw insert offered at <c>--sustain-raw</c> (default the
/// same rate) for as long, split the same way; <c>--journal</c> turns on the
/// durable ingest journal (ClickHouse only; 202 once fsynced, large inserts behind), the others set its bounds (<c>MaxEventsPerInsert</c>, <c>MaxBytesPerInsert</c>,
/// <c>MaxPendingEvents</c>, <c>MinTimeBetweenInserts</c>, <c>InsertLinger</c>, <c>MaxConcurrentInserts</c>); <c>--env</c> sets a variable of the ingest process (e.g. a GC setting);
/// <c>--pin-generator</c> keeps this load generator's threads on the CPUs given (<c>taskset</c> list, e.g. <c>1</c>) once the
/// server and ClickHouse have started on every CPU.
/// </summary>
internal static class IngestLoad
{
    private const string Key = "loadtest-0123456789abcdef";
    private const int EventsPerBatch = 100;
    private const int RawBatch = 10_000;

    /// <summary>The User-Agent of this benchmark's own ClickHouse statements (its polls and probes), as system.query_log shows it.</summary>
    private const string BenchmarkAgent = "errorhub-ingest-load";

    /// <summary>The best of the ways the store took the rows straight, and each of them.</summary>
    private sealed record Ceiling(List<(string How, double EventsPerSecond)> Variants, long Rows)
    {
        public double Best => Variants.Max(v => v.EventsPerSecond);
    }

    public static async Task RunAsync(string[] args)
    {
        var journal = new Dictionary<string, string?>();
        string? pinGenerator = null;
        var pollStore = false;
        double? sustainRate = null;
        double? sustainRawRate = null;
        var sustainFor = TimeSpan.FromSeconds(30);
        var clickHouseEnvironment = new Dictionary<string, string>();
        var tableSettings = new List<(string Table, string Setting)>();
        var positional = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--journal":
                    journal["ErrorHub__Ingest__Journal__Enabled"] = "true";
                    break;
                case "--insert-events":
                    journal["ErrorHub__Ingest__Journal__MaxEventsPerInsert"] = args[++i];
                    break;
                case "--insert-bytes":
                    journal["ErrorHub__Ingest__Journal__MaxBytesPerInsert"] = args[++i];
                    break;
                case "--pin-generator":
                    pinGenerator = args[++i];
                    break;
                case "--clickhouse-env":
                    var (variable, setting) = args[++i].Split('=', 2) is [var cn, var cv] ? (cn, cv) : throw new ArgumentException("--clickhouse-env NAME=VALUE");
                    clickHouseEnvironment[variable] = setting;
                    break;
                case "--table-setting":
                    var (settingTable, tableSetting) = args[++i].Split(':', 2) is [var st, var ss] ? (st, ss) : throw new ArgumentException("--table-setting TABLE:NAME=VALUE");
                    tableSettings.Add((settingTable, tableSetting));
                    break;
                case "--visible-poll":
                    pollStore = args[++i] switch
                    {
                        "store" => true,
                        "count" => false,
                        _ => throw new ArgumentException("--visible-poll count|store"),
                    };
                    break;
                case "--workstation-gc":
                    journal["DOTNET_gcServer"] = "0";
                    break;
                case "--concurrent-inserts":
                    journal["ErrorHub__Ingest__Journal__MaxConcurrentInserts"] = args[++i];
                    break;
                case "--env":
                    var (name, value) = args[++i].Split('=', 2) is [var n, var v] ? (n, v) : throw new ArgumentException("--env NAME=VALUE");
                    journal[name] = value;
                    break;
                case "--pending-events":
                    journal["ErrorHub__Ingest__Journal__MaxPendingEvents"] = args[++i];
                    break;
                case "--insert-interval":
                    journal["ErrorHub__Ingest__Journal__MinTimeBetweenInserts"] = Milliseconds(args[++i]);
                    break;
                case "--sustain":
                    sustainRate = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--sustain-raw":
                    sustainRawRate = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--sustain-seconds":
                    sustainFor = TimeSpan.FromSeconds(int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--insert-linger":
                    journal["ErrorHub__Ingest__Journal__InsertLinger"] = Milliseconds(args[++i]);
                    break;
                default:
                    positional.Add(args[i]);
                    break;
            }
        }

        static string Milliseconds(string value) => TimeSpan.FromMilliseconds(int.Parse(value, CultureInfo.InvariantCulture)).ToString("c", CultureInfo.InvariantCulture);

        var store = positional.Count > 0 ? positional[0] : "sqlite";
        var seconds = positional.Count > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 15;
        var senders = positional.Count > 2 ? int.Parse(positional[2], CultureInfo.InvariantCulture) : 8;
        var phase = TimeSpan.FromSeconds(seconds);

        // What a previous run (ours or anyone's) may have left on the machine, read before this run starts anything.
        var hygiene = MachineState.Read();
        await using var target = await Target.StartAsync(store, journal, clickHouseEnvironment, tableSettings);
        if (pinGenerator is not null)
        {
            // Measurement hygiene, not isolation: after ingest and ClickHouse started (they keep every core), this process's
            // threads (the senders and their HttpClient) are kept on the CPUs given, so the generator's own scheduling
            // competes with the server only there.
            await PinSelfAsync(pinGenerator);
        }

        var report = new List<(string What, string Value)>();
        Console.Error.WriteLine($"// server process id {target.ProcessId}");
        Console.WriteLine($"// ingest load on {store} ({target.Host}){(journal.Count > 0 ? " with the journal: " + string.Join(", ", journal.Select(j => j.Key.Replace("ErrorHub__Ingest__Journal__", "", StringComparison.Ordinal) + "=" + j.Value)) : ", synchronous (202 once stored)")}: {senders} senders, batches of {EventsPerBatch} events, {seconds} s per phase; " +
            $"{Environment.ProcessorCount} cores, load average before: {LoadAverage()}" +
            (pinGenerator is null ? "" : $"; the load generator pinned to CPU {pinGenerator} (taskset), the server and ClickHouse on every CPU") +
            (clickHouseEnvironment.Count == 0 ? "" : "; ClickHouse started with " + string.Join(", ", clickHouseEnvironment.Select(v => v.Key + "=" + v.Value))));

        // Distinct batches for the first phase (an event id sent twice is stored once, which would spoil the
        // count of what became visible): up to 30,000 events/s; if the server is faster, the phase ends early.
        var bodies = Bodies(batches: 300 * seconds, out var wireBytes, out var template);
        report.Add(("before the run: the machine as the previous run left it", hygiene.Text));
        report.Add(("event on the wire (MessagePack, before gzip)", $"{wireBytes / EventsPerBatch:N0} B"));
        report.Add(("batch as sent (gzip)", $"{bodies.Average(b => b.Length):N0} B"));

        // 0. The ceiling first, on the same fresh server the ingest is about to load: the same rows straight
        // into the same store, no HTTP, no decoding (ClickHouse: rows built before the clock starts, the
        // driver's binary insert of 10,000 rows; SQLite: the store's own batch insert).
        Phase("raw insert");
        var ceilingCpu = target.StartCpu();
        var ceilingStarted = DateTimeOffset.UtcNow;
        var ceiling = await target.RawInsertRateAsync(template, TimeSpan.FromSeconds(Math.Min(seconds, 12)));
        foreach (var (how, rate) in ceiling.Variants)
        {
            report.Add(($"raw insert into the store, {how} (events/s)", $"{rate:N0}"));
        }

        // What the raw rows cost ClickHouse, their merges included (waited for here, before anything else runs), per row:
        // the figure the product path's ClickHouse CPU per visible event is compared with.
        var ceilingMerges = await target.WaitForMergesAsync(TimeSpan.FromSeconds(90));
        var ceilingClock = DateTimeOffset.UtcNow - ceilingStarted;
        var ceilingClickHouseSeconds = ceilingCpu.ClickHouseSeconds;
        report.Add(("raw insert: ClickHouse CPU, its merges included (waited " + $"{ceilingMerges:N0} s)", ceilingCpu.Stop(ceilingClock, ceiling.Rows)));
        await AddClickHouseWorkAsync(report, target, ceilingStarted, DateTimeOffset.UtcNow, ceiling.Rows / EventsPerBatch, "raw insert", ceiling.Rows, ceilingClickHouseSeconds);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { BaseAddress = target.Url, Timeout = TimeSpan.FromSeconds(60) };

        // A fresh process runs its first calls unoptimized and spends its first seconds compiling them again (tiered
        // compilation): measured from a cold start, the next phase would show the JIT's work, not ingest's. A service
        // runs for days, so it is warmed first, with batches of its own.
        // Warm until two rounds in a row cost the server about the same CPU per event (at least three rounds, at most 90 s).
        // With the journal a round fills it in about a second and is refused after that; its events are flushed before the
        // round's CPU is read, so each round runs the flusher's code as much as the requests' (the phase measured next drains
        // a full journal: compiling that code then would be measured as ingest's cost). A round that accepted nothing is
        // not compared.
        Phase("warm-up");
        var warmUpBodies = Bodies(batches: 4_000, out _, out _);
        var warmUpClock = Stopwatch.StartNew();
        var warmUpEvents = 0L;
        var perEvent = new List<double>();
        while (warmUpClock.Elapsed < TimeSpan.FromSeconds(90) && warmUpEvents / EventsPerBatch < warmUpBodies.Count)
        {
            var roundCpu = target.StartCpu();
            var round = await ClosedLoopAsync(client, warmUpBodies[(int)(warmUpEvents / EventsPerBatch)..], senders, TimeSpan.FromSeconds(5), repeat: false);
            await WaitForEmptyJournalAsync(client, TimeSpan.FromSeconds(60));
            warmUpEvents += round.AcceptedEvents;
            perEvent.Add(roundCpu.ServerSecondsPerEvent(round.AcceptedEvents));
            var accepted = perEvent.Where(double.IsFinite).ToList();
            if (accepted.Count >= 3 && Math.Abs(accepted[^1] - accepted[^2]) <= 0.15 * accepted[^2])
            {
                break;
            }
        }

        report.Add(("warm-up before measuring: server CPU per event in each round (5 s of senders, then its events flushed) until two agree",
            $"{string.Join(" → ", perEvent.Select(s => double.IsFinite(s) ? $"{s * 1e6:N0} µs" : "none accepted"))} ({warmUpClock.Elapsed.TotalSeconds:N0} s, {warmUpEvents:N0} events)"));

        // 1. The most it accepts: every sender posts its next batch as soon as the previous one is answered. With the journal,
        // what the warm-up was answered for may still be on its way to the store: wait until the count stops growing.
        report.Add(("waited for the warm-up's events to reach the store", $"{await target.WaitUntilSettledAsync(TimeSpan.FromSeconds(120)):N0} s"));
        // A count that stood still for a few seconds may be one long insert under way (10,000 events on a busy machine): with
        // the journal, also until it holds nothing, or the next phase meets a full journal and is refused.
        report.Add(("then until the journal held nothing", $"{await WaitForEmptyJournalAsync(client, TimeSpan.FromSeconds(120)):N0} s"));
        var before = await target.StoredEventsAsync();
        // The raw insert's and the warm-up's parts would otherwise be merged while the next phase drains the journal, their merges
        // counted as its work (an empty system.merges for a moment does not mean nothing is left to merge): merged now.
        report.Add(("merged what the raw insert and the warm-up left (OPTIMIZE ... FINAL of every table), then waited for merges", await target.MergeEverythingAsync()));
        report.Add(("waited for ClickHouse's merges of the raw rows before loading ingest", $"{await target.WaitForMergesAsync(TimeSpan.FromSeconds(90)):N0} s"));
        var cpu = target.StartCpu();
        var gc = await GcWatch.StartAsync(client);
        var memory = MemoryWatch.Start(client, target.ProcessId);
        Phase("most");
        var drainSched = target.StartSched();
        var maxStarted = DateTimeOffset.UtcNow;
        var max = await ClosedLoopAsync(client, bodies, senders, phase, repeat: false);
        var maxCpu = cpu.Stop(max.Elapsed, max.AcceptedEvents);
        var acceptedPerSecond = max.AcceptedEvents / max.Elapsed.TotalSeconds;
        report.Add(("accepted, most (events/s)", $"{acceptedPerSecond:N0}"));
        report.Add(("**accepted at most / raw insert (best)**", $"**{acceptedPerSecond / ceiling.Best:N2}**"));
        report.Add(("answers while at most", max.Statuses()));
        report.Add(("accept latency at most: p50 / p99", $"{max.Percentile(50):N1} / {max.Percentile(99):N1} ms"));
        report.Add(("CPU while at most (cores busy)", maxCpu));
        report.Add(("server GC while at most", await gc.StopAsync(client, max.Elapsed)));
        var (visibleAfter, confirmedAfter) = await target.WaitUntilStoredAsync(before + max.AcceptedEvents, TimeSpan.FromMinutes(2), pollStore);
        var drainClickHouseSeconds = cpu.ClickHouseSeconds;
        var drainServerSeconds = cpu.ServerSeconds;
        report.Add(("visible in the store (events/s, from the first send to the last event queryable)", $"{max.AcceptedEvents / (max.Elapsed + visibleAfter).TotalSeconds:N0}"));
        report.Add(("how the benchmark waited for it", pollStore
            ? "the store's issue list (every issue's count) read every 50 ms"
            : $"a count of `events` rows every 50 ms, then the store's issue list read until it agreed ({confirmedAfter.TotalMilliseconds:N0} ms more)"));

        // With the journal most of the flush comes after the last answer: ClickHouse's work is read over the whole time until
        // the last event was visible, so that its CPU per event compares with the raw insert's (in the same units: per 100 events).
        report.Add(("CPU from the first send until the last event visible (cores busy)", cpu.Stop(max.Elapsed + visibleAfter, max.AcceptedEvents)));
        report.Add(("the most until visible, time waiting for a CPU (run-queue delay summed over threads)", drainSched.Stop(max.Elapsed + visibleAfter)));
        report.Add(("**server CPU per visible event, the most until visible**", $"**{drainServerSeconds * 1e6 / Math.Max(max.AcceptedEvents, 1):N1} µs**"));
        await AddClickHouseWorkAsync(report, target, maxStarted, DateTimeOffset.UtcNow, max.Requests, "at most, until visible", max.AcceptedEvents, drainClickHouseSeconds);
        report.Add(("server memory after the most: peak resident (VmHWM)", $"{target.PeakResidentMegabytes():N0} MB"));
        report.Add(("server memory, the most until visible: where the peak was", await memory.StopAsync()));

        // 2. Latency at half the most: batches sent on a fixed schedule, whatever the answers do.
        cpu = target.StartCpu();
        gc = await GcWatch.StartAsync(client);
        memory = MemoryWatch.Start(client, target.ProcessId);
        var sched = target.StartSched();
        Phase("half load");
        using var stopProbe = new CancellationTokenSource();
        var probe = VisibilityProbeAsync(client, target, stopProbe.Token);
        // Half of what reached the store, not of what was answered: with the journal, more may be answered than the store takes.
        var visiblePerSecond = max.AcceptedEvents / (max.Elapsed + visibleAfter).TotalSeconds;
        var halfStarted = DateTimeOffset.UtcNow;
        var half = await OpenLoopAsync(client, bodies, Math.Min(acceptedPerSecond, visiblePerSecond) / 2 / EventsPerBatch, phase);
        var halfCpu = cpu.Stop(half.Elapsed, half.AcceptedEvents);
        var halfWaits = sched.Stop(half.Elapsed);
        var halfEnded = DateTimeOffset.UtcNow;
        await stopProbe.CancelAsync();
        var lags = await probe;
        report.Add(("at half load: from a 202 to the event readable in the store (one probe event a second): p50 / max",
            lags.Count == 0 ? "no probe answered 202" : $"{Percentile(lags, 50):N0} / {lags.Max():N0} ms ({lags.Count} probes)"));
        report.Add(("accept latency at half load: p50 / p99", $"{half.Percentile(50):N1} / {half.Percentile(99):N1} ms ({half.AcceptedEvents / half.Elapsed.TotalSeconds:N0} events/s offered and accepted)"));
        report.Add(("answers at half load", half.Statuses()));
        var tail = await gc.TailAsync(client);
        report.Add(("at half load, accepted batches as ASP.NET Core's hosting timed them (headers parsed → answer written)", tail.Text));
        report.Add(("**at half load, answers above 25 ms: client / hosting / handler**", string.Create(CultureInfo.InvariantCulture,
            $"**{half.ShareAbove(25):N2} % / {tail.HostingAbove25:N2} % / {tail.HandlerAbove25:N2} %** (above 50 ms, client: {half.ShareAbove(50):N2} %)")));
        report.Add(("at half load, time waiting for a CPU (run-queue delay summed over threads)", halfWaits));
        report.Add(("CPU at half load (cores busy)", halfCpu));
        report.Add(("server GC at half load", await gc.StopAsync(client, half.Elapsed)));
        report.Add(("journal appends (write + fsync) at half load", await gc.JournalAppendsAsync(client)));
        report.Add(("at half load, accepted batches as the server timed them", await gc.AcceptedAsync(client)));
        report.Add(("server memory at half load: where the peak was", await memory.StopAsync()));
        await AddClickHouseWorkAsync(report, target, halfStarted, halfEnded, half.Requests, "at half load");

        // 2b. Sustained (only with --sustain): a fixed offered rate held for longer than the journal can buffer it, so that what
        // is visible end to end is the rate the whole path keeps up, not a burst drained from the journal (the "most" phase).
        if (sustainRate is { } sustainedRate)
        {
            report.Add(("before the sustained phase: waited for half load's events to reach the store, then for an empty journal",
                $"{await target.WaitUntilSettledAsync(TimeSpan.FromSeconds(120)):N0} s, {await WaitForEmptyJournalAsync(client, TimeSpan.FromSeconds(120)):N0} s"));
            // Events of their own: the phases before sent `bodies` already, and events sent again are stored once (duplicates),
            // so a count of what is visible could never reach what was accepted.
            var sustainedBodies = Bodies(batches: (int)Math.Ceiling(sustainedRate / EventsPerBatch * sustainFor.TotalSeconds) + 10, out _, out _);
            var storedBefore = await target.StoredEventsAsync();
            // The warm-up's, half load's and the drain's parts merged first, as before the drain: what merges in this phase is its own.
            report.Add(("before the sustained phase: merged what the phases before left (OPTIMIZE ... FINAL of every table)", await target.MergeEverythingAsync()));
            var countersBefore = await target.ClickHouseCountersAsync();
            var threads = target.ClickHouseProcessId is { } clickHousePid ? ThreadCpu.Start(clickHousePid) : null;
            cpu = target.StartCpu();
            var sustainedStarted = DateTimeOffset.UtcNow;
            Phase("sustained");
            var sustained = await OpenLoopAsync(client, sustainedBodies, sustainedRate / EventsPerBatch, sustainFor);
            var (lag, _) = await target.WaitUntilStoredAsync(storedBefore + sustained.AcceptedEvents, TimeSpan.FromMinutes(2), pollStore);
            var sustainedClickHouseSeconds = cpu.ClickHouseSeconds;
            var sustainedCpu = cpu.Stop(sustained.Elapsed + lag, sustained.AcceptedEvents);
            var sustainedThreads = threads?.Stop();
            var sustainedFaults = threads?.ProcessTotals();
            var countersAfter = await target.ClickHouseCountersAsync();
            var sustainedEnded = DateTimeOffset.UtcNow;
            report.Add(($"sustained for {sustainFor.TotalSeconds:N0} s: offered / accepted (events/s)",
                $"{sustainedRate:N0} / {sustained.AcceptedEvents / sustained.Elapsed.TotalSeconds:N0}"));
            report.Add(("sustained: answers", sustained.Statuses()));
            report.Add(("sustained: accept latency p50 / p99", $"{sustained.Percentile(50):N1} / {sustained.Percentile(99):N1} ms"));
            report.Add(("**sustained: visible end to end (events/s: accepted over the phase plus the time until the last was queryable)**",
                $"**{sustained.AcceptedEvents / (sustained.Elapsed + lag).TotalSeconds:N0}** (the last event queryable {lag.TotalMilliseconds:N0} ms after the phase ended)"));
            report.Add(("CPU sustained, until the last event visible (cores busy)", sustainedCpu));
            AddClickHouseSplit(report, "sustained", sustained.AcceptedEvents, sustainedClickHouseSeconds, sustainedThreads, sustainedFaults, countersBefore, countersAfter);
            await AddClickHouseWorkAsync(report, target, sustainedStarted, sustainedEnded, sustained.Requests, "sustained", sustained.AcceptedEvents, sustainedClickHouseSeconds);
            await AddClickHouseOverTimeAsync(report, target, sustainedStarted, sustainedEnded, "sustained");

            // The ceiling held as long: the driver's binary insert of the same rows (10,000 an insert, at most two at a time) offered
            // at a fixed rate for as long, views attached, in the same database; its CPU split the same way.
            if (target.ClickHouseProcessId is { } rawPid)
            {
                report.Add(("before the sustained raw insert: waited for the sustained phase's merges (OPTIMIZE ... FINAL of every table)", await target.MergeEverythingAsync()));
                var rawRate = sustainRawRate ?? sustainedRate;
                countersBefore = await target.ClickHouseCountersAsync();
                threads = ThreadCpu.Start(rawPid);
                cpu = target.StartCpu();
                var rawStarted = DateTimeOffset.UtcNow;
                Phase("sustained raw insert");
                var (rawRows, rawElapsed, rawInserts) = await target.RawInsertSustainedAsync(template, rawRate, sustainFor);
                var rawClickHouseSeconds = cpu.ClickHouseSeconds;
                var rawCpu = cpu.Stop(rawElapsed, rawRows);
                var rawThreads = threads.Stop();
                var rawFaults = threads.ProcessTotals();
                countersAfter = await target.ClickHouseCountersAsync();
                var rawEnded = DateTimeOffset.UtcNow;
                report.Add(($"**sustained raw insert for {sustainFor.TotalSeconds:N0} s: offered / inserted (rows/s, until its last insert ended)**",
                    $"{rawRate:N0} / **{rawRows / rawElapsed.TotalSeconds:N0}** ({rawInserts:N0} inserts of {RawBatch:N0}, the last ended {(rawElapsed - sustainFor).TotalMilliseconds:N0} ms after the phase)"));
                report.Add(("CPU sustained raw insert (cores busy)", rawCpu));
                AddClickHouseSplit(report, "sustained raw insert", rawRows, rawClickHouseSeconds, rawThreads, rawFaults, countersBefore, countersAfter);
                await AddClickHouseWorkAsync(report, target, rawStarted, rawEnded, rawInserts, "sustained raw insert", rawRows, rawClickHouseSeconds);
                await AddClickHouseOverTimeAsync(report, target, rawStarted, rawEnded, "sustained raw insert");
            }
        }

        // 3. Ten times the senders: memory stays bounded, answers are 202 or 429/503 with Retry-After, nothing hangs.
        cpu = target.StartCpu();
        gc = await GcWatch.StartAsync(client);
        memory = MemoryWatch.Start(client, target.ProcessId);
        Phase("10x senders");
        var overload = await ClosedLoopAsync(client, bodies, senders * 10, phase, repeat: true);
        var overloadCpu = cpu.Stop(overload.Elapsed, overload.AcceptedEvents);
        report.Add(("answers at 10x senders", overload.Statuses()));
        report.Add(("refused at 10x senders with 429/503 and Retry-After / without", overload.RefusalShares()));
        report.Add(("accepted at 10x senders (events/s)", $"{overload.AcceptedEvents / overload.Elapsed.TotalSeconds:N0}"));
        report.Add(("slowest answer at 10x senders", $"{overload.Percentile(100):N0} ms"));
        report.Add(("CPU at 10x senders (cores busy)", overloadCpu));
        report.Add(("server GC at 10x senders", await gc.StopAsync(client, overload.Elapsed)));
        report.Add(("server memory at 10x senders: where the peak was", await memory.StopAsync()));
        report.Add(("server memory: peak resident over the whole run (VmHWM)", $"{target.PeakResidentMegabytes():N0} MB"));
        if (target.ClickHouseProcessId is { } clickHouseProcess)
        {
            report.Add(("ClickHouse memory: peak resident over the whole run (VmHWM)", $"{PeakResidentMegabytes(clickHouseProcess):N0} MB"));
        }
        report.Add(("load average after", LoadAverage()));
        report.Add(("after the run (before its ClickHouse and server stop): the machine", MachineState.Read().Text));

        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        foreach (var (what, value) in report)
        {
            Console.WriteLine($"| {what} | {value} |");
        }
    }

    /// <summary>
    /// ClickHouse's CPU per event over a phase by thread name (the background pool's threads are merges), with the page faults
    /// its threads took, and the counters of <c>system.events</c> that moved, per event.
    /// </summary>
    private static void AddClickHouseSplit(
        List<(string What, string Value)> report, string phase, long events, double clickHouseSeconds,
        List<(string Name, int Threads, double UserSeconds, double SystemSeconds, long MinorFaults)>? threads,
        (long MinorFaults, double UserSeconds, double SystemSeconds)? totals, Dictionary<string, long> before, Dictionary<string, long> after)
    {
        if (threads is null || totals is not { } process || events == 0)
        {
            return;
        }

        report.Add(($"**ClickHouse CPU per event {phase}, by thread name: µs (of it system), minor page faults per event**",
            string.Create(CultureInfo.InvariantCulture, $"**all {clickHouseSeconds * 1e6 / events:N1}** (system {process.SystemSeconds * 1e6 / events:N1}; {process.MinorFaults / (double)events:N2} faults): ") +
            string.Join("; ", threads.Where(t => t.UserSeconds + t.SystemSeconds > 0 || t.MinorFaults > 0).Select(t => string.Create(CultureInfo.InvariantCulture,
                $"{t.Name}{(t.Threads > 0 ? $" ×{t.Threads}" : "")} {(t.UserSeconds + t.SystemSeconds) * 1e6 / events:N1} ({t.SystemSeconds * 1e6 / events:N1}), {t.MinorFaults / (double)events:N2}")))));
        var moved = after.Select(a => (a.Key, Delta: a.Value - before.GetValueOrDefault(a.Key))).Where(d => d.Delta > 0).OrderBy(d => d.Key, StringComparer.Ordinal);
        report.Add(($"ClickHouse {phase}: system.events that moved, per event",
            string.Join(", ", moved.Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Key} {d.Delta / (double)events:G3}")))));
    }

    private static async Task AddClickHouseOverTimeAsync(List<(string What, string Value)> report, Target target, DateTimeOffset from, DateTimeOffset to, string phase)
    {
        try
        {
            report.AddRange(await target.ClickHouseOverTimeAsync(from, to, phase));
        }
        catch (ClickHouseException exception)
        {
            report.Add(($"ClickHouse's work over time {phase}", "not read: " + exception.Message.Split('\n')[0]));
        }
    }

    private static async Task AddClickHouseWorkAsync(
        List<(string What, string Value)> report, Target target, DateTimeOffset from, DateTimeOffset to, long requests, string phase, long events = 0, double clickHouseSeconds = 0)
    {
        try
        {
            report.AddRange(await target.ClickHouseWorkAsync(from, to, requests, phase, events, clickHouseSeconds));
        }
        catch (ClickHouseException exception)
        {
            // The breakdown is an extra (e.g. an external server without these logs); the measurement goes on without it.
            report.Add(($"ClickHouse's work per request {phase}", "not read: " + exception.Message.Split('\n')[0]));
        }
    }

    /// <summary>
    /// Once a second, a batch of one fresh event; after its 202, the store is asked for it every 10 ms until it is readable:
    /// how long after the answer a user sees an event (with the journal, the flush lag; without, the read after the insert).
    /// </summary>
    private static async Task<List<double>> VisibilityProbeAsync(HttpClient client, Target target, CancellationToken stop)
    {
        var lags = new List<double>();
        while (!stop.IsCancellationRequested)
        {
            var probe = RealisticEvent.Create();
            using (var content = new ByteArrayContent(BackgroundSender.Encode([probe])))
            {
                content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
                content.Headers.ContentEncoding.Add("gzip");
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = content };
                request.Headers.Add("X-ErrorHub-Key", Key);
                using var response = await client.SendAsync(request, CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    var answered = Stopwatch.StartNew();
                    while (answered.Elapsed < TimeSpan.FromSeconds(60) && !await target.IsStoredAsync(probe.EventId))
                    {
                        await Task.Delay(10, CancellationToken.None);
                    }

                    lags.Add(answered.Elapsed.TotalMilliseconds);
                }
            }

            try
            {
                await Task.Delay(1000, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return lags;
    }

    private static double Percentile(List<double> values, double percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Clamp(Math.Ceiling(percentile / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static async Task<double> WaitForEmptyJournalAsync(HttpClient client, TimeSpan limit)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < limit
            && (await GcWatch.ScrapeAsync(client)).Where(m => m.Key.StartsWith("errorhub_ingest_journal_events", StringComparison.Ordinal)).Sum(m => m.Value) > 0)
        {
            await Task.Delay(500);
        }

        return waited.Elapsed.TotalSeconds;
    }

    /// <summary>Every thread of this process (and those it starts later, which inherit it) on the CPUs listed, through <c>taskset</c>.</summary>
    private static async Task PinSelfAsync(string cpus)
    {
        using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-c", "-p", cpus, Environment.ProcessId.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("taskset did not start");
        await taskset.WaitForExitAsync();
        if (taskset.ExitCode != 0)
        {
            throw new InvalidOperationException($"taskset exited with {taskset.ExitCode}");
        }
    }

    /// <summary>Progress on standard error (the report goes to standard output), so a profiler can be attached to the right phase.</summary>
    private static void Phase(string name) => Console.Error.WriteLine($"// {DateTime.UtcNow:HH:mm:ss} phase: {name}");

    private static long PeakResidentMegabytes(int processId)
    {
        var status = File.ReadAllLines($"/proc/{processId}/status");
        var line = status.FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) ?? "VmHWM: 0 kB";
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    /// <summary>Distinct gzip'd batches of the realistic event: every event has its own id, users and fingerprints vary.</summary>
    private static List<byte[]> Bodies(int batches, out long wireBytes, out ErrorEvent template)
    {
        var result = new List<byte[]>(batches);
        wireBytes = 0;
        var buffer = new ArrayBufferWriter<byte>();
        for (var b = 0; b < batches; b++)
        {
            var events = new List<ErrorHubEvent>(EventsPerBatch);
            for (var i = 0; i < EventsPerBatch; i++)
            {
                var e = RealisticEvent.Create();
                e.User!.Id = "user-" + ((b * EventsPerBatch) + i) % 5000;
                e.Exceptions[0].Value = $"Sequence contains more than one matching element ({i % 20})";
                e.Exceptions[0].Frames[1].Function = "PlaceOrder" + (i % 10) + "Async";
                events.Add(e);
            }

            result.Add(BackgroundSender.Encode(events));
            if (b == 0)
            {
                buffer.ResetWrittenCount();
                EventWireWriter.WriteBatch(buffer, events);
                wireBytes = buffer.WrittenCount;
            }
        }

        var batch = new EventBatchDecoder(new IngestLimits()).Decode(buffer.WrittenMemory);
        template = EventNormalizer.Normalize(batch.Events[0], Grouper.Group(batch.Events[0]), new BatchContext(1, DateTimeOffset.UtcNow, batch.Sdk));
        return result;
    }

    private static async Task<Run> ClosedLoopAsync(HttpClient client, List<byte[]> bodies, int senders, TimeSpan duration, bool repeat)
    {
        var run = new Run();
        var next = -1;
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, senders).Select(async _ =>
        {
            while (stop.Elapsed < duration)
            {
                var index = Interlocked.Increment(ref next);
                if (!repeat && index >= bodies.Count)
                {
                    return;
                }

                await run.SendAsync(client, bodies[index % bodies.Count]);
            }
        }));
        run.Elapsed = stop.Elapsed;
        return run;
    }

    private static async Task<Run> OpenLoopAsync(HttpClient client, List<byte[]> bodies, double batchesPerSecond, TimeSpan duration)
    {
        var run = new Run();
        var interval = TimeSpan.FromSeconds(1 / Math.Max(batchesPerSecond, 0.5));
        var sends = new List<Task>();
        var stop = Stopwatch.StartNew();
        for (var n = 0; stop.Elapsed < duration; n++)
        {
            var due = interval * n;
            if (due > stop.Elapsed)
            {
                await Task.Delay(due - stop.Elapsed);
            }

            sends.Add(run.SendAsync(client, bodies[(n + (bodies.Count / 2)) % bodies.Count]));
        }

        await Task.WhenAll(sends);
        run.Elapsed = stop.Elapsed;
        return run;
    }

    /// <summary>What one phase saw: answers by status, accepted events, latencies.</summary>
    private sealed class Run
    {
        private readonly Lock _lock = new();
        private readonly List<double> _milliseconds = [];
        private readonly Dictionary<string, int> _statuses = [];
        private long _acceptedEvents;

        public long AcceptedEvents => Interlocked.Read(ref _acceptedEvents);

        public TimeSpan Elapsed { get; set; }

        /// <summary>Requests answered (or failed) so far.</summary>
        public long Requests
        {
            get
            {
                lock (_lock)
                {
                    return _statuses.Values.Sum();
                }
            }
        }

        public async Task SendAsync(HttpClient client, byte[] body)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.msgpack");
            content.Headers.ContentEncoding.Add("gzip");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = content };
            request.Headers.Add("X-ErrorHub-Key", Key);
            var started = Stopwatch.GetTimestamp();
            string status;
            try
            {
                using var response = await client.SendAsync(request);
                status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Interlocked.Add(ref _acceptedEvents, EventsPerBatch);
                }
                else if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests && response.Headers.RetryAfter is null)
                {
                    status += " without Retry-After";
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                status = exception is TaskCanceledException ? "timeout" : "connection error";
            }

            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lock (_lock)
            {
                _milliseconds.Add(elapsed);
                _statuses[status] = _statuses.GetValueOrDefault(status) + 1;
            }
        }

        /// <summary>The share of answers that took longer than <paramref name="milliseconds"/>, in percent.</summary>
        public double ShareAbove(double milliseconds)
        {
            lock (_lock)
            {
                return _milliseconds.Count == 0 ? 0 : 100.0 * _milliseconds.Count(m => m > milliseconds) / _milliseconds.Count;
            }
        }

        public double Percentile(int percentile)
        {
            lock (_lock)
            {
                if (_milliseconds.Count == 0)
                {
                    return 0;
                }

                var sorted = _milliseconds.Order().ToList();
                return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
            }
        }

        /// <summary>Of all answers: the share refused with 429/503 and Retry-After, and the share refused without it or not answered.</summary>
        public string RefusalShares()
        {
            lock (_lock)
            {
                var all = Math.Max(_statuses.Values.Sum(), 1);
                var refused = _statuses.Where(s => s.Key is "429" or "503").Sum(s => s.Value);
                var bad = _statuses.Where(s => s.Key is not ("202" or "429" or "503")).Sum(s => s.Value);
                return $"{100.0 * refused / all:N1} % / {100.0 * bad / all:N1} %";
            }
        }

        public string Statuses()
        {
            lock (_lock)
            {
                return string.Join(", ", _statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value:N0}"));
            }
        }
    }

    /// <summary>Sends every request with the User-Agent given, whatever was set before.</summary>
    private sealed class UserAgentHandler(string agent) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.UserAgent.Clear();
            request.Headers.UserAgent.ParseAdd(agent);
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>The ingest host as its own process on a free loopback port, on a fresh store.</summary>
    private sealed class Target : IAsyncDisposable
    {
        private readonly TestProcess _process;
        private readonly ClickHouseServerFixture? _clickHouse;
        private readonly string _directory;
        private readonly ErrorHubStore _store;
        private readonly HttpClient? _clickHouseHttp;
        private readonly string? _database;

        private Target(TestProcess process, Uri url, ClickHouseServerFixture? clickHouse, string? database, string directory, ErrorHubStore store, HttpClient? clickHouseHttp)
        {
            _process = process;
            _database = database;
            Url = url;
            _clickHouse = clickHouse;
            _directory = directory;
            _store = store;
            _clickHouseHttp = clickHouseHttp;
        }

        public Uri Url { get; }

        public int ProcessId => _process.Id;

        /// <summary>Which server process takes the load.</summary>
        public string Host => _clickHouse is null
            ? "the all-in-one dashboard process on SQLite, a separate process"
            : "the stand-alone ingest process, ClickHouse another process on the same machine";

        public static async Task<Target> StartAsync(
            string kind, IReadOnlyDictionary<string, string?> extraEnvironment, IReadOnlyDictionary<string, string> clickHouseEnvironment,
            IReadOnlyList<(string Table, string Setting)> tableSettings)
        {
            var directory = Directory.CreateTempSubdirectory("errorhub-load-").FullName;
            var url = FreePort.NextHttpUrl();
            var environment = new Dictionary<string, string?>
            {
                ["ErrorHub__DataDirectory"] = directory,
                ["ErrorHub__Project__PublicKey"] = Key,
                // One project sends everything here: spike protection would measure itself, not ingest.
                ["ErrorHub__Ingest__SpikeEventsPerSecond"] = "0",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
            };
            ClickHouseServerFixture? clickHouse = null;
            HttpClient? http = null;
            string? database = null;
            ErrorHubStore store;
            var host = "ingest/ErrorHub.Ingest";
            if (kind == "clickhouse")
            {
                clickHouse = new ClickHouseServerFixture { SystemLogs = true, ServerEnvironment = clickHouseEnvironment };
                await clickHouse.InitializeAsync();
                database = ClickHouseServerFixture.NewDatabaseName("load");
                environment["ErrorHub__Store__Kind"] = "clickhouse";
                environment["ErrorHub__Store__ClickHouse__Url"] = clickHouse.Url.ToString();
                environment["ErrorHub__Store__ClickHouse__Database"] = database;
                // Its own statements are told from ingest's in system.query_log by their User-Agent (the driver sets its own on each
                // request, so it is replaced as the request leaves).
                http = new HttpClient(new UserAgentHandler(BenchmarkAgent) { InnerHandler = ClickHouseClient.CreateHandler() }) { Timeout = TimeSpan.FromMinutes(5) };
                store = ClickHouseDatabase.Open(new ClickHouseClient(http, new ClickHouseConnection(clickHouse.Url)), database);
                if (tableSettings.Count > 0)
                {
                    await CreateTablesWithSettingsAsync(new ClickHouseClient(http, new ClickHouseConnection(clickHouse.Url)), database, tableSettings);
                }
            }
            else
            {
                store = SqliteDatabase.Open(Path.Combine(directory, "errorhub.db"));
                // What a SQLite user runs: the dashboard with ingest, notifications and retention in one process.
                host = "dashboard/ErrorHub.Dashboard";
                environment["ErrorHub__Admin__Email"] = "load@example.com";
                environment["ErrorHub__Admin__Password"] = "load test password 1";
            }

            foreach (var (name, value) in extraEnvironment)
            {
                environment[name] = value;
            }

            var process = TestProcess.StartDotnet(
                "ingest",
                RepositoryPaths.BuiltAssembly(host),
                ["--urls", url.GetLeftPart(UriPartial.Authority)],
                environment);
            await process.WaitForHttpAsync(new Uri(url, "/readyz"), TimeSpan.FromSeconds(90));
            return new Target(process, url, clickHouse, database, directory, store, http);
        }

        /// <summary>
        /// <c>--table-setting TABLE:NAME=VALUE</c>: the schema's database and tables made before ingest starts, the named tables
        /// with MergeTree settings added to their DDL, so that ingest's schema step finds them made (<c>IF NOT EXISTS</c>) and
        /// adds the views: what a table setting would change, measured with the same build.
        /// </summary>
        private static async Task CreateTablesWithSettingsAsync(ClickHouseClient client, string database, IReadOnlyList<(string Table, string Setting)> settings)
        {
            var schema = new ClickHouseSchema(database);
            await client.ExecuteAsync(schema.CreateDatabase, CancellationToken.None);
            foreach (var statement in schema.Tables)
            {
                var ddl = statement;
                foreach (var (table, setting) in settings)
                {
                    if (!ddl.Contains($"EXISTS {schema.Table(table)}\n", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    ddl = ddl.Contains("SETTINGS ", StringComparison.Ordinal) ? ddl.TrimEnd() + ", " + setting : ddl.TrimEnd() + "\nSETTINGS " + setting;
                }

                await client.ExecuteAsync(ddl, CancellationToken.None);
            }
        }

        /// <summary>
        /// Waits (at most <paramref name="limit"/>) until ClickHouse merges no parts, so that one phase's
        /// background merges do not slow the next; returns the seconds waited (0 on SQLite).
        /// </summary>
        public async Task<double> WaitForMergesAsync(TimeSpan limit)
        {
            var waited = Stopwatch.StartNew();
            if (_clickHouse is null)
            {
                return 0;
            }

            var client = new ClickHouseClient(_clickHouseHttp!, new ClickHouseConnection(_clickHouse.Url));
            while (waited.Elapsed < limit)
            {
                var merges = await client.QueryAsync("SELECT count() AS n FROM system.merges", row => ClickHouseClient.ReadInt64(row.GetProperty("n")), CancellationToken.None);
                if (merges[0] == 0)
                {
                    break;
                }

                await Task.Delay(500);
            }

            return waited.Elapsed.TotalSeconds;
        }

        /// <summary>Every MergeTree table of the store's database merged into one part per partition (OPTIMIZE FINAL waits for it); what it took.</summary>
        public async Task<string> MergeEverythingAsync()
        {
            if (_clickHouse is null)
            {
                return "not on SQLite";
            }

            var clock = Stopwatch.StartNew();
            var client = new ClickHouseClient(_clickHouseHttp!, new ClickHouseConnection(_clickHouse.Url));
            var database = ClickHouseSql.Quote(_database!);
            async Task<long> ActivePartsAsync() => (await client.QueryAsync(
                $"SELECT count() AS n FROM system.parts WHERE database = {database} AND active",
                row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
                CancellationToken.None))[0];

            var partsBefore = await ActivePartsAsync();
            var tables = await client.QueryAsync(
                $"SELECT name FROM system.tables WHERE database = {database} AND engine LIKE '%MergeTree'",
                row => row.GetProperty("name").GetString()!,
                CancellationToken.None);
            foreach (var table in tables)
            {
                await client.ExecuteAsync($"OPTIMIZE TABLE {ClickHouseSql.QuoteIdentifier(_database!)}.{ClickHouseSql.QuoteIdentifier(table)} FINAL", CancellationToken.None);
            }

            var merging = await WaitForMergesAsync(TimeSpan.FromSeconds(60));
            var partsAfter = await ActivePartsAsync();
            return string.Create(CultureInfo.InvariantCulture,
                $"{clock.Elapsed.TotalSeconds:N1} s ({merging:N1} s of it waiting for merges); active parts {partsBefore:N0} → {partsAfter:N0}");
        }

        /// <summary>
        /// Where ClickHouse's work went between two times, per request answered: from its own logs (<c>system.query_log</c>: the
        /// statements ingest sent, the rows they read and wrote, their time and user CPU; <c>system.part_log</c>: the parts
        /// each table got and the merges). Empty on SQLite.
        /// </summary>
        public async Task<List<(string What, string Value)>> ClickHouseWorkAsync(
            DateTimeOffset from, DateTimeOffset to, long requests, string phase, long events, double clickHouseSeconds)
        {
            var lines = new List<(string, string)>();
            if (_clickHouse is null || requests == 0)
            {
                return lines;
            }

            var client = new ClickHouseClient(_clickHouseHttp!, new ClickHouseConnection(_clickHouse.Url));
            await client.ExecuteAsync("SYSTEM FLUSH LOGS", CancellationToken.None);
            var window = $"event_time >= toDateTime({from.ToUnixTimeSeconds()}) AND event_time <= toDateTime({to.ToUnixTimeSeconds() + 1})";
            var queries = await client.QueryAsync(
                $"""
                SELECT multiIf(http_user_agent = '{BenchmarkAgent}' AND query LIKE 'SELECT count() AS n FROM%', 'the benchmark: count of events rows',
                               http_user_agent = '{BenchmarkAgent}', 'the benchmark: the store''s reads (issue list, probes)',
                               query LIKE 'INSERT INTO%', 'INSERT',
                               query LIKE 'SELECT DISTINCT project_id, toString(event_id)%', 'duplicate look-up (issue_events)',
                               query LIKE 'SELECT DISTINCT project_id, fingerprint%', 'legacy look-up (issue_hourly)', 'other (ingest\'s other statements)') AS kind,
                       count() AS n, sum(written_rows) AS written, sum(read_rows) AS read, sum(query_duration_ms) AS ms,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]) AS user_us,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')]) AS system_us,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'OSIOWaitMicroseconds')]) AS io_wait_us,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'OSCPUWaitMicroseconds')]) AS cpu_wait_us,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'WriteBufferFromFileDescriptorWriteElapsedMicroseconds')]) AS write_us,
                       toInt64(quantileExact(0.5)(query_duration_ms)) AS p50, toInt64(quantileExact(0.99)(query_duration_ms)) AS p99,
                       toInt64(quantileExact(0.5)(written_rows)) AS rows50, sum(read_bytes) AS read_bytes, max(memory_usage) AS memory
                FROM system.query_log
                WHERE type = 2 AND {window} AND query NOT LIKE '%system.%' AND query NOT LIKE 'OPTIMIZE%' AND query NOT LIKE 'SYSTEM%'
                GROUP BY kind ORDER BY kind
                """,
                row => (Kind: row.GetProperty("kind").GetString()!, Count: ClickHouseClient.ReadInt64(row.GetProperty("n")),
                    Written: ClickHouseClient.ReadInt64(row.GetProperty("written")), Read: ClickHouseClient.ReadInt64(row.GetProperty("read")),
                    Milliseconds: ClickHouseClient.ReadInt64(row.GetProperty("ms")), UserMicroseconds: ClickHouseClient.ReadInt64(row.GetProperty("user_us")),
                    SystemMicroseconds: ClickHouseClient.ReadInt64(row.GetProperty("system_us")),
                    IoWaitMicroseconds: ClickHouseClient.ReadInt64(row.GetProperty("io_wait_us")), CpuWaitMicroseconds: ClickHouseClient.ReadInt64(row.GetProperty("cpu_wait_us")),
                    WriteMicroseconds: ClickHouseClient.ReadInt64(row.GetProperty("write_us")),
                    P50: ClickHouseClient.ReadInt64(row.GetProperty("p50")), P99: ClickHouseClient.ReadInt64(row.GetProperty("p99")),
                    Rows50: ClickHouseClient.ReadInt64(row.GetProperty("rows50")), ReadBytes: ClickHouseClient.ReadInt64(row.GetProperty("read_bytes")),
                    Memory: ClickHouseClient.ReadInt64(row.GetProperty("memory"))),
                CancellationToken.None);
            foreach (var q in queries)
            {
                lines.Add(($"ClickHouse {phase}, per request ({requests:N0}): {q.Kind}",
                    $"{(double)q.Count / requests:N2} statements, {(double)q.Written / requests:N0} rows written, {(double)q.Read / requests:N0} read, " +
                    $"{(double)q.Milliseconds / requests:N1} ms of statement time, {q.UserMicroseconds / 1000.0 / requests:N1} ms user CPU"));
                // The wall time of one statement, which a request's answer waits for: what a group commit's time goes to.
                lines.Add(($"ClickHouse {phase}, per statement: {q.Kind}",
                    $"duration p50 / p99 {q.P50:N0} / {q.P99:N0} ms, mean {(double)q.Milliseconds / Math.Max(q.Count, 1):N1} ms; rows written p50 {q.Rows50:N0}; " +
                    $"user CPU mean {q.UserMicroseconds / 1000.0 / Math.Max(q.Count, 1):N1} ms, system {q.SystemMicroseconds / 1000.0 / Math.Max(q.Count, 1):N1} ms; " +
                    $"waiting (its threads, from the kernel's task counters, 0 where unreadable) for I/O {q.IoWaitMicroseconds / 1000.0 / Math.Max(q.Count, 1):N1} ms, for a CPU {q.CpuWaitMicroseconds / 1000.0 / Math.Max(q.Count, 1):N1} ms, " +
                    $"in write() {q.WriteMicroseconds / 1000.0 / Math.Max(q.Count, 1):N1} ms; read {q.ReadBytes / 1024.0 / 1024 / Math.Max(q.Count, 1):N1} MB mean; memory at most {q.Memory / 1024.0 / 1024:N0} MB"));
            }

            if (events > 0 && clickHouseSeconds > 0)
            {
                // What ClickHouse's process spent, split by what it ran: each kind of statement's own threads (user + system CPU,
                // a view's insert inside its INSERT), and the rest, which no statement holds: merges, other background work, its logs.
                var inStatements = queries.Sum(q => q.UserMicroseconds + q.SystemMicroseconds);
                var split = string.Join(" + ", queries.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Kind} {(q.UserMicroseconds + q.SystemMicroseconds) / (double)events:N1}")));
                lines.Add(($"**ClickHouse CPU per event {phase} ({events:N0} events), µs: all = statements + outside any statement (merges, background)**",
                    string.Create(CultureInfo.InvariantCulture,
                        $"**{clickHouseSeconds * 1e6 / events:N1}** = {split} + **outside {(clickHouseSeconds * 1e6 - inStatements) / events:N1}**")));
            }

            var parts = await client.QueryAsync(
                $"""
                SELECT table, toString(event_type) AS kind, count() AS n, sum(rows) AS rows, sum(duration_ms) AS ms, sum(size_in_bytes) AS bytes
                FROM system.part_log
                WHERE database = {ClickHouseSql.Quote(_database!)} AND {window}
                GROUP BY table, kind ORDER BY table, kind
                """,
                row => (Table: row.GetProperty("table").GetString()!, Kind: row.GetProperty("kind").GetString()!, Count: ClickHouseClient.ReadInt64(row.GetProperty("n")),
                    Rows: ClickHouseClient.ReadInt64(row.GetProperty("rows")), Milliseconds: ClickHouseClient.ReadInt64(row.GetProperty("ms")), Bytes: ClickHouseClient.ReadInt64(row.GetProperty("bytes"))),
                CancellationToken.None);
            foreach (var p in parts)
            {
                lines.Add(($"ClickHouse {phase}, per request: {p.Table} {p.Kind}",
                    $"{(double)p.Count / requests:N2} parts, {(double)p.Rows / requests:N0} rows, {(double)p.Bytes / requests / 1024:N0} KB, {(double)p.Milliseconds / requests:N1} ms"));
            }

            return lines;
        }

        /// <summary>ClickHouse's own counters (<c>system.events</c>) now; empty on SQLite.</summary>
        public async Task<Dictionary<string, long>> ClickHouseCountersAsync()
        {
            if (_clickHouse is null)
            {
                return [];
            }

            var client = new ClickHouseClient(_clickHouseHttp!, new ClickHouseConnection(_clickHouse.Url));
            var rows = await client.QueryAsync(
                "SELECT event, value FROM system.events",
                row => (Name: row.GetProperty("event").GetString()!, Value: ClickHouseClient.ReadInt64(row.GetProperty("value"))),
                CancellationToken.None);
            return rows.ToDictionary(r => r.Name, r => r.Value);
        }

        /// <summary>
        /// A long phase's ClickHouse work over time, read from its logs: each kind of statement per slice of
        /// <paramref name="sliceSeconds"/> (statements, CPU and rows read per statement, CPU per row inserted in that slice: does
        /// the duplicate look-up cost more as the table grows?), each table's new parts and merges (rows a merge rewrote per row
        /// inserted), merges per slice, and the merges still running at the end.
        /// </summary>
        public async Task<List<(string What, string Value)>> ClickHouseOverTimeAsync(DateTimeOffset from, DateTimeOffset to, string phase, int sliceSeconds = 10)
        {
            var lines = new List<(string, string)>();
            if (_clickHouse is null)
            {
                return lines;
            }

            var client = new ClickHouseClient(_clickHouseHttp!, new ClickHouseConnection(_clickHouse.Url));
            await client.ExecuteAsync("SYSTEM FLUSH LOGS", CancellationToken.None);
            var start = from.ToUnixTimeSeconds();
            var window = $"event_time >= toDateTime({start}) AND event_time <= toDateTime({to.ToUnixTimeSeconds() + 1})";
            var slice = $"intDiv(toUInt32(event_time) - {start}, {sliceSeconds})";
            var statements = await client.QueryAsync(
                $"""
                SELECT {slice} AS slice,
                       multiIf(http_user_agent = '{BenchmarkAgent}', 'the benchmark', query LIKE 'INSERT INTO%', 'INSERT',
                               query LIKE 'SELECT DISTINCT project_id, toString(event_id)%', 'duplicate look-up',
                               query LIKE 'SELECT DISTINCT project_id, fingerprint%', 'legacy look-up', 'other') AS kind,
                       count() AS n, sum(written_rows) AS written, sum(read_rows) AS read,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')]) + sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')]) AS cpu_us,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')]) AS system_us,
                       sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SoftPageFaults')]) AS faults
                FROM system.query_log
                WHERE type = 2 AND {window} AND query NOT LIKE '%system.%' AND query NOT LIKE 'OPTIMIZE%' AND query NOT LIKE 'SYSTEM%'
                GROUP BY slice, kind ORDER BY slice, kind
                """,
                row => (Slice: ClickHouseClient.ReadInt64(row.GetProperty("slice")), Kind: row.GetProperty("kind").GetString()!, Count: ClickHouseClient.ReadInt64(row.GetProperty("n")),
                    Written: ClickHouseClient.ReadInt64(row.GetProperty("written")), Read: ClickHouseClient.ReadInt64(row.GetProperty("read")),
                    Cpu: ClickHouseClient.ReadInt64(row.GetProperty("cpu_us")), System: ClickHouseClient.ReadInt64(row.GetProperty("system_us")),
                    Faults: ClickHouseClient.ReadInt64(row.GetProperty("faults"))),
                CancellationToken.None);
            // Rows written by INSERTs count every table a view writes too: the events' own rows are the NewPart rows of `events`.
            var parts = await client.QueryAsync(
                $"""
                SELECT {slice} AS slice, table, toString(event_type) AS kind, count() AS n, sum(rows) AS rows, sum(size_in_bytes) AS bytes,
                       sum(bytes_uncompressed) AS raw, sum(duration_ms) AS ms, sum(length(merged_from)) AS sources
                FROM system.part_log
                WHERE database = {ClickHouseSql.Quote(_database!)} AND {window}
                GROUP BY slice, table, kind ORDER BY slice, table, kind
                """,
                row => (Slice: ClickHouseClient.ReadInt64(row.GetProperty("slice")), Table: row.GetProperty("table").GetString()!,
                    // NEW_PART and MERGE_PARTS on 18.16, NewPart and MergeParts on current servers.
                    Kind: row.GetProperty("kind").GetString()!.Replace("_", "", StringComparison.Ordinal).ToUpperInvariant() switch { "NEWPART" => "NewPart", "MERGEPARTS" => "MergeParts", var other => other },
                    Count: ClickHouseClient.ReadInt64(row.GetProperty("n")), Rows: ClickHouseClient.ReadInt64(row.GetProperty("rows")),
                    Bytes: ClickHouseClient.ReadInt64(row.GetProperty("bytes")), Raw: ClickHouseClient.ReadInt64(row.GetProperty("raw")),
                    Milliseconds: ClickHouseClient.ReadInt64(row.GetProperty("ms")), Sources: ClickHouseClient.ReadInt64(row.GetProperty("sources"))),
                CancellationToken.None);

            foreach (var group in statements.GroupBy(s => s.Slice).OrderBy(g => g.Key))
            {
                var inserted = parts.Where(p => p.Slice == group.Key && p.Table == "events" && p.Kind == "NewPart").Sum(p => p.Rows);
                var merged = parts.Where(p => p.Slice == group.Key && p.Kind == "MergeParts").ToList();
                lines.Add(($"ClickHouse {phase}, seconds {group.Key * sliceSeconds}-{(group.Key + 1) * sliceSeconds}: {inserted:N0} events rows inserted; per kind of statement: count, CPU (of it system) per statement, rows read per statement, **CPU per row inserted**",
                    string.Join("; ", group.Select(s => string.Create(CultureInfo.InvariantCulture,
                        $"{s.Kind}: {s.Count:N0}, {s.Cpu / 1000.0 / s.Count:N1} ({s.System / 1000.0 / s.Count:N1}) ms, {(double)s.Read / s.Count:N0} rows, **{(inserted > 0 ? s.Cpu / (double)inserted : 0):N1} µs**, {(inserted > 0 ? s.Faults / (double)inserted : 0):N2} page faults"))) +
                    string.Create(CultureInfo.InvariantCulture,
                        $"; merges finished: {merged.Sum(m => m.Count):N0}, {merged.Sum(m => m.Rows):N0} rows written, {merged.Sum(m => m.Milliseconds):N0} ms of merge time")));
            }

            var insertedRows = parts.Where(p => p.Table == "events" && p.Kind == "NewPart").Sum(p => p.Rows);
            foreach (var table in parts.GroupBy(p => p.Table).OrderBy(g => g.Key))
            {
                var created = table.Where(p => p.Kind == "NewPart").ToList();
                var merges = table.Where(p => p.Kind == "MergeParts").ToList();
                var createdRows = created.Sum(p => p.Rows);
                lines.Add(($"ClickHouse {phase}: {table.Key}: new parts (count, rows, compressed / uncompressed MB); merges (count, parts merged, rows written, compressed MB, merge time); **rows rewritten by merges per row inserted**; per events row inserted",
                    string.Create(CultureInfo.InvariantCulture,
                        $"{created.Sum(p => p.Count):N0} parts, {createdRows:N0} rows, {created.Sum(p => p.Bytes) / 1048576.0:N0} / {created.Sum(p => p.Raw) / 1048576.0:N0} MB; " +
                        $"{merges.Sum(p => p.Count):N0} merges of {merges.Sum(p => p.Sources):N0} parts, {merges.Sum(p => p.Rows):N0} rows, {merges.Sum(p => p.Bytes) / 1048576.0:N0} MB, {merges.Sum(p => p.Milliseconds):N0} ms; " +
                        $"**{(createdRows > 0 ? merges.Sum(p => p.Rows) / (double)createdRows : 0):N2}**; per events row: {(insertedRows > 0 ? created.Sum(p => p.Bytes) / (double)insertedRows : 0):N0} B written new, {(insertedRows > 0 ? merges.Sum(p => p.Bytes) / (double)insertedRows : 0):N0} B by merges, {(insertedRows > 0 ? merges.Sum(p => p.Milliseconds) * 1000.0 / insertedRows : 0):N1} µs of merge time")));
            }

            var running = await client.QueryAsync(
                $"""
                SELECT table, count() AS n, sum(num_parts) AS parts, max(elapsed) AS elapsed, sum(rows_read) AS rows_read, sum(total_size_bytes_compressed) AS bytes
                FROM system.merges WHERE database = {ClickHouseSql.Quote(_database!)} GROUP BY table ORDER BY table
                """,
                row => string.Create(CultureInfo.InvariantCulture,
                    $"{row.GetProperty("table").GetString()}: {ClickHouseClient.ReadInt64(row.GetProperty("n")):N0} merges of {ClickHouseClient.ReadInt64(row.GetProperty("parts")):N0} parts, {ClickHouseClient.ReadInt64(row.GetProperty("bytes")) / 1048576.0:N0} MB, {ClickHouseClient.ReadInt64(row.GetProperty("rows_read")):N0} rows read so far, the oldest {row.GetProperty("elapsed").GetDouble():N1} s"),
                CancellationToken.None);
            var active = await client.QueryAsync(
                $"SELECT table, count() AS n FROM system.parts WHERE database = {ClickHouseSql.Quote(_database!)} AND active GROUP BY table ORDER BY table",
                row => $"{row.GetProperty("table").GetString()} {ClickHouseClient.ReadInt64(row.GetProperty("n")):N0}",
                CancellationToken.None);
            lines.Add(($"ClickHouse {phase}: merges still running at the end; active parts per table", (running.Count == 0 ? "none" : string.Join("; ", running)) + "; active parts: " + string.Join(", ", active)));
            return lines;
        }

        /// <summary>Waits (bounded) until the stored count is the same three seconds in a row; returns the seconds waited.</summary>
        public async Task<double> WaitUntilSettledAsync(TimeSpan limit)
        {
            var waited = Stopwatch.StartNew();
            var last = -1L;
            var same = 0;
            while (waited.Elapsed < limit && same < 3)
            {
                var now = await StoredEventsAsync();
                same = now == last ? same + 1 : 0;
                last = now;
                await Task.Delay(1000);
            }

            return waited.Elapsed.TotalSeconds;
        }

        public async Task<bool> IsStoredAsync(Guid eventId) => await _store.Issues.GetEventAsync(1, eventId) is not null;

        public async Task<long> StoredEventsAsync()
        {
            var page = await _store.Issues.GetIssuesAsync(new IssueQuery(1) { Limit = 1000 });
            return page.Items.Sum(issue => issue.EventCount);
        }

        /// <summary>
        /// How long after now it takes until the store counts <paramref name="expected"/> events. The store's issue list merges
        /// every issue's aggregates, which costs ClickHouse CPU the drain it measures needs; unless <paramref name="pollStore"/>,
        /// a count of <c>events</c> rows is polled until it is reached, and the issue list is read only then, until it agrees
        /// (returned as the second value: the time from the count to the issue list).
        /// </summary>
        public async Task<(TimeSpan Visible, TimeSpan Confirmed)> WaitUntilStoredAsync(long expected, TimeSpan limit, bool pollStore)
        {
            var waited = Stopwatch.StartNew();
            if (!pollStore && _clickHouse is not null)
            {
                while (await CountEventRowsAsync() < expected && waited.Elapsed < limit)
                {
                    await Task.Delay(50);
                }
            }

            var counted = waited.Elapsed;
            while (await StoredEventsAsync() < expected && waited.Elapsed < limit)
            {
                await Task.Delay(50);
            }

            return (waited.Elapsed, waited.Elapsed - counted);
        }

        /// <summary>Rows of the ingest's project in <c>events</c>: one column of its sorting key read, no aggregate merged.</summary>
        private async Task<long> CountEventRowsAsync()
        {
            var client = new ClickHouseClient(_clickHouseHttp!, new ClickHouseConnection(_clickHouse!.Url));
            var rows = await client.QueryAsync(
                $"SELECT count() AS n FROM {ClickHouseSql.QuoteIdentifier(_database!)}.events WHERE project_id = 1",
                row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
                CancellationToken.None);
            return rows[0];
        }

        public long PeakResidentMegabytes() => IngestLoad.PeakResidentMegabytes(_process.Id);

        public int? ClickHouseProcessId => _clickHouse?.ProcessId;

        /// <summary>The time the server's, ClickHouse's and this generator's threads wait for a CPU, from now on.</summary>
        public SchedWatch StartSched() => _clickHouse?.ProcessId is { } clickHouse
            ? SchedWatch.Start(("server", _process.Id), ("ClickHouse", clickHouse), ("load generator", Environment.ProcessId))
            : SchedWatch.Start(("server", _process.Id), ("load generator", Environment.ProcessId));

        /// <summary>The CPU time of the server process (and of ClickHouse's, and of this generator) from now on.</summary>
        public CpuWatch StartCpu() => new(_process.Id, _clickHouse?.ProcessId);

        /// <summary>
        /// The most events per second the store takes straight, without HTTP or decoding, in a few ways; the
        /// best is the ceiling. ClickHouse: rows built before the clock starts, the driver's binary insert of
        /// 10,000 rows (gzip, as the store sends; uncompressed, which loopback allows; two inserts at once).
        /// SQLite: the store's own batch insert of 10,000 events.
        /// </summary>
        public async Task<Ceiling> RawInsertRateAsync(ErrorEvent template, TimeSpan duration)
        {
            var serial = 0;
            List<ErrorEvent> NextBatch()
            {
                var events = new List<ErrorEvent>(RawBatch);
                for (var i = 0; i < RawBatch; i++)
                {
                    events.Add(template with { EventId = Guid.NewGuid(), ProjectId = 2, Fingerprint = "raw" + (serial++ % 50) });
                }

                return events;
            }

            var variants = new List<(string, double)>();
            if (_clickHouse is null)
            {
                variants.Add(("store's batch insert, 10,000 per transaction", await RateAsync(duration, 1, async () =>
                {
                    var events = NextBatch();
                    var clock = Stopwatch.StartNew();
                    await _store.Events.InsertEventsAsync(events);
                    return clock.Elapsed;
                })));
                return new Ceiling(variants, serial);
            }

            var raw = new RawClickHouseInsert(_clickHouse.Url, _database!);
            var slice = duration / 3;
            variants.Add(("driver binary insert, gzip, 1 at a time", await RateAsync(slice, 1, () => raw.InsertAsync(NextBatch(), compress: true))));
            variants.Add(("driver binary insert, uncompressed, 1 at a time", await RateAsync(slice, 1, () => raw.InsertAsync(NextBatch(), compress: false))));
            variants.Add(("driver binary insert, uncompressed, 2 at a time", await RateAsync(slice, 2, () => raw.InsertAsync(NextBatch(), compress: false))));
            return new Ceiling(variants, serial);
        }

        /// <summary>
        /// The driver's binary insert of the ceiling's rows (<see cref="RawBatch"/> an insert, uncompressed, at most two at a time)
        /// started on a fixed schedule at <paramref name="rowsPerSecond"/> for <paramref name="duration"/>; an insert that finds both
        /// slots taken starts when one frees, so a ClickHouse that cannot keep up falls behind the schedule. Returns the rows, the
        /// time until the last insert ended, and the inserts.
        /// </summary>
        public async Task<(long Rows, TimeSpan Elapsed, long Inserts)> RawInsertSustainedAsync(ErrorEvent template, double rowsPerSecond, TimeSpan duration)
        {
            var raw = new RawClickHouseInsert(_clickHouse!.Url, _database!);
            var interval = TimeSpan.FromSeconds(RawBatch / rowsPerSecond);
            using var slots = new SemaphoreSlim(2);
            var inserts = new List<Task>();
            var serial = 0;
            var clock = Stopwatch.StartNew();
            for (var n = 0; clock.Elapsed < duration; n++)
            {
                var due = interval * n;
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                await slots.WaitAsync();
                var events = new List<ErrorEvent>(RawBatch);
                for (var i = 0; i < RawBatch; i++)
                {
                    events.Add(template with { EventId = Guid.NewGuid(), ProjectId = 2, Fingerprint = "raw" + (serial++ % 50) });
                }

                inserts.Add(Task.Run(async () =>
                {
                    try
                    {
                        await raw.InsertAsync(events, compress: false);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
            }

            await Task.WhenAll(inserts);
            return ((long)inserts.Count * RawBatch, clock.Elapsed, inserts.Count);
        }

        /// <summary>Events per second of inserts of <see cref="RawBatch"/> run by <paramref name="parallel"/> loops; only the inserts' own time counts.</summary>
        private static async Task<double> RateAsync(TimeSpan duration, int parallel, Func<Task<TimeSpan>> insert)
        {
            var inserted = 0L;
            var stop = Stopwatch.StartNew();
            var busy = TimeSpan.Zero;
            var gate = new Lock();
            await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
            {
                while (stop.Elapsed < duration)
                {
                    var took = await insert();
                    lock (gate)
                    {
                        busy += took;
                        inserted += RawBatch;
                    }
                }
            }));

            // Each loop's time spent inserting, not building rows: the rate the store alone gives.
            return inserted / (busy.TotalSeconds / parallel);
        }

        public async ValueTask DisposeAsync()
        {
            await _process.DisposeAsync();
            _store.Dispose();
            _clickHouseHttp?.Dispose();
            if (_clickHouse is not null)
            {
                await _clickHouse.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
