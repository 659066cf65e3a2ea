using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The SDK and ingest together, each a real process on loopback: a web app reporting with a disk spool
/// (<c>CacheDirectory</c>) fails on numbered orders while the all-in-one server on SQLite is killed with SIGKILL and
/// started again, or while the app itself is killed, or while the server comes back slowly. Every exception the app
/// captured is then stored exactly once, or counted by the SDK as dropped in the server's drop report.
/// </summary>
public sealed partial class SpoolAcrossKillsTests : IAsyncLifetime
{
    private const string ProjectKey = "spoolkill-5a2c3b4d6e7f8091";
    private const string SpoolExtension = ".ehbatch";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    // The SDK backs off up to a minute between tries of its spool while ingest is away: a wait for arrival allows several.
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(240);

    private readonly string _data = Directory.CreateTempSubdirectory("errorhub-spoolkill-").FullName;
    private readonly Uri _serverUrl = FreePort.NextHttpUrl();
    private readonly Uri _appUrl = FreePort.NextHttpUrl();
    private TestProcess? _server;
    private TestProcess? _app;

    private string ServerDirectory => Path.Combine(_data, "server");

    private string CacheDirectory => Path.Combine(_data, "cache");

    private string Database => Path.Combine(ServerDirectory, "errorhub.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await TestProcess.EndAllAsync(_app, _server);
        SqliteConnection.ClearAllPools();
        TestDirectory.DeleteQuietly(_data);
    }

    [Fact]
    public async Task Every_exception_captured_while_ingest_is_killed_twice_is_stored_once_or_reported_dropped()
    {
        const int Orders = 2_000;
        _server = await StartServerAsync();
        _app = await StartAppAsync();
        using var app = AppClient();

        // Two senders, each pausing a little between orders: the failures spread over the kills and restarts.
        var driver = OrderDriver.Start(app, 1, Orders, senders: 2, pause: TimeSpan.FromMilliseconds(15));
        await driver.WaitUntilChargedAsync(Orders / 4);
        await KillServerAsync(); // SIGKILL while the SDK sends: a batch may be stored without its answer reaching the SDK
        _server = await StartServerAsync();
        await driver.WaitUntilChargedAsync(driver.Charged + Orders / 4);
        await KillServerAsync();
        _server = await StartServerAsync();
        var failed = await driver.CompletionAsync();

        failed.Should().Be(Orders, "every order failed with a 500, so the app captured every exception");
        var (stored, dropped) = await WaitForAccountAsync(Orders);
        AssertEachOrderStoredOnce(stored, Orders, dropped);
        dropped.Values.Sum().Should().Be(0, "with a CacheDirectory nothing is given up while ingest is down for seconds");
        (await IssueEventCountAsync()).Should().Be(stored.Count, "the issue counts each stored event once");
    }

