using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// Whatever answers at the DSN's address may redirect the SDK elsewhere: another port, another scheme, another host. The
/// project key travels in a header of its own, which HttpClient's own redirect handling keeps on every hop (it removes
/// Authorization only), so a redirect took the key to any address it named. A real server on loopback, and a listener
/// on another port that records every connection made to it.
/// </summary>
public sealed class RedirectTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private RecordingIngest _ingest = null!;
    private ConnectionRecorder _elsewhere = null!;

    public async Task InitializeAsync()
    {
        _ingest = await RecordingIngest.StartAsync();
        _elsewhere = ConnectionRecorder.Start();
    }

    public async Task DisposeAsync()
    {
        await _elsewhere.DisposeAsync();
        await _ingest.DisposeAsync();
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(303)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task A_redirect_to_another_port_is_not_followed_the_key_stays_home_and_the_batch_is_dropped_once_with_one_line(int status)
    {
        var elsewhere = new Uri($"http://127.0.0.1:{_elsewhere.Port}/api/7/events");
        _ingest.Answer(RecordingIngest.Redirect(status, elsewhere));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("redirected");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        sdk.Client.CaptureMessage("next");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _elsewhere.Received.Should().BeEmpty("the redirect names an address the app was not given: nothing, least of all the key, goes there");
        _ingest.Requests.Should().HaveCount(2, "the redirected batch is not sent again: it would be redirected the same way");
        Dropped(_ingest.Requests.Last()).Should().Equal(new Dictionary<string, long> { ["rejected"] = 1 });
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith($"ErrorHub could not deliver 1 events: the DSN's address redirected them to {elsewhere} (status {status})");
    }

    [Fact]
    public async Task A_redirect_from_http_to_https_on_the_same_host_is_not_followed()
    {
        // A 308 to https: the app was given http, and the SDK does not choose another scheme for it. Set the DSN to https.
        var https = new UriBuilder(_ingest.BaseAddress) { Scheme = "https", Path = "/api/7/events" }.Uri;
        _ingest.Answer(RecordingIngest.Redirect(308, https));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("to https");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(1, "nothing is sent again, over http or https");
        sdk.Client.Sender!.Drops.Total().Should().Be(1);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().Contain("another scheme, host or port than the DSN's");
    }

    [Fact]
    public async Task Every_batch_redirected_away_is_counted_once_and_the_log_gets_one_line_a_minute_not_one_per_batch()
    {
        var elsewhere = new Uri($"http://127.0.0.1:{_elsewhere.Port}/api/7/events");
        _ingest.Answer(Enumerable.Repeat(RecordingIngest.Redirect(307, elsewhere), 5).ToArray());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        for (var i = 0; i < 5; i++)
        {
            sdk.Client.CaptureMessage($"redirected {i}");
            (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        }

        _elsewhere.Received.Should().BeEmpty();
        sdk.Client.Sender!.Drops.Total().Should().Be(5, "each redirected event is counted once, as rejected");
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle();

        _clock.Advance(TimeSpan.FromMinutes(1));
        _ingest.Answer(RecordingIngest.Redirect(307, elsewhere));
        sdk.Client.CaptureMessage("a minute later");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().HaveCount(2)
            .And.Subject.Last().Message.Should().Contain("4 more since the last one");
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(304)]
    public async Task A_redirect_without_a_location_drops_each_batch_once_and_logs_one_line_a_minute_not_one_per_batch(int status)
    {
        // A proxy that answers a redirect naming nowhere: every batch meets it, and each wrote a warning of its own.
        _ingest.Answer(Enumerable.Repeat(RecordingIngest.Status(status), 5).ToArray());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        for (var i = 0; i < 5; i++)
        {
            sdk.Client.CaptureMessage($"nowhere {i}");
            (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        }

        _ingest.Requests.Should().HaveCount(5, "a batch answered so is not sent again: it would be answered the same way");
        sdk.Client.Sender!.Drops.Total().Should().Be(5, "each event is counted once, as rejected");
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().Contain($"answered status {status}, a redirect without a Location header");

        _clock.Advance(TimeSpan.FromMinutes(1));
        _ingest.Answer(RecordingIngest.Status(status));
        sdk.Client.CaptureMessage("a minute later");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().HaveCount(2)
            .And.Subject.Last().Message.Should().Contain("4 more since the last one");
    }

    private static Dictionary<string, long> Dropped(RecordedRequest request)
    {
        var batch = Wire.Read(request.Body).AsMap();
        return batch.Keys.Contains("dropped")
            ? batch["dropped"].AsMap().Entries.ToDictionary(p => (string)p.Key, p => Convert.ToInt64(p.Value, System.Globalization.CultureInfo.InvariantCulture))
            : [];
    }

    /// <summary>
    /// A listener on 127.0.0.1 that records the request head of every connection made to it (at most 64 KB of it) and
    /// answers 202: whatever an SDK that followed a redirect here would have sent, the key included.
    /// </summary>
    private sealed class ConnectionRecorder : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        private ConnectionRecorder(TcpListener listener)
        {
            _listener = listener;
            _accepting = AcceptAsync();
        }

        public ConcurrentQueue<string> Received { get; } = new();

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static ConnectionRecorder Start()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new ConnectionRecorder(listener);
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = AnswerAsync(socket);
            }
        }

        private async Task AnswerAsync(Socket socket)
        {
            using (socket)
            {
                Received.Enqueue("(connected)");
                var head = new StringBuilder();
                var buffer = new byte[4096];
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    timeout.CancelAfter(TimeSpan.FromSeconds(30));
                    while (head.Length < 64 * 1024 && !head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                        if (read == 0)
                        {
                            break;
                        }

                        head.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    }

                    Received.Enqueue(head.ToString());
                    await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), SocketFlags.None, timeout.Token);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException)
                {
                    Received.Enqueue(head.ToString());
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
