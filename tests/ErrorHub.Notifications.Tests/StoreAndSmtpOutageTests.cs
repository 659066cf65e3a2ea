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
public sealed class StoreAndSmtpOutageTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : HarnessTests(smtp)
{
    private bool _hung;

    private protected override Dictionary<string, string?> Settings =>
        NotificationHarness.ClickHouseStore(clickHouse, ClickHouseServerFixture.NewDatabaseName(nameof(StoreAndSmtpOutageTests)), requestTimeout: TimeSpan.FromSeconds(3));

    public override async Task DisposeAsync()
    {
        if (_hung)
        {
            Hang(false);
        }

        await base.DisposeAsync();
        await Smtp.StartAsync();
    }

    [Fact]
    public async Task A_mail_owed_while_the_store_and_the_smtp_server_are_out_together_arrives_once_when_both_are_back()
    {
        var shop = await Harness.CreateProjectAsync("shop");
        await Harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await Harness.RoundAsync();
        await Harness.InsertAsync(Crashes.Checkout(shop.Id, Harness.Time.GetUtcNow().AddSeconds(1)));
        Harness.Time.Advance(TimeSpan.FromMinutes(1));

        // The SMTP server goes first: the mail is recorded and owed.
        await Smtp.StopAsync();
        await Harness.RoundAsync();
        (await Harness.HistoryAsync(shop)).Should().ContainSingle().Which.Attempts.Should().Be(1);

        // Then the store: a round fails as a whole and records nothing.
        Hang(true);
        Harness.Time.Advance(TimeSpan.FromMinutes(1));
        await FluentActions.Awaiting(Harness.RoundAsync).Should().ThrowAsync<Exception>();

        // The store comes back first: the mail is tried again (the SMTP server is still out) and still owed.
        Hang(false);
        await Harness.RoundAsync();
        var owed = (await Harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        owed.State.Should().Be(NotificationState.Pending);
        owed.Attempts.Should().Be(2);

        // Out together again, and this time the SMTP server comes back first: nothing can be read, nothing is sent.
        Hang(true);
        await Smtp.StartAsync();
        Harness.Time.Advance(TimeSpan.FromMinutes(5));
        await FluentActions.Awaiting(Harness.RoundAsync).Should().ThrowAsync<Exception>();
        Smtp.Messages().Should().BeEmpty();

        // Both back: the mail arrives once, and later rounds do not send it again.
        Hang(false);
        await Harness.RoundAsync();
        Harness.Time.Advance(TimeSpan.FromMinutes(10));
        await Harness.RoundAsync();
        await Harness.RoundAsync();

        Smtp.Messages().Should().ContainSingle().Which.TextBody.Should().StartWith("New issue");
        var sent = (await Harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(3);
    }

    private void Hang(bool hung)
    {
        clickHouse.Hang(hung);
        _hung = hung;
    }
}