    [Fact]
    public async Task Events_spooled_by_an_app_killed_while_ingest_is_down_arrive_once_and_a_cut_file_is_counted_without_stopping_the_others()
    {
        const int Orders = 300;
        _app = await StartAppAsync(); // the server is not started yet: its port is closed
        using var app = AppClient();

        // Three waves, each waited for on disk: at least three batch files.
        for (var wave = 0; wave < 3; wave++)
        {
            var first = 1 + (wave * Orders / 3);
            (await OrderDriver.Start(app, first, Orders / 3, senders: 2, pause: TimeSpan.Zero).CompletionAsync()).Should().Be(Orders / 3);
            await WaitUntilAsync(() => SpooledEvents() == first - 1 + (Orders / 3), $"{first - 1 + (Orders / 3)} events in the spool", _app);
        }

        await KillAsync(_app); // SIGKILL: the spool is all that is left of the captured exceptions
        _app = null;

        // A file cut short, as a power loss after the rename can leave it: the one in the middle, so that batches are
        // sent before and after it.
        var files = BatchFiles();
        files.Should().HaveCountGreaterThanOrEqualTo(3);
        var cut = files[files.Count / 2];
        var cutEvents = EventCount(cut);
        await using (var file = new FileStream(cut, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(file.Length / 2);
        }

        _server = await StartServerAsync();
        _app = await StartAppAsync();
        var (stored, dropped) = await WaitForAccountAsync(Orders);

        AssertEachOrderStoredOnce(stored, Orders, dropped);
        dropped.Should().Equal(new Dictionary<string, long> { ["sdk:send_failed"] = cutEvents }, "the cut file's events, and nothing else, are reported dropped");
        stored.Should().HaveCount(Orders - cutEvents, "every other spooled batch arrived after the cut one was met");
        _app.Output.Lines.Should().ContainSingle(
            line => line.Contains("deleted the unreadable cached batch " + Path.GetFileName(cut), StringComparison.Ordinal),
            "the cut file is named in one warning");
        BatchFiles().Should().BeEmpty("the spool is empty once ingest has taken it");
    }

    [Fact]
    public async Task An_ingest_that_comes_back_slowly_gets_every_event_once_and_the_app_answers_throughout()
    {
        const int Orders = 300;
        _app = await StartAppAsync(); // the server's port is closed
        using var app = AppClient();
        var pings = PingDriver.Start(app);

        // 1. Port closed: the failures wait in the spool.
        (await OrderDriver.Start(app, 1, Orders / 2, senders: 2, pause: TimeSpan.Zero).CompletionAsync()).Should().Be(Orders / 2);
        await WaitUntilAsync(() => SpooledEvents() == Orders / 2, "the first orders in the spool", _app);

        // 2. Something accepts on the port but answers 503 with Retry-After (a proxy in front of an ingest that is
        // still starting): the SDK keeps its batches and tries again, while the app goes on failing and answering.
        var unavailable = 0;
        await using (var starting = await StartUnavailableAsync(() => Interlocked.Increment(ref unavailable)))
        {
            var during = OrderDriver.Start(app, 1 + (Orders / 2), Orders / 2, senders: 2, pause: TimeSpan.Zero);
            await WaitUntilAsync(() => Volatile.Read(ref unavailable) >= 3, "three sends answered 503", _app);
            (await during.CompletionAsync()).Should().Be(Orders / 2);
            await starting.StopAsync();
        }

        // 3. The real server on the same port.
        _server = await StartServerAsync();
        var (stored, dropped) = await WaitForAccountAsync(Orders);
        var (answered, problems) = await pings.StopAsync();

        AssertEachOrderStoredOnce(stored, Orders, dropped);
        dropped.Should().BeEmpty("nothing is given up while the spool has room");
        problems.Should().BeEmpty("the app's requests never waited on ingest");
        answered.Should().BePositive();
    }

    [Fact]
    public async Task Batches_stored_whose_answer_never_reached_the_app_are_sent_again_and_stored_once()
    {
        const int Orders = 300;
        const int AnswersToLose = 3;
        _server = await StartServerAsync();

        // Between the app and the server: a proxy that forwards every batch and, for the first three the server
        // stored (202), closes the app's connection instead of answering, as a kill between the commit and the
        // answer does. The SDK cannot know those were stored and sends them again.
        var proxyUrl = FreePort.NextHttpUrl();
        var answers = new AnswerCounts();
        using var forward = new HttpClient { BaseAddress = _serverUrl, Timeout = TimeSpan.FromSeconds(60) };
        await using var proxy = await StartAnswerLosingProxyAsync(proxyUrl, forward, AnswersToLose, answers);
        _app = await StartAppAsync(proxyUrl);
        using var app = AppClient();

        for (var wave = 0; wave < AnswersToLose + 1; wave++)
        {
            var first = 1 + (wave * Orders / (AnswersToLose + 1));
            (await OrderDriver.Start(app, first, Orders / (AnswersToLose + 1), senders: 2, pause: TimeSpan.Zero).CompletionAsync())
                .Should().Be(Orders / (AnswersToLose + 1));
        }

        // Settled: every answer the proxy cut came, and the spool the resends went through is empty again.
        await WaitUntilAsync(() => answers.Lost == AnswersToLose && answers.DeliveredAfterLosses > 0 && BatchFiles().Count == 0, "the resent batches answered", _app);
        var (stored, dropped) = await WaitForAccountAsync(Orders);
        await proxy.StopAsync();

        answers.Lost.Should().Be(AnswersToLose, "the proxy cut the answers of stored batches");
        answers.Forwarded.Should().BeGreaterThan(answers.Lost, "the SDK sent the batches whose answer it never got again");
        AssertEachOrderStoredOnce(stored, Orders, dropped);
        dropped.Should().BeEmpty();
        (await IssueEventCountAsync()).Should().Be(stored.Count, "the issue counts each stored event once, the resent ones too");
    }

    private static void AssertEachOrderStoredOnce(Dictionary<int, int> stored, int orders, Dictionary<string, long> dropped)
    {
        stored.Where(o => o.Value > 1).Select(o => o.Key).Should().BeEmpty("an event resent after a lost answer is stored once");
        stored.Keys.Should().OnlyContain(order => order >= 1 && order <= orders);
        (stored.Count + dropped.Values.Sum()).Should().Be(orders, "every captured exception is stored or counted as dropped");
    }

    private HttpClient AppClient() => new() { BaseAddress = _appUrl, Timeout = TimeSpan.FromSeconds(60) };

    private Task<TestProcess> StartServerAsync()
    {
        Directory.CreateDirectory(ServerDirectory);
        return ServerHostEnvironment.StartSqliteServerAsync("dashboard/ErrorHub.Dashboard", ServerDirectory, _serverUrl, ProjectKey);
    }

    private async Task<TestProcess> StartAppAsync(Uri? ingest = null)
    {
        var process = TestProcess.StartDotnet(
            "spool app",
            RepositoryPaths.BuiltAssembly("tests/ErrorHub.RealApps.Spool"),
            ["--urls", _appUrl.GetLeftPart(UriPartial.Authority)],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Dsn"] = $"http://{ProjectKey}@{(ingest ?? _serverUrl).Authority}/1",
                ["ErrorHub__CacheDirectory"] = CacheDirectory,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,

                // The host's own line per failed request would push the SDK's lines out of the kept output.
                ["Logging__Console__LogLevel__Microsoft.AspNetCore"] = "None",
            });
        await process.WaitForHttpAsync(new Uri(_appUrl, "/ping"), StartTimeout);
        return process;
    }

