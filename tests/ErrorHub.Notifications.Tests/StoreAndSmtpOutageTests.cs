using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The outbox while the store (a hung ClickHouse node: SIGSTOP of this collection's server) and the SMTP server are out
/// at the same time, each coming back before the other in turn: a round that cannot read the store fails and changes
/// nothing, a mail the SMTP server did not take stays owed, and once both answer it arrives once, its tries counted
/// only when the store recorded them.
/// </summary>
[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class StoreAndSmtpOutageTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : IAsyncLifetime
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(StoreAndSmtpOutageTests));
    private NotificationHarness _harness = null!;
    private bool _hung;

    public async Task InitializeAsync() =>
        _harness = await NotificationHarness.StartAsync(smtp, NotificationHarness.ClickHouseStore(clickHouse, _database, requestTimeout: TimeSpan.FromSeconds(3)));

    public async Task DisposeAsync()
    {
        if (_hung)
        {
            Hang(false);
        }

        await _harness.DisposeAsync();
        await smtp.StartAsync();
    }

    [Fact]
    public async Task A_mail_owed_while_the_store_and_the_smtp_server_are_out_together_arrives_once_when_both_are_back()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));

        // The SMTP server goes first: the mail is recorded and owed.
        await smtp.StopAsync();
        await _harness.RoundAsync();
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.Attempts.Should().Be(1);

        // Then the store: a round fails as a whole and records nothing.
        Hang(true);
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await FluentActions.Awaiting(_harness.RoundAsync).Should().ThrowAsync<Exception>();

        // The store comes back first: the mail is tried again (the SMTP server is still out) and still owed.
        Hang(false);
        await _harness.RoundAsync();
        var owed = (await _harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        owed.State.Should().Be(NotificationState.Pending);
        owed.Attempts.Should().Be(2);

        // Out together again, and this time the SMTP server comes back first: nothing can be read, nothing is sent.
        Hang(true);
        await smtp.StartAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(5));
        await FluentActions.Awaiting(_harness.RoundAsync).Should().ThrowAsync<Exception>();
        smtp.Messages().Should().BeEmpty();

        // Both back: the mail arrives once, and later rounds do not send it again.
        Hang(false);
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(10));
        await _harness.RoundAsync();
        await _harness.RoundAsync();

        smtp.Messages().Should().ContainSingle().Which.TextBody.Should().StartWith("New issue");
        var sent = (await _harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(3);
    }

    private void Hang(bool hung)
    {
        clickHouse.Hang(hung);
        _hung = hung;
    }
}
