using System.Net.Sockets;
using System.Text;
using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>
/// A page's reads (<see cref="ClickHouseAnswerHandler.AnswerWithin"/> set, as the dashboard sets PageTimeout) from a node
/// that hangs: after its answer's headers went out, or while another request's read of the same rows waits for it. A real
/// node stopped by SIGSTOP lands in either state only by chance; a loopback listener holds it there every time.
/// </summary>
public sealed class HungClickHouseAnswerTests
{
    /// <summary>
    /// Also the bound on the headers, which the node sends at once: at 1 s a loaded machine's first request (connecting,
    /// compiling the client's code) missed it now and then, and the read failed before it could hang.
    /// </summary>
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Far above <see cref="PageTimeout"/>: a read still waiting then waits for the node, not for its bound.</summary>
    private static readonly TimeSpan Unbounded = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Reads => ["page", "rows", "streamed"];

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task A_page_read_from_a_node_that_hangs_after_its_headers_fails_naming_the_page_timeout_instead_of_waiting_for_the_rest(string read)
    {
        await using var node = HangingNode.Start(afterHeaders: true);
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(10) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(node.Url));
        const string sql = "SELECT issue_key AS fingerprint FROM issues LIMIT 0, 50";
        Func<Task> reading = read switch
        {
            "page" => () => client.QueryPageAsync(sql, row => row.GetProperty("fingerprint").GetString(), CancellationToken.None),
            "rows" => () => client.QueryAsync(sql, row => row.GetProperty("fingerprint").GetString(), CancellationToken.None),
            _ => async () =>
            {
                await foreach (var _ in client.QueryRowsAsStreamedAsync(sql, row => row.GetProperty("fingerprint").GetString(), CancellationToken.None))
                {
                }
            },
        };

        ClickHouseAnswerHandler.AnswerWithin.Value = PageTimeout;
        var failure = await reading().WaitAsync(Unbounded).ContinueWith(task => task.Exception?.InnerException, TaskScheduler.Default);

        failure.Should().BeOfType<ClickHouseException>("a hung node is the store's outage (a 503), not a wait for the visitor to give up")
            .Which.Message.Should().Contain("stopped answering mid-way").And.Contain("PageTimeout").And.Contain(sql);
        node.HeadersSent.Should().Be(1, "the node answered its headers, then hung");
    }

    [Fact]
    public async Task A_background_read_from_a_node_that_hangs_after_its_headers_fails_after_the_request_timeout_instead_of_waiting_for_ever()
    {
        await using var node = HangingNode.Start(afterHeaders: true);
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromSeconds(2) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(node.Url));
        const string sql = "SELECT fingerprint FROM issue_states";

        // No page bound: ingest's key look-ups and writes, notifications, retention. HttpClient's timeout ends with the headers.
        ClickHouseAnswerHandler.AnswerWithin.Value = null;
        var failure = await client.QueryAsync(sql, row => row.GetProperty("fingerprint").GetString(), CancellationToken.None)
            .WaitAsync(Unbounded).ContinueWith(task => task.Exception?.InnerException, TaskScheduler.Default);

        failure.Should().BeOfType<ClickHouseException>().Which.Message.Should().Contain("stopped answering mid-way").And.Contain("RequestTimeout").And.Contain(sql);
        node.HeadersSent.Should().Be(1);
    }

    [Fact]
    public async Task A_page_that_joins_a_shared_read_started_without_a_bound_waits_at_most_its_own_page_timeout()
    {
        await using var node = HangingNode.Start(afterHeaders: false);
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(10) };
        var merges = new ClickHouseMergeCache(new ClickHouseClient(http, new ClickHouseConnection(node.Url)), "issue_merges");

        // Started outside any page (no PageTimeout: up to the client's whole timeout), as a background read would; the page
        // asks right after, while the read is young enough to be shared (ClickHouseMergeCache.MaxAge).
        ClickHouseAnswerHandler.AnswerWithin.Value = null;
        var background = merges.KeysAsync(1, CancellationToken.None);
        ClickHouseAnswerHandler.AnswerWithin.Value = PageTimeout;
        var page = merges.KeysAsync(1, CancellationToken.None);
        var failure = await page.WaitAsync(Unbounded).ContinueWith(task => task.Exception?.InnerException, TaskScheduler.Default);
        await node.Asked.WaitAsync(Unbounded);

        failure.Should().BeOfType<ClickHouseException>().Which.Message.Should().Contain("PageTimeout").And.Contain("another request started");
        background.IsCompleted.Should().BeFalse("the shared read goes on for whoever else waits for it");
        node.Connections.Should().Be(1, "the page joined the read in flight rather than sending its own");
    }

    /// <summary>
    /// A loopback node that either answers nothing at all or the headers of a 200 and a first piece of a JSON answer, and then
    /// nothing more until it is disposed: a node stopped before or mid-answer.
    /// </summary>
    private sealed class HangingNode : IAsyncDisposable
    {
        private readonly LoopbackNode _node;
        private int _headersSent;

        private HangingNode(bool afterHeaders) => _node = LoopbackNode.Start((stream, _, stop) => HangAsync(stream, afterHeaders, stop), TimeSpan.FromMinutes(5));

        public Uri Url => _node.Url;

        /// <summary>Completes once a request's head has arrived.</summary>
        public Task Asked => _node.Asked;

        public int Connections => _node.Connections;

        public int HeadersSent => Volatile.Read(ref _headersSent);

        public static HangingNode Start(bool afterHeaders) => new(afterHeaders);

        private async Task HangAsync(NetworkStream stream, bool afterHeaders, CancellationToken stop)
        {
            if (afterHeaders)
            {
                // Chunked, as ClickHouse answers: the first block, and never the chunk that ends the answer.
                const string block = "{\"fingerprint\":\"0123456789abcdef\"";
                var answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=3\r\n\r\n" +
                    $"{block.Length:x}\r\n{block}\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), stop);
                Interlocked.Increment(ref _headersSent);
            }

            // Hung: the connection stays open and nothing more is sent, until the client hangs up or the test ends.
            await LoopbackNode.HoldAsync(stream, stop);
        }

        public ValueTask DisposeAsync() => _node.DisposeAsync();
    }
}
