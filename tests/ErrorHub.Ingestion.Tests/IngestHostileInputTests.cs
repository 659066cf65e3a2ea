using System.Net;
using System.Net.Sockets;
using System.Text;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>Whatever a client sends, the answer is never a 5xx while the store is healthy, and the server keeps serving.</summary>
public sealed class IngestHostileInputTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private static readonly HttpStatusCode[] ClientErrors =
    [
        HttpStatusCode.Accepted, HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized, HttpStatusCode.NotFound,
        HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.UnsupportedMediaType,
    ];

    private IngestHost Host => fixture.Host;

    [Fact]
    public async Task A_corpus_of_hostile_bodies_never_gets_a_5xx()
    {
        var outcomes = new Dictionary<HttpStatusCode, int>();
        var failures = new List<string>();

        foreach (var (name, body, gzip) in HostileBodies())
        {
            using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new ByteArrayContent(body), gzip));
            outcomes[response.StatusCode] = outcomes.GetValueOrDefault(response.StatusCode) + 1;
            if (!ClientErrors.Contains(response.StatusCode))
            {
                failures.Add($"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            else if (response.StatusCode == HttpStatusCode.BadRequest)
            {
                var json = await IngestHost.JsonAsync(response);
                json.TryGetProperty("field", out _).Should().BeTrue("a 400 names the field ({0})", name);
            }
        }

        failures.Should().BeEmpty();
        outcomes.Keys.Should().Contain([HttpStatusCode.Accepted, HttpStatusCode.BadRequest, HttpStatusCode.RequestEntityTooLarge]);
        Host.Logs.Errors.Should().BeEmpty("no request may fail with an unhandled exception");
        await ShouldServeAGoodRequest();
    }

    [Fact]
    public async Task Hostile_headers_and_urls_never_get_a_5xx()
    {
        var body = Encode(Batch());
        var requests = new List<(string Name, Func<HttpRequestMessage> Create)>
        {
            ("key with control characters", () => Request(body, key: "key\u0001\u007f")),
            ("very long key", () => Request(body, key: new string('k', 8000))),
            ("non-ASCII key", () => Request(body, key: "schlüssel-ключ-鍵")),
            ("two keys", () => Request(body, extra: r => r.Headers.TryAddWithoutValidation("X-ErrorHub-Key", ["a", IngestHost.Key]))),
            ("content type without a media type", () => Request(body, contentType: ";")),
            ("content type with garbage parameters", () => Request(body, contentType: "application/vnd.msgpack; ;;=;charset")),
            ("empty content encoding", () => Request(body, encoding: "")),
            ("content encoding list of identities", () => Request(body, encoding: "identity, identity")),
            ("gzip in upper case with a plain body", () => Request(body, encoding: "GZIP")),
            ("huge project id", () => Request(body, projectId: new string('9', 500))),
            ("encoded slash in the project id", () => Request(body, projectId: "1%2F..%2F2")),
            ("unicode project id", () => Request(body, projectId: "%E2%91%A0")),
            ("query string", () => Request(body, projectId: "1?x=" + new string('y', 2000))),
            ("10,000 query parameters", () => Request(body, projectId: "1?" + string.Join('&', Enumerable.Range(0, 10_000).Select(i => $"p{i}={i}")))),
            ("a Host of 64 KB", () => Request(body, extra: r => r.Headers.TryAddWithoutValidation("Host", new string('h', 64 * 1024)))),
        };

        // A client that sends header values as raw UTF-8, as hostile clients do.
        using var client = new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 }) { BaseAddress = Host.BaseAddress };
        foreach (var (name, create) in requests)
        {
            using var request = create();
            using var response = await client.SendAsync(request);
            ((int)response.StatusCode).Should().BeLessThan(500, name);
        }

        Host.Logs.Errors.Should().BeEmpty();
        await ShouldServeAGoodRequest();
    }

    [Theory]
    [InlineData("gzip, gzip", true)] // a gzip inside a gzip, announced: one layer is all ingest undoes
    [InlineData("gzip,gzip", false)]
    [InlineData("gzip, identity", true)]
    [InlineData("br", false)]
    [InlineData("deflate", false)]
    [InlineData("zstd", false)]
    [InlineData("x-made-up", false)]
    public async Task A_content_encoding_other_than_gzip_or_none_is_the_documented_415_json_naming_it(string encoding, bool gzipTwice)
    {
        var body = gzipTwice ? IngestHost.Gzip(IngestHost.Gzip(Encode(Batch()))) : Encode(Batch());

        using var response = await Host.Client.SendAsync(Request(body, encoding: encoding));

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType, encoding);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain($"'{encoding}' is not supported");
        Host.Logs.Errors.Should().BeEmpty();
        await ShouldServeAGoodRequest();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task A_body_that_says_it_is_not_MessagePack_is_the_documented_415_json(string contentType)
    {
        using var response = await Host.Client.SendAsync(Request(Encode(Batch()), contentType: contentType));

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType, contentType);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("application/vnd.msgpack");
        Host.Logs.Errors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("1%20")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("1e3")]
    [InlineData("%EF%BC%91")] // a full-width digit one
    [InlineData("99999999999")]
    public async Task A_project_id_that_is_not_a_positive_integer_is_the_documented_404_json(string projectId)
    {
        using var response = await Host.PostAsync(IngestHost.MessagePack(Encode(Batch())), IngestHost.Key, projectId);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound, projectId);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("positive integer", projectId);
    }

    [Theory]
    [InlineData("1%00")]
    [InlineData("%00")]
    public async Task A_null_byte_in_the_url_is_refused_by_the_http_server_itself_and_the_server_carries_on(string projectId)
    {
        // Kestrel refuses a request target holding a null byte while parsing the request line, before any
        // middleware runs, so no ErrorHub code can answer it (docs/protocol.md): a bare 400, and nothing more.
        using var response = await Host.PostAsync(IngestHost.MessagePack(Encode(Batch())), IngestHost.Key, projectId);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        Host.Logs.Errors.Should().BeEmpty();
        await ShouldServeAGoodRequest();
    }

    [Theory]
    [InlineData("malformed chunk size", "Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n")]
    [InlineData("chunk longer than announced", "Transfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n")]
    [InlineData("body shorter than its content length", "Content-Length: 100\r\n\r\n\u0081\u00a6events\u0090")]
    [InlineData("both Content-Length and Transfer-Encoding (a smuggling shape)", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")]
    [InlineData("two different Content-Lengths", "Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc")]
    [InlineData("Transfer-Encoding that is not chunked last", "Transfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n")]
    [InlineData("chunk extensions", "Transfer-Encoding: chunked\r\n\r\n3;name=value;x=\"y\"\r\nabc\r\n0;last\r\n\r\n")]
    [InlineData("an obs-fold header", "X-Folded: first\r\n second\r\nContent-Length: 3\r\n\r\nabc")]
    [InlineData("a second Host", "Host: other.example\r\nContent-Length: 3\r\n\r\nabc")]
    public async Task A_malformed_http_body_is_a_4xx_or_a_closed_connection_and_never_a_5xx(string what, string headersAndBody)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Host.BaseAddress.Port);
        var stream = tcp.GetStream();
        var request = $"POST /api/{IngestHost.ProjectId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ErrorHub-Key: {IngestHost.Key}\r\n" +
            $"Content-Type: application/vnd.msgpack\r\n{headersAndBody}";
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        tcp.Client.Shutdown(SocketShutdown.Send); // the client stops sending: a short body stays short

        var answer = await ReadAnswerAsync(stream);

        if (answer.Length > 0)
        {
            answer.Should().StartWith("HTTP/1.1 4", what);
        }

        Host.Logs.Errors.Should().BeEmpty();
        await ShouldServeAGoodRequest();
    }

    [Fact]
    public async Task A_client_that_disconnects_while_sending_leaves_the_server_serving()
    {
        for (var i = 0; i < 5; i++)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, Host.BaseAddress.Port);
            var head = $"POST /api/{IngestHost.ProjectId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ErrorHub-Key: {IngestHost.Key}\r\n" +
                "Content-Type: application/vnd.msgpack\r\nContent-Length: 1000000\r\n\r\n";
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head));
            await tcp.GetStream().WriteAsync(Bytes());
            tcp.Client.LingerState = new LingerOption(true, 0); // reset, not a graceful close
        }

        await ShouldServeAGoodRequest();
        Host.Logs.Errors.Should().BeEmpty("a client going away is not a server error");
    }

    [Theory]
    [InlineData("chunked")]
    [InlineData("with a content length")]
    public async Task A_body_trickled_in_just_above_the_minimum_data_rate_is_answered_503_when_the_request_time_is_up(string framing)
    {
        // Kestrel ends a client sending under 240 bytes/s; this one sends about 800 bytes/s, which would take a 2 MiB body
        // most of an hour, holding its connection and its buffer all that time.
        await using var host = await IngestHost.StartAsync(new() { ["ErrorHub:Ingest:MaxRequestTime"] = "00:00:01" });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
        var stream = tcp.GetStream();
        var length = framing == "chunked" ? "Transfer-Encoding: chunked" : $"Content-Length: {2 * 1024 * 1024}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /api/{IngestHost.ProjectId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ErrorHub-Key: {IngestHost.Key}\r\n" +
            $"Content-Type: application/vnd.msgpack\r\n{length}\r\n\r\n"));
        using var trickling = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // far past the request time: the answer comes first, or never
        var trickle = Task.Run(async () =>
        {
            var piece = Encoding.ASCII.GetBytes(framing == "chunked" ? "10\r\n0123456789abcdef\r\n" : "0123456789abcdef");
            while (!trickling.IsCancellationRequested)
            {
                await stream.WriteAsync(piece, trickling.Token);
                await Task.Delay(20, trickling.Token);
            }
        });

        var answer = await ReadAnswerAsync(stream, trickling.Token);
        await trickling.CancelAsync();
        await trickle.ContinueWith(_ => { }, TaskScheduler.Default); // the writer ends by cancellation or a closed connection

        answer.Should().StartWith("HTTP/1.1 503", "the read stops when MaxRequestTime is up, not when the body is done");
        answer.Should().Contain("Retry-After:").And.Contain("did not arrive within 1 s");
        host.Logs.Errors.Should().BeEmpty();
        using var next = await host.PostAsync(Encode(SampleBatch.WithFreshIds().Batch));
        next.StatusCode.Should().Be(HttpStatusCode.Accepted, "the server carries on");
    }

    [Fact]
    public async Task A_body_that_stops_arriving_is_the_documented_408_json()
    {
        // Kestrel's minimum data rate ends it (after its 5 s grace), before the request time of 10 s is up.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Host.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /api/{IngestHost.ProjectId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ErrorHub-Key: {IngestHost.Key}\r\n" +
            "Content-Type: application/vnd.msgpack\r\nContent-Length: 1000\r\n\r\n"));
        await stream.WriteAsync(Bytes().AsMemory(0, 10));
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var answer = await ReadAnswerAsync(stream, patience.Token);

        answer.Should().StartWith("HTTP/1.1 408").And.Contain("application/json").And.Contain("too slowly");
        Host.Logs.Errors.Should().BeEmpty();
        await ShouldServeAGoodRequest();
    }

    private static IEnumerable<(string Name, byte[] Body, bool Gzip)> HostileBodies()
    {
        var valid = Bytes();
        var random = new Random(424242);

        for (var i = 0; i < 150; i++)
        {
            yield return ($"mutation {i}", BodyMutations.Mutate(valid, random), false);
        }

        for (var i = 0; i < 30; i++)
        {
            yield return ($"gzipped mutation {i}", IngestHost.Gzip(BodyMutations.Mutate(valid, random)), true);
        }

        for (var cut = 0; cut < valid.Length; cut += 37)
        {
            yield return ($"cut at {cut}", valid[..cut], false);
        }

        var gzipped = IngestHost.Gzip(valid);
        for (var cut = 0; cut < gzipped.Length; cut += 23)
        {
            yield return ($"gzip cut at {cut}", gzipped[..cut], true);
        }

        for (var i = 0; i < 20; i++)
        {
            var garbage = new byte[random.Next(1, 200)];
            random.NextBytes(garbage);
            yield return ($"random {i}", garbage, false);
            yield return ($"random as gzip {i}", garbage, true);
            byte[] gzipHeaderThenGarbage = [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff, .. garbage];
            yield return ($"gzip header then garbage {i}", gzipHeaderThenGarbage, true);
        }

        var flipped = (byte[])gzipped.Clone();
        flipped[^10] ^= 0xff;
        yield return ("gzip with a corrupt checksum", flipped, true);
        yield return ("gzip of gzip", IngestHost.Gzip(gzipped), true);
        yield return ("two gzip members", [.. gzipped, .. gzipped], true);
        yield return ("gzip of nothing", IngestHost.Gzip([]), true);
        yield return ("unknown value nested 10000 deep", Encode(Batch(MessageEvent().With("deep", NestedArrays(10_000)))), false);
        yield return ("array32 of 4 billion events", [0x81, 0xa6, .. "events"u8, 0xdd, 0xff, 0xff, 0xff, 0xff], false);
        yield return ("str32 of 4 GiB as a key", [0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], false);
        yield return ("1000 events with 250 frames each", Encode(Map(("events", Enumerable.Range(0, 1000).Select(_ =>
            (object?)Map(("exceptions", Array(Map(("type", "E"), ("frames", Enumerable.Range(0, 260).Select(f => (object?)Map(("function", "f"))).ToArray()))))))
            .ToArray()))), true);
        yield return ("100000 nils in an unknown array", Encode(Batch(MessageEvent().With("nils", Enumerable.Repeat<object?>(null, 100_000).ToArray()))), true);
        yield return ("100001 entries in an unknown array", Encode(Batch(MessageEvent().With("nils", Enumerable.Repeat<object?>(null, 100_001).ToArray()))), true);
        yield return ("every string a lone surrogate", Encode(Batch(CheckoutEvent().With("message", "\uD800").With("logger", "\uDC00"))), false);
        yield return ("timestamps at the edges", Encode(Batch(
            MessageEvent().With("timestamp", Ext(-1, new byte[12] { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xf1, 0x88, 0x6e, 0x09, 0x00 })),
            MessageEvent().With("timestamp", DateTimeOffset.MaxValue),
            MessageEvent().With("timestamp", DateTimeOffset.MinValue))), false);
    }

    private static HttpRequestMessage Request(byte[] body, string? key = IngestHost.Key, string projectId = "1", string contentType = "application/vnd.msgpack",
        string? encoding = null, Action<HttpRequestMessage>? extra = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/{projectId}/events") { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (encoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", key);
        }

        extra?.Invoke(request);
        return request;
    }

    private static async Task<string> ReadAnswerAsync(NetworkStream stream, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[4096];
        var answer = new StringBuilder();
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                answer.Append(Encoding.Latin1.GetString(buffer, 0, read));
            }
        }
        catch (IOException)
        {
            // A reset after the answer is fine; the answer so far is what counts.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // No end of the answer in time: what came so far is what counts.
        }

        return answer.ToString();
    }

    private async Task ShouldServeAGoodRequest()
    {
        using var response = await Host.PostAsync(Encode(SampleBatch.WithFreshIds().Batch));
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }
}
