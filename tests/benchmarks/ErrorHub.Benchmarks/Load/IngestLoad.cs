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
/// Run: <c>dotnet run -c Release -- ingest-load [sqlite|clickhouse] [seconds per phase] [senders]</c>.
/// </summary>
internal static class IngestLoad
{
    private const string Key = "loadtest-0123456789abcdef";
    private const int EventsPerBatch = 100;

    public static async Task RunAsync(string[] args)
    {
        var store = args.Length > 0 ? args[0] : "sqlite";
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        var senders = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
        var phase = TimeSpan.FromSeconds(seconds);

        await using var target = await Target.StartAsync(store);
        var report = new List<(string What, string Value)>();
        Console.WriteLine($"// ingest load on {store}: {senders} senders, batches of {EventsPerBatch} events, {seconds} s per phase");

        // Distinct batches for the first phase (an event id sent twice is stored once, which would spoil the
        // count of what became visible): up to 30,000 events/s; if the server is faster, the phase ends early.
        var bodies = Bodies(batches: 300 * seconds, out var wireBytes, out var template);
        report.Add(("event on the wire (MessagePack, before gzip)", $"{wireBytes / EventsPerBatch:N0} B"));
        report.Add(("batch as sent (gzip)", $"{bodies.Average(b => b.Length):N0} B"));

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 }) { BaseAddress = target.Url, Timeout = TimeSpan.FromSeconds(60) };

        // 1. The most it accepts: every sender posts its next batch as soon as the previous one is answered.
        var before = await target.StoredEventsAsync();
        var max = await ClosedLoopAsync(client, bodies, senders, phase, repeat: false);
        var acceptedPerSecond = max.AcceptedEvents / max.Elapsed.TotalSeconds;
        report.Add(("accepted, most (events/s)", $"{acceptedPerSecond:N0}"));
        report.Add(("answers while at most", max.Statuses()));
        report.Add(("accept latency at most: p50 / p99", $"{max.Percentile(50):N1} / {max.Percentile(99):N1} ms"));

        var visibleAfter = await target.WaitUntilStoredAsync(before + max.AcceptedEvents, TimeSpan.FromMinutes(2));
        report.Add(("visible in the store (events/s, from the first send to the last event queryable)", $"{max.AcceptedEvents / (max.Elapsed + visibleAfter).TotalSeconds:N0}"));

        // 2. Latency at half the most: batches sent on a fixed schedule, whatever the answers do.
        var half = await OpenLoopAsync(client, bodies, acceptedPerSecond / 2 / EventsPerBatch, phase);
        report.Add(("accept latency at half load: p50 / p99", $"{half.Percentile(50):N1} / {half.Percentile(99):N1} ms ({half.AcceptedEvents / half.Elapsed.TotalSeconds:N0} events/s offered and accepted)"));
        report.Add(("answers at half load", half.Statuses()));

        // 3. Ten times the senders: memory stays bounded, answers are 202 or 429/503 with Retry-After, nothing hangs.
        var overload = await ClosedLoopAsync(client, bodies, senders * 10, phase, repeat: true);
        report.Add(("answers at 10x senders", overload.Statuses()));
        report.Add(("slowest answer at 10x senders", $"{overload.Percentile(100):N0} ms"));
        report.Add(("server memory: peak resident (VmHWM)", $"{target.PeakResidentMegabytes():N0} MB"));

        // 4. The ceiling: the same events straight into the same store, 10,000 per insert, no HTTP, no decoding.
        var ceiling = await target.RawInsertRateAsync(template, TimeSpan.FromSeconds(Math.Min(seconds, 10)));
        report.Add(("raw insert into the store (events/s)", $"{ceiling:N0}"));
        report.Add(("accepted at most / raw insert", $"{acceptedPerSecond / ceiling:N2}"));

        Console.WriteLine();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        foreach (var (what, value) in report)
        {
            Console.WriteLine($"| {what} | {value} |");
        }
    }

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

        public string Statuses()
        {
            lock (_lock)
            {
                return string.Join(", ", _statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value:N0}"));
            }
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

        private Target(TestProcess process, Uri url, ClickHouseServerFixture? clickHouse, string directory, ErrorHubStore store, HttpClient? clickHouseHttp)
        {
            _process = process;
            Url = url;
            _clickHouse = clickHouse;
            _directory = directory;
            _store = store;
            _clickHouseHttp = clickHouseHttp;
        }

        public Uri Url { get; }

        public static async Task<Target> StartAsync(string kind)
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
            ErrorHubStore store;
            if (kind == "clickhouse")
            {
                clickHouse = new ClickHouseServerFixture();
                await clickHouse.InitializeAsync();
                var database = ClickHouseServerFixture.NewDatabaseName("load");
                environment["ErrorHub__Store__Kind"] = "clickhouse";
                environment["ErrorHub__Store__ClickHouse__Url"] = clickHouse.Url.ToString();
                environment["ErrorHub__Store__ClickHouse__Database"] = database;
                http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(5) };
                store = ClickHouseDatabase.Open(new ClickHouseClient(http, new ClickHouseConnection(clickHouse.Url)), database);
            }
            else
            {
                store = SqliteDatabase.Open(Path.Combine(directory, "errorhub.db"));
            }

            var process = TestProcess.StartDotnet(
                "ingest",
                RepositoryPaths.BuiltAssembly("ingest/ErrorHub.Ingest"),
                ["--urls", url.GetLeftPart(UriPartial.Authority)],
                environment);
            await process.WaitForHttpAsync(new Uri(url, "/readyz"), TimeSpan.FromSeconds(90));
            return new Target(process, url, clickHouse, directory, store, http);
        }

        public async Task<long> StoredEventsAsync()
        {
            var page = await _store.Issues.GetIssuesAsync(new IssueQuery(1) { Limit = 1000 });
            return page.Items.Sum(issue => issue.EventCount);
        }

        /// <summary>How long after now it takes until the store counts <paramref name="expected"/> events.</summary>
        public async Task<TimeSpan> WaitUntilStoredAsync(long expected, TimeSpan limit)
        {
            var waited = Stopwatch.StartNew();
            while (await StoredEventsAsync() < expected && waited.Elapsed < limit)
            {
                await Task.Delay(50);
            }

            return waited.Elapsed;
        }

        public long PeakResidentMegabytes()
        {
            var status = File.ReadAllLines($"/proc/{_process.Id}/status");
            var line = status.FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal)) ?? "VmHWM: 0 kB";
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }

        public async Task<double> RawInsertRateAsync(ErrorEvent template, TimeSpan duration)
        {
            var inserted = 0L;
            var serial = 0;
            var stop = Stopwatch.StartNew();
            while (stop.Elapsed < duration)
            {
                var events = new List<ErrorEvent>(10_000);
                for (var i = 0; i < 10_000; i++)
                {
                    events.Add(template with { EventId = Guid.NewGuid(), ProjectId = 2, Fingerprint = "raw" + (serial++ % 50) });
                }

                await _store.Events.InsertEventsAsync(events);
                inserted += events.Count;
            }

            return inserted / stop.Elapsed.TotalSeconds;
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
