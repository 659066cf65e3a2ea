using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The spike and digest jobs when the store fails between reading what happened and recording the mail (another
/// process holds SQLite's write lock past the busy timeout, as a backup or a <c>sqlite3</c> shell left in
/// <c>BEGIN</c> does), while the SMTP server is out too: once both answer again, every mail owed arrives once, none
/// twice, none lost.
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class StoreFailsMidJobTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private static readonly TimeSpan RoundBound = TimeSpan.FromSeconds(150);

    private readonly LockableSqliteStore _store = new("errorhub-midjob-");
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp, _store.Settings);

    /// <summary>
    /// A spike the worker saw while the store refused its record, the store answering again only after the rule's window
    /// had passed: until December 2026 the spike was never mailed (the next rounds' windows no longer held it).
    /// </summary>
    [Fact]
    public async Task A_spike_seen_while_the_store_refused_its_record_is_mailed_once_after_the_store_answers_even_when_its_window_has_passed()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules = [new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 3, WindowMinutes = 5, CooldownMinutes = 60 }],
            ExtraAddresses = ["team@example.com"],
        });
        await _harness.RoundAsync();
        var spikeAt = _harness.Time.GetUtcNow().AddSeconds(1);
        await _harness.InsertAsync([.. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, spikeAt.AddSeconds(i)))]);
        _harness.Time.Advance(TimeSpan.FromMinutes(1));

        await smtp.StopAsync();
        await _store.HoldWriteLockAsync();
        await _harness.RoundAsync().WaitAsync(RoundBound);
        (await _harness.HistoryAsync(shop)).Should().BeEmpty("the store refused the spike's record");
        _harness.Log.Entries.Should().Contain(e => e.Message.Contains($"project {shop.Id} could not be evaluated", StringComparison.Ordinal) && e.Exception is SqliteException);

        // The outage outlasts the rule's window (the rounds meanwhile would fail the same way, or not run at all: the
        // store refuses their lease).
        _harness.Time.Advance(TimeSpan.FromMinutes(20));
        await _store.ReleaseWriteLockAsync();
        await _harness.RoundAsync().WaitAsync(RoundBound);
        (await _harness.HistoryAsync(shop)).Should().ContainSingle("the spike seen before the outage is recorded once the store answers")
            .Which.State.Should().Be(NotificationState.Pending, "the SMTP server is still out");

        await smtp.StartAsync();
        for (var round = 0; round < 3; round++)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(2));
            await _harness.RoundAsync().WaitAsync(RoundBound);
        }

        var mail = smtp.Messages().Should().ContainSingle("the spike is mailed once, not once per window that held it").Subject;
        mail.TextBody.Should().Contain("5 events in the 5 minutes to").And.Contain("Mailed late");
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.State.Should().Be(NotificationState.Sent);
    }

    /// <summary>
    /// Two spikes seen while the store refused their records, mailed once it answers, their batch meeting an SMTP server
    /// that refuses one recipient of the first mail for now (452, once) while it takes the rest: each address gets each
    /// spike's mail once, the refused one on the retry.
    /// </summary>
    [Fact]
    public async Task Spikes_recorded_late_whose_batch_meets_an_smtp_refusal_mid_way_reach_every_address_once()
    {
        var pager = $"full-once-{Guid.NewGuid():N}@example.com";
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules = [new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 3, WindowMinutes = 5, CooldownMinutes = 60 }],
            ExtraAddresses = ["team@example.com", pager],
        });
        await _harness.RoundAsync();
        var spikeAt = _harness.Time.GetUtcNow().AddSeconds(1);
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, spikeAt.AddSeconds(i))),
            .. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, spikeAt.AddSeconds(i), fingerprint: "fp-payment"))]);
        _harness.Time.Advance(TimeSpan.FromMinutes(1));

        await _store.HoldWriteLockAsync();
        await _harness.RoundAsync().WaitAsync(RoundBound);
        _harness.Time.Advance(TimeSpan.FromMinutes(20));
        await _store.ReleaseWriteLockAsync();
        for (var round = 0; round < 4; round++)
        {
            await _harness.RoundAsync().WaitAsync(RoundBound);
            _harness.Time.Advance(TimeSpan.FromMinutes(2));
        }

        var received = smtp.Messages().SelectMany(m => SmtpServerFixture.EnvelopeRecipients(m).Select(to => (To: to, Issue: m.TextBody!.Contains("/issues/fp-payment", StringComparison.Ordinal)))).ToList();
        received.Should().BeEquivalentTo([("team@example.com", false), ("team@example.com", true), (pager, false), (pager, true)], "each address gets each spike's mail once");
        (await _harness.HistoryAsync(shop)).Should().HaveCount(2).And.OnlyContain(n => n.State == NotificationState.Sent);
    }

    /// <summary>
    /// The daily digest composed (the day's issues read) while the store refuses to record it and the SMTP server is out:
    /// the round records nothing; the SMTP server back first changes nothing; the store back, the digest is recorded and
    /// mailed once, and the later rounds of the day do not mail it again.
    /// </summary>
    [Fact]
    public async Task A_digest_the_store_refused_to_record_while_smtp_was_out_arrives_once_when_both_are_back()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)],
            ExtraAddresses = ["team@example.com"],
        });
        await _harness.RoundAsync();
        await _harness.InsertAsync(
            Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(5)),
            Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(6), fingerprint: "fp-payment"));

        // The next day, at the digest's hour: the day is read, its record refused.
        var digestHour = new DateTimeOffset(NotificationHarness.Start.UtcDateTime.Date.AddDays(1).AddHours(8).AddMinutes(1), TimeSpan.Zero);
        _harness.Time.Advance(digestHour - _harness.Time.GetUtcNow());
        await smtp.StopAsync();
        await _store.HoldWriteLockAsync();
        await _harness.RoundAsync().WaitAsync(RoundBound);
        (await _harness.HistoryAsync(shop)).Should().BeEmpty();

        // The SMTP server back first: nothing is recorded, so nothing goes out.
        await smtp.StartAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync().WaitAsync(RoundBound);
        smtp.Messages().Should().BeEmpty();

        // The store back: the digest is recorded and sent once, and later rounds of the day leave it at that.
        await _store.ReleaseWriteLockAsync();
        for (var round = 0; round < 3; round++)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(1));
            await _harness.RoundAsync().WaitAsync(RoundBound);
        }

        _harness.Time.Advance(TimeSpan.FromHours(3));
        await _harness.RoundAsync().WaitAsync(RoundBound);

        var digest = smtp.Messages().Should().ContainSingle().Subject;
        digest.Subject.Should().Contain("2 new issues", "the day read before the store failed");
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.Should().Match<Notification>(n => n.State == NotificationState.Sent && n.Attempts == 1);
    }

    public async Task DisposeAsync()
    {
        await _store.ReleaseWriteLockAsync();
        await _harness.DisposeAsync();
        await smtp.StartAsync();
        await _store.DisposeAsync();
    }
}
