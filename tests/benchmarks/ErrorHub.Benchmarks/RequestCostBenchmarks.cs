using System.Globalization;
using BenchmarkDotNet.Attributes;
using ErrorHub.Benchmarks.Load;
using ErrorHub.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Benchmarks;

/// <summary>
/// What a whole request that does not throw costs an app with and without ErrorHub: the real hosting pipeline
/// (HostingApplication: its logging, log scope and Activity decisions; routing; the endpoint) driven in-process
/// through TestServer, so the time and the bytes are the app's alone and do not depend on a load generator. The
/// apps are those of <c>sdk-storm</c>: a bare app, the same with <c>UseExceptionHandler</c>, with ErrorHub as an app
/// adds it, and the variants that tell the costs apart.
/// </summary>
[MemoryDiagnoser]
public class RequestCostBenchmarks
{
    [Params(
        "handler",                    // UseExceptionHandler alone, no logging provider (the baseline)
        "handler+any-logger",         // the same plus a logging provider that is enabled for everything but does nothing
        "handler+scoped-logger",      // the same, the provider keeping log scopes as the console provider does
        "errorhub+scoped-logger",     // + AddErrorHub()/UseErrorHub() beside it: what ErrorHub adds to an app that logs
        "errorhub",                   // + AddErrorHub()/UseErrorHub(), default options
        "errorhub+crumbs-warning",    // + MinimumBreadcrumbLevel = Warning
        "errorhub+template-levels")]  // the template's Logging:LogLevel (Default Information, Microsoft.AspNetCore Warning)
    public string App { get; set; } = "handler";

    private WebApplication _app = null!;
    private TestServer _server = null!;

    [GlobalSetup]
    public void Setup()
    {
        _app = Build(App);
        _app.StartAsync().GetAwaiter().GetResult();
        _server = _app.GetTestServer();
    }

