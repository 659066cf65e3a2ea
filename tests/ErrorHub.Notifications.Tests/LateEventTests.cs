using System.Net;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// Events that reach the store hours after their own time, while every round of the worker succeeds: an SDK resending
/// its disk spool (posted through the real ingest endpoint, received now, stamped hours ago) and the ingest journal
/// replayed after a restart (stored with the time they were first received). Spikes count by the events' own time, as
/// the dashboard's charts do: the round after they arrive mails the new issue and the spike they made, once, saying they
/// came late. Until December 2026 neither was ever mailed (the new-issue cursor and the spike windows had passed them).
/// </summary>
public abstract class LateEventTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private const int Project = IngestHost.ProjectId;
    private IngestHost _ingest = null!;
    private NotificationHarness _harness = null!;

    /// <summary>The store both hosts use (none: the ingest host's SQLite file).</summary>
    private protected abstract Dictionary<string, string?> StoreSettings { get; }

    public async Task InitializeAsync()
    {
        smtp.Clear();
        await smtp.StartAsync();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(NotificationHarness.Start);
        _ingest = await IngestHost.StartAsync(StoreSettings, configureServices: services => services.AddSingleton<TimeProvider>(clock));
        var store = StoreSettings.Count > 0 ? StoreSettings : new() { ["ErrorHub:Store:Sqlite:Path"] = _ingest.DatabasePath };
        _harness = await NotificationHarness.CreateAsync(smtp, store, clock: clock);
        await _harness.Settings.SaveAsync(Project, new AlertSettings
        {
            Rules =
            [
                new AlertRule("new", AlertTrigger.NewIssue),
                new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 3, WindowMinutes = 5, CooldownMinutes = 60 },
            ],
            ExtraAddresses = ["team@example.com"],
        });
    }

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        await _ingest.DisposeAsync();
    }

    /// <summary>Events of one issue (named by the SDK's custom fingerprint), as an SDK sends them: one batch, each stamped at its time.</summary>
    private async Task PostAsync(string issue, params DateTimeOffset[] times)
    {
        var before = await StoredAsync();
        var events = times.Select(time => (object?)SampleBatch.CheckoutEvent()
            .With("event_id", Guid.NewGuid().ToString("N"))
            .With("timestamp", time)
            .With("fingerprint", Wire.Array(issue))).ToArray();
        using var response = await _ingest.PostAsync(Wire.Encode(SampleBatch.Batch().With("events", events)));
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);

        // Accepted is journaled; the events are in the store a moment later.
        using var waited = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (await StoredAsync() < before + times.Length)
        {
            await Task.Delay(50, waited.Token);
        }
    }

    private async Task<int> StoredAsync() => (await _ingest.AllEventsAsync()).Count;

    /// <summary>Rounds every 2 minutes (the worker runs one every 30 s; the events of the day are counted every 5 minutes), up to <paramref name="until"/>.</summary>
    private async Task RoundsUntilAsync(DateTimeOffset until)
    {
        while (_harness.Time.GetUtcNow() < until)
        {
            await _harness.RoundAsync();
            _harness.Time.Advance(TimeSpan.FromMinutes(2));
        }
    }

    [Fact]
    public async Task A_spike_and_a_new_issue_whose_events_an_sdk_resends_hours_later_are_mailed_once_when_they_arrive_saying_when_they_happened()
    {
        var start = _harness.Time.GetUtcNow();
        await _harness.RoundAsync();

        // On time: an issue's first event, mailed as usual; nothing late.
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await PostAsync("Shop.Cart.CartService.Add", _harness.Time.GetUtcNow());
        await RoundsUntilAsync(start.AddHours(3));
        smtp.Messages().Should().ContainSingle().Which.TextBody.Should().StartWith("New issue");
        _harness.Log.Entries.Should().NotContain(e => e.Message.Contains("arrived late", StringComparison.Ordinal), "events that came on time are not late");

        // 13:00: an app that could not reach ErrorHub sends what it kept on disk: five crashes of a new issue at 11:00.
        var happened = start.AddHours(1);
        await PostAsync("Shop.Checkout.CheckoutService.Complete", [.. Enumerable.Range(0, 5).Select(i => happened.AddSeconds(i))]);
        await RoundsUntilAsync(start.AddHours(5));

        var late = smtp.Messages().Skip(1).ToList();
        late.Select(m => m.Headers["X-ErrorHub-Trigger"]).Should().BeEquivalentTo(["new-issue", "event-frequency"], "the new issue and its spike, each once");
        late.Should().OnlyContain(m => m.TextBody!.Contains("Mailed late:", StringComparison.Ordinal) && m.TextBody.Contains("reached ErrorHub only now", StringComparison.Ordinal));
        late.Single(m => m.Headers["X-ErrorHub-Trigger"] == "new-issue").TextBody.Should().Contain("its first event, from Monday 2 March 2026, 11:00 UTC,");
        late.Single(m => m.Headers["X-ErrorHub-Trigger"] == "event-frequency").TextBody.Should().Contain("5 events in the 5 minutes to Monday 2 March 2026, 11:0");
        (await _harness.Outbox.GetNotificationsAsync(Project, 100)).Should().HaveCount(3).And.OnlyContain(n => n.State == NotificationState.Sent);
    }

    [Fact]
    public async Task Events_the_ingest_journal_replays_after_a_restart_hours_later_make_their_spike_mail_once()
    {
        var start = _harness.Time.GetUtcNow();
        await PostAsync("Shop.Checkout.CheckoutService.Complete", start.AddMinutes(-5)); // an issue known before: no new-issue mail
        await _harness.RoundAsync();
        await RoundsUntilAsync(start.AddHours(3));
        var known = (await _ingest.AllEventsAsync()).Single();

        await FiveEventsAtElevenStoredAtOneMakeOneLateSpikeMailAsync(known, start);
    }

    [Fact]
    public async Task Late_events_of_a_quiet_issue_on_a_day_with_more_than_a_thousand_busier_issues_make_their_spike_mail()
    {
        var start = _harness.Time.GetUtcNow();
        await PostAsync("Shop.Checkout.CheckoutService.Complete", start.AddMinutes(-5)); // a quiet issue known before: no new-issue mail
        var known = (await _ingest.AllEventsAsync()).Single();

        // A busy day before the first round: 1,001 other issues with 10 events each, never more than one in an hour.
        await _ingest.Events.InsertEventsAsync([.. Enumerable.Range(0, 1_001).SelectMany(issue => Enumerable.Range(0, 10).Select(k => known with
        {
            EventId = Guid.NewGuid(),
            Fingerprint = $"busy-{issue:D4}",
            Timestamp = start.AddHours(-19 + (1.5 * k)).AddSeconds(issue),
            ReceivedAt = start.AddHours(-19 + (1.5 * k)).AddSeconds(issue),
        }))]);
        await _harness.RoundAsync();
        await RoundsUntilAsync(start.AddHours(3));
        smtp.Messages().Should().BeEmpty("nothing happened after the first round");

        // The quiet issue's five crashes at 11:00, replayed by the journal at 13:00: fewer events that day than any busy issue.
        // Until December 2026 the count compared only the day's 1,000 busiest issues: these late events changed none of them.
        await FiveEventsAtElevenStoredAtOneMakeOneLateSpikeMailAsync(known, start);
    }

    /// <summary>
    /// Five events of <paramref name="known"/>'s issue written as the ingest journal writes them back: received (and stamped)
    /// at 11:00, stored at 13:00; by 15:00 they made one spike mail, which says it was mailed late.
    /// </summary>
    private async Task FiveEventsAtElevenStoredAtOneMakeOneLateSpikeMailAsync(ErrorEvent known, DateTimeOffset start)
    {
        var happened = start.AddHours(1);
        await _ingest.Events.InsertEventsAsync([.. Enumerable.Range(0, 5).Select(i => known with
        {
            EventId = Guid.NewGuid(),
            Timestamp = happened.AddSeconds(i),
            ReceivedAt = happened.AddSeconds(i),
        })]);
        await RoundsUntilAsync(start.AddHours(5));

        var spike = smtp.Messages().Should().ContainSingle("the spike, once; the issue was not new").Subject;
        spike.Headers["X-ErrorHub-Trigger"].Should().Be("event-frequency");
        spike.TextBody.Should().Contain("5 events in the 5 minutes to Monday 2 March 2026, 11:0").And.Contain("Mailed late");
    }
}

[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class SqliteLateEventTests(SmtpServerFixture smtp) : LateEventTests(smtp)
{
    private protected override Dictionary<string, string?> StoreSettings => [];
}

[Collection(SmtpAndClickHouseCollectionDefinition.Name)]
public sealed class ClickHouseLateEventTests(SmtpServerFixture smtp, ErrorHub.Testing.ClickHouse.ClickHouseServerFixture clickHouse) : LateEventTests(smtp)
{
    private readonly string _database = ErrorHub.Testing.ClickHouse.ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseLateEventTests));

    private protected override Dictionary<string, string?> StoreSettings => NotificationHarness.ClickHouseStore(clickHouse, _database);
}
