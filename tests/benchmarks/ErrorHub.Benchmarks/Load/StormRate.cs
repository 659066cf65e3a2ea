using System.Diagnostics;
using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// <c>wrk-storm-rate [seconds] [rounds] [throw rate|auto] [ok rate] [late seconds] [apps] [storm warm-up seconds]</c>: issue 6 benchmark 4's
/// "non-throwing requests not slowed" as a user means it (docs/benchmarks.md, section 84): the latency of requests that do
/// not throw while the app still has CPU to spare, not their throughput on a saturated core (<c>wrk-storm</c>, where
/// <c>/ok</c> is served at the storm's rate and its ratio is a ratio of CPU per request). The app on CPU 1 as in
/// <c>wrk-storm</c>; this process on CPU 0 (it starts itself again under <c>taskset</c>) drives it with
/// <see cref="PacedClient"/>: <c>/throw</c> at a fixed rate (default <c>auto</c>: half of what the handler-only app throws
/// a second on its core under wrk, measured first) and <c>/ok</c> at a fixed moderate rate beside it, each on a schedule
/// that does not wait for the app, latencies timed from each request's slot in the schedule. Each app first serves
/// <c>/ok</c> alone at its rate (for the late seconds when given, a late storm, else 2 s: its latency with no storm), then
/// both for the given seconds (with storm warm-up seconds, both that long first, unmeasured: a storm's steady state once
/// its own code is compiled). Apps (default <c>handler,errorhub,errorhub-dead,handler</c>; the first is the baseline of
/// every ratio, a second <c>handler</c> measures the run-to-run noise): <c>handler</c> (UseExceptionHandler alone),
/// <c>errorhub</c> (live sink, which gunzips and decodes on CPU 0), <c>errorhub-light</c> (a sink that only reads the
/// bytes), <c>errorhub-dead</c> (a closed port). The order rotates every round. Only 127.0.0.1 is contacted; every phase
/// is bounded in time.
/// </summary>
internal static class StormRate
{
    private const int OkConnections = 8;
    private const int ThrowConnections = 32;

    private static string Load => $"load average {File.ReadAllText("/proc/loadavg").Trim()}";

