using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// Issue 6's benchmarks 2 and 4 in the issue's own form: wrk over loopback against the same minimal ASP.NET Core app
/// (<see cref="SdkStorm.RunAppAsync"/>, a child process pinned to CPU 1 with <c>taskset</c>, as in the issue's run),
/// wrk and the storm's sink (<see cref="StormSink"/>, a process of its own that gunzips, decodes and counts events)
/// pinned to CPU 0. Besides wrk's rates and latencies, the app's CPU time per request (user + system, from
/// <c>/proc</c>) and its allocated bytes per request (<c>GC.GetTotalAllocatedBytes</c>, read through the app's
/// <c>/probe</c>): CPU per request moves less than a rate when other processes share the machine, and the bytes not
/// at all. Only 127.0.0.1 is contacted; every phase is bounded in time. Needs <c>wrk</c> (Debian package); the test
/// suite never does.
/// </summary>
internal static class WrkBenchmarks
{
    private static string Load => $"load average {File.ReadAllText("/proc/loadavg").Trim()}";

    /// <summary>
    /// <c>wrk-plain [seconds] [rounds] [apps] [levels]</c>: benchmark 2. The apps (default <c>bare,handler,errorhub</c>;
    /// see <see cref="SdkStorm.RunAppAsync"/> for the modes, <c>errorhub</c> sends to the live sink) are started
    /// side by side and warmed up; each round then runs wrk on <c>/ok</c> against each in turn, the order rotating every
    /// round, so that whatever else the machine does falls on all alike. Prints each run, then the ratio of each app's
    /// rate to the first app's, per round: median, quartiles and range, and the same for CPU per request.
    /// </summary>
    public static async Task RunPlainAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
        string[] modes = args.Length > 2 ? args[2].Split(',') : ["bare", "handler", "errorhub"];
        var levels = args.Length > 3 && args[3] == "template" ? "template" : "none";
        Console.WriteLine($"// wrk-plain: GET /ok, {seconds} s per app and round, {rounds} rounds, apps {string.Join(", ", modes)}, log levels {levels}; app on CPU 1, wrk -t1 -c16 and the sink on CPU 0; {Load}");
        await using var sink = await StormSink.StartProcessAsync(cpu: 0);
        var apps = new List<SdkStorm.App>();
        try
        {
            foreach (var mode in modes)
            {
                apps.Add(await SdkStorm.App.StartAsync(mode, mode.StartsWith("errorhub", StringComparison.Ordinal) ? sink.Dsn : null, levels));
            }

            foreach (var app in apps)
            {
                await Wrk.RunAsync(app.Url + "ok", 3); // warm-up: the JIT's tiers settle
            }

            var activity = new List<bool>();
            foreach (var app in apps)
            {
                activity.Add((await app.ProbeAsync()).Activity);
            }

            var runs = modes.Select(_ => new List<PlainRun>()).ToArray();
            Console.WriteLine();
            Console.WriteLine("| round | app | req/s | app CPU per request | app cores busy | allocated per request | latency p50 / p99 |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
            for (var round = 0; round < rounds; round++)
            {
                for (var turn = 0; turn < apps.Count; turn++)
                {
                    var i = (round + turn) % apps.Count;
                    var run = await MeasurePlainAsync(apps[i], seconds);
                    runs[i].Add(run);
                    Console.WriteLine(FormattableString.Invariant(
                        $"| {round + 1} | {modes[i]} | {run.Wrk.RequestsPerSecond:N0} | {run.CpuMicroseconds:F1} µs | {run.Cores:F2} | {run.Bytes:N0} B | {run.Wrk.P50Microseconds:N0} / {run.Wrk.P99Microseconds:N0} µs |{(run.Wrk.SocketErrors.Length > 0 ? " socket errors: " + run.Wrk.SocketErrors : "")}"));
                }
            }

            Console.WriteLine();
            Console.WriteLine($"| app | hosting's Activity | req/s, median | rate ratio to {modes[0]}: median (quartiles; range) | CPU ratio {modes[0]}/app: median (quartiles; range) | allocated per request, median |");
            Console.WriteLine("|---|---|---:|---|---|---:|");
            for (var i = 0; i < modes.Length; i++)
            {
                var rates = runs[i].Select((r, round) => r.Wrk.RequestsPerSecond / runs[0][round].Wrk.RequestsPerSecond).ToList();
                var cpus = runs[i].Select((r, round) => runs[0][round].CpuMicroseconds / r.CpuMicroseconds).ToList();
                Console.WriteLine(FormattableString.Invariant(
                    $"| {modes[i]} | {(activity[i] ? "yes" : "no")} | {Median(runs[i].Select(r => r.Wrk.RequestsPerSecond)):N0} | {Spread(rates)} | {Spread(cpus)} | {Median(runs[i].Select(r => r.Bytes)):N0} B |"));
            }

            Console.WriteLine($"// the sink got {await sink.StatsAsync()}; {Load}");
        }
        finally
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }
        }
    }

    private static async Task<PlainRun> MeasurePlainAsync(SdkStorm.App app, int seconds)
    {
        var before = await app.ProbeAsync();
        var cpuBefore = CpuWatch.Seconds(app.Pid);
        var wrk = await Wrk.RunAsync(app.Url + "ok", seconds);
        var cpu = CpuWatch.Seconds(app.Pid) - cpuBefore;
        var after = await app.ProbeAsync();
        var requests = Math.Max(1, wrk.Requests);
        return new PlainRun(wrk, cpu * 1e6 / requests, cpu / seconds, (double)(after.Allocated - before.Allocated) / requests);
    }

    private sealed record PlainRun(WrkResult Wrk, double CpuMicroseconds, double Cores, double Bytes);

    /// <summary>
    /// <c>wrk-storm [seconds] [rounds] [levels] [warm-up seconds] [late seconds] [phases]</c>: benchmark 4. Each round, three apps one after the other (the order
    /// rotating every round): (i) <c>UseExceptionHandler</c> alone, (ii) the same with ErrorHub sending to the live sink,
    /// (iii) with ErrorHub sending to a closed port. Each is warmed up, then every request throws (<c>/throw</c>, 20 frames
    /// deep, answered 500 by the handler) for the given seconds: the app's CPU and bytes per throwing request. Then the
    /// same seconds again with a second wrk on <c>/ok</c> beside the storm: what requests that do not throw get while it
    /// lasts. Then the SDK is stopped (at most its ShutdownTimeout, 2 s) and what the app threw is compared with what the
    /// sink counted and what the SDK counted as dropped; and the app's peak resident memory. With late seconds, each app
    /// first serves <c>/ok</c> alone that long (its framework code optimized by the runtime before the storm begins).
    /// </summary>
    public static async Task RunStormAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        var levels = args.Length > 2 && args[2] == "template" ? "template" : "none";
        var warmUp = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;
        // A late storm: the app first serves /ok alone for these seconds, as a real app runs before its first storm.
        var late = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 0;
        Console.WriteLine($"// wrk-storm: {(late > 0 ? $"{late} s of /ok alone first (a late storm), then " : "")}{warmUp} s of warm-up, {seconds} s of GET /throw per app, then {seconds} s of /throw and /ok together; {rounds} rounds; log levels {levels}; app on CPU 1, wrk -t1 -c16 (each) and the sink on CPU 0; {Load}");
        await using var sink = await StormSink.StartProcessAsync(cpu: 0);
        var dead = SdkStorm.FreePort();
        (string Label, string Mode, string? Dsn)[] phases =
        [
            ("(i) UseExceptionHandler alone", "handler", null),
            ("(ii) + ErrorHub, live sink", "errorhub", sink.Dsn),
            ("(iii) + ErrorHub, dead ingest", "errorhub", $"http://{StormSink.Key}@127.0.0.1:{dead}/1"),
            // Another build of the SDK in the same run, against the same (i) (docs/benchmarks.md, section 86).
            ("(iv) + ErrorHub (alt build), live sink", "errorhub@alt", sink.Dsn),
            ("(v) + ErrorHub (alt build), dead ingest", "errorhub@alt", $"http://{StormSink.Key}@127.0.0.1:{dead}/1"),
            ("(vi) + ErrorHub (alt2 build), live sink", "errorhub@alt2", sink.Dsn),
        ];
        // Which of them run: the first three, and the alt build's when ERRORHUB_STORM_ALT names one; or a list such as
        // "i,ii,iv" (sixth argument). (i) stays first: it is the baseline of every difference.
        var picked = args.Length > 5
            ? args[5].Split(',')
            : Environment.GetEnvironmentVariable("ERRORHUB_STORM_ALT") is null ? ["i", "ii", "iii"] : ["i", "ii", "iii", "iv", "v"];
        phases = [.. phases.Where(p => picked.Contains(p.Label[1..p.Label.IndexOf(')', StringComparison.Ordinal)], StringComparer.Ordinal))];
        var runs = phases.Select(_ => new List<StormRun>()).ToArray();
        Console.WriteLine();
        // "beside": the phase where /throw and /ok run together, each wrk with its own 16 connections: the /throw rate
        // and the app's CPU (cores) in it, so that what /ok got can be set against what the throwing requests took.
        Console.WriteLine("| round | app | throwing req/s | app CPU per throwing request | allocated per throwing request | during the storm: /ok req/s, p50 / p99 | beside it: /throw req/s, app's cores | peak RSS | thrown = delivered + counted as dropped | load |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---|---|");
        for (var round = 0; round < rounds; round++)
        {
            for (var turn = 0; turn < phases.Length; turn++)
            {
                var i = (round + turn) % phases.Length;
                var (label, mode, dsn) = phases[i];
                await sink.ResetAsync(); // the warm-up's exceptions are counted as thrown, so what the sink got of them counts too
                var run = await MeasureStormAsync(mode, dsn, levels, seconds, warmUp, sink, late);
                runs[i].Add(run);
                var accounting = mode == "handler"
                    ? "—"
                    : $"{run.Thrown:N0} = {run.Delivered:N0} + {run.Dropped.Values.Sum():N0}{(run.Dropped.Values.Sum() > 0 ? $" ({string.Join(", ", run.Dropped.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value:N0}"))})" : "")}{(run.Accounted ? "" : " **MISMATCH**")}";
                Console.WriteLine(FormattableString.Invariant(
                    $"| {round + 1} | {label} | {run.Storm.RequestsPerSecond:N0} | {run.CpuMicroseconds:F1} µs | {run.Bytes:N0} B | {run.Ok.RequestsPerSecond:N0}, {run.Ok.P50Microseconds:N0} / {run.Ok.P99Microseconds:N0} µs | {run.ThrowBeside.RequestsPerSecond:N0}, {run.CoresBeside:F2} | {run.PeakMegabytes:N0} MB | {accounting} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| app | CPU per throwing request, median | above (i) in the same round: median (range) | allocated above (i) | /ok req/s during the storm, median (ratio to (i)) | /ok p99, median | peak RSS above (i), max | every exception accounted for |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---|");
        for (var i = 0; i < phases.Length; i++)
        {
            var above = runs[i].Select((r, round) => r.CpuMicroseconds - runs[0][round].CpuMicroseconds).ToList();
            var okRate = Median(runs[i].Select(r => r.Ok.RequestsPerSecond));
            Console.WriteLine(FormattableString.Invariant(
                $"| {phases[i].Label} | {Median(runs[i].Select(r => r.CpuMicroseconds)):F1} µs | {(i == 0 ? "—" : $"{Median(above):+0.0;-0.0} µs ({above.Min():+0.0;-0.0} to {above.Max():+0.0;-0.0})")} | {(i == 0 ? "—" : $"{Median(runs[i].Select((r, round) => r.Bytes - runs[0][round].Bytes)):+#,0;-#,0} B")} | {okRate:N0} ({okRate / Median(runs[0].Select(r => r.Ok.RequestsPerSecond)):F2}) | {Median(runs[i].Select(r => r.Ok.P99Microseconds)):N0} µs | {(i == 0 ? $"({runs[0].Max(r => r.PeakMegabytes):N0} MB)" : $"{runs[i].Select((r, round) => r.PeakMegabytes - runs[0][round].PeakMegabytes).Max():+0;-0} MB")} | {(i == 0 ? "—" : runs[i].All(r => r.Accounted) ? "yes, every run" : "**no**")} |"));
        }

        // The saturated form's bound (docs/benchmarks.md, section 84): /ok is served at the storm's rate, so its ratio is the
        // CPU of a throwing and a plain request together, the handler-only app's over ErrorHub's. With the handler's t µs
        // per throwing request and o µs per /ok (beside the storm: the phase's CPU less its throws at t), an SDK within the
        // issue's budget of +25 µs per exception still reads (t + o) / (t + 25 + o).
        var t = Median(runs[0].Select(r => r.CpuMicroseconds));
        var o = Median(runs[0].Select(r => ((r.CoresBeside * seconds * 1e6) - (r.ThrowBeside.Requests * r.CpuMicroseconds)) / Math.Max(1, r.Ok.Requests)));
        var live = Median(runs[1].Select((r, round) => r.CpuMicroseconds - runs[0][round].CpuMicroseconds));
        Console.WriteLine(FormattableString.Invariant(
            $"// saturated form's bound: (i) {t:F1} µs per throwing request and {o:F1} µs per /ok beside the storm: +25 µs per exception caps /ok's ratio at {(t + o) / (t + 25 + o):F2}; (ii)'s measured {live:+0.0;-0.0} µs predicts {(t + o) / (t + live + o):F2}; reaching 0.97 takes ≤ {0.03 * (t + o) / 0.97:F1} µs per exception"));
        Console.WriteLine($"// {Load}");
    }

    /// <summary>
    /// <c>wrk-storm-ok [seconds] [rounds] [apps] [pool]</c>: where <c>/ok</c> loses during a storm (docs/benchmarks.md,
    /// section "storm13"). <c>wrk-storm</c>'s last phase (<c>/throw</c> and <c>/ok</c> together, each from its own
    /// <c>wrk -t1 -c16</c> on CPU 0, the app on CPU 1) for each app in turn, the order rotating every round, with what
    /// shares the two cores meanwhile: the app's cores and its CPU by thread name, each CPU's busy share, the sink's CPU,
    /// and with <c>pool</c> the app's thread-pool queue (<see cref="PoolSampler"/>). Apps (default all four):
    /// <c>handler</c> (UseExceptionHandler alone), <c>errorhub</c> (live sink, which gunzips and decodes on CPU 0),
    /// <c>errorhub-light</c> (a live sink that only reads the bytes: the same app, less CPU on CPU 0),
    /// <c>errorhub-dead</c> (a closed port). Each app is warmed up as in <c>wrk-storm</c> and stormed alone for the given
    /// seconds first (its CPU per throwing request).
    /// </summary>
    public static async Task RunStormOkAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        string[] kinds = args.Length > 2 ? args[2].Split(',') : ["handler", "errorhub", "errorhub-light", "errorhub-dead"];
        var pool = args.Length > 3 && args[3] == "pool";
        Console.WriteLine($"// wrk-storm-ok: apps {string.Join(", ", kinds)}; 2 s of warm-up, {seconds} s of /throw alone, then {seconds} s of /throw and /ok together; {rounds} rounds; pool sampler {(pool ? "on" : "off")}; app on CPU 1, wrk -t1 -c16 (each) and the sinks on CPU 0; {Load}");
        await using var sink = await StormSink.StartProcessAsync(cpu: 0);
        await using var light = await StormSink.StartProcessAsync(cpu: 0, light: true);
        var dead = SdkStorm.FreePort();
        Console.WriteLine();
        Console.WriteLine("| round | app | alone: throwing req/s, CPU per throwing request | together: /ok req/s, p50 / p99 | /throw req/s, p50 / p99 | app cores | app CPU per request (either kind) | CPU 0 busy (sink's) | CPU 1 busy | app's CPU by thread (cores) | pool: queued mean (max), completed/s, threads | load |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|");
        for (var round = 0; round < rounds; round++)
        {
            for (var turn = 0; turn < kinds.Length; turn++)
            {
                var kind = kinds[(round + turn) % kinds.Length];
                var (mode, dsn, sinkPid) = kind switch
                {
                    "handler" => ("handler", (string?)null, (int?)null),
                    "errorhub" => ("errorhub", sink.Dsn, sink.Pid),
                    "errorhub-light" => ("errorhub", light.Dsn, light.Pid),
                    "errorhub-dead" => ("errorhub", $"http://{StormSink.Key}@127.0.0.1:{dead}/1", null),
                    _ => throw new ArgumentException($"unknown app {kind}"),
                };
                await using var app = await SdkStorm.App.StartAsync(pool ? mode + "+pool" : mode, dsn, "none");
                await Wrk.RunAsync(app.Url + "throw", 2);
                await Wrk.RunAsync(app.Url + "ok", 1);
                var cpuBefore = CpuWatch.Seconds(app.Pid);
                var storm = await Wrk.RunAsync(app.Url + "throw", seconds);
                var cpuAlone = (CpuWatch.Seconds(app.Pid) - cpuBefore) * 1e6 / Math.Max(1, storm.Requests);

                if (pool)
                {
                    await PostAsync(app.Url + "pool/reset");
                }

                var threads = ThreadCpu.Start(app.Pid);
                var appBefore = CpuWatch.Seconds(app.Pid);
                var sinkBefore = sinkPid is { } s0 ? CpuWatch.Seconds(s0) : 0;
                var (cpu0Before, cpu1Before) = (CpuBusySeconds(0), CpuBusySeconds(1));
                var wall = System.Diagnostics.Stopwatch.StartNew();
                var both = await Task.WhenAll(Wrk.RunAsync(app.Url + "throw", seconds), Wrk.RunAsync(app.Url + "ok", seconds));
                var elapsed = wall.Elapsed.TotalSeconds;
                var appCores = (CpuWatch.Seconds(app.Pid) - appBefore) / elapsed;
                var sinkCores = sinkPid is { } s1 ? (CpuWatch.Seconds(s1) - sinkBefore) / elapsed : 0;
                var (cpu0, cpu1) = ((CpuBusySeconds(0) - cpu0Before) / elapsed, (CpuBusySeconds(1) - cpu1Before) / elapsed);
                var byThread = string.Join(", ", threads.Stop().Where(t => t.UserSeconds + t.SystemSeconds >= 0.05 * elapsed)
                    .Select(t => FormattableString.Invariant($"{t.Name} ×{t.Threads} {(t.UserSeconds + t.SystemSeconds) / elapsed:F2}")));
                var poolText = "—";
                if (pool)
                {
                    var report = await GetJsonAsync<PoolReport>(app.Url + "pool");
                    poolText = FormattableString.Invariant($"{report.PendingMean:F1} ({report.PendingMax}), {report.CompletedPerSecond:N0}, {report.ThreadsMean:F1}; {report.PendingShares}");
                }

                var served = both[0].Requests + both[1].Requests;
                Console.WriteLine(FormattableString.Invariant(
                    $"| {round + 1} | {kind} | {storm.RequestsPerSecond:N0}, {cpuAlone:F1} µs | {both[1].RequestsPerSecond:N0}, {both[1].P50Microseconds:N0} / {both[1].P99Microseconds:N0} µs | {both[0].RequestsPerSecond:N0}, {both[0].P50Microseconds:N0} / {both[0].P99Microseconds:N0} µs | {appCores:F2} | {appCores * elapsed * 1e6 / Math.Max(1, served):F1} µs | {cpu0:F2} ({sinkCores:F2}) | {cpu1:F2} | {byThread} | {poolText} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |"));
                await app.FinishAsync();
            }
        }

        Console.WriteLine($"// {Load}");
    }

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task PostAsync(string url) => (await Http.PostAsync(url, null)).EnsureSuccessStatusCode();

    private static async Task<T> GetJsonAsync<T>(string url) =>
        System.Text.Json.JsonSerializer.Deserialize<T>(await Http.GetStringAsync(url), System.Text.Json.JsonSerializerOptions.Web)!;

    /// <summary>CPU seconds one CPU spent busy so far (its <c>/proc/stat</c> line: everything but idle and I/O wait).</summary>
    private static double CpuBusySeconds(int cpu)
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith($"cpu{cpu} ", StringComparison.Ordinal));
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        return (fields.Take(8).Sum() - fields[3] - fields[4]) / 100.0;
    }

    private static async Task<StormRun> MeasureStormAsync(string mode, string? dsn, string levels, int seconds, int warmUp, StormSink.Child sink, int late)
    {
        await using var app = await SdkStorm.App.StartAsync(mode, dsn, levels);
        if (late > 0)
        {
            await Wrk.RunAsync(app.Url + "ok", late);
        }

        // Warm-up. With the app's one core saturated by the storm, the JIT's tiering takes far longer than 2 s (25-30 s
        // at load 12: docs/benchmarks.md, section "storm3"): a longer warm-up measures the storm once the code is optimized.
        await Wrk.RunAsync(app.Url + "throw", warmUp);
        await Wrk.RunAsync(app.Url + "ok", 1);

        var before = await app.ProbeAsync();
        var cpuBefore = CpuWatch.Seconds(app.Pid);
        var storm = await Wrk.RunAsync(app.Url + "throw", seconds);
        var cpu = CpuWatch.Seconds(app.Pid) - cpuBefore;
        var after = await app.ProbeAsync();

        var cpuBeforeBoth = CpuWatch.Seconds(app.Pid);
        var both = await Task.WhenAll(Wrk.RunAsync(app.Url + "throw", seconds), Wrk.RunAsync(app.Url + "ok", seconds));
        var cpuBoth = CpuWatch.Seconds(app.Pid) - cpuBeforeBoth;
        var stats = await app.FinishAsync();
        var delivered = (await sink.StatsAsync()).Events;
        var requests = Math.Max(1, storm.Requests);
        return new StormRun(storm, cpu * 1e6 / requests, (double)(after.Allocated - before.Allocated) / requests, both[1], stats.PeakMegabytes,
            stats.Thrown, delivered, stats.Dropped, both[0], cpuBoth / seconds);
    }

    private sealed record StormRun(
        WrkResult Storm, double CpuMicroseconds, double Bytes, WrkResult Ok, double PeakMegabytes, long Thrown, long Delivered, Dictionary<string, long> Dropped,
        WrkResult ThrowBeside, double CoresBeside)
    {
        public bool Accounted => Thrown == Delivered + Dropped.Values.Sum();
    }

    private static double Median(IEnumerable<double> values) => RequestCostBenchmarks.Quantile(values.ToList(), 0.5);

    private static string Spread(List<double> ratios) => FormattableString.Invariant(
        $"{Median(ratios):F3} ({RequestCostBenchmarks.Quantile(ratios, 0.25):F3}-{RequestCostBenchmarks.Quantile(ratios, 0.75):F3}; {ratios.Min():F3}-{ratios.Max():F3})");
}
