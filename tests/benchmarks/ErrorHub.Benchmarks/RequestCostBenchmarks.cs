using BenchmarkDotNet.Attributes;
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
    /// <c>request-cost [requests]</c>: the same apps, each driven with the given number of sequential requests after a
    /// warm-up, in rounds that alternate the apps; prints the process CPU time and the bytes allocated per request
    /// (<c>/ok</c>) and per throwing request (<c>/throw</c>, 20 frames deep; ErrorHub sends to a closed port, so its
    /// background sender's attempts are in the CPU time). CPU time, unlike throughput, is little moved by other
    /// processes on the machine; the allocations not at all.
    /// </summary>
    public static async Task RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
        string[] modes = args.Length > 1 ? args[1].Split(',')
            : ["handler", "handler+any-logger", "errorhub", "errorhub+crumbs-warning", "errorhub+template-levels"];
        var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"// request-cost: {requests:N0} requests per app and round, load before: {File.ReadAllText("/proc/loadavg").Trim()}");
        await using var sink = await CountingSink.StartAsync();
        var results = modes.ToDictionary(m => m, _ => (Ok: new List<(double Cpu, double Bytes)>(), Throw: new List<(double Cpu, double Bytes)>()));
        for (var round = 0; round < rounds; round++)
        {
            foreach (var mode in modes)
            {
                await using var app = Build(mode, mode.Contains("+sink", StringComparison.Ordinal) ? sink.Dsn : null);
                await app.StartAsync();
                var server = app.GetTestServer();
                var throws = mode != "bare"; // nothing would answer its exceptions
                await Drive(server, "/ok", requests / 4);
                if (throws)
                {
                    await Drive(server, "/throw", requests / 20);
                }

                results[mode].Ok.Add(await Drive(server, "/ok", requests));
                results[mode].Throw.Add(throws ? await Drive(server, "/throw", requests / 5) : (0, 0));
            }
        }

        Console.WriteLine("| app | CPU per request (/ok) | allocated per request | CPU per throwing request | allocated per throwing request |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var mode in modes)
        {
            var (ok, thrown) = results[mode];
            Console.WriteLine(FormattableString.Invariant(
                $"| {mode} | {Median(ok.Select(r => r.Cpu)):F1} µs | {Median(ok.Select(r => r.Bytes)):N0} B | {Median(thrown.Select(r => r.Cpu)):F1} µs | {Median(thrown.Select(r => r.Bytes)):N0} B |"));
        }

        Console.WriteLine($"// the sink got {sink.Batches:N0} batches of {sink.Bytes / Math.Max(1, sink.Batches):N0} bytes on average");
        Console.WriteLine($"// load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static async Task<(double Cpu, double Bytes)> Drive(TestServer server, string path, int requests)
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        GC.Collect();
        var cpuBefore = self.TotalProcessorTime;
        var bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < requests; i++)
        {
            await server.SendAsync(context =>
            {
                context.Request.Method = "GET";
                context.Request.Path = path;
            });
        }

        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytesBefore;
        self.Refresh();
        return ((self.TotalProcessorTime - cpuBefore).TotalMicroseconds / requests, (double)bytes / requests);
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
        app.MapGet("/throw", () => Deep(20));
        return app;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Deep(int depth) =>
        depth == 0 ? throw new InvalidOperationException("Stock for SKU A-100 went negative") : Deep(depth - 1) + 1;

    /// <summary>A fast ingest in the same process (its CPU time counts): reads each batch and answers 202.</summary>
    private sealed class CountingSink : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private long _batches;
        private long _bytes;

        private CountingSink(WebApplication app) => _app = app;

        public string Dsn { get; private set; } = "";

        public long Batches => Interlocked.Read(ref _batches);

        public long Bytes => Interlocked.Read(ref _bytes);

        public static async Task<CountingSink> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var sink = new CountingSink(app);
            app.MapPost("/api/{project}/events", async (HttpContext context) =>
            {
                var buffer = new byte[16 * 1024];
                long read = 0;
                int n;
                while ((n = await context.Request.Body.ReadAsync(buffer)) > 0)
                {
                    read += n;
                }

                Interlocked.Increment(ref sink._batches);
                Interlocked.Add(ref sink._bytes, read);
                context.Response.StatusCode = 202;
            });
            await app.StartAsync();
            sink.Dsn = $"http://0123456789abcdef0123456789abcdef@{new Uri(app.Urls.First()).Authority}/1";
            return sink;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
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
