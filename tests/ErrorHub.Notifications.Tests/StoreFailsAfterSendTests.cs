using System.Net.Sockets;
using System.Text;
using ErrorHub.Storage;
using ErrorHub.Testing.Processes;
using ErrorHub.Testing.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The store fails right after the SMTP server took a round's mails, before their delivery was recorded (here another
/// process takes SQLite's write lock the moment the first mail is accepted and holds it past the busy timeout): the round
/// fails, and once the store answers again each mail is recorded as sent without going out a second time. Until December
/// 2026 every mail of that batch was sent again at the next round.
/// </summary>
public sealed class StoreFailsAfterSendTests : IAsyncLifetime
{
    private static readonly TimeSpan RoundBound = TimeSpan.FromSeconds(120);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-sentnotrecorded-").FullName;
    private SqliteConnection? _holder;

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Mails_the_smtp_server_took_while_the_store_failed_are_recorded_once_it_answers_and_not_sent_again()
    {
        var database = Path.Combine(_directory, "errorhub.db");
        await using var server = RecordingSmtpServer.Start(onAccepted: async () =>
        {
            if (_holder is not null)
            {
                return;
            }

            // Another process's write transaction (a backup, a sqlite3 shell left in BEGIN), from the first accepted mail on.
            _holder = await SqliteWriteLock.HoldAsync(database);
        });
        await using var harness = await NotificationHarness.CreateAsync(smtp: null, new()
        {
            ["ErrorHub:Store:Sqlite:Path"] = database,
        }, smtpPort: server.Port);
        var shop = await harness.CreateProjectAsync("shop");
        await harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await harness.RoundAsync();
        var at = harness.Time.GetUtcNow().AddSeconds(1);
        await harness.InsertAsync(Crashes.Checkout(shop.Id, at), Crashes.Checkout(shop.Id, at, fingerprint: "fp-payment"));
        harness.Time.Advance(TimeSpan.FromMinutes(1));

        await FluentActions.Awaiting(() => harness.RoundAsync().WaitAsync(RoundBound)).Should().ThrowAsync<SqliteException>("the store is locked when the deliveries are to be recorded");
        server.Messages.Should().HaveCount(2, "both mails of the batch went out before the store failed");

        await _holder!.DisposeAsync();
        harness.Time.Advance(TimeSpan.FromMinutes(10));
        await harness.RoundAsync().WaitAsync(RoundBound);
        harness.Time.Advance(TimeSpan.FromHours(2));
        await harness.RoundAsync().WaitAsync(RoundBound);

        server.Messages.Should().HaveCount(2, "a mail the server took is not sent again because its record came late");
        var history = await harness.HistoryAsync(shop);
        history.Should().HaveCount(2);
        history.Should().OnlyContain(n => n.State == NotificationState.Sent && n.Attempts == 1 && n.SentAt != null);
        harness.Log.Entries.Should().Contain(e => e.Message.Contains("recorded as sent now, not sent again", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        if (_holder is not null)
        {
            await _holder.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        TestDirectory.DeleteQuietly(_directory);
    }

    /// <summary>
    /// A loopback SMTP server that takes every mail and keeps it, and runs <c>onAccepted</c> after a mail's data and before
    /// its 250: the moment the mail counts as delivered for the client.
    /// </summary>
    private sealed class RecordingSmtpServer(Func<Task> onAccepted) : LoopbackServer(TimeSpan.FromMinutes(5))
    {
        private readonly List<string> _messages = [];
        private readonly Func<Task> _onAccepted = onAccepted;

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public static RecordingSmtpServer Start(Func<Task> onAccepted)
        {
            var server = new RecordingSmtpServer(onAccepted);
            server.Start();
            return server;
        }

        protected override async Task AnswerAsync(TcpClient connection)
        {
            using var _ = connection;
            var stream = connection.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1);
            try
            {
                await WriteAsync(stream, "220 mail.example.com ESMTP\r\n");
                while (await reader.ReadLineAsync(Stopping) is { } line)
                {
                    var command = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                    switch (command)
                    {
                        case "EHLO":
                            await WriteAsync(stream, "250-mail.example.com\r\n250 8BITMIME\r\n");
                            break;
                        case "DATA":
                            await WriteAsync(stream, "354 go ahead\r\n");
                            var message = new StringBuilder();
                            while (await reader.ReadLineAsync(Stopping) is { } data && data != ".")
                            {
                                message.AppendLine(data);
                            }

                            lock (_messages)
                            {
                                _messages.Add(message.ToString());
                            }

                            await _onAccepted();
                            await WriteAsync(stream, "250 queued\r\n");
                            break;
                        case "QUIT":
                            await WriteAsync(stream, "221 bye\r\n");
                            return;
                        default:
                            await WriteAsync(stream, "250 OK\r\n");
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
                // The worker hung up, or the test is over.
            }
        }

        private async Task WriteAsync(NetworkStream stream, string text) =>
            await stream.WriteAsync(Encoding.Latin1.GetBytes(text), Stopping);
    }
}
