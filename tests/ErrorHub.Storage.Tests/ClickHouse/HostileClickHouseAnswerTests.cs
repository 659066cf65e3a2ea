using System.Net;
using System.Net.Sockets;
using System.Text;
using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>
/// The store's ClickHouse client against something in ClickHouse's place that answers a page's query with rows without
/// end (a server ignoring the query's LIMIT, a proxy pouring another answer): the dashboard held the whole answer as text,
/// then as a JSON document, for as long as the page's timeout let it. No real ClickHouse answers so; a loopback listener does.
/// </summary>
public sealed class HostileClickHouseAnswerTests
{
    [Fact]
    public async Task A_page_query_answered_with_millions_of_rows_is_refused_after_a_bounded_read_with_a_clear_error()
    {
        await using var server = EndlessRowsServer.Start();
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(2) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));

        var page = () => client.QueryPageAsync(
            "SELECT issue_key AS fingerprint FROM issues ORDER BY fingerprint LIMIT 0, 50",
            row => row.GetProperty("fingerprint").GetString(),
            CancellationToken.None);

        (await page.Should().ThrowAsync<ClickHouseException>()).Which.Message.Should()
            .Contain($"answered more than {ClickHouseClient.MaxPageAnswerChars / (1024 * 1024)} M characters to a page's query");
        await server.Answered.WaitAsync(TimeSpan.FromSeconds(60));
        server.BytesSent.Should().BeLessThan(ClickHouseClient.MaxPageAnswerChars + (32L << 20),
            "the client stops reading at its bound (what the kernel's buffers take aside), not at the server's end or the timeout");
    }

    public static TheoryData<string, string, string> EndlessAnswers => new()
    {
        // A read whose rows are held until the answer ends (an issue's events, a project's issue states, notification rules).
        { "rows", "", "{\"fingerprint\":\"0123456789abcdef\"}\n" },
        // One row that never ends: the reader held the whole line before it could look at it.
        { "rows", "{\"fingerprint\":\"", "0123456789abcdef" },
        { "streamed", "{\"fingerprint\":\"", "0123456789abcdef" },
    };

    [Theory]
    [MemberData(nameof(EndlessAnswers))]
    public async Task A_query_answered_without_end_is_refused_after_a_bounded_read_with_a_clear_error(string read, string start, string repeated)
    {
        await using var server = EndlessRowsServer.StartEachRow(start, repeated);
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(2) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        const string sql = "SELECT fingerprint FROM issue_states";
        var (reading, bound) = read switch
        {
            "rows" => ((Func<Task>)(() => client.QueryAsync(sql, _ => 0, CancellationToken.None)), ClickHouseClient.MaxRowsAnswerChars),
            _ => (async () =>
            {
                await foreach (var _ in client.QueryRowsAsStreamedAsync(sql, _ => 0, CancellationToken.None))
                {
                }
            }, ClickHouseClient.MaxStreamedRowChars),
        };

        var refused = (await reading.Should().ThrowExactlyAsync<ClickHouseException>()).Which;
        refused.Message.Should().Contain($"answered more than {bound / (1024 * 1024)} M characters").And.Contain("the rest was not read").And.Contain(sql);
        await server.Answered.WaitAsync(TimeSpan.FromSeconds(60));
        server.BytesSent.Should().BeLessThan(bound + (32L << 20),
            "the client stops reading at its bound (what the kernel's buffers take aside), not at the server's end or the timeout");
    }

    [Fact]
    public async Task An_insert_answered_without_end_is_refused_after_a_bounded_read_not_held_whole()
    {
        // HttpClient held an insert's whole answer (up to 2 GB) before the insert counted as done.
        await using var server = EndlessRowsServer.StartEachRow("", "Ok.\n");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(2) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));

        var inserting = () => client.InsertRowBinaryAsync("events", "id", new ByteArrayContent([1, 2, 3]), CancellationToken.None);

        (await inserting.Should().ThrowExactlyAsync<ClickHouseException>()).Which.Message.Should()
            .Contain($"answered more than {ClickHouseClient.MaxInsertAnswerBytes / 1024} KB to an insert").And.Contain("INSERT INTO events");
        await server.Answered.WaitAsync(TimeSpan.FromSeconds(60));
        server.BytesSent.Should().BeLessThan(ClickHouseClient.MaxInsertAnswerBytes + (32L << 20));
    }

    [Theory]
    [InlineData("statement")]
    [InlineData("rows")]
    public async Task A_statement_or_an_insert_through_the_driver_answered_without_end_ends_without_holding_the_answer(string sent)
    {
        await using var server = EndlessRowsServer.StartEachRow("", "Ok.\n");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(2) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));

        Func<Task> sending = sent == "statement"
            ? () => client.ExecuteAsync("OPTIMIZE TABLE events", CancellationToken.None)
            : () => client.InsertAsync("issue_merges", [new ClickHouseIssueMergeRow(1, "a", "b", DateTimeOffset.UnixEpoch, 1)], CancellationToken.None);
        try
        {
            await sending();
        }
        catch (ClickHouseException)
        {
            // Refused is as good as done: what matters is how much was read.
        }

        await server.Answered.WaitAsync(TimeSpan.FromSeconds(60));
        server.BytesSent.Should().BeLessThan(32L << 20, "the answer to a statement is not read whole");
    }

    [Fact]
    public async Task An_error_after_rows_is_still_read_whole_from_the_lines_that_follow()
    {
        const string body = "{\"words\":\"a\"}\nCode: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded\n";
        await using var server = HeadRecorder.Start(
            answer: $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(1) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));

        var reading = () => client.QueryAsync("SELECT 'a' AS words", row => row.GetProperty("words").GetString(), CancellationToken.None);

        var failed = (await reading.Should().ThrowExactlyAsync<ClickHouseException>()).Which;
        failed.ErrorCode.Should().Be(241);
        failed.Message.Should().Contain("failed while answering").And.Contain("Memory limit");
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    public async Task A_redirect_to_another_address_is_not_followed_the_statement_stays_home_and_the_read_fails_naming_the_status(int status)
    {
        await using var elsewhere = HeadRecorder.Start(answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        await using var redirecting = HeadRecorder.Start(
            answer: $"HTTP/1.1 {status} Moved\r\nLocation: http://127.0.0.1:{elsewhere.Port}/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(1) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(redirecting.Url, "default", "secret-password"));

        Exception? thrown = null;
        try
        {
            await client.QueryAsync("SELECT 'private' AS words", row => row.GetProperty("words").GetString(), CancellationToken.None);
        }
        catch (Exception ex)
        {
            thrown = ex;
        }

        elsewhere.Heads.Should().BeEmpty("a redirect names an address the configuration did not: the statement does not go there (the password did not either: HttpClient drops Authorization on a redirect)");
        redirecting.Heads.Should().ContainSingle();
        var refused = thrown.Should().BeOfType<ClickHouseException>("an answer from elsewhere is no answer of ClickHouse's (it was read as an empty result before)").Subject;
        refused.StatusCode.Should().Be((HttpStatusCode)status);
        refused.Message.Should().Contain(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static TheoryData<string, string> JsonNotTheRows => new()
    {
        { "rows", "1\n" },
        { "rows", "{\"other\":\"column\"}\n" },
        { "rows", "{\"words\":42}\n" },
        { "page", "1" },
        { "page", "{\"data\":{\"not\":\"rows\"}}" },
        { "page", "{\"data\":[{\"words\":[1]}]}" },
        { "streamed", "[\"words\"]\n" },
    };

    [Theory]
    [MemberData(nameof(JsonNotTheRows))]
    public async Task Json_that_is_not_the_querys_rows_is_a_clickhouse_failure_not_an_exception_of_the_reader(string read, string body)
    {
        // An open page rides out a store failure and refreshes again; any other exception ended its refresh for good.
        await using var server = HeadRecorder.Start(
            answer: $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}");
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(1) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        const string sql = "SELECT 'private' AS words";
        static string Words(System.Text.Json.JsonElement row) => row.GetProperty("words").GetString() ?? "";

        Func<Task> reading = read switch
        {
            "rows" => () => client.QueryAsync(sql, Words, CancellationToken.None),
            "page" => () => client.QueryPageAsync(sql + " LIMIT 10", Words, CancellationToken.None),
            _ => async () =>
            {
                await foreach (var _ in client.QueryRowsAsStreamedAsync(sql, Words, CancellationToken.None))
                {
                }
            },
        };

        (await reading.Should().ThrowExactlyAsync<ClickHouseException>()).Which.Message.Should().Contain("not the query's rows");
    }

    /// <summary>A loopback node that records the head of each request and answers it with <c>answer</c>.</summary>
    private sealed class HeadRecorder : IAsyncDisposable
    {
        private readonly LoopbackNode _node;

        private HeadRecorder(string answer) => _node = LoopbackNode.Start(
            async (stream, head, stop) =>
            {
                Heads.Enqueue(head);
                await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), stop);
            },
            TimeSpan.FromMinutes(2));

        public System.Collections.Concurrent.ConcurrentQueue<string> Heads { get; } = new();

        public int Port => _node.Port;

        public Uri Url => _node.Url;

        public static HeadRecorder Start(string answer) => new(answer);

        public ValueTask DisposeAsync() => _node.DisposeAsync();
    }

    /// <summary>
    /// A loopback listener that answers its first request 200 with a JSON answer whose rows go on until the client hangs up,
    /// or <see cref="MaxBytes"/>, so that a client without a bound ends too.
    /// </summary>
    private sealed class EndlessRowsServer : IAsyncDisposable
    {
        private const long MaxBytes = 128L << 20;

        private readonly string _start;
        private readonly byte[] _repeated;
        private readonly LoopbackNode _node;
        private long _bytesSent;

        private EndlessRowsServer(string start, string repeated)
        {
            _start = start;
            _repeated = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(repeated, Math.Max(1, (64 * 1024) / repeated.Length))));
            _node = LoopbackNode.Start((stream, _, stop) => AnswerAsync(stream, stop), TimeSpan.FromMinutes(2), maxConnections: 1);
        }

        public Uri Url => _node.Url;

        public long BytesSent => Interlocked.Read(ref _bytesSent);

        /// <summary>Completes when the answer ended: the client hung up, or the server sent all it would.</summary>
        public Task Answered => _node.Answered;

        /// <summary>A FORMAT JSON answer: one object whose data array has no end.</summary>
        public static EndlessRowsServer Start() => Start(
            "X-ClickHouse-Format: JSON", "{\"meta\":[{\"name\":\"fingerprint\",\"type\":\"String\"}],\"data\":[", "{\"fingerprint\":\"0123456789abcdef\"},");

        /// <summary>A JSONEachRow answer: <paramref name="repeated"/> without end after <paramref name="start"/>.</summary>
        public static EndlessRowsServer StartEachRow(string start, string repeated) => Start("X-ClickHouse-Format: JSONEachRow", start, repeated);

        private static EndlessRowsServer Start(string formatHeader, string start, string repeated) => new(
            $"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n{formatHeader}\r\nConnection: close\r\n\r\n{start}", repeated);

        private async Task AnswerAsync(NetworkStream stream, CancellationToken stop)
        {
            await WriteAsync(stream, Encoding.ASCII.GetBytes(_start), stop);
            while (BytesSent < MaxBytes)
            {
                await WriteAsync(stream, _repeated, stop);
            }
        }

        private async Task WriteAsync(NetworkStream stream, byte[] bytes, CancellationToken stop)
        {
            await stream.WriteAsync(bytes, stop);
            Interlocked.Add(ref _bytesSent, bytes.Length);
        }

        public ValueTask DisposeAsync() => _node.DisposeAsync();
    }
}
