using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// Mail already queued when its recipient is disabled, removed from the project or unsubscribes is not delivered to
/// them: the worker checks again when it delivers, and the history says why; the others still get it. Against the real
/// SMTP server, on SQLite and on a real ClickHouse server.
/// </summary>
public abstract class DeliveryRecheckTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    /// <summary>The store's settings (none: the harness's SQLite file).</summary>
    private protected abstract Dictionary<string, string?> StoreSettings { get; }

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp, StoreSettings);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private WorkflowMail Workflow => _harness.Services.GetRequiredService<WorkflowMail>();

    private IReadOnlyList<string> Received() => [.. smtp.Messages().SelectMany(SmtpServerFixture.EnvelopeRecipients)];

    [Fact]
    public async Task A_queued_alert_skips_members_disabled_removed_or_switched_off_since_and_still_reaches_the_others()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        var cy = await _harness.AddMemberAsync(shop, "cy@example.com", "Cy");
        await _harness.AddMemberAsync(shop, "dan@example.com", "Dan");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.Cycle.EvaluateAsync(shop, CancellationToken.None); // recorded, not delivered yet
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.Recipients.Should().HaveCount(5);

        await _harness.Access.UpdateUserAsync(ana with { DisabledAt = _harness.Time.GetUtcNow() });
        await _harness.Access.RemoveMemberAsync(shop.Id, ben.Id);
        (await _harness.Settings.TurnOffAsync(shop.Id, cy.Id, AlertTrigger.NewIssue)).Should().BeTrue(); // what the mail's one-click link does
        await _harness.RoundAsync();

        Received().Should().BeEquivalentTo(["dan@example.com", "team@example.com"], "a member who changed nothing, and an extra address, which no switch stops");
        var sent = (await _harness.HistoryAsync(shop)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.LastError.Should().Be(
            "Not sent to ana@example.com: the account was disabled; to ben@example.com: the account may no longer read the project; "
            + "to cy@example.com: turned \"New issue\" mails of this project off");
    }

    [Fact]
    public async Task Queued_workflow_mail_is_not_sent_to_who_left_the_issue_turned_the_switch_off_or_was_disabled_and_the_history_says_why()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        var cy = await _harness.AddMemberAsync(shop, "cy@example.com", "Cy");
        var dan = await _harness.AddMemberAsync(shop, "dan@example.com", "Dan");
        var eve = await _harness.AddMemberAsync(shop, "eve@example.com", "Eve");
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5)));
        await _harness.RoundAsync(); // the crash is from before: no new-issue mail
        foreach (var follower in new[] { ben, cy, dan, eve })
        {
            await Workflow.SetSubscribedAsync(shop.Id, "fp-checkout", follower.Id, true);
        }

        await Workflow.CommentedAsync(shop.Id, "fp-checkout", ana.Id, "Ana", "Seen again on production.", Guid.NewGuid());
        (await _harness.HistoryAsync(shop)).Should().HaveCount(4).And.OnlyContain(n => n.State == NotificationState.Pending);

        // Ben leaves the issue (its page, the footer's link or the mail client's one-click Unsubscribe), Cy turns the
        // project's workflow mail off, Dan's account is disabled; Eve changes nothing.
        await Workflow.SetSubscribedAsync(shop.Id, "fp-checkout", ben.Id, false);
        (await _harness.Settings.TurnOffAsync(shop.Id, cy.Id, AlertTrigger.Assignment)).Should().BeTrue();
        await _harness.Access.UpdateUserAsync(dan with { DisabledAt = _harness.Time.GetUtcNow() });
        await _harness.RoundAsync();

        Received().Should().Equal(["eve@example.com"]);
        var history = await _harness.HistoryAsync(shop);
        history.Where(n => n.State == NotificationState.Failed).Select(n => (n.Recipients.Single(), n.Attempts, n.LastError)).Should().BeEquivalentTo(
            [
                ("ben@example.com", 0, "Not sent to ben@example.com: unsubscribed from this issue"),
                ("cy@example.com", 0, "Not sent to cy@example.com: turned \"Issues I take part in (assigned, commented, subscribed)\" mails of this project off"),
                ("dan@example.com", 0, "Not sent to dan@example.com: the account was disabled"),
            ]);
        history.Should().ContainSingle(n => n.State == NotificationState.Sent).Which.Recipients.Should().Equal(["eve@example.com"]);
        _harness.Log.Entries.Should().Contain(e => e.Level == LogLevel.Information && e.Message.Contains("was not sent: nobody is owed it any more (Not sent to ben@example.com: unsubscribed from this issue)", StringComparison.Ordinal));

        // Skipped for good: a later round neither sends nor retries them, even after Dan's account is enabled again.
        await _harness.Access.UpdateUserAsync(dan with { DisabledAt = null });
        _harness.Time.Advance(TimeSpan.FromHours(1));
        await _harness.RoundAsync();
        Received().Should().Equal(["eve@example.com"]);
    }
}

[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class SqliteDeliveryRecheckTests(SmtpServerFixture smtp) : DeliveryRecheckTests(smtp)
{
    private protected override Dictionary<string, string?> StoreSettings => [];
}

[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class ClickHouseDeliveryRecheckTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : DeliveryRecheckTests(smtp)
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseDeliveryRecheckTests));

    private protected override Dictionary<string, string?> StoreSettings => NotificationHarness.ClickHouseStore(clickHouse, _database);
}
