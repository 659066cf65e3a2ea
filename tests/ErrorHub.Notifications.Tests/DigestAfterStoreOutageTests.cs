using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The daily digest when the store fails for more than a day across the digest's hour (SQLite: another process holds
/// the write lock; ClickHouse: the server hung with SIGSTOP): once the store answers again, one late digest covers every
/// day since the last one, is mailed once, and the next day's digest comes as usual. Until December 2026 the digest
/// of every day whose hour passed while the store failed was never sent.
/// </summary>
public abstract class DigestAfterStoreOutageTests(SmtpServerFixture smtp) : HarnessTests(smtp)
{
    // A round against a store that does not answer ends at its first call (one RequestTimeout of 3 s on ClickHouse, one busy
    // timeout of 30 s on SQLite); this is for a loaded 2-core machine, and still ends a round that hangs.
    private static readonly TimeSpan RoundBound = TimeSpan.FromMinutes(5);
    private static readonly DateTimeOffset Tuesday8 = new(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);

    /// <summary>The store stops answering (true) or answers again (false).</summary>
    private protected abstract Task FailStoreAsync(bool failing);

    /// <summary>
    /// A round while the store fails: it records nothing, whether it throws (nothing read) or logs (nothing recorded), and it
    /// ends at the store's first failure. One that does not end says what it logged before it hung.
    /// </summary>
    private async Task FailingRoundAsync()
    {
        try
        {
            await Harness.RoundAsync().WaitAsync(RoundBound);
        }
        catch (TimeoutException)
        {
            var logged = string.Join(Environment.NewLine, Harness.Log.Entries.Select(e => $"{e.Level} {e.Message} {e.Exception?.Message}"));
            throw new TimeoutException($"A round against a store that does not answer did not end within {RoundBound}; it logged:{Environment.NewLine}{logged}");
        }
        catch (Exception ex) when (ex is ClickHouseException or SqliteException)
        {
            // The store did not answer: the worker tries again at its next poll.
        }

        Harness.Log.Entries.Where(e => e.Message.Contains("could not be evaluated", StringComparison.Ordinal)).Should()
            .NotContain(e => !e.Message.Contains("the store is not answering. The round ends here", StringComparison.Ordinal), "the round gives up at the store's first failure");
    }

    private void MoveTo(DateTimeOffset at) => Harness.Time.Advance(at - Harness.Time.GetUtcNow());

