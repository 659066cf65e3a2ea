using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>What the SDK sends, over real sockets to a recording server; the clock is fake and never needs to move here.</summary>
public sealed class BackgroundSenderTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task Captured_exception_arrives_as_gzipped_MessagePack_with_the_key_from_the_DSN()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn("abcdefabcdefabcdef0123456789abcd", projectId: 42));
        var client = sdk.Client;

        var id = client.CaptureException(Thrown(new InvalidOperationException("boom")));

        id.Should().NotBeNull();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var request = _ingest.Requests.Should().ContainSingle().Subject;
        request.Path.Should().Be("/api/42/events");
        request.Key.Should().Be("abcdefabcdefabcdef0123456789abcd");
        request.ContentType.Should().Be("application/vnd.msgpack");
        request.ContentEncoding.Should().Be("gzip");
        var batch = Wire.Read(request.Body).AsMap();
        batch["v"].Should().Be(1L);
        var errorEvent = batch["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["event_id"].Should().Be(id!.Value.ToString("N"));
        var exception = errorEvent["exceptions"].AsList()[0].AsMap();
        exception["type"].Should().Be("System.InvalidOperationException");
        exception["value"].Should().Be("boom");
    }

    [Fact]
    public async Task An_event_is_sent_as_BeforeSend_left_it_even_if_the_app_changes_it_afterwards()
    {
        // The event is encoded where it is queued (after BeforeSend): only its bytes wait for the sender.
        ErrorHubEvent? kept = null;
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BeforeSend = (e, _) =>
            {
                e.Tags["checked"] = "yes";
                kept = e;
                return e;
            };
        });
        var client = sdk.Client;

        client.CaptureMessage("as captured").Should().NotBeNull();
        kept!.Message = "changed after BeforeSend";
        kept.Tags["checked"] = "later";

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var errorEvent = Wire.Read(_ingest.Requests.Single().Body).AsMap()["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["message"].Should().Be("as captured");
        errorEvent["tags"].AsMap()["checked"].Should().Be("yes");
    }

    [Fact]
    public async Task Events_are_stamped_with_the_time_of_the_apps_TimeProvider()
    {
        _clock.SetUtcNow(new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("when?");

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var errorEvent = Wire.Read(_ingest.Requests.Single().Body).AsMap()["events"].AsList()[0].AsMap();
        errorEvent["timestamp"].Should().Be(new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero));
    }

    [Fact]
    public async Task Many_events_travel_in_batches_no_larger_than_MaxBatchSize_and_none_is_lost()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxBatchSize = 40;
        });
        var client = sdk.Client;

        for (var i = 0; i < 150; i++)
        {
            client.CaptureMessage($"message {i}").Should().NotBeNull();
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(20)).Within()).Should().BeTrue();
        var batches = _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()).ToList();
        batches.Should().OnlyContain(events => events.Count <= 40);
        batches.SelectMany(events => events).Select(e => e.AsMap()["message"]).Should()
            .BeEquivalentTo(Enumerable.Range(0, 150).Select(i => (object)$"message {i}"));
    }

    [Fact]
    public async Task While_a_batch_waits_for_ingest_the_queue_is_emptied_into_the_next_batch_and_only_what_fits_neither_is_dropped()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxQueueSize = 10;
            o.MaxBatchSize = 20;
        });
        var client = sdk.Client;
        var sender = client.Sender!;

        client.CaptureMessage("first").Should().NotBeNull();
        await _ingest.WaitForRequestsAsync(1); // and ingest does not answer it yet

        // Twice what the queue holds, half a queue at a time: each half wakes the loop, which takes it into the next
        // batch while the first one waits.
        for (var i = 0; i < 20; i++)
        {
            client.CaptureMessage($"during {i}").Should().NotBeNull();
            if (i % 5 == 4)
            {
                await WaitUntilAsync(() => sender.QueuedCount == 0, "the queue to be taken into the next batch");
            }
        }

        // The next batch is full: the queue fills, and what fits nowhere is dropped and counted, memory stays bounded.
        var refused = Enumerable.Range(0, 30).Count(i => client.CaptureMessage($"after {i}") is null);
        refused.Should().Be(20);
        sender.QueuedCount.Should().Be(10);

        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(20)).Within()).Should().BeTrue();
        var batches = _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()).ToList();
        batches.Select(events => events.Count).Should().Equal(1, 20, 10);
        batches.SelectMany(events => events).Select(e => e.AsMap()["message"]).Should().Equal(
            ["first", .. Enumerable.Range(0, 20).Select(i => $"during {i}"), .. Enumerable.Range(0, 10).Select(i => $"after {i}")]);
        sender.Drops.Total(ErrorHub.Transport.SdkDropReason.QueueFull).Should().Be(20);
    }

    [Fact]
    public async Task A_retried_batch_of_large_events_is_resent_as_it_was_while_newer_events_are_encoded_meanwhile()
    {
        // A batch holds its larger events in the arrays they were encoded into: those must not be handed to newer
        // events before the batch is done, or its retry would carry their bytes instead of its own.
        var answerFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ingest.Answer(async response =>
        {
            await answerFirst.Task;
            response.StatusCode = 503;
            response.Headers.RetryAfter = "0";
        });
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;
        var sender = client.Sender!;
        static string Large(string name) => name + " " + new string('x', 4000);

        client.CaptureMessage(Large("first")).Should().NotBeNull();
        await _ingest.WaitForRequestsAsync(1); // the first batch is out, and its answer waits
        for (var i = 0; i < 10; i++)
        {
            client.CaptureMessage(Large($"later {i}")).Should().NotBeNull(); // each encoded now, into a pooled array
        }

        answerFirst.SetResult();
        (await client.FlushAsync(TimeSpan.FromSeconds(20)).Within()).Should().BeTrue();
        var batches = _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()
            .Select(e => e.AsMap()["message"]).ToList()).ToList();
        batches[0].Should().Equal(Large("first"));
        batches[1].Should().ContainSingle().Which.Should().Be(Large("first"), "the retry sends the batch's own bytes");
        batches.Skip(2).SelectMany(messages => messages).Should().Equal(Enumerable.Range(0, 10).Select(i => (object)Large($"later {i}")));
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => TestGuard.WaitUntilAsync(condition, what);

    [Fact]
    public async Task A_400_is_not_retried_and_later_events_still_go_out()
    {
        _ingest.Answer(RecordingIngest.Status(400));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("rejected");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("accepted");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()[0].AsMap()["message"])
            .Should().Equal("rejected", "accepted");
    }

    [Fact]
    public async Task Without_a_DSN_the_SDK_is_disabled_and_sends_nothing()
    {
        await using var sdk = Start(_clock, o => o.Dsn = null);
        var client = sdk.Client;

        client.IsEnabled.Should().BeFalse();
        client.CaptureException(new InvalidOperationException("nobody listens")).Should().BeNull();
        (await client.FlushAsync(TimeSpan.FromSeconds(1)).Within()).Should().BeTrue();
        _ingest.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task BeforeSend_can_change_or_drop_events_and_a_throwing_BeforeSend_does_not_lose_them()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BeforeSend = (e, _) => e.Message switch
            {
                "drop me" => null,
                "throw" => throw new InvalidOperationException("bug in BeforeSend"),
                _ => Tagged(e),
            };
        });
        var client = sdk.Client;

        client.CaptureMessage("drop me").Should().BeNull();
        client.CaptureMessage("keep me").Should().NotBeNull();
        client.CaptureMessage("throw").Should().NotBeNull();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var events = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap()).ToList();
        events.Select(e => e["message"]).Should().BeEquivalentTo(["keep me", "throw"]);
        events.Single(e => (string)e["message"]! == "keep me")["tags"].AsMap()["checked"].Should().Be("yes");

        static ErrorHubEvent Tagged(ErrorHubEvent e)
        {
            e.Tags["checked"] = "yes";
            return e;
        }
    }

    [Fact]
    public async Task The_same_exception_reported_twice_is_sent_once()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;
        var exception = Thrown(new InvalidOperationException("once"));

        client.CaptureException(exception).Should().NotBeNull();
        client.CaptureException(exception).Should().BeNull();

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Should().ContainSingle();
    }

    [Fact]
    public void A_malformed_DSN_fails_options_validation_with_a_clear_message()
    {
        var services = new ServiceCollection().AddLogging().AddErrorHub(o => o.Dsn = "http://127.0.0.1:5080/1");
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<ErrorHubOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage("*ErrorHub:Dsn is not valid*public key*");
    }

    [Theory]
    [InlineData("SendTimeout", "60.00:00:00")]
    [InlineData("ShutdownTimeout", "60.00:00:00")]
    [InlineData("ShutdownTimeout", "10675199.02:48:05.4775807")]
    public void A_timeout_no_timer_can_hold_fails_options_validation_at_start_not_the_apps_stop(string key, string value)
    {
        // A timer cannot be set past about 49 days, and TimeSpan.MaxValue overflows a deadline: unchecked, such a
        // value failed every send, or threw into the app's own shutdown.
        var timeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        var services = new ServiceCollection().AddLogging().AddErrorHub(o =>
        {
            o.Dsn = _ingest.Dsn();
            if (key == "SendTimeout")
            {
                o.SendTimeout = timeout;
            }
            else
            {
                o.ShutdownTimeout = timeout;
            }
        });
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<ErrorHubOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage("*at most 1 day*");
    }
}
