using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The worker's wall clock jumps (an NTP correction, a VM restored from a snapshot, a host clock set by hand): moved
/// back an hour or forward a day between rounds, it mails nothing twice and loses no mail. The clock is the worker's
/// <see cref="TimeProvider"/>, moved with <c>AdjustTime</c> (which, like a wall clock set back, may go backwards).
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class ClockJumpTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_clock_moved_back_an_hour_or_forward_a_day_mails_no_new_issue_twice_and_misses_none()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = ["oncall@example.com"] });
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), "fp-before-the-jump"));
        await RoundsAsync();
        NewIssueMails().Should().ContainSingle();

        _harness.Time.AdjustTime(_harness.Time.GetUtcNow() - TimeSpan.FromHours(1));
        await RoundsAsync();
        NewIssueMails().Should().ContainSingle("the hour lived again mails nothing already mailed");

        // An issue first seen at the earlier time the clock now shows is news all the same.
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), "fp-after-going-back"));
        await RoundsAsync();
        NewIssueMails().Should().HaveCount(2, "the issue that came after the clock went back is mailed, once");

        _harness.Time.AdjustTime(_harness.Time.GetUtcNow() + TimeSpan.FromDays(1));
        await RoundsAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), "fp-after-going-forward"));
        await RoundsAsync();

        NewIssueMails().Select(m => m.TextBody).Should().HaveCount(3, "a day skipped mails nothing twice")
            .And.ContainSingle(body => body.Contains("fp-before-the-jump", StringComparison.Ordinal))
            .And.ContainSingle(body => body.Contains("fp-after-going-back", StringComparison.Ordinal))
            .And.ContainSingle(body => body.Contains("fp-after-going-forward", StringComparison.Ordinal));
        (await _harness.HistoryAsync(shop)).Where(n => n.Trigger == "new-issue").Should().HaveCount(3).And.OnlyContain(n => n.State == NotificationState.Sent);
    }

    [Fact]
    public async Task A_daily_digest_sent_is_not_sent_again_when_the_clock_goes_back_past_its_hour_and_a_day_forward_brings_one()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)] });
        await _harness.RoundAsync();
        var digestTime = new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);

        // A crash in each digest's day: a day without news sends no digest.
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, digestTime.AddHours(-2)), Crashes.Checkout(shop.Id, digestTime.AddHours(2)));
        _harness.Time.Advance(digestTime - _harness.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        await RoundsAsync();
        smtp.Messages().Should().ContainSingle();

        _harness.Time.AdjustTime(digestTime - TimeSpan.FromMinutes(30));
        await RoundsAsync();
        _harness.Time.AdjustTime(digestTime + TimeSpan.FromMinutes(5));
        await RoundsAsync();
        smtp.Messages().Should().ContainSingle("the day's digest went out; passing its hour again sends no second one");

        _harness.Time.AdjustTime(digestTime + TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5));
        await RoundsAsync();
        smtp.Messages().Should().HaveCount(2, "the next day's digest comes once");
    }

    [Fact]
    public async Task A_mail_waiting_for_its_retry_when_the_clock_goes_back_goes_out_once_and_after_a_day_forward_too()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = ["oncall@example.com"] });
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow()));
        await smtp.StopAsync();
        await _harness.RoundAsync();
        (await _harness.HistoryAsync(shop)).Single(n => n.Trigger == "new-issue").State.Should().Be(NotificationState.Pending);

        await smtp.StartAsync();
        _harness.Time.AdjustTime(_harness.Time.GetUtcNow() - TimeSpan.FromHours(1));
        await RoundsAsync();
        _harness.Time.AdjustTime(_harness.Time.GetUtcNow() + TimeSpan.FromDays(1));
        await RoundsAsync();

        NewIssueMails().Should().ContainSingle("the waiting mail goes out once, at the latest when the clock passes its next attempt");
        (await _harness.HistoryAsync(shop)).Single(n => n.Trigger == "new-issue").State.Should().Be(NotificationState.Sent);
    }

    /// <summary>The new-issue alerts the SMTP server got (the default rules also send a daily digest).</summary>
    private List<MimeKit.MimeMessage> NewIssueMails() => smtp.Messages().Where(m => m.Headers["X-ErrorHub-Trigger"] == "new-issue").ToList();

    /// <summary>A few rounds a minute apart, as the worker runs them.</summary>
    private async Task RoundsAsync()
    {
        for (var round = 0; round < 3; round++)
        {
            await _harness.RoundAsync();
            _harness.Time.Advance(TimeSpan.FromMinutes(1));
        }
    }
}
