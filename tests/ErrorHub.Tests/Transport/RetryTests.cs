using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// Retries against a real server that answers 503, 429 or nothing at all. Every wait of the SDK is on a fake clock
/// that the test advances once the SDK is waiting, so a minute of back-off takes no time and no test sleeps.
/// </summary>
public sealed class RetryTests : IAsyncLifetime
{
    /// <summary>The default; back-off waits are told apart from the per-request timeout by their length.</summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(15);

    private readonly TestClock _clock = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_503_with_Retry_After_in_seconds_is_retried_after_that_long_on_the_clock()
    {
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "3"));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("retry me");

        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(3));
        _ingest.Requests.Should().HaveCount(1, "the retry waits for the clock");
        _clock.Advance(TimeSpan.FromSeconds(3));
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2, "the first attempt got 503, the second 202");
        _ingest.Requests.Select(EventIds).Distinct().Should().ContainSingle("the retry sends the same event again");
    }

    [Fact]
    public async Task A_Retry_After_date_is_measured_from_the_apps_clock_not_the_machines()
    {
        // The fake clock stands in the year 2000: measured from the machine's clock this date is long past.
        var retryAt = _clock.GetUtcNow().AddSeconds(30);
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: retryAt.ToString("R")));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("retry at a date");

        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(30));
        _clock.Advance(TimeSpan.FromSeconds(30));
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task A_Retry_After_longer_than_a_minute_is_waited_for_one_minute()
    {
        _ingest.Answer(RecordingIngest.Status(429, retryAfter: "3600"));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("not in an hour");

        await _clock.WaitStartedAsync(TimeSpan.FromMinutes(1));
        _clock.Advance(TimeSpan.FromMinutes(1));
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Without_Retry_After_429_and_5xx_are_retried_with_growing_waits_of_1_2_and_4_seconds_give_or_take_a_fifth()
    {
        _ingest.Answer(RecordingIngest.Status(429), RecordingIngest.Status(500), RecordingIngest.Status(503));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("eventually");

        foreach (var seconds in new[] { 1, 2, 4 })
        {
            var wait = await _clock.WaitStartedAsync(w => w != SendTimeout, "a back-off");
            wait.Should().BeCloseTo(TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds * 0.2));
            _clock.Advance(wait);
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(4);
        _ingest.Requests.Select(EventIds).Distinct().Should().ContainSingle();
    }

    [Fact]
    public async Task A_batch_that_keeps_failing_is_given_up_after_six_attempts_and_later_events_still_go_out()
    {
        _ingest.Answer(Enumerable.Repeat(RecordingIngest.Status(503), 6).ToArray());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("doomed");
        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(await _clock.WaitStartedAsync(w => w != SendTimeout, "a back-off"));
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue("a batch given up on no longer holds up a flush");
        _ingest.Requests.Should().HaveCount(6);

        client.CaptureMessage("next");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(7);
        Messages(_ingest.Requests.Last()).Should().Equal("next");
    }

    [Fact]
    public async Task Giving_up_a_batch_says_why_its_last_attempt_failed()
    {
        // An https DSN whose server speaks plain HTTP (or presents a certificate the machine does not trust): HttpClient's
        // own message only says "see the inner exception", and a line without the reason leaves the operator guessing.
        var logs = new CapturingLoggerProvider();
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn().Replace("http://", "https://", StringComparison.Ordinal), logs);
        var client = sdk.Client;

        client.CaptureMessage("never delivered");
        for (var i = 0; i < 5; i++)
        {
            _clock.Advance(await _clock.WaitStartedAsync(w => w != SendTimeout, "a back-off"));
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.Sender!.Drops.Total(ErrorHub.Transport.SdkDropReason.SendFailed).Should().Be(1);
        logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith("ErrorHub gave up sending 1 events after 6 attempts; the last one failed: The SSL connection could not be established");
    }

    [Fact]
    public async Task A_request_without_an_answer_is_abandoned_after_SendTimeout_on_the_clock_and_sent_again()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.SendTimeout = TimeSpan.FromSeconds(10);
        });
        var client = sdk.Client;

        client.CaptureMessage("slow ingest");

        await _ingest.WaitForRequestsAsync(1);
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(10));
        _ingest.AbandonedCount.Should().Be(0, "the clock has not moved");
        _clock.Advance(TimeSpan.FromSeconds(10));
        await _ingest.WaitForAbandonedAsync(1);
        _clock.Advance(await _clock.WaitStartedAsync(w => w != TimeSpan.FromSeconds(10), "a back-off"));
        (await client.FlushAsync(TimeSpan.FromSeconds(30)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2);
        _ingest.Requests.Select(EventIds).Distinct().Should().ContainSingle();
    }

    [Fact]
    public async Task SendTimeout_is_the_only_limit_on_a_request_HttpClients_own_100_seconds_on_the_real_clock_are_off()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());

        var http = sdk.Client.Sender!.Http;

        http.Timeout.Should().Be(Timeout.InfiniteTimeSpan, "a SendTimeout above 100 s would otherwise be cut short, and not on the app's clock");
    }

    private static object? EventIds(RecordedRequest request) =>
        Wire.Read(request.Body).AsMap()["events"].AsList()[0].AsMap()["event_id"];

    private static IEnumerable<object?> Messages(RecordedRequest request) =>
        Wire.Read(request.Body).AsMap()["events"].AsList().Select(e => e.AsMap()["message"]);
}
