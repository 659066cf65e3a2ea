using System.Net.Sockets;
using System.Text;
using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The worker against a listener on loopback that answers what no SMTP server should (an HTTP server's answer, binary
/// lines, a 250 to DATA before any data, a multi-line reply cut off, a line that never ends): the mail waits with a
/// readable reason, the round ends within the timeout, memory stays bounded, and the real SMTP server gets the mail once
/// at the next attempt.
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class GarbageSmtpServerTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private static readonly TimeSpan RoundBound = TimeSpan.FromSeconds(60);

    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    public static TheoryData<string> Answers => ["not smtp", "binary lines", "250 to DATA", "multi-line cut off", "554 greeting", "STARTTLS refused with 502", "535 to AUTH"];

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task A_server_answering_garbage_leaves_the_mail_waiting_with_a_readable_reason_and_the_real_server_gets_it_once(string answer)
    {
        var shop = await ShopWithANewIssueAsync();
        await using var garbage = GarbageServer.Start(answer);

        // A 5xx before any mail was offered (a greeting, a STARTTLS it advertised then refused) is about the server, not
        // the mail: it failed every due mail for good at once before.
        // A refused password (535) is the operator's to fix: the mails wait for it rather than being lost.
        await RoundAgainstAsync(
            garbage.Port,
            security: answer.StartsWith("STARTTLS", StringComparison.Ordinal) ? "StartTls" : "None",
            userName: answer.StartsWith("535", StringComparison.Ordinal) ? "alerts@example.com" : null);

        var waiting = (await _harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        waiting.State.Should().Be(NotificationState.Pending, "an answer that makes no sense, or refuses the server's service rather than the mail, is tried again");
        waiting.Attempts.Should().Be(1);
        waiting.LastError.Should().NotBeNullOrWhiteSpace("the history says why it has not gone out");
        waiting.LastError!.Should().MatchRegex(@"^[\x20-\x7E]{1,600}$", "the reason is one readable line, whatever bytes the server sent");
        garbage.Received.Should().NotContain("Subject:", "no mail went to the garbage server");

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync().WaitAsync(RoundBound);
        _harness.Time.Advance(TimeSpan.FromMinutes(5));
        await _harness.RoundAsync().WaitAsync(RoundBound);

        smtp.Messages().Should().ContainSingle("the real server gets the mail at the next attempt, once");
        var sent = (await _harness.HistoryAsync(shop)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(2);
    }

    [Fact]
    public async Task A_server_sending_a_line_that_never_ends_is_cut_off_after_a_bounded_read_not_read_until_the_timeout()
    {
        var shop = await ShopWithANewIssueAsync();
        await using var endless = GarbageServer.Start("endless line");

        // Over loopback, the timeout would let the server pour gigabytes into the worker's reply buffer.
        await RoundAgainstAsync(endless.Port, timeout: "00:00:20");

        var waiting = (await _harness.HistoryAsync(shop)).Single();
        waiting.State.Should().Be(NotificationState.Pending);
        waiting.LastError.Should().Contain("more than", "the history says the server sent too much");
        endless.BytesSent.Should().BeLessThan(32L << 20, "the worker stops reading after a bounded amount, what the kernel's buffers take aside");

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync().WaitAsync(RoundBound);
        smtp.Messages().Should().ContainSingle();
    }

    [Theory]
    [InlineData("451 after the data", NotificationState.Pending)]
    [InlineData("closed after the data", NotificationState.Pending)]
    [InlineData("554 after the data", NotificationState.Failed)]
    public async Task A_server_that_took_the_data_then_refused_or_hung_up_retries_the_mail_later_once_or_fails_it_for_good(string answer, NotificationState expected)
    {
        // A server that takes the data and hangs up before its final reply may have kept the mail: SMTP cannot tell. It is
        // retried after the back-off (a second copy at worst), never in a loop; a 554 there refuses the mail itself.
        var shop = await ShopWithANewIssueAsync();
        await using var garbage = GarbageServer.Start(answer);

        await RoundAgainstAsync(garbage.Port);
        await RoundAgainstAsync(garbage.Port);

        var tried = (await _harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        tried.State.Should().Be(expected);
        tried.Attempts.Should().Be(1, "the second round, at once, is within the back-off: the mail is not sent again");
        tried.LastError.Should().MatchRegex(@"^[\x20-\x7E]{1,600}$");
        garbage.Received.Split("Subject:").Length.Should().Be(2, "the garbage server got the mail's data once");

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync().WaitAsync(RoundBound);
        smtp.Messages().Should().HaveCount(expected == NotificationState.Pending ? 1 : 0);
    }

    private Task<Project> ShopWithANewIssueAsync() => _harness.ShopWithANewIssueAsync();

    /// <summary>One round of another worker process on the same store that reaches the garbage server instead of the real one.</summary>
    private async Task RoundAgainstAsync(int port, string timeout = "00:00:05", string security = "None", string? userName = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Notifications:Smtp:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Notifications:Smtp:Timeout"] = timeout,
            ["ErrorHub:Notifications:Smtp:Security"] = security,
        };
        if (userName is not null)
        {
            settings["ErrorHub:Notifications:Smtp:UserName"] = userName;
            settings["ErrorHub:Notifications:Smtp:Password"] = "a password the server no longer takes";
        }

        await using var misled = await _harness.RestartAsync(settings);
        await misled.RoundAsync().WaitAsync(RoundBound);
    }

    /// <summary>A loopback listener that answers each connection with one kind of garbage and keeps what the client sent.</summary>
    private sealed class GarbageServer(string answer) : LoopbackServer(TimeSpan.FromMinutes(2))
    {
        private readonly StringBuilder _received = new();
        private readonly string _answer = answer;
        private long _bytesSent;

        public long BytesSent => Interlocked.Read(ref _bytesSent);

        public string Received
        {
            get
            {
                lock (_received)
                {
                    return _received.ToString();
                }
            }
        }

        public static GarbageServer Start(string answer)
        {
            var server = new GarbageServer(answer);
            server.Start();
            return server;
        }

        protected override async Task AnswerAsync(TcpClient connection)
        {
            using var _ = connection;
            var stream = connection.GetStream();
            var reader = new StreamReader(stream, Encoding.Latin1);
            try
            {
                switch (_answer)
                {
                    case "not smtp":
                        await WriteAsync(stream, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n");
                        await DrainAsync(reader);
                        break;
                    case "binary lines":
                        await WriteAsync(stream, "\0\u0001\u00fe\u00ff\u001b[31m garbage \u0007\r\n\u00ff\u00fe\r\n");
                        await DrainAsync(reader);
                        break;
                    case "multi-line cut off":
                        await WriteAsync(stream, "220-mail.example.com hello\r\n220-still hello\r\n");
                        break; // and the connection closes mid-reply
                    case "250 to DATA":
                        await WriteAsync(stream, "220 mail.example.com ESMTP\r\n");
                        while (await ReadLineAsync(reader) is { } line)
                        {
                            // Agrees to everything, and says 250 to DATA where 354 (go ahead) belongs: no data is taken.
                            await WriteAsync(stream, line.StartsWith("QUIT", StringComparison.OrdinalIgnoreCase) ? "221 bye\r\n" : "250 OK\r\n");
                        }

                        break;
                    case "554 greeting":
                        await WriteAsync(stream, "554 5.3.2 mail.example.com no SMTP service here\r\n");
                        await DrainAsync(reader);
                        break;
                    case "STARTTLS refused with 502":
                        await WriteAsync(stream, "220 mail.example.com ESMTP\r\n");
                        while (await ReadLineAsync(reader) is { } line)
                        {
                            // Offers STARTTLS, then refuses it for good: a relay whose certificate expired and was taken away, say.
                            await WriteAsync(stream, Verb(line) switch
                            {
                                "EHLO" => "250-mail.example.com\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
                                "STARTTLS" => "502 5.5.1 STARTTLS is not available\r\n",
                                "QUIT" => "221 bye\r\n",
                                _ => "503 5.5.1 STARTTLS first\r\n",
                            });
                        }

                        break;
                    case "535 to AUTH":
                        await WriteAsync(stream, "220 mail.example.com ESMTP\r\n");
                        while (await ReadLineAsync(reader) is { } line)
                        {
                            // The relay's password was changed and ErrorHub's configuration not yet.
                            await WriteAsync(stream, Verb(line) switch
                            {
                                "EHLO" => "250-mail.example.com\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                                "AUTH" => "535 5.7.8 Authentication credentials invalid\r\n",
                                "QUIT" => "221 bye\r\n",
                                _ => "530 5.7.0 Authentication required\r\n",
                            });
                        }

                        break;
                    case "451 after the data" or "554 after the data" or "closed after the data":
                        await WriteAsync(stream, "220 mail.example.com ESMTP\r\n");
                        var inData = false;
                        while (await ReadLineAsync(reader) is { } line)
                        {
                            if (inData)
                            {
                                if (line != ".")
                                {
                                    continue;
                                }

                                if (_answer == "closed after the data")
                                {
                                    return; // took the data, and hangs up before its final reply
                                }

                                inData = false;
                                await WriteAsync(stream, _answer[..3] + (_answer[0] == '4' ? " 4.3.0 try again later\r\n" : " 5.7.1 message refused\r\n"));
                                continue;
                            }

                            inData = Verb(line) == "DATA";
                            await WriteAsync(stream, Verb(line) switch
                            {
                                "EHLO" => "250-mail.example.com\r\n250 8BITMIME\r\n",
                                "DATA" => "354 go ahead\r\n",
                                "QUIT" => "221 bye\r\n",
                                _ => "250 OK\r\n",
                            });
                        }

                        break;
                    case "endless line":
                        var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
                        await WriteAsync(stream, "220 ");
                        while (true)
                        {
                            await stream.WriteAsync(chunk, Stopping);
                            Interlocked.Add(ref _bytesSent, chunk.Length);
                        }

                    default:
                        throw new InvalidOperationException("No such answer: " + _answer);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
                // The worker hung up, or the test is over.
            }
        }

        private static string Verb(string line) => line.Split(' ', 2)[0].ToUpperInvariant();

        private async Task WriteAsync(NetworkStream stream, string text)
        {
            var bytes = Encoding.Latin1.GetBytes(text);
            await stream.WriteAsync(bytes, Stopping);
            Interlocked.Add(ref _bytesSent, bytes.Length);
        }

        private async Task<string?> ReadLineAsync(StreamReader reader)
        {
            var line = await reader.ReadLineAsync(Stopping);
            if (line is not null)
            {
                lock (_received)
                {
                    _received.AppendLine(line);
                }
            }

            return line;
        }

        private async Task DrainAsync(StreamReader reader)
        {
            while (await ReadLineAsync(reader) is not null)
            {
            }
        }
    }
}
