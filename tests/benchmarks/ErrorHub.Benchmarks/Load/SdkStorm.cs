using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ErrorHub.Internal;
using ErrorHub.Transport;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// Issue 6, benchmarks 2 and 4, over loopback with wrk: the same small ASP.NET Core app (a child process, pinned to
/// one core) without ErrorHub and with it, in one run. Benchmark 2: requests that do not throw, bare app against the
/// app with <c>UseErrorHub()</c>. Benchmark 4, the exception storm: every request throws (20 frames deep) for the
/// given seconds, against the app's own <c>UseExceptionHandler</c> alone, then with ErrorHub sending to (a) a fast
/// sink on loopback that decodes and counts events, (b) a dead ingest (a closed port). For each: the app's CPU per
/// throwing request, its peak memory, the throughput of non-throwing requests during the storm, and the accounting
/// of every exception (delivered + counted as dropped = thrown, read after the SDK is stopped). Only 127.0.0.1 is
/// contacted; every phase is bounded in time.
/// Run: <c>dotnet run -c Release -- sdk-storm [seconds per phase] [template]</c>; needs <c>wrk</c> (Debian package).
/// </summary>
internal static partial class SdkStorm
{
    private const string Key = StormSink.Key;

    public static async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        // "template": every app gets the web template's log levels (Default Information, Microsoft.AspNetCore Warning);
        // without it, no levels at all: the harsh case, where only ErrorHub's own provider listens.
        var levels = args.Length > 1 && args[1] == "template" ? "template" : "none";
        await using var sink = await StormSink.StartAsync();
        var dead = FreePort();
        Console.WriteLine($"// sdk-storm: {seconds} s per phase, log levels: {levels}, app pinned to CPU 1, wrk on CPU 0, load before: {File.ReadAllText("/proc/loadavg").Trim()}");

        // Benchmark 2: requests that do not throw.
        var plain = new List<(string Mode, double Rps)>();
        // The ErrorHub app also has UseExceptionHandler, which the bare app lacks: the handler-only app tells the two apart.
        string[] apps = ["bare", "handler", "errorhub"];
        for (var round = 0; round < 2; round++)
        {
            foreach (var mode in apps)
            {
                await using var app = await App.StartAsync(mode, mode == "errorhub" ? sink.Dsn : null, levels);
                await Wrk(app.Url + "ok", 2); // warm-up (JIT)
                plain.Add((mode, (await Wrk(app.Url + "ok", seconds)).RequestsPerSecond));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| benchmark 2: requests that do not throw | bare app, req/s | UseExceptionHandler alone, req/s | with UseErrorHub(), req/s | ratio to bare | ratio to handler alone |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        for (var i = 0; i < plain.Count; i += apps.Length)
        {
            var (bare, handler, errorHub) = (plain[i].Rps, plain[i + 1].Rps, plain[i + 2].Rps);
            Console.WriteLine($"| round {i / apps.Length + 1} | {bare:N0} | {handler:N0} | {errorHub:N0} | {errorHub / bare:F2} | {errorHub / handler:F2} |");
        }

        // Benchmark 4: the storm.
        var rows = new List<string>();
        foreach (var (label, mode, dsn) in new[]
        {
            ("UseExceptionHandler alone", "handler", (string?)null),
            ("+ ErrorHub, fast sink", "errorhub", sink.Dsn),
            ("+ ErrorHub, dead ingest", "errorhub", $"http://{Key}@127.0.0.1:{dead}/1"),
        })
        {
            sink.Reset(); // the warm-up's exceptions are counted as thrown, so what the sink got of them counts too
            await using var app = await App.StartAsync(mode, dsn, levels);
            await Wrk(app.Url + "throw", 2);
            await Wrk(app.Url + "ok", 1);

            var cpuBefore = app.CpuTime();
            var storm = await Wrk(app.Url + "throw", seconds);
            var cpu = app.CpuTime() - cpuBefore;

            // Non-throwing requests while every other request throws.
            var both = await Task.WhenAll(Wrk(app.Url + "throw", seconds), Wrk(app.Url + "ok", seconds));
            var stats = await app.FinishAsync();
            var delivered = sink.Events;
            var dropped = stats.Dropped.Values.Sum();
            rows.Add(string.Join(" | ",
                label,
                $"{storm.Requests:N0}",
                $"{cpu.TotalMicroseconds / storm.Requests:N1} µs",
                $"{both[1].RequestsPerSecond:N0}",
                $"{stats.PeakMegabytes:N0} MB",
                mode == "handler" ? "—" : $"{stats.Thrown:N0} = {delivered:N0} + {dropped:N0} ({string.Join(", ", stats.Dropped.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value:N0}"))}){(stats.Thrown == delivered + dropped ? "" : " MISMATCH")}"));
        }

