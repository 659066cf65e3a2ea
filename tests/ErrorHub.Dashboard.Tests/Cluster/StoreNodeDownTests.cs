using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Sdk;

namespace ErrorHub.Dashboard.Tests.Cluster;

/// <summary>The dashboard on a ClickHouse cluster node that stops: what its users and its operator see.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseClusterCollectionDefinition : ICollectionFixture<ClickHouseClusterFixture>
{
    public const string Name = "ClickHouse cluster (dashboard)";
}

[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class StoreNodeDownTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("dashnode");
    private bool _hung;

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        foreach (var node in cluster.Nodes.Where(node => !node.IsRunning))
        {
            await node.StartAsync();
        }

        foreach (var node in cluster.Nodes)
        {
            // A node that was hung (SIGSTOP) for longer than its ZooKeeper session lasts has it expired when it goes on, and
            // refuses the DROP of replicated tables ("ZooKeeper session has expired") until it has a new one.
            if (_hung)
            {
                node.Hang(hung: false);
                await node.WaitForZooKeeperAgainAsync(ZooKeeperAgainWithin);
            }

            await DropDatabaseAsync(node);
        }
    }

    private static readonly TimeSpan ZooKeeperAgainWithin = TimeSpan.FromSeconds(90);

    private async Task DropDatabaseAsync(ClickHouseClusterNode node)
    {
        var giveUp = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await node.QueryAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(_database)}");
                return;
            }
            catch (Exception ex) when (ex.Message.Contains("ZooKeeper", StringComparison.OrdinalIgnoreCase) && giveUp.Elapsed < ZooKeeperAgainWithin)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
        }
    }

    private DashboardServer DashboardOn(ClickHouseClusterNode node, string? pageTimeout = null, StoreRequests? storeRequests = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = node.Url.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = _database,
            ["ErrorHub:Store:ClickHouse:Cluster"] = ClickHouseClusterFixture.ClusterName,
        };
        if (pageTimeout is not null)
        {
            settings["ErrorHub:Store:ClickHouse:PageTimeout"] = pageTimeout;
        }

        return DashboardServer.Start(settings, testServices: storeRequests is null ? null : services => services
            .AddHttpClient(ErrorHubStoreServiceCollectionExtensions.ClickHouseHttpClientName)
            .AddHttpMessageHandler(() => new StoreRequests.Recorder(storeRequests)));
    }

    [Fact]
    public async Task With_its_node_stopped_every_page_answers_a_clear_503_at_once_and_works_again_when_the_node_is_back()
    {
        var node = cluster.Nodes[0];
        using var dashboard = DashboardOn(node);
        using var client = await dashboard.SignedInClientAsync();
        string[] pages = ["projects/1/issues", "projects/1/issues/0123456789abcdef", "projects/1/releases", "/"];
        string[] api = ["api/projects/1/issues", "api/projects/1/issues/0123456789abcdef/activity"];
        foreach (var page in pages.Concat(api))
        {
            using var up = await GetAsync(client, page);
            up.StatusCode.Should().NotBe(HttpStatusCode.ServiceUnavailable, page);
            ((int)up.StatusCode).Should().BeLessThan(500, page);
        }

        await node.KillAsync();

        foreach (var page in pages)
        {
            using var down = await GetAsync(client, page);
            var body = await down.Content.ReadAsStringAsync();
            down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{page} cannot be read with the node stopped: {body}");
            down.Headers.RetryAfter!.Delta.Should().BePositive();
            body.Should().Contain("The store is not answering").And.NotContain("Exception").And.NotContain(node.Url.Authority, "the cause is for the log, not for visitors");
        }

        foreach (var call in api)
        {
            using var down = await GetAsync(client, call);
            down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, call);
            down.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
            (await down.Content.ReadAsStringAsync()).Should().Contain("the store cannot be read right now");
        }

        var outage = dashboard.Logs.Entries.Where(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal)).ToList();
        outage.Should().ContainSingle("one line when the outage begins, not one per request").Which.Level.Should().Be(LogLevel.Error);
        outage[0].Exception!.Message.Should().Contain(node.Url.ToString(), "the log says which node to look at");

        await node.StartAsync();
        foreach (var page in pages.Concat(api))
        {
            using var back = await GetAsync(client, page);
            ((int)back.StatusCode).Should().BeLessThan(500, $"{page} reads the node again, without a restart of the dashboard");
        }

        dashboard.Logs.Entries.Should().ContainSingle(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal) && e.Level == LogLevel.Information)
            .Which.Message.Should().Contain("answers again");
    }

    [Fact]
    public async Task With_its_node_hung_every_page_answers_a_clear_503_within_the_page_timeout_not_the_request_timeout()
    {
        var node = cluster.Nodes[0];
        var storeRequests = new StoreRequests();
        // Short, so that the node is stopped for seconds only; RequestTimeout stays at its two minutes.
        using var dashboard = DashboardOn(node, pageTimeout: "00:00:02", storeRequests);
        using var client = await dashboard.SignedInClientAsync();
        string[] pages = ["projects/1/issues", "projects/1/issues/0123456789abcdef", "/"];
        const string api = "api/projects/1/issues";
        foreach (var page in pages.Append(api))
        {
            using var up = await GetAsync(client, page);
            ((int)up.StatusCode).Should().BeLessThan(500, page);
        }

        // Hung, not stopped: the kernel still accepts connections, and the node answers nothing.
        _hung = true;
        node.Hang();
        storeRequests.Mark("node hung");
        var pagesSeen = new StringBuilder();
        try
        {
            foreach (var page in pages)
            {
                using var hung = await GetTimedAsync(client, page, pagesSeen, storeRequests, dashboard);
                var body = await hung.Content.ReadAsStringAsync();
                hung.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{page} cannot be read from a hung node: {body}{Diagnosis(pagesSeen, storeRequests, dashboard)}");
                hung.Headers.RetryAfter!.Delta.Should().BePositive();
                body.Should().Contain("The store is not answering");
            }

            using var hungApi = await GetTimedAsync(client, api, pagesSeen, storeRequests, dashboard);
            hungApi.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, Diagnosis(pagesSeen, storeRequests, dashboard));
        }
        finally
        {
            node.Hang(hung: false);
        }

        var outage = dashboard.Logs.Entries.Where(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal)).ToList();
        outage.Should().ContainSingle(e => e.Level == LogLevel.Error).Which.Exception!.Message.Should().Contain("did not start answering", "the log says the node hung");
        foreach (var page in pages.Append(api))
        {
            using var back = await GetAsync(client, page);
            ((int)back.StatusCode).Should().BeLessThan(500, $"{page} reads the node again once it runs");
        }
    }

    /// <summary>
    /// <see cref="GetAsync"/>, and when no answer came: which page, after how long, and which of the dashboard's ClickHouse
    /// requests were still waiting (their query, their bound, who sent them), so that a failure in CI says what waited.
    /// </summary>
    private static async Task<HttpResponseMessage> GetTimedAsync(HttpClient client, string page, StringBuilder pagesSeen, StoreRequests storeRequests, DashboardServer dashboard)
    {
        var asked = Stopwatch.StartNew();
        storeRequests.Mark($"GET {page}");
        try
        {
            var response = await GetAsync(client, page);
            pagesSeen.AppendLine($"  {page}: {(int)response.StatusCode} after {asked.Elapsed.TotalSeconds:0.0} s");
            return response;
        }
        catch (OperationCanceledException)
        {
            pagesSeen.AppendLine($"  {page}: no answer after {asked.Elapsed.TotalSeconds:0.0} s");
            throw new XunitException($"{page} did not answer within the test's bound with its node hung.{Diagnosis(pagesSeen, storeRequests, dashboard)}");
        }
    }

    private static string Diagnosis(StringBuilder pagesSeen, StoreRequests storeRequests, DashboardServer dashboard)
    {
        var text = new StringBuilder().AppendLine().AppendLine("Pages with the node hung:").Append(pagesSeen);
        text.AppendLine("The dashboard's ClickHouse requests since the node hung (bound: the PageTimeout they ran under):").Append(storeRequests.Describe());
        text.AppendLine("The dashboard's log (warnings and errors):");
        foreach (var entry in dashboard.Logs.Entries.Where(e => e.Level >= LogLevel.Warning))
        {
            text.AppendLine($"  {entry.Level} {entry.Category}: {entry.Message} {entry.Exception?.Message}");
        }

        return text.ToString();
    }

    /// <summary>
    /// The dashboard's requests to ClickHouse, each with its statement, the page bound it ran under (none: it escaped the
    /// PageTimeout), its sender and when its headers and its body's end came; marks say what the test did in between.
    /// </summary>
    private sealed class StoreRequests
    {
        private const int MaxKept = 500;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentQueue<Sent> _sent = new();

        public void Mark(string what) => Record(new Sent($"-- {what}", Bound: null, Sender: "", At: _clock.Elapsed));

        private void Record(Sent sent)
        {
            _sent.Enqueue(sent);
            while (_sent.Count > MaxKept && _sent.TryDequeue(out _))
            {
            }
        }

        public string Describe()
        {
            var text = new StringBuilder();
            var now = _clock.Elapsed;
            // From the first mark on (the node hung): what came before answered.
            foreach (var sent in _sent.SkipWhile(sent => !sent.Statement.StartsWith("-- ", StringComparison.Ordinal)))
            {
                if (sent.Statement.StartsWith("-- ", StringComparison.Ordinal))
                {
                    text.AppendLine($"  {sent.At.TotalSeconds:0.0} s {sent.Statement}");
                    continue;
                }

                var headers = sent.HeadersAfter is { } after ? $"headers after {after.TotalSeconds:0.0} s" : $"NO HEADERS after {(now - sent.At).TotalSeconds:0.0} s";
                var body = sent.BodyEndedAfter is { } ended ? $", body ended after {ended.TotalSeconds:0.0} s" : sent.HeadersAfter is null ? "" : ", BODY NOT ENDED";
                var failed = sent.Failure is { } failure ? $", failed: {failure}" : "";
                text.AppendLine($"  {sent.At.TotalSeconds:0.0} s bound {sent.Bound?.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) ?? "NONE"}: " +
                    $"{headers}{body}{failed}; from {sent.Sender}; {ClickHouseException.Abbreviate(sent.Statement)}");
            }

            return text.ToString();
        }

        private sealed record Sent(string Statement, TimeSpan? Bound, string Sender, TimeSpan At)
        {
            public TimeSpan? HeadersAfter { get; set; }

            public TimeSpan? BodyEndedAfter { get; set; }

            public string? Failure { get; set; }
        }

        /// <summary>Outside the store's own handler, so it sees the flow's bound and statement as that handler does.</summary>
        public sealed class Recorder(StoreRequests requests) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var sent = new Sent(
                    ClickHouseAnswerHandler.Statement.Value ?? request.RequestUri?.Query ?? "",
                    ClickHouseAnswerHandler.AnswerWithin.Value,
                    Sender(),
                    requests._clock.Elapsed);
                requests.Record(sent);
                try
                {
                    var response = await base.SendAsync(request, cancellationToken);
                    sent.HeadersAfter = requests._clock.Elapsed - sent.At;
                    var content = response.Content;
                    response.Content = new BodyEndContent(content, () => sent.BodyEndedAfter ??= requests._clock.Elapsed - sent.At);
                    foreach (var (name, values) in content.Headers)
                    {
                        response.Content.Headers.TryAddWithoutValidation(name, values);
                    }

                    return response;
                }
                catch (Exception ex)
                {
                    sent.Failure = $"{ex.GetType().Name} after {(requests._clock.Elapsed - sent.At).TotalSeconds:0.0} s";
                    throw;
                }
            }

            /// <summary>The first few of ErrorHub's own methods on the stack: which store call, from which page or service.</summary>
            private static string Sender() => string.Join(" < ", new StackTrace(2, false).GetFrames()
                .Select(frame => frame.GetMethod())
                .Select(method => method?.DeclaringType is { } type
                    ? type.Name.StartsWith('<') && type.DeclaringType is { } outer ? $"{outer.Name}.{type.Name[1..type.Name.IndexOf('>', StringComparison.Ordinal)]}" : $"{type.Name}.{method.Name}"
                    : "")
                .Where(name => name.Length > 0 && !name.StartsWith("Recorder", StringComparison.Ordinal) && !name.StartsWith("AsyncMethodBuilderCore", StringComparison.Ordinal)
                    && !name.StartsWith("AsyncTaskMethodBuilder", StringComparison.Ordinal) && !name.StartsWith("ExecutionContext", StringComparison.Ordinal))
                .Take(6));
        }

        /// <summary>Notes when the body was read to its end or let go.</summary>
        private sealed class BodyEndContent(HttpContent inner, Action ended) : HttpContent
        {
            protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
            {
                await inner.CopyToAsync(stream);
                ended();
            }

            protected override async Task<Stream> CreateContentReadStreamAsync() => new EndNotingStream(await inner.ReadAsStreamAsync(), ended);

            protected override bool TryComputeLength(out long length)
            {
                length = 0;
                return false;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }

        private sealed class EndNotingStream(Stream inner, Action ended) : ReadThroughStream(inner)
        {
            protected override int Passed(int read)
            {
                if (read == 0)
                {
                    ended();
                }

                return read;
            }
        }
    }

    /// <summary>A hang ends here, well before the test run's own limit: a stopped node must be answered, not waited for.</summary>
    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string page)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await client.GetAsync(page, bound.Token);
    }
}
