using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using ErrorHub.AspNetCore;
using ErrorHub.Internal;
using ErrorHub.Transport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Benchmarks;

/// <summary>
/// <c>capture-pieces [iterations] [rounds]</c>: where a throwing request's CPU goes on the thread that captures, step by
/// step, each step timed alone on this thread's CPU clock (not the process's: the JIT's and GC's threads are not in it)
/// over many iterations after a warm-up, so the JIT's tiers have settled. The steps are those the middleware's capture
/// runs for a request that a browser sent (12 headers, cookies, a route), against the throw itself, 20 frames deep, as
/// the baseline: the throw and catch, marking the exception as seen, the stack-trace snapshot, the whole chain, making
/// the event, the request copy, and all of it through <c>Capture</c> with <c>BeforeSend</c> dropping the event; and, for
/// the sender's share, an event made as a request's capture makes it and then written as the sender writes it.
/// Medians of the rounds, per operation: thread CPU and bytes allocated.
/// </summary>
internal static class CapturePieces
{
    public static void Run(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        Console.WriteLine($"// capture-pieces: {iterations:N0} per step and round, {rounds} rounds, load before: {File.ReadAllText("/proc/loadavg").Trim()}");

        using var services = new ServiceCollection()
            .AddLogging()
            .AddErrorHub(o =>
            {
                o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
                o.BeforeSend = static (_, _) => null;
            })
            .BuildServiceProvider();
        var client = services.GetRequiredService<ErrorHubClient>();
        var options = client.Options;
        var converter = new ExceptionConverter(options);

        // Every step that marks or captures needs exceptions and requests it has not seen: made before the clock runs.
        var exceptions = new Exception[iterations];
        var contexts = new HttpContext[iterations];
        var events = new ErrorHubEvent[iterations];
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 * 1024);
        var encoded = new byte[iterations][];
        using var compressed = new MemoryStream();
        var steps = new (string Name, Action<int> Step)[]
        {
            ("throw 20 frames deep and catch (the baseline)", i => exceptions[i] = DeepThrow.Caught()),
            ("ConditionalWeakTable.TryAdd: the exception marked as seen", i => Seen.TryAdd(exceptions[i], true)),
            ("new StackTrace(exception, false)", i => GC.KeepAlive(new StackTrace(exceptions[i], false))),
            // What else the runtime offers about an exception's frames, for a key to look a trace up by before the
            // snapshot: the throwing method only (not enough to tell traces apart), or the whole trace as text.
            ("  instead: exception.TargetSite (the throwing method only)", i => GC.KeepAlive(exceptions[i].TargetSite)),
            ("  instead: exception.StackTrace (the trace as text)", i => GC.KeepAlive(exceptions[i].StackTrace)),
            ("ExceptionConverter.AddExceptions: the chain (the snapshot included)", i => converter.AddExceptions(new ErrorHubEvent(), exceptions[i])),
            ("new ErrorHubEvent()", _ => GC.KeepAlive(new ErrorHubEvent())),
            ("  its part: Guid.NewGuid() (the event id)", _ => GC.KeepAlive(Guid.NewGuid())),
            ("  its parts: UserAgentParser.Parse", i => GC.KeepAlive(UserAgentParser.Parse(contexts[i].Request.Headers.UserAgent.ToString()))),
            ("  its parts: QueryStrings.Scrub", i => GC.KeepAlive(QueryStrings.Scrub(contexts[i].Request.QueryString.Value!))),
            ("  its parts: UriHelper.BuildAbsolute", i => GC.KeepAlive(Microsoft.AspNetCore.Http.Extensions.UriHelper.BuildAbsolute(contexts[i].Request.Scheme, contexts[i].Request.Host, contexts[i].Request.PathBase, contexts[i].Request.Path))),
            ("  its parts: request.Cookies parsed", i => GC.KeepAlive(contexts[i].Request.Cookies.Count)),
            ("  its parts: the user's claims (FindFirstValue x3, Identity.Name)", i => GC.KeepAlive(contexts[i].User.FindFirstValue(ClaimTypes.NameIdentifier) + contexts[i].User.Identity!.Name + contexts[i].User.FindFirstValue(ClaimTypes.Email))),
            ("  its parts: headers into a dictionary", i => { var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase); foreach (var (k, v) in contexts[i].Request.Headers) { d[k] = v.ToString(); } }),
            ("RequestCapture.Enrich: the request copy (12 headers, cookies, route, user agent)", i => RequestCapture.Enrich(new ErrorHubEvent(), contexts[i], options)),
            ("an event made as a request's capture makes it (chain, request copy)", i =>
            {
                var made = new ErrorHubEvent();
                converter.AddExceptions(made, exceptions[i]);
                RequestCapture.Enrich(made, contexts[i], options);
                events[i] = made;
            }),
            ("the sender's write of that event (what was left for it to make, included)", i =>
            {
                buffer.ResetWrittenCount();
                EventWireWriter.WriteEvent(buffer, events[i]);
            }),
            ("  that event's bytes kept (for the gzip steps; not a step of the sender)", i =>
            {
                buffer.ResetWrittenCount();
                EventWireWriter.WriteEvent(buffer, events[i]);
                encoded[i] = buffer.WrittenSpan.ToArray();
            }),
            ("gzip (Fastest) of such events, per event, batches of 100", i => Gzip(compressed, encoded, i, 100)),
            ("gzip (Fastest) of such events, per event, batches of 1,000", i => Gzip(compressed, encoded, i, 1000)),
            ("Capture inside the request, dropped by BeforeSend: all of it", i =>
                client.Capture(exceptions[i], ErrorHubLevel.Error, CaptureSource.Manual, configure: null, contexts[i])),
            // A storm's requests keep nothing: each exception dies young, after its capture, as in an app. The garbage
            // collections this causes run on this thread and are in its CPU, with whatever the SDK makes them do.
            ("a storm: throw 20 frames deep and catch, nothing kept (the storm's baseline)", _ => GC.KeepAlive(DeepThrow.Caught())),
            ("a storm: the same, captured inside the request, dropped by BeforeSend, nothing kept", i =>
                client.Capture(DeepThrow.Caught(), ErrorHubLevel.Error, CaptureSource.Manual, configure: null, contexts[i])),
        };

        var results = steps.ToDictionary(s => s.Name, _ => (Cpu: new List<double>(), Bytes: new List<double>()));
        for (var round = -1; round < rounds; round++) // round -1 warms up
        {
            for (var i = 0; i < iterations; i++)
            {
                contexts[i] = BrowserRequest();
            }

            Seen = [];
            foreach (var (name, step) in steps)
            {
                GC.Collect();
                var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
                var cpuBefore = ProcessCpu.ThreadNow();
                for (var i = 0; i < iterations; i++)
                {
                    step(i);
                }

                var cpu = (ProcessCpu.ThreadNow() - cpuBefore).TotalMicroseconds / iterations;
                var bytes = (double)(GC.GetAllocatedBytesForCurrentThread() - bytesBefore) / iterations;
                if (round >= 0)
                {
                    results[name].Cpu.Add(cpu);
                    results[name].Bytes.Add(bytes);
                }
            }
        }

        var baseline = Median(results[steps[0].Name].Cpu);
        var stormBaseline = Median(results[steps[^2].Name].Cpu);
        var stormCapture = Median(results[steps[^1].Name].Cpu);
        Console.WriteLine("| step | thread CPU per operation (median) | range | ratio to the throw | allocated |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (name, _) in steps)
        {
            var (cpu, bytes) = results[name];
            Console.WriteLine(FormattableString.Invariant(
                $"| {name} | {Median(cpu):F2} µs | {cpu.Min():F2}-{cpu.Max():F2} | {Median(cpu) / baseline:F2} | {Median(bytes):N0} B |"));
        }

        Console.WriteLine(FormattableString.Invariant(
            $"// a storm's capture above its throw (thread CPU, its garbage collections included): {stormCapture - stormBaseline:F2} µs, {Median(results[steps[^1].Name].Bytes) - Median(results[steps[^2].Name].Bytes):N0} B"));
        Console.WriteLine($"// load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static ConditionalWeakTable<Exception, object> Seen = [];

    /// <summary>As the sender compresses a batch: a new GZipStream per batch, each event's bytes written into it.</summary>
    private static void Gzip(MemoryStream compressed, byte[][] encoded, int i, int batch)
    {
        if (i % batch != batch - 1)
        {
            return;
        }

        compressed.SetLength(0);
        using var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true);
        for (var e = i - batch + 1; e <= i; e++)
        {
            gzip.Write(encoded[e]);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A GET as a current Chrome sends it to a route of the app, signed in.</summary>
    internal static HttpContext BrowserRequest()
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = "GET";
        request.Scheme = "https";
        request.Host = new HostString("shop.example.com");
        request.Path = "/cart/42/checkout";
        request.QueryString = new QueryString("?bundle=holiday-bundle&token=abc123");
        var headers = request.Headers;
        headers.Host = "shop.example.com";
        headers.Connection = "keep-alive";
        headers["sec-ch-ua"] = "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"";
        headers["sec-ch-ua-mobile"] = "?0";
        headers["sec-ch-ua-platform"] = "\"Windows\"";
        headers["Upgrade-Insecure-Requests"] = "1";
        headers.UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        headers.Accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        headers["Sec-Fetch-Site"] = "same-origin";
        headers.AcceptEncoding = "gzip, deflate, br, zstd";
        headers.AcceptLanguage = "en-GB,en;q=0.9";
        headers.Cookie = ".AspNetCore.Cookies=CfDJ8Abc; cart=42; consent=yes";
        var endpoint = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/cart/{id}/checkout"), 0, null, "HTTP: GET /cart/{id}/checkout");
        context.SetEndpoint(endpoint);
        context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.NameIdentifier, "42"), new(System.Security.Claims.ClaimTypes.Name, "alice"), new(System.Security.Claims.ClaimTypes.Email, "alice@example.com")],
            "cookie"));
        return context;
    }
}