        Console.WriteLine();
        Console.WriteLine("| storm: every request throws | throwing requests | app CPU per throwing request | non-throwing req/s during the storm | peak memory (RSS) | thrown = delivered + counted as dropped |");
        Console.WriteLine("|---|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            Console.WriteLine("| " + row + " |");
        }

        Console.WriteLine($"// load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>
    /// <c>sdk-storm-sink [light]</c>: the storm's fast sink alone, for profiling an app by hand; prints its DSN, counts until
    /// stopped. <c>light</c>: it reads each batch's bytes and answers 202 without gunzipping or decoding them (it counts no
    /// events), to tell what the sink's own CPU takes from the core it shares with wrk.
    /// </summary>
    public static async Task RunSinkAsync(bool light = false)
    {
        await using var sink = await StormSink.StartAsync(light);
        Console.WriteLine(sink.Dsn);
        try
        {
            // The host's console lifetime takes SIGTERM and Ctrl+C over: its stopping token ends the loop, and the process.
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(5), sink.Stopping);
                Console.WriteLine($"// {sink.Events:N0} events");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// <c>sdk-warm-up-cost</c>: what the SDK's warm-up at start costs (the event path compiled optimized, one synthetic
    /// event encoded), measured in a fresh process on the calling thread: the JIT's own time and methods
    /// (<see cref="System.Runtime.JitInfo"/>), the thread's CPU and the process's resident memory before and after.
    /// Run it several times: each run is one process's first compile.
    /// </summary>
    public static void RunWarmUpCost()
    {
        // A client without a DSN has no sender, so no warm-up of its own: the one measured is the one run here.
        using var services = new ServiceCollection().AddLogging().AddErrorHub(o => o.Dsn = null).BuildServiceProvider();
        var client = services.GetRequiredService<ErrorHubClient>();
        var pool = ArrayPool<byte>.Create();
        var synthetic = client.WarmUpEvent();
        GC.Collect();

        var rss = Environment.WorkingSet;
        var jitTime = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        var methods = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
        var ilBytes = System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true);
        var cpu = ThreadCpu();
        var wall = Stopwatch.StartNew();
        EventPathWarmUp.Run(() => synthetic, pool);
        wall.Stop();
        Console.WriteLine(FormattableString.Invariant(
            $"warm-up encode: {wall.Elapsed.TotalMilliseconds:F1} ms wall, {(ThreadCpu() - cpu).TotalMilliseconds:F1} ms thread CPU, JIT {(System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitTime).TotalMilliseconds:F1} ms for {System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true) - methods} methods ({System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true) - ilBytes:N0} B of IL), RSS {(Environment.WorkingSet - rss) / 1024.0 / 1024.0:+0.0;-0.0} MB"));

        // The report path (storm5): its AggressiveOptimization methods compiled without running them, the core's and
        // ASP.NET Core's (the container made by AddErrorHub has the integration's request context when it is present).
        Type[] capturePath = [.. ErrorHubClient.CapturePathTypes, .. services.GetService<IRequestContext>()?.CapturePathTypes ?? []];
        GC.Collect();
        rss = Environment.WorkingSet;
        jitTime = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        methods = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
        ilBytes = System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true);
        cpu = ThreadCpu();
        wall.Restart();
        var prepared = EventPathWarmUp.PrepareCapturePath(capturePath, CancellationToken.None);
        wall.Stop();
        Console.WriteLine(FormattableString.Invariant(
            $"warm-up report path ({capturePath.Length} types, {prepared} methods prepared): {wall.Elapsed.TotalMilliseconds:F1} ms wall, {(ThreadCpu() - cpu).TotalMilliseconds:F1} ms thread CPU, JIT {(System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitTime).TotalMilliseconds:F1} ms for {System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true) - methods} methods ({System.Runtime.JitInfo.GetCompiledILBytes(currentThread: true) - ilBytes:N0} B of IL), RSS {(Environment.WorkingSet - rss) / 1024.0 / 1024.0:+0.0;-0.0} MB"));

        for (var i = 2; i <= 3; i++)
        {
            jitTime = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var again = Stopwatch.StartNew();
            EventPathWarmUp.Run(() => synthetic, pool);
            Console.WriteLine(FormattableString.Invariant(
                $"warm-up {i} (two encodes): {again.Elapsed.TotalMicroseconds:F1} µs, JIT {(System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitTime).TotalMicroseconds:F0} µs, {GC.GetAllocatedBytesForCurrentThread() - allocated:N0} B allocated"));
        }
    }

