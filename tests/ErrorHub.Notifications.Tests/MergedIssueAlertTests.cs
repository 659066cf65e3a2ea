using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// An issue merged into another alerts as the issue it was merged into, as the dashboard shows it: regressions, spikes
/// and the digest's counts are the target's; after the merge is undone it alerts as itself again. Against a real SMTP
/// server, on each store.
/// </summary>
public abstract class MergedIssueAlertTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private const string Checkout = "fp-checkout";
    private const string Payment = "fp-payment";
    private NotificationHarness _harness = null!;

    /// <summary>The store's settings (none: the harness's SQLite file).</summary>
    private protected abstract Dictionary<string, string?> StoreSettings { get; }

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp, StoreSettings);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private static ErrorEvent PaymentCrash(int projectId, DateTimeOffset at, string release = "shop@2.4.1", string userId = "joe") =>
        Crashes.Checkout(projectId, at, Payment, release, userId: userId) with
        {
            Title = "TimeoutException: The payment gateway did not answer in time.",
            Culprit = "Shop.Payments.PaymentGateway.Charge",
            Exceptions =
            [
                new ExceptionRecord("System.TimeoutException", "The payment gateway did not answer in time.", "Shop",
                    [new FrameRecord("Charge", "Shop.Payments.PaymentGateway", "Shop", "PaymentGateway.cs", 88, 5, InApp: true)]),
            ],
        };

    private string IssueLink(Project project, string fingerprint) => $"{NotificationHarness.PublicUrl}projects/{project.Id}/issues/{fingerprint}";

    [Fact]
    public async Task Events_of_a_merged_issue_regress_and_spike_the_issue_it_was_merged_into_and_after_an_unmerge_its_own()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules =
            [
                new AlertRule("regression", AlertTrigger.Regression),
                new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 3, WindowMinutes = 10, CooldownMinutes = 60 },
            ],
        });
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddHours(-3)), PaymentCrash(shop.Id, start.AddHours(-2)));
        await _harness.States.SetStateAsync(new IssueState(shop.Id, Checkout, IssueStatus.Resolved, start.AddHours(-1)));
        await _harness.States.SetStateAsync(new IssueState(shop.Id, Payment, IssueStatus.Resolved, start.AddHours(-1)));
        await _harness.Merges.MergeAsync(shop.Id, Checkout, [Payment], start.AddMinutes(-30));
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("nothing happened since the resolutions");

        // A payment crash: the checkout issue, which it is part of now, is back; the merged-away issue says nothing.
        await _harness.InsertAsync(PaymentCrash(shop.Id, start.AddMinutes(1), "shop@2.5.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        var regression = smtp.Messages().Should().ContainSingle().Subject;
        regression.Subject.Should().Be("[shop] NullReferenceException in CheckoutService.Complete");
        regression.TextBody.Should().StartWith("Regression in production: NullReferenceException in CheckoutService.Complete");
        regression.TextBody.Should().Contain(IssueLink(shop, Checkout)).And.Contain("happened again in release shop@2.5.0").And.NotContain(Payment);

        // Three more: four payment crashes in ten minutes are a spike of the checkout issue.
        await _harness.InsertAsync([.. Enumerable.Range(0, 3).Select(i => PaymentCrash(shop.Id, start.AddMinutes(2).AddSeconds(i)))]);
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        var spike = smtp.Messages().Should().HaveCount(2).And.ContainSingle(m => m.TextBody!.StartsWith("Frequent issue", StringComparison.Ordinal)).Subject;
        spike.Subject.Should().Be("[shop] NullReferenceException in CheckoutService.Complete");
        spike.InReplyTo.Should().Be(regression.MessageId, "the checkout issue's thread");
        spike.TextBody.Should().Contain("4 events in the last 10 minutes").And.Contain(IssueLink(shop, Checkout)).And.NotContain(Payment);

        // Undone: the payment issue stands on its own again, with its own resolution and its own spikes.
        await _harness.Merges.UnmergeAsync(shop.Id, Payment);
        await _harness.InsertAsync(PaymentCrash(shop.Id, start.AddMinutes(4), "shop@2.5.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        var own = smtp.Messages().Skip(2).ToList();
        own.Select(m => m.TextBody!.Split('\n')[0]).Should().BeEquivalentTo(
            "Regression in production: TimeoutException in PaymentGateway.Charge",
            "Frequent issue in production: TimeoutException in PaymentGateway.Charge");
        own.Should().OnlyContain(m => m.Subject == "[shop] TimeoutException in PaymentGateway.Charge" && m.InReplyTo != regression.MessageId, "unmerged, the issue has a thread of its own");
        own.Should().OnlyContain(m => m.TextBody!.Contains(IssueLink(shop, Payment), StringComparison.Ordinal) && !m.TextBody!.Contains(IssueLink(shop, Checkout), StringComparison.Ordinal));
        own.Single(m => m.TextBody!.StartsWith("Frequent", StringComparison.Ordinal)).TextBody.Should().Contain("5 events in the last 10 minutes");
    }

    [Fact]
    public async Task The_digest_counts_a_merged_issues_events_and_users_for_the_issue_it_was_merged_into()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)] });
        await _harness.RoundAsync(); // Monday 10:00: Tuesday 08:00 sums up Monday 08:00 to Tuesday 08:00
        var digestTime = new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 2).Select(i => Crashes.Checkout(shop.Id, digestTime.AddHours(-10).AddMinutes(i), userId: "u" + i)),
            .. Enumerable.Range(1, 3).Select(i => PaymentCrash(shop.Id, digestTime.AddHours(-9).AddMinutes(i), userId: "u" + i)),
            .. Enumerable.Range(0, 4).Select(i => Crashes.Checkout(shop.Id, digestTime.AddHours(-8).AddMinutes(i), "fp-other") with { Title = "InvalidOperationException: Sequence contains no elements" })]);
        await _harness.Merges.MergeAsync(shop.Id, Checkout, [Payment], digestTime.AddHours(-5));

        _harness.Time.Advance(digestTime - _harness.Time.GetUtcNow());
        await _harness.RoundAsync();

        var digest = smtp.Messages().Should().ContainSingle().Subject;
        digest.Subject.Should().Be("[shop] Daily digest 2026-03-03: 2 new issues, 9 events", "the merged-away issue is no new issue of its own");
        digest.TextBody.Should().Contain("Top issues by events:\n- NullReferenceException: Object reference not set to an instance of an object. — 5 events")
            .And.Contain("Top issues by users:\n- NullReferenceException: Object reference not set to an instance of an object. — 4 users")
            .And.Contain("Issues with events: 2")
            .And.NotContain(IssueLink(shop, Payment));
    }
}

[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class SqliteMergedIssueAlertTests(SmtpServerFixture smtp) : MergedIssueAlertTests(smtp)
{
    private protected override Dictionary<string, string?> StoreSettings => [];
}

[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class ClickHouseMergedIssueAlertTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : MergedIssueAlertTests(smtp)
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseMergedIssueAlertTests));

    private protected override Dictionary<string, string?> StoreSettings => NotificationHarness.ClickHouseStore(clickHouse, _database);
}

/// <summary>Notification tests on ClickHouse: a mailbox and a ClickHouse server, shared by the classes in it.</summary>
[CollectionDefinition(Name)]
public sealed class SmtpAndClickHouseCollectionDefinition : ICollectionFixture<SmtpServerFixture>, ICollectionFixture<ClickHouseServerFixture>
{
    public const string Name = "smtp-clickhouse";
}