    [GlobalCleanup]
    public void Cleanup() => _app.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "GET /ok through the hosting pipeline")]
    public Task<HttpContext> Request() => _server.SendAsync(static context =>
    {
        context.Request.Method = "GET";
        context.Request.Path = "/ok";
    });

    /// <summary>
    /// <c>request-cost [requests] [apps] [rounds]</c>: the same apps, each driven with the given number of sequential
    /// requests after a warm-up, in rounds that alternate the apps; prints the process CPU time and the bytes allocated
    /// per request (<c>/ok</c>) and per throwing request (<c>/throw</c>, 20 frames deep), with the garbage collections
    /// the throwing requests caused. ErrorHub sends to a closed port, or, for the <c>+sink</c> apps, to the storm's fast
    /// sink running as a process of its own: its CPU is not the app's, and is printed apart. A <c>+sink</c> app's
    /// throwing phase ends with a flush, so every event it made is sent within the phase. CPU time, unlike throughput,
    /// is little moved by other processes on the machine; the allocations not at all.
    /// </summary>
    public static async Task RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        string[] modes = args.Length > 1 ? args[1].Split(',')
            : ["handler", "handler+any-logger", "errorhub", "errorhub+crumbs-warning", "errorhub+template-levels"];
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"// request-cost: {requests:N0} requests per app and round, load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        await using var sink = await StormSink.StartProcessAsync();
        var results = modes.ToDictionary(m => m, _ => (Ok: new List<Cost>(), Throw: new List<Cost>()));
        var sinkCpu = 0.0;
        var dropped = new Dictionary<string, long>(); // what the +sink apps' SDK gave up on (queue full, send failed), by reason
        for (var round = 0; round < rounds; round++)
        {
            foreach (var mode in modes)
            {
                var toSink = mode.Contains("+sink", StringComparison.Ordinal);
                await using var app = Build(mode, toSink ? sink.Dsn : null);
                await app.StartAsync();
                var server = app.GetTestServer();
                var client = toSink ? app.Services.GetRequiredService<ErrorHubClient>() : null;
                var throws = mode != "bare"; // nothing would answer its exceptions
                await Drive(server, "/ok", requests / 4);
                if (throws)
                {
                    await Drive(server, "/throw", requests / 20, client);
                }

                results[mode].Ok.Add(await Drive(server, "/ok", requests));
                var sinkBefore = sink.CpuSeconds;
                results[mode].Throw.Add(throws ? await Drive(server, "/throw", requests / 5, client) : Cost.None);
                sinkCpu += sink.CpuSeconds - sinkBefore;
                if (client?.Sender is { } sender)
                {
                    foreach (var reason in Enum.GetValues<Transport.SdkDropReason>())
                    {
                        dropped[reason.ToString()] = dropped.GetValueOrDefault(reason.ToString()) + sender.Drops.Total(reason);
                    }
                }
            }
        }

        Console.WriteLine("| app | CPU per request (/ok) | allocated per request | CPU per throwing request | allocated per throwing request | GC pause per throwing request | gen0 / gen1 / gen2 GCs per 1,000 throwing requests |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var mode in modes)
        {
            var (ok, thrown) = results[mode];
            Console.WriteLine(FormattableString.Invariant(
                $"| {mode} | {Median(ok, c => c.Cpu):F1} µs | {Median(ok, c => c.Bytes):N0} B | {Median(thrown, c => c.Cpu):F1} µs | {Median(thrown, c => c.Bytes):N0} B | {Median(thrown, c => c.GcPause):F1} µs | {Median(thrown, c => c.Gen0):F1} / {Median(thrown, c => c.Gen1):F1} / {Median(thrown, c => c.Gen2):F1} |"));
        }

        var stats = await sink.StatsAsync();
        Console.WriteLine($"// the sink (a process of its own) got {stats}; its CPU during the throwing phases: {sinkCpu * 1e6 / Math.Max(1, stats.Events):F1} µs per event");
        Console.WriteLine($"// the +sink apps' SDK dropped: {(dropped.Values.Sum() == 0 ? "nothing" : string.Join(", ", dropped.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value:N0}")))}");
        Console.WriteLine($"// load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>
    /// <c>plain-ratio [requests per round] [rounds]</c>: issue 6's benchmark 2 in-process. The bare app, the app with
    /// <c>UseExceptionHandler</c> alone and the app with ErrorHub (defaults; its DSN a closed port, which a request that
    /// does not throw never reaches) run side by side in this process; after a warm-up, each round drives each app with
    /// the same plain requests, in turns of 250 whose order rotates, and sums the process's CPU time per app. The ratio
    /// of a round is the bare app's CPU per request over ErrorHub's: the throughput ErrorHub's app would reach on a core
    /// where the bare app reaches 1. Printed per round, then as median and spread.
    /// </summary>
    public static async Task RunPlainRatioAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        Console.WriteLine($"// plain-ratio: {requests:N0} plain requests per app and round, {rounds} rounds, load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        string[] modes = ["bare", "handler", "errorhub"];
        var apps = new Dictionary<string, (WebApplication App, TestServer Server)>();
        foreach (var mode in modes)
        {
            var app = Build(mode);
            await app.StartAsync();
            apps[mode] = (app, app.GetTestServer());
        }

        try
        {
            foreach (var mode in modes)
            {
                await Drive(apps[mode].Server, "/ok", requests * 3); // warm-up: the JIT's tiers settle
            }

            // A round drives the apps in turns of a few hundred requests each, so that whatever else the machine does
            // in that round (other processes, their caches) falls on all three alike; the order rotates every turn.
            const int Turn = 250;
            var costs = modes.ToDictionary(m => m, _ => new List<Cost>());
            for (var round = 0; round < rounds; round++)
            {
                GC.Collect();
                var cpu = modes.ToDictionary(m => m, _ => TimeSpan.Zero);
                var bytes = modes.ToDictionary(m => m, _ => 0L);
                for (var turn = 0; turn < Math.Max(1, requests / Turn); turn++)
                {
                    for (var i = 0; i < modes.Length; i++)
                    {
                        var mode = modes[(turn + i) % modes.Length];
                        var (spent, allocated) = await Spend(apps[mode].Server, Turn);
                        cpu[mode] += spent;
                        bytes[mode] += allocated;
                    }
                }

                var done = Math.Max(1, requests / Turn) * Turn;
                foreach (var mode in modes)
                {
                    costs[mode].Add(new Cost(cpu[mode].TotalMicroseconds / done, (double)bytes[mode] / done, 0, 0, 0, 0));
                }
            }

            Console.WriteLine("| round | bare: CPU per request | handler alone | errorhub | ratio bare/errorhub | ratio handler/errorhub | errorhub: allocated per request over bare |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            var toBare = new List<double>();
            var toHandler = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var (bare, handler, errorHub) = (costs["bare"][round], costs["handler"][round], costs["errorhub"][round]);
                toBare.Add(bare.Cpu / errorHub.Cpu);
                toHandler.Add(handler.Cpu / errorHub.Cpu);
                Console.WriteLine(FormattableString.Invariant(
                    $"| {round + 1} | {bare.Cpu:F2} µs | {handler.Cpu:F2} µs | {errorHub.Cpu:F2} µs | {toBare[^1]:F3} | {toHandler[^1]:F3} | {errorHub.Bytes - bare.Bytes:N0} B |"));
            }

            Console.WriteLine(FormattableString.Invariant(
                $"// ratio bare/errorhub: median {Median(toBare, r => r):F3}, quartiles {Quantile(toBare, 0.25):F3}-{Quantile(toBare, 0.75):F3}, range {toBare.Min():F3}-{toBare.Max():F3}; handler/errorhub: median {Median(toHandler, r => r):F3}, quartiles {Quantile(toHandler, 0.25):F3}-{Quantile(toHandler, 0.75):F3}, range {toHandler.Min():F3}-{toHandler.Max():F3}"));
            Console.WriteLine($"// load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        }
        finally
        {
            foreach (var (app, _) in apps.Values)
            {
                await app.DisposeAsync();
            }
        }
    }

    private static double Median<T>(IEnumerable<T> values, Func<T, double> of) => Quantile(values.Select(of).ToList(), 0.5);

    internal static double Quantile(IReadOnlyCollection<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((sorted[above] - sorted[below]) * (position - below));
    }

    /// <summary>CPU time and bytes of <paramref name="requests"/> plain requests, without collecting first.</summary>
    private static async Task<(TimeSpan Cpu, long Bytes)> Spend(TestServer server, int requests)
    {
        var bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = ProcessCpu.Now();
        for (var i = 0; i < requests; i++)
        {
            await server.SendAsync(static context =>
            {
                context.Request.Method = "GET";
                context.Request.Path = "/ok";
            });
        }

        return (ProcessCpu.Now() - cpuBefore, GC.GetTotalAllocatedBytes(precise: true) - bytesBefore);
    }

    private static async Task<Cost> Drive(TestServer server, string path, int requests, ErrorHubClient? flushed = null)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var (gen0, gen1, gen2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var pauseBefore = GC.GetTotalPauseDuration();
        var cpuBefore = ProcessCpu.Now();
        var bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < requests; i++)
        {
            await server.SendAsync(context =>
            {
                context.Request.Method = "GET";
                context.Request.Path = path;
            });
        }

        if (flushed is not null)
        {
            await flushed.FlushAsync(TimeSpan.FromSeconds(30)); // what the requests made is sent within the phase
        }

        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytesBefore;
        var cpu = ProcessCpu.Now() - cpuBefore;
        var perThousand = 1000.0 / requests;
        return new Cost(
            cpu.TotalMicroseconds / requests,
            (double)bytes / requests,
            (GC.GetTotalPauseDuration() - pauseBefore).TotalMicroseconds / requests,
            (GC.CollectionCount(0) - gen0) * perThousand,
            (GC.CollectionCount(1) - gen1) * perThousand,
            (GC.CollectionCount(2) - gen2) * perThousand);
    }

    /// <summary>Per request: CPU (µs), bytes allocated, GC pause (µs), and collections of each generation per 1,000 requests.</summary>
    private sealed record Cost(double Cpu, double Bytes, double GcPause, double Gen0, double Gen1, double Gen2)
    {
        public static readonly Cost None = new(0, 0, 0, 0, 0, 0);
    }

    internal static WebApplication Build(string mode, string? dsn = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        if (mode.Contains("any-logger", StringComparison.Ordinal))
        {
            builder.Logging.AddProvider(new EnabledNullLoggerProvider());
        }

        if (mode.Contains("scoped-logger", StringComparison.Ordinal))
        {
            // As the console provider of every template app: it keeps log scopes, so hosting's request scope is kept once
            // for it and for ErrorHub alike.
            builder.Logging.AddProvider(new EnabledNullScopedLoggerProvider());
        }

        if (mode.Contains("template-levels", StringComparison.Ordinal))
        {
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }

        if (mode.Contains("accessor", StringComparison.Ordinal))
        {
            builder.Services.AddHttpContextAccessor(); // what AddErrorHub() adds to every request: one AsyncLocal write
        }

        var errorHub = mode.StartsWith("errorhub", StringComparison.Ordinal);
        if (errorHub)
        {
            builder.Services.AddErrorHub(o =>
            {
                o.Dsn = dsn ?? "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
                if (mode.Contains("crumbs-warning", StringComparison.Ordinal))
                {
                    o.MinimumBreadcrumbLevel = LogLevel.Warning;
                }

                if (mode.Contains("+made-only", StringComparison.Ordinal))
                {
                    // Every event is made on the request thread (trace, event, request copy) and then dropped by BeforeSend:
                    // the request thread's share of a storm's cost, without the sender's.
                    o.BeforeSend = static (_, _) => null;
                }
            });
        }

        var app = builder.Build();
        if (mode != "bare") // "bare": sdk-storm's bare app, without even UseExceptionHandler
        {
            app.UseExceptionHandler(handler => handler.Run(context =>
            {
                context.Response.StatusCode = 500;
                return context.Response.WriteAsync("error");
            }));
        }

        if (errorHub)
        {
            app.UseErrorHub();
        }

        app.MapGet("/ok", () => "ok");
        app.MapGet("/throw", () => DeepThrow.Frames());
        return app;
    }

    /// <summary>The same, keeping the log scopes as the console provider does (<see cref="ISupportExternalScope"/>).</summary>
    internal sealed class EnabledNullScopedLoggerProvider : ILoggerProvider, ILogger, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }

        public void SetScopeProvider(IExternalScopeProvider scopeProvider)
        {
        }

        public void Dispose()
        {
        }
    }

    /// <summary>A provider that says yes to everything and writes nothing: what the framework does once anyone listens.</summary>
    private sealed class EnabledNullLoggerProvider : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }

        public void Dispose()
        {
        }
    }
}