    private static TimeSpan ThreadCpu()
    {
        // The calling thread's user + system time (/proc/thread-self/stat, fields 14 and 15, in clock ticks).
        var fields = File.ReadAllText("/proc/thread-self/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return TimeSpan.FromSeconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0);
    }

    private static Task<WrkResult> Wrk(string url, int seconds) => Load.Wrk.RunAsync(url, seconds);

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The app under load, in a child process pinned to one CPU, so that its CPU time and memory are its own.</summary>
    internal sealed class App : IAsyncDisposable
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };
        private readonly Process _process;

        private App(Process process, string url)
        {
            _process = process;
            Url = url;
        }

        public string Url { get; }

        public int Pid => _process.Id;

        public static async Task<App> StartAsync(string mode, string? dsn, string levels, int cpu = 1)
        {
            var port = FreePort();
            var self = typeof(SdkStorm).Assembly.Location;
            // "<mode>@alt" ("@alt2"): the same app from another build of this tool (ERRORHUB_STORM_ALT, ERRORHUB_STORM_ALT2:
            // its output folder), so that builds of the SDK are measured in one run against the same baseline; an
            // identical copy as the other tells the pairing's own noise (docs/benchmarks.md, section 86).
            var at = mode.IndexOf('@', StringComparison.Ordinal);
            if (at >= 0)
            {
                var variable = "ERRORHUB_STORM_" + mode[(at + 1)..].ToUpperInvariant();
                var alt = Environment.GetEnvironmentVariable(variable)
                    ?? throw new ArgumentException($"the app {mode} needs {variable}, another output folder of this tool");
                self = Path.Combine(alt, Path.GetFileName(self));
                mode = mode[..at];
            }

            var process = Process.Start(new ProcessStartInfo(
                "taskset", ["-c", cpu.ToString(CultureInfo.InvariantCulture), "dotnet", self, "sdk-storm-app", mode, port.ToString(CultureInfo.InvariantCulture), dsn ?? "-", levels])
            {
                RedirectStandardOutput = true,
            })!;
            var app = new App(process, $"http://127.0.0.1:{port}/");
            for (var attempt = 0; attempt < 300; attempt++)
            {
                try
                {
                    (await Http.GetAsync(app.Url + "ok")).EnsureSuccessStatusCode();
                    return app;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(100);
                }
            }

            throw new InvalidOperationException($"the {mode} app did not start");
        }