    public static async Task RunAsync(string[] args)
    {
        if (!File.ReadAllLines("/proc/self/status").Contains("Cpus_allowed_list:\t0"))
        {
            // The client's threads must all stay off the app's core: an affinity set from here would not reach the
            // threads the runtime has already started, so the tool starts itself again pinned, as wrk is.
            using var pinned = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", "dotnet", typeof(StormRate).Assembly.Location, "wrk-storm-rate", .. args]))!;
            await pinned.WaitForExitAsync();
            Environment.ExitCode = pinned.ExitCode;
            return;
        }

        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var throwRateArg = args.Length > 2 ? args[2] : "auto";
        var okRate = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 1000;
        var late = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 0;
        string[] kinds = args.Length > 5 ? args[5].Split(',') : ["handler", "errorhub", "errorhub-dead", "handler"];
        var stormWarmUp = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 0;
        Console.WriteLine($"// wrk-storm-rate: {(late > 0 ? $"{late} s of /ok alone first (a late storm)" : "2 s of /ok alone")}, then {(stormWarmUp > 0 ? $"{stormWarmUp} s of the storm unmeasured and " : "")}{seconds} s of /throw and /ok at fixed rates; {rounds} rounds; apps {string.Join(", ", kinds)}; app on CPU 1, the paced client ({ThrowConnections} + {OkConnections} connections) and the sinks on CPU 0; {Load}");

        await using var sink = await StormSink.StartProcessAsync(cpu: 0);
        await using var light = await StormSink.StartProcessAsync(cpu: 0, light: true);
        var dead = SdkStorm.FreePort();

        double throwRate;
        if (throwRateArg == "auto")
        {
            // Half of what the handler-only app throws a second on its core, saturated by wrk after a warm-up as long as the
            // measured phase's start (wrk-storm's 2 s of /throw, 1 s of /ok, and more, so that its tiers have settled).
            await using var calibration = await SdkStorm.App.StartAsync("handler", null, "none");
            await Wrk.RunAsync(calibration.Url + "throw", 8);
            var saturated = await Wrk.RunAsync(calibration.Url + "throw", 5);
            throwRate = Math.Round(saturated.RequestsPerSecond / 2 / 100) * 100;
            Console.WriteLine(FormattableString.Invariant($"// the handler-only app throws {saturated.RequestsPerSecond:N0} a second on its core under wrk -t1 -c16 (after 8 s of warm-up): /throw at {throwRate:N0} a second, /ok at {okRate:N0}; {Load}"));
        }
        else
        {
            throwRate = double.Parse(throwRateArg, CultureInfo.InvariantCulture);
            Console.WriteLine(FormattableString.Invariant($"// /throw at {throwRate:N0} a second, /ok at {okRate:N0}"));
        }

        var runs = kinds.Select(_ => new List<RateRun>()).ToArray();
        Console.WriteLine();
        Console.WriteLine("| round | app | /ok alone: p50 / p99, CPU per /ok | storm: /ok p50 / p99 / p99.9 (service p99) | /ok answered /s | /throw answered /s, p50 / p99 | app cores | app CPU per exception | app during the storm: GC pauses; JIT; lock contentions; pool threads | peak RSS | thrown = delivered + counted as dropped | CPU 0 busy (client's CPU per request; sink's cores) | pacer lag p99 / max, waited > 1 ms | load |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---|");
        for (var round = 0; round < rounds; round++)
        {
            for (var turn = 0; turn < kinds.Length; turn++)
            {
                var i = (round + turn) % kinds.Length;
                var kind = kinds[i];
                var alt = kind.Contains('@', StringComparison.Ordinal) ? kind[kind.IndexOf('@', StringComparison.Ordinal)..] : "";
                var (mode, dsn, child) = kind[..^alt.Length] switch
                {
                    "handler" => ("handler", (string?)null, (StormSink.Child?)null),
                    "errorhub" => ("errorhub", sink.Dsn, sink),
                    "errorhub-light" => ("errorhub", light.Dsn, light),
                    "errorhub-dead" => ("errorhub", $"http://{StormSink.Key}@127.0.0.1:{dead}/1", null),
                    _ => throw new ArgumentException($"unknown app {kind}"),
                };
                if (child is not null)
                {
                    await child.ResetAsync();
                }

                var run = await MeasureAsync(mode + alt, dsn, child, seconds, throwRate, okRate, late, stormWarmUp);
                runs[i].Add(run);
                var accounting = mode == "handler"
                    ? "—"
                    : $"{run.Thrown:N0} = {(child is null ? 0 : run.Delivered):N0} + {run.Dropped.Values.Sum():N0}{(run.Dropped.Values.Sum() > 0 ? $" ({string.Join(", ", run.Dropped.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value:N0}"))})" : "")}{(run.Accounted(child is not null) ? "" : kind.StartsWith("errorhub-light", StringComparison.Ordinal) ? " (the light sink counts no events)" : " **MISMATCH**")}";
                var (ok, storm) = (run.Storm[1], run.Storm[0]);
                Console.WriteLine(FormattableString.Invariant(
                    $"| {round + 1} | {kind} | {Us(run.Alone.Quantile(0.5))} / {Us(run.Alone.Quantile(0.99))}, {run.CpuPerOk:F1} µs | {Us(ok.Quantile(0.5))} / {Us(ok.Quantile(0.99))} / {Us(ok.Quantile(0.999))} ({Us(ok.ServiceP99)}) | {ok.Rate:N0}{Missing(ok)} | {storm.Rate:N0}{Missing(storm)}, {Us(storm.Quantile(0.5))} / {Us(storm.Quantile(0.99))} | {run.Cores:F2} | {run.CpuPerException:F1} µs | {run.Runtime} | {run.PeakMegabytes:N0} MB | {accounting} | {run.Cpu0:F2} ({run.ClientCpu:F1} µs; {run.SinkCores:F2}) | {Us(Math.Max(ok.PacerLagP99, storm.PacerLagP99))} / {Us(Math.Max(ok.PacerLagMax, storm.PacerLagMax))}, {ok.WaitedForConnection + storm.WaitedForConnection:N0} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| app | /ok p50 during the storm, median (ratio to {kinds[0]} in the same round: median, range) | /ok p99 (ratio) | /ok p99.9 (ratio) | /ok alone p50 / p99, median | CPU per exception above {kinds[0]}: median (range) | app cores, median | peak RSS above {kinds[0]}, max | every exception accounted for |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for (var i = 0; i < kinds.Length; i++)
        {
            string Column(double q)
            {
                var ratios = runs[i].Select((r, round) => r.Storm[1].Quantile(q) / runs[0][round].Storm[1].Quantile(q)).ToList();
                return FormattableString.Invariant($"{Us(Median(runs[i].Select(r => r.Storm[1].Quantile(q))))} ({Median(ratios):F2}, {ratios.Min():F2}-{ratios.Max():F2})");
            }

            var above = runs[i].Select((r, round) => r.CpuPerException - runs[0][round].CpuPerException).ToList();
            Console.WriteLine(FormattableString.Invariant(
                $"| {kinds[i]}{(i == 0 ? " (baseline)" : "")} | {Column(0.5)} | {Column(0.99)} | {Column(0.999)} | {Us(Median(runs[i].Select(r => r.Alone.Quantile(0.5))))} / {Us(Median(runs[i].Select(r => r.Alone.Quantile(0.99))))} | {(i == 0 ? $"({Median(runs[0].Select(r => r.CpuPerException)):F1} µs)" : $"{Median(above):+0.0;-0.0} µs ({above.Min():+0.0;-0.0} to {above.Max():+0.0;-0.0})")} | {Median(runs[i].Select(r => r.Cores)):F2} | {(i == 0 ? $"({runs[0].Max(r => r.PeakMegabytes):N0} MB)" : $"{runs[i].Select((r, round) => r.PeakMegabytes - runs[0][round].PeakMegabytes).Max():+0;-0;0} MB")} | {(kinds[i].Split('@')[0] is "handler" ? "—" : kinds[i].Split('@')[0] is "errorhub-light" ? "(not counted)" : runs[i].All(r => r.Accounted(kinds[i].Split('@')[0] == "errorhub")) ? "yes, every run" : "**no**")} |"));
        }

        Console.WriteLine($"// {Load}");
    }

    private static async Task<RateRun> MeasureAsync(string mode, string? dsn, StormSink.Child? sink, int seconds, double throwRate, double okRate, int late, int stormWarmUp)
    {
        await using var app = await SdkStorm.App.StartAsync(mode, dsn, "none");
        var port = new Uri(app.Url).Port;
        PacedStream okStream = new("/ok", okRate, OkConnections);
        var alone = Math.Max(late, 2);
        // /ok alone: the figures are its last seconds (at most the storm's length), what the app gives with no storm.
        if (alone > seconds)
        {
            await PacedClient.RunAsync(port, [okStream], alone - seconds);
        }

        var aloneSeconds = Math.Min(alone, seconds);
        var cpuAloneBefore = CpuWatch.Seconds(app.Pid);
        var aloneResult = (await PacedClient.RunAsync(port, [okStream], aloneSeconds))[0];
        var cpuPerOk = (CpuWatch.Seconds(app.Pid) - cpuAloneBefore) * 1e6 / Math.Max(1, aloneResult.Completed);

        PacedStream throwStream = new("/throw", throwRate, ThrowConnections);
        if (stormWarmUp > 0)
        {
            await PacedClient.RunAsync(port, [throwStream, okStream], stormWarmUp);
        }

        var probeBefore = await app.ProbeAsync();
        var cpuBefore = CpuWatch.Seconds(app.Pid);
        var cpu0Before = CpuBusySeconds(0);
        var clientBefore = ProcessCpu.Now();
        var sinkBefore = sink?.CpuSeconds ?? 0;
        var wall = Stopwatch.StartNew();
        var storm = await PacedClient.RunAsync(port, [throwStream, okStream], seconds);
        var elapsed = wall.Elapsed.TotalSeconds;
        var cpu = CpuWatch.Seconds(app.Pid) - cpuBefore;
        var cpu0 = (CpuBusySeconds(0) - cpu0Before) / elapsed;
        var client = (ProcessCpu.Now() - clientBefore).TotalMicroseconds / Math.Max(1, storm[0].Completed + storm[1].Completed);
        var sinkCores = ((sink?.CpuSeconds ?? 0) - sinkBefore) / elapsed;
        var probeAfter = await app.ProbeAsync();
        var runtime = FormattableString.Invariant(
            $"{probeAfter.GcPauseMilliseconds - probeBefore.GcPauseMilliseconds:N0} ms ({probeAfter.Gen1 - probeBefore.Gen1} gen1, {probeAfter.Gen2 - probeBefore.Gen2} gen2); {probeAfter.JitMilliseconds - probeBefore.JitMilliseconds:N0} ms, {probeAfter.JitMethods - probeBefore.JitMethods:N0} methods; {probeAfter.LockContentions - probeBefore.LockContentions:N0} lock contentions; pool threads {probeBefore.PoolThreads} → {probeAfter.PoolThreads}");
        var stats = await app.FinishAsync();
        var delivered = sink is null ? 0 : (await sink.StatsAsync()).Events;
        return new RateRun(aloneResult, cpuPerOk, storm, cpu / elapsed, cpu * 1e6 / Math.Max(1, storm[0].Completed), cpu0, client, sinkCores, runtime,
            stats.PeakMegabytes, stats.Thrown, delivered, stats.Dropped);
    }

    /// <summary>CPU seconds one CPU spent busy so far (its <c>/proc/stat</c> line: everything but idle and I/O wait).</summary>
    private static double CpuBusySeconds(int cpu)
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith($"cpu{cpu} ", StringComparison.Ordinal));
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        return (fields.Take(8).Sum() - fields[3] - fields[4]) / 100.0;
    }

    private static string Us(double microseconds) => double.IsPositiveInfinity(microseconds)
        ? "unanswered"
        : microseconds >= 10_000
            ? FormattableString.Invariant($"{microseconds / 1000:N0} ms")
            : microseconds >= 1_000 ? FormattableString.Invariant($"{microseconds / 1000:N1} ms") : FormattableString.Invariant($"{microseconds:N0} µs");

    private static string Missing(PacedResult result) =>
        (result.Scheduled > result.Completed ? FormattableString.Invariant($" ({result.Scheduled - result.Completed:N0} unanswered)") : "")
        + (result.Unexpected > 0 ? FormattableString.Invariant($" ({result.Unexpected:N0} unexpected status)") : "");

    private static double Median(IEnumerable<double> values) => RequestCostBenchmarks.Quantile(values.ToList(), 0.5);

    private sealed record RateRun(
        PacedResult Alone, double CpuPerOk, PacedResult[] Storm, double Cores, double CpuPerException, double Cpu0, double ClientCpu, double SinkCores, string Runtime, double PeakMegabytes,
        long Thrown, long Delivered, Dictionary<string, long> Dropped)
    {
        /// <summary>Thrown = delivered + dropped; for an app whose sink counts nothing (dead ingest), every exception must be a drop.</summary>
        public bool Accounted(bool counted) => Thrown == (counted ? Delivered : 0) + Dropped.Values.Sum();
    }
}