    private async Task KillServerAsync()
    {
        await KillAsync(_server!);
        _server = null;
    }

    private static async Task KillAsync(TestProcess process)
    {
        Process.GetProcessById(process.Id).Kill(); // SIGKILL: no graceful stop, no flush
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await process.DisposeAsync();
    }

    /// <summary>Something on the server's port that answers every request 503 with <c>Retry-After: 1</c>.</summary>
    private async Task<WebApplication> StartUnavailableAsync(Action onRequest)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(_serverUrl.GetLeftPart(UriPartial.Authority));
        builder.Logging.ClearProviders();
        var unavailable = builder.Build();
        unavailable.Run(context =>
        {
            if (HttpMethods.IsPost(context.Request.Method))
            {
                onRequest();
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            return Task.CompletedTask;
        });
        await unavailable.StartAsync();
        return unavailable;
    }

    /// <summary>
    /// A proxy on <paramref name="url"/> forwarding batches to the server; the first <paramref name="answersToLose"/>
    /// it stored (202) get no answer: the app's connection is closed instead.
    /// </summary>
    private static async Task<WebApplication> StartAnswerLosingProxyAsync(Uri url, HttpClient forward, int answersToLose, AnswerCounts answers)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url.GetLeftPart(UriPartial.Authority));
        builder.Logging.ClearProviders();
        var proxy = builder.Build();
        proxy.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString)
            {
                Content = new ByteArrayContent(body.ToArray()),
            };
            foreach (var (name, values) in context.Request.Headers)
            {
                if (name.Equals("X-ErrorHub-Key", StringComparison.OrdinalIgnoreCase))
                {
                    request.Headers.TryAddWithoutValidation(name, values.ToArray());
                }
                else if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    request.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
                }
            }

            using var response = await forward.SendAsync(request);
            answers.CountForwarded();
            if (response.StatusCode == HttpStatusCode.Accepted && answers.LoseThisAnswer(answersToLose))
            {
                context.Abort();
                return;
            }

            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                answers.CountDelivered(answersToLose);
            }

            context.Response.StatusCode = (int)response.StatusCode;
            if (response.Headers.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter.ToString();
            }

            await response.Content.CopyToAsync(context.Response.Body);
        });
        await proxy.StartAsync();
        return proxy;
    }

    private List<string> BatchFiles() =>
        Directory.Exists(CacheDirectory)
            ? [.. Directory.EnumerateFiles(CacheDirectory, "*" + SpoolExtension).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The events the spool holds: each file's header gives its count after the 8-byte magic (docs/sdk.md).</summary>
    private long SpooledEvents()
    {
        long events = 0;
        foreach (var file in BatchFiles())
        {
            try
            {
                events += EventCount(file);
            }
            catch (IOException)
            {
                // taken and deleted meanwhile
            }
        }

        return events;
    }

    private static int EventCount(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[12];
        stream.ReadExactly(header);
        return BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
    }

    /// <summary>
    /// Polls (bounded) until the stored orders and the events reported dropped account for <paramref name="orders"/>;
    /// returns how many rows each stored order has, and the SDK's drop counts by reason.
    /// </summary>
    private async Task<(Dictionary<int, int> Stored, Dictionary<string, long> Dropped)> WaitForAccountAsync(int orders)
    {
        var waiting = Stopwatch.StartNew();
        while (true)
        {
            var stored = new Dictionary<int, int>();
            var dropped = new Dictionary<string, long>();
            if (File.Exists(Database))
            {
                await using var connection = new SqliteConnection($"Data Source={Database};Mode=ReadOnly;Pooling=False");
                await connection.OpenAsync();
                await using (var read = connection.CreateCommand())
                {
                    read.CommandText = "SELECT title FROM events";
                    await using var reader = await read.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                        var order = OrderNumber().Match(reader.GetString(0));
                        if (order.Success)
                        {
                            var number = int.Parse(order.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                            stored[number] = stored.GetValueOrDefault(number) + 1;
                        }
                    }
                }

                await using (var drops = connection.CreateCommand())
                {
                    drops.CommandText = "SELECT reason, SUM(events) FROM project_drops WHERE reason LIKE 'sdk:%' GROUP BY reason";
                    await using var reader = await drops.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                        dropped[reader.GetString(0)] = reader.GetInt64(1);
                    }
                }
            }

            if (stored.Count + dropped.Values.Sum() >= orders || waiting.Elapsed > ArrivalTimeout)
            {
                return (stored, dropped);
            }

            await Task.Delay(250);
        }
    }

    private async Task<long> IssueEventCountAsync() =>
        (long)(await ServerHostEnvironment.SqliteScalarAsync(Database, "SELECT COALESCE(SUM(event_count), 0) FROM issues"))!;

    private static async Task WaitUntilAsync(Func<bool> done, string what, TestProcess? process)
    {
        var waiting = Stopwatch.StartNew();
        while (!done())
        {
            if (waiting.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException($"No {what} within {ArrivalTimeout.TotalSeconds:0} s.\n{process?.Output}");
            }

            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"Order (\d+) could not be charged")]
    private static partial Regex OrderNumber();

    /// <summary>What the answer-losing proxy did.</summary>
    private sealed class AnswerCounts
    {
        private int _forwarded;
        private int _accepted;
        private int _lost;
        private int _deliveredAfterLosses;

        public int Forwarded => Volatile.Read(ref _forwarded);

        /// <summary>202s the app got after the last lost one: the SDK had spooled that batch by then (it sends one batch at a time).</summary>
        public int DeliveredAfterLosses => Volatile.Read(ref _deliveredAfterLosses);

        public int Lost => Volatile.Read(ref _lost);

        public void CountForwarded() => Interlocked.Increment(ref _forwarded);

        public void CountDelivered(int answersToLose)
        {
            if (Lost >= answersToLose)
            {
                Interlocked.Increment(ref _deliveredAfterLosses);
            }
        }

        /// <summary>Whether this 202 is one of the first <paramref name="answersToLose"/>, whose answer the app never gets.</summary>
        public bool LoseThisAnswer(int answersToLose)
        {
            if (Interlocked.Increment(ref _accepted) > answersToLose)
            {
                return false;
            }

            Interlocked.Increment(ref _lost);
            return true;
        }
    }

    /// <summary>Senders asking the app to charge numbered orders, each of which fails; counts the failures answered 500.</summary>
    private sealed class OrderDriver
    {
        private readonly Task<int> _completion;
        private int _next;
        private int _charged;

        private OrderDriver(HttpClient app, int first, int count, int senders, TimeSpan pause)
        {
            _next = first - 1;
            var last = first + count - 1;
            _completion = Task.Run(async () =>
            {
                var failed = await Task.WhenAll(Enumerable.Range(0, senders).Select(_ => SendAsync(app, last, pause)));
                return failed.Sum();
            });
        }

        /// <summary>Orders answered so far.</summary>
        public int Charged => Volatile.Read(ref _charged);

        public static OrderDriver Start(HttpClient app, int first, int count, int senders, TimeSpan pause) => new(app, first, count, senders, pause);

        /// <summary>Waits (bounded) until <paramref name="orders"/> orders were answered, or all of them were.</summary>
        public async Task WaitUntilChargedAsync(int orders)
        {
            var waiting = Stopwatch.StartNew();
            while (Charged < orders && !_completion.IsCompleted && waiting.Elapsed < TimeSpan.FromSeconds(120))
            {
                await Task.Delay(20);
            }
        }

        /// <summary>How many orders were answered 500 (the app captured their exception).</summary>
        public Task<int> CompletionAsync() => _completion;

        private async Task<int> SendAsync(HttpClient app, int last, TimeSpan pause)
        {
            var failed = 0;
            int order;
            while ((order = Interlocked.Increment(ref _next)) <= last)
            {
                using var response = await app.GetAsync($"/orders/{order}/charge");
                if (response.StatusCode == HttpStatusCode.InternalServerError)
                {
                    failed++;
                }

                Interlocked.Increment(ref _charged);
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause);
                }
            }

            return failed;
        }
    }

    /// <summary>A client asking the app's endpoint that does not fail, one request after another, until stopped.</summary>
    private sealed class PingDriver
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _problems = new();
        private readonly Task _pinging;
        private int _answered;

        private PingDriver(HttpClient app) => _pinging = Task.Run(() => PingAsync(app));

        public static PingDriver Start(HttpClient app) => new(app);

        public async Task<(int Answered, List<string> Problems)> StopAsync()
        {
            await _stop.CancelAsync();
            await _pinging;
            _stop.Dispose();
            return (Volatile.Read(ref _answered), [.. _problems]);
        }

        private async Task PingAsync(HttpClient app)
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await app.GetAsync("/ping", _stop.Token);
                    var body = await response.Content.ReadAsStringAsync(_stop.Token);
                    if (response.StatusCode != HttpStatusCode.OK || body != "up")
                    {
                        _problems.Enqueue($"{(int)response.StatusCode} {body}");
                    }
                    else
                    {
                        Interlocked.Increment(ref _answered);
                    }

                    await Task.Delay(50, _stop.Token);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    _problems.Enqueue(exception.Message);
                }
            }
        }
    }
}