        public TimeSpan CpuTime()
        {
            // utime and stime (fields 14 and 15 of /proc/<pid>/stat) of the dotnet process under taskset.
            var fields = File.ReadAllText($"/proc/{_process.Id}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }

        /// <summary>Whether the app's requests run inside hosting's Activity, and the bytes it allocated so far.</summary>
        public async Task<AppProbe> ProbeAsync() =>
            JsonSerializer.Deserialize<AppProbe>(await Http.GetStringAsync(Url + "probe"), JsonSerializerOptions.Web)!;

        public async Task<AppStats> FinishAsync()
        {
            var json = await Http.PostAsync(Url + "finish", null);
            return JsonSerializer.Deserialize<AppStats>(await json.Content.ReadAsStringAsync(), JsonSerializerOptions.Web)!;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }

    internal sealed record AppStats(long Thrown, Dictionary<string, long> Dropped, double PeakMegabytes);

    /// <summary>
    /// What the app reports of itself: hosting's Activity, bytes allocated so far, and (for <c>wrk-storm-rate</c>) the GC's
    /// pauses and collections, the JIT's time and methods, and lock contentions so far, all threads, and the thread pool's
    /// threads now (it adds threads when its work items wait behind blocked ones).
    /// </summary>
    internal sealed record AppProbe(
        bool Activity, long Allocated, double GcPauseMilliseconds = 0, int Gen1 = 0, int Gen2 = 0, double JitMilliseconds = 0, long JitMethods = 0,
        long LockContentions = 0, int PoolThreads = 0);

    /// <summary>
    /// The app: <c>/ok</c> answers, <c>/throw</c> throws 20 frames deep; UseExceptionHandler answers 500. Its mode is
    /// <c>bare</c> (not even UseExceptionHandler), <c>handler</c> (UseExceptionHandler) or <c>errorhub</c> (the same and
    /// AddErrorHub()/UseErrorHub()), with <c>+logger</c>: a logging provider of the app's own that keeps scopes and writes
    /// nothing, as the template's console provider would without its cost; with <c>+listener</c>: an
    /// <see cref="ActivityListener"/> on hosting's source, so that hosting makes its Activity without any logging; with
    /// <c>+no-middleware</c>: AddErrorHub() without UseErrorHub(), to tell what the services cost from what the middleware does;
    /// with <c>+off-kestrel</c> (<c>-aspnetcore</c>, <c>-routing</c>, <c>-diagnostics</c>) or <c>+kestrel-error</c>: ErrorHub's
    /// provider off, or from Error up only, for that category of ASP.NET Core's.
    /// </summary>
    public static async Task RunAppAsync(string[] args)
    {
        var (mode, port, dsn) = (args[0], args[1], args[2]);
        var kind = mode.Split('+')[0];
        // "+timers": which timers the app schedules and which wake the runtime's timer thread (docs/benchmarks.md,
        // section "storm12"); GET /timers reports since the last POST /timers/reset. Slows the app: counts, not CPU.
        using var timers = mode.Contains("+timers", StringComparison.Ordinal) ? new TimerCensus() : null;
        // "+pool": the thread pool's queue and work items (docs/benchmarks.md, section "storm13"); GET /pool reports since
        // the last POST /pool/reset.
        using var pool = mode.Contains("+pool", StringComparison.Ordinal) ? new PoolSampler() : null;
        // "+tiering": when tiered compilation holds back and resumes, and which methods are first called meanwhile
        // (docs/benchmarks.md, section "storm13"); GET /tiering reports since the start.
        using var tiering = mode.Contains("+tiering", StringComparison.Ordinal) ? new TieringLog() : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // no console logging in any mode: it would dominate what is measured
        if (args.Length > 3 && args[3] == "template")
        {
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }

        if (mode.Contains("+logger", StringComparison.Ordinal))
        {
            builder.Logging.AddProvider(new RequestCostBenchmarks.EnabledNullScopedLoggerProvider());
        }

        if (mode.Contains("+listener", StringComparison.Ordinal))
        {
            // What it would take to give hosting's Activity to an app without logging: a listener on hosting's source
            // that lets the Activity be made (and propagated) but records nothing.
            ActivitySource.AddActivityListener(new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            });
        }

        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        if (kind == "errorhub")
        {
            builder.Services.AddErrorHub(o =>
            {
                o.Dsn = dsn;
                o.ShutdownTimeout = TimeSpan.FromSeconds(2);
                o.SendTimeout = TimeSpan.FromSeconds(2);
            });
        }

        // ErrorHub's provider turned off (or to Error) for one of ASP.NET Core's categories, to find which component does
        // more per request once ErrorHub's provider listens to it (docs/benchmarks.md, section "wrk").
        foreach (var (flag, category) in new[]
        {
            ("+off-aspnetcore", "Microsoft.AspNetCore"), ("+off-kestrel", "Microsoft.AspNetCore.Server.Kestrel"),
            ("+off-routing", "Microsoft.AspNetCore.Routing"), ("+off-diagnostics", "Microsoft.AspNetCore.Diagnostics"),
        })
        {
            if (mode.Contains(flag, StringComparison.Ordinal))
            {
                builder.Logging.AddFilter<ErrorHub.Logging.ErrorHubLoggerProvider>(category, LogLevel.None);
            }
        }

        if (mode.Contains("+kestrel-error", StringComparison.Ordinal))
        {
            builder.Logging.AddFilter<ErrorHub.Logging.ErrorHubLoggerProvider>("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        }

        var app = builder.Build();
        long thrown = 0;
        if (kind != "bare")
        {
            app.UseExceptionHandler(handler => handler.Run(context =>
            {
                context.Response.StatusCode = 500;
                return context.Response.WriteAsync("error");
            }));
        }

        if (kind == "errorhub" && !mode.Contains("+no-middleware", StringComparison.Ordinal))
        {
            app.UseErrorHub();
        }

        app.MapGet("/ok", () => "ok");
        app.MapGet("/throw", () =>
        {
            Interlocked.Increment(ref thrown);
            return DeepThrow.Frames();
        });
        // Whether hosting started its Activity for this request (ErrorHub then keys the request by it, 0 B; without it an
        // AsyncLocal, 96 B), and what the process allocated so far.
        app.MapGet("/probe", () => new AppProbe(
            Activity.Current is not null, GC.GetTotalAllocatedBytes(precise: true), GC.GetTotalPauseDuration().TotalMilliseconds, GC.CollectionCount(1), GC.CollectionCount(2),
            System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds, System.Runtime.JitInfo.GetCompiledMethodCount(),
            Monitor.LockContentionCount, ThreadPool.ThreadCount));
        if (timers is not null)
        {
            app.MapGet("/timers", () => timers.Report());
            app.MapPost("/timers/reset", () => timers.Reset());
        }

        if (tiering is not null)
        {
            app.MapGet("/tiering", () => tiering.Report());
        }

        if (pool is not null)
        {
            app.MapGet("/pool", () => pool.Report());
            app.MapPost("/pool/reset", () => pool.Reset());
        }

        app.MapPost("/finish", async (HttpContext context) =>
        {
            var dropped = new Dictionary<string, long>();
            if (context.RequestServices.GetService<ErrorHubClient>() is { Sender: { } sender } client)
            {
                await client.DisposeAsync(); // waits ShutdownTimeout at most, then counts what is left as dropped
                foreach (var reason in Enum.GetValues<SdkDropReason>())
                {
                    dropped[SdkDrops.Name(reason)] = sender.Drops.Total(reason);
                }
            }

            using var self = Process.GetCurrentProcess();
            return Results.Json(new AppStats(Interlocked.Read(ref thrown), dropped, self.PeakWorkingSet64 / 1024.0 / 1024.0));
        });
        await app.RunAsync();
    }
}
