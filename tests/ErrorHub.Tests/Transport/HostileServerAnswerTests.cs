using System.Net;
using System.Net.Sockets;
using System.Text;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// Whatever answers at the DSN's address, however hostile (an endless body, a Retry-After of ten years or below zero, a
/// redirect to itself), the app sees no exception, the SDK's memory and waits stay bounded, its log gets at most a line
/// per batch, and the next batch goes out. A real server on loopback; waits on a fake clock.
/// </summary>
public sealed class HostileServerAnswerTests : IAsyncLifetime
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(15);

    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_202_with_a_body_of_a_gigabyte_is_a_delivery_taken_on_its_status_and_the_next_batch_goes_out()
    {
        _ingest.Answer(async response =>
        {
            response.StatusCode = 202;
            var chunk = new byte[1024 * 1024];
            try
            {
                for (var i = 0; i < 1024 && !response.HttpContext.RequestAborted.IsCancellationRequested; i++)
                {
                    await response.Body.WriteAsync(chunk, response.HttpContext.RequestAborted);
                }
            }
            catch (Exception exception) when (exception is OperationCanceledException or IOException)
            {
                // the client closed the connection
            }
        });
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("accepted with a huge answer");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        sdk.Client.CaptureMessage("next");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(2, "a 202 is a delivery: the batch is not sent again");
        sdk.Client.Sender!.Drops.Total().Should().Be(0);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();
    }

    [Theory]
    [InlineData("315360000")] // ten years in seconds
    [InlineData("date ten years ahead")]
    public async Task A_Retry_After_of_ten_years_is_waited_for_one_minute(string retryAfter)
    {
        var value = retryAfter == "315360000" ? retryAfter : _clock.GetUtcNow().AddYears(10).ToString("R");
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: value));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("not in ten years");

        await _clock.WaitStartedAsync(TimeSpan.FromMinutes(1));
        _clock.Advance(TimeSpan.FromMinutes(1));
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty("a retry that succeeds is not worth a warning");
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("-99999999999999999999")]
    [InlineData("99999999999999999999")]
    [InlineData("soon")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT")] // long past: a server whose clock is behind
    [InlineData("Sat, 01 Jan 2000 00:00:00 GMT")] // the test clock's own start, a moment ago
    public async Task A_Retry_After_below_zero_malformed_or_a_date_past_is_waited_as_the_back_off(string retryAfter)
    {
        _ingest.Answer(Enumerable.Repeat(RecordingIngest.Status(503, retryAfter: retryAfter), 5).ToArray());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("eventually");

        // The back-off of about 1, 2, 4, 8 and 16 s: a header that cannot be read is ignored, and a date past (as a server
        // whose clock is behind sends) was taken as "now": the six attempts followed each other within milliseconds, and
        // the batch was given up before the server had a moment to recover.
        foreach (var seconds in new[] { 1, 2, 4, 8, 16 })
        {
            var wait = await _clock.WaitStartedAsync(w => w != SendTimeout, "a back-off");
            wait.Should().BeCloseTo(TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds * 0.2));
            _clock.Advance(wait);
        }

        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(6, "five 503s, then the 202");
        _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList().Count).Should().OnlyContain(count => count == 1);
    }

    [Fact]
    public async Task A_redirect_to_itself_is_followed_a_bounded_number_of_times_and_the_batch_is_dropped_with_one_log_line()
    {
        // 307 keeps the POST and its body: a server that answers 307 to its own address would take the body again and again.
        var eventsUri = new Uri(_ingest.BaseAddress, "/api/7/events");
        _ingest.Answer(Enumerable.Repeat(RecordingIngest.Redirect(307, eventsUri), 200).ToArray());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("in a loop");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(30)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(6, "the SDK follows at most 5 redirects for a batch, and does not send it again");
        sdk.Client.Sender!.Drops.Total().Should().Be(1);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().Contain("307");
    }

    [Fact]
    public async Task An_answer_whose_headers_drip_a_byte_at_a_time_is_abandoned_at_ShutdownTimeout_when_the_app_stops_and_counted_once()
    {
        // Each byte keeps a read timeout from firing (a socket's, a proxy's idle timer): only a deadline for the whole
        // exchange ends it. The app's stop waits ShutdownTimeout on the clock, whatever the server still sends.
        var shutdownTimeout = TimeSpan.FromSeconds(3);
        await using var drip = DripServer.Start();
        var sdk = Start(_clock, o =>
        {
            o.Dsn = $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{drip.Port}/7";
            o.ShutdownTimeout = shutdownTimeout;
        }, _logs);
        await using (sdk)
        {
            sdk.Client.CaptureMessage("answered a byte at a time");
            await drip.WaitForBytesSentAsync(3);

            var disposal = sdk.Services.DisposeAsync().AsTask();
            await _clock.WaitStartedAsync(shutdownTimeout);
            _clock.Advance(shutdownTimeout);
            await disposal.Within();
        }

        await drip.Closed.Within();
        sdk.Client.Sender!.Drops.Total().Should().Be(1, "the event is given up once, at shutdown");
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith("ErrorHub gave up 1 events at shutdown");
    }

    [Fact]
    public async Task An_answer_whose_header_list_passes_64_KB_is_a_network_failure_retried_after_the_back_off_and_never_a_delivery()
    {
        // 100 headers of 1 KB each: past HttpClient's 64 KB for an answer's headers, which it refuses without reading on. The
        // status line said 202, but nothing was read that says the batch was taken: it is sent again, not dropped.
        static Task HugeHeaders(HttpResponse response)
        {
            response.StatusCode = 202;
            for (var i = 0; i < 100; i++)
            {
                response.Headers[$"X-Padding-{i}"] = new string('p', 1024);
            }

            return Task.CompletedTask;
        }

        _ingest.Answer(HugeHeaders, HugeHeaders);
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("behind huge headers");
        foreach (var seconds in new[] { 1, 2 })
        {
            var wait = await _clock.WaitStartedAsync(w => w != SendTimeout, "a back-off");
            wait.Should().BeCloseTo(TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds * 0.2));
            _clock.Advance(wait);
        }

        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(3, "two answers past the limit, then the 202");
        _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList().Count).Should().OnlyContain(count => count == 1, "the same batch each time");
        sdk.Client.Sender!.Drops.Total().Should().Be(0);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty("a retry that succeeds is not worth a warning");
    }

    /// <summary>
    /// A loopback listener that answers its first request's head with a status line and headers a byte every 100 ms, never
    /// ending them, for at most two minutes. <see cref="Closed"/> completes when the client hung up.
    /// </summary>
    private sealed class DripServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
        private long _bytesSent;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public Task Closed { get; private set; } = Task.CompletedTask;

        public static DripServer Start()
        {
            var server = new DripServer();
            server._listener.Start();
            server.Closed = server.DripAsync();
            return server;
        }

        public async Task WaitForBytesSentAsync(long count)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (Interlocked.Read(ref _bytesSent) < count)
            {
                await Task.Delay(50, bound.Token);
            }
        }

        private async Task DripAsync()
        {
            try
            {
                using var connection = await _listener.AcceptTcpClientAsync(_stop.Token);
                var stream = connection.GetStream();
                var received = new StringBuilder();
                var buffer = new byte[64 * 1024];
                while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    received.Append(Encoding.Latin1.GetString(buffer, 0, read));
                }

                var answer = Encoding.ASCII.GetBytes("HTTP/1.1 202 Accepted\r\nX-Drip: ");
                for (var i = 0; ; i++)
                {
                    await stream.WriteAsync(answer.AsMemory(Math.Min(i, answer.Length - 1), 1), _stop.Token);
                    if (i >= answer.Length)
                    {
                        answer[^1] = (byte)'a';
                    }

                    Interlocked.Increment(ref _bytesSent);
                    await Task.Delay(100, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client hung up, or the test is over.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await Closed;
            _stop.Dispose();
        }
    }
}