    [Fact]
    public async Task Digests_whose_hours_passed_while_the_store_failed_for_more_than_a_day_arrive_late_as_one_digest_once_and_the_next_day_as_usual()
    {
        var shop = await Harness.CreateProjectAsync("shop");
        await Harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)], ExtraAddresses = ["team@example.com"] });
        await Harness.RoundAsync(); // Monday 10:00: Tuesday 08:00 sums up Monday 08:00 to Tuesday 08:00
        await Harness.InsertAsync(
            Crashes.Checkout(shop.Id, Tuesday8.AddHours(-20), "fp-monday"),
            Crashes.Checkout(shop.Id, Tuesday8.AddHours(4), "fp-tuesday"),
            Crashes.Checkout(shop.Id, Tuesday8.AddHours(23), "fp-wednesday-early"),
            Crashes.Checkout(shop.Id, Tuesday8.AddHours(24.5), "fp-wednesday-after-its-hour"));

        // The store fails from Tuesday 07:00 to Wednesday 09:00: the rounds at both digest hours record nothing.
        MoveTo(Tuesday8.AddHours(-1));
        await Harness.RoundAsync();
        await FailStoreAsync(true);
        MoveTo(Tuesday8.AddMinutes(1));
        await FailingRoundAsync();
        MoveTo(Tuesday8.AddDays(1).AddMinutes(1));
        await FailingRoundAsync();
        Smtp.Messages().Should().BeEmpty();

        MoveTo(Tuesday8.AddDays(1).AddHours(1));
        await FailStoreAsync(false);
        for (var round = 0; round < 3; round++)
        {
            await Harness.RoundAsync().WaitAsync(RoundBound);
            Harness.Time.Advance(TimeSpan.FromMinutes(30));
        }

        var late = Smtp.Messages().Should().ContainSingle("one digest sums up the two days missed, not one per day, and later rounds do not send it again").Subject;
        late.Subject.Should().Be("[shop] Daily digest 2026-03-03 to 2026-03-04 (late): 3 new issues, 3 events");
        late.TextBody.Should().Contain("Monday 2 March 2026, 08:00 UTC").And.Contain("Wednesday 4 March 2026, 08:00 UTC")
            .And.Contain("Sent late, for the 2 days since the last digest")
            .And.Contain("fp-monday").And.Contain("fp-tuesday").And.Contain("fp-wednesday-early").And.NotContain("fp-wednesday-after-its-hour");

        // Thursday: the day's digest, as usual, from where the late one ended.
        MoveTo(Tuesday8.AddDays(2).AddMinutes(1));
        await Harness.RoundAsync();
        await Harness.RoundAsync();
        var next = Smtp.Messages().Should().HaveCount(2).And.Subject.Last();
        next.Subject.Should().Be("[shop] Daily digest 2026-03-05: 1 new issue, 1 event");
        next.TextBody.Should().NotContain("Sent late").And.Contain("fp-wednesday-after-its-hour");
        (await Harness.HistoryAsync(shop)).Should().HaveCount(2).And.OnlyContain(n => n.State == NotificationState.Sent);
    }

    [Fact]
    public async Task A_digest_whose_hour_passed_while_the_store_failed_for_a_day_arrives_late_before_the_next_hour_and_the_next_one_on_time()
    {
        var shop = await Harness.CreateProjectAsync("shop");
        await Harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)], ExtraAddresses = ["team@example.com"] });
        await Harness.RoundAsync();
        await Harness.InsertAsync(Crashes.Checkout(shop.Id, Tuesday8.AddHours(-2), "fp-monday"), Crashes.Checkout(shop.Id, Tuesday8.AddHours(12), "fp-tuesday"));

        // The store fails from Tuesday 07:00 to Wednesday 07:30, before Wednesday's hour.
        MoveTo(Tuesday8.AddHours(-1));
        await Harness.RoundAsync();
        await FailStoreAsync(true);
        MoveTo(Tuesday8.AddMinutes(1));
        await FailingRoundAsync();
        MoveTo(Tuesday8.AddDays(1).AddMinutes(-30));
        await FailStoreAsync(false);
        await Harness.RoundAsync().WaitAsync(RoundBound);
        await Harness.RoundAsync().WaitAsync(RoundBound);

        var late = Smtp.Messages().Should().ContainSingle().Subject;
        late.Subject.Should().Be("[shop] Daily digest 2026-03-03 (late): 1 new issue, 1 event");
        late.TextBody.Should().Contain("Sent late").And.Contain("fp-monday").And.NotContain("fp-tuesday");

        MoveTo(Tuesday8.AddDays(1).AddMinutes(1));
        await Harness.RoundAsync();
        var onTime = Smtp.Messages().Should().HaveCount(2).And.Subject.Last();
        onTime.Subject.Should().Be("[shop] Daily digest 2026-03-04: 1 new issue, 1 event");
        onTime.TextBody.Should().NotContain("Sent late").And.Contain("fp-tuesday");
    }

    /// <summary>
    /// A round that recorded the day's digest and whose store then failed to save its progress (as a crash between the two
    /// leaves it): the next day's digest covers that day only, not again the day already sent.
    /// </summary>
    [Fact]
    public async Task A_digest_recorded_by_a_round_whose_progress_was_not_saved_is_not_covered_again_the_next_day()
    {
        var shop = await Harness.CreateProjectAsync("shop");
        await Harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)], ExtraAddresses = ["team@example.com"] });
        await Harness.RoundAsync();
        var progressBefore = await Harness.Outbox.GetDocumentAsync(shop.Id, "worker");
        await Harness.InsertAsync(Crashes.Checkout(shop.Id, Tuesday8.AddHours(-2), "fp-monday"), Crashes.Checkout(shop.Id, Tuesday8.AddHours(2), "fp-tuesday"));

        MoveTo(Tuesday8.AddMinutes(1));
        await Harness.RoundAsync();
        Smtp.Messages().Should().ContainSingle().Which.Subject.Should().Be("[shop] Daily digest 2026-03-03: 1 new issue, 1 event");
        await Harness.Outbox.SaveDocumentAsync(shop.Id, "worker", progressBefore!);

        MoveTo(Tuesday8.AddDays(1).AddMinutes(1));
        await Harness.RoundAsync();
        Smtp.Messages().Should().HaveCount(2).And.Subject.Last().Subject.Should().Be("[shop] Daily digest 2026-03-04: 1 new issue, 1 event", "Tuesday's digest is in the outbox: it is not told again");
    }
}

[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class SqliteDigestAfterStoreOutageTests(SmtpServerFixture smtp) : DigestAfterStoreOutageTests(smtp)
{
    private readonly LockableSqliteStore _store = new("errorhub-digest-outage-");

    private protected override Dictionary<string, string?> Settings => _store.Settings;

    /// <summary>Another process's write transaction on the store.</summary>
    private protected override Task FailStoreAsync(bool failing) => failing ? _store.HoldWriteLockAsync() : _store.ReleaseWriteLockAsync();

    public override async Task DisposeAsync()
    {
        await _store.ReleaseWriteLockAsync();
        await base.DisposeAsync();
        await _store.DisposeAsync();
    }
}

[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class ClickHouseDigestAfterStoreOutageTests(SmtpServerFixture smtp, ClickHouseServerFixture clickHouse) : DigestAfterStoreOutageTests(smtp)
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseDigestAfterStoreOutageTests));
    private bool _hung;

    private protected override Dictionary<string, string?> Settings => NotificationHarness.ClickHouseStore(clickHouse, _database, TimeSpan.FromSeconds(3));

    /// <summary>The server hung (SIGSTOP), as a node stuck in swap or a stopped VM.</summary>
    private protected override Task FailStoreAsync(bool failing)
    {
        clickHouse.Hang(failing);
        _hung = failing;
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        if (_hung)
        {
            clickHouse.Hang(false);
        }

        await base.DisposeAsync();
    }
}
