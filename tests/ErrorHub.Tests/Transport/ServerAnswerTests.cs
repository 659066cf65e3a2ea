using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using ErrorHub.Transport;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// What the SDK does with each answer a real server on loopback can give (413, 401, 403, 400, 408), how it forms
/// batches (count, bytes, time) and how the counts of what it dropped reach the server. Waits are on a fake clock.
/// </summary>
public sealed class ServerAnswerTests : IAsyncLifetime
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(15);

    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_413_splits_the_batch_in_halves_and_every_event_arrives()
    {
        _ingest.Answer(_ingest.Hang(), RecordingIngest.Status(413), RecordingIngest.Status(413));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;
        await HoldTheSenderAsync(client);

        for (var i = 0; i < 6; i++)
        {
            client.CaptureMessage($"m{i}");
        }

        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var sizes = _ingest.Requests.Skip(1).Select(r => Events(r).Count).ToList();
        sizes.Should().Equal([6, 3, 1, 2, 3], "6 is refused, its first half of 3 too, which splits into 1 and 2; then the second half of 3");
        _ingest.Requests.Skip(1).Where((_, i) => i is 2 or 3 or 4).SelectMany(Events).Select(e => e["message"])
            .Should().Equal("m0", "m1", "m2", "m3", "m4", "m5");
        client.Sender!.Drops.Total().Should().Be(0);
    }

    [Fact]
    public async Task A_single_event_still_refused_with_413_is_dropped_counted_as_too_large_and_the_count_reaches_the_server()
    {
        _ingest.Answer(RecordingIngest.Status(413));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("too big for this server");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("next");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("after the report");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var requests = _ingest.Requests.ToList();
        requests.Should().HaveCount(3, "a lone event refused with 413 is not retried");
        Dropped(requests[1]).Should().Equal(new Dictionary<string, long> { ["too_large"] = 1 });
        Events(requests[1]).Select(e => e["message"]).Should().Equal("next");
        Dropped(requests[2]).Should().BeEmpty("the server has the count; it is not sent twice");
    }

    [Fact]
    public async Task A_server_that_refuses_every_body_with_413_costs_one_log_line_per_batch_not_one_per_event()
    {
        // A proxy in front of ingest with a body limit below any event: each of the batch's events ends up refused alone.
        _ingest.Answer([_ingest.Hang(), .. Enumerable.Repeat(RecordingIngest.Status(413), 11)]);
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);
        var client = sdk.Client;
        await HoldTheSenderAsync(client);

        for (var i = 0; i < 6; i++)
        {
            client.CaptureMessage($"m{i}");
        }

        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(12, "the opener, then 6 events split down to single events: 11 requests");
        client.Sender!.Drops.Total(SdkDropReason.TooLarge).Should().Be(6);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith("ErrorHub dropped 6 events that ingest refused as too large (413) even when sent alone");
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task A_refused_key_stops_sending_logs_once_and_counts_every_later_event_as_unauthorized(int status)
    {
        _ingest.Answer(RecordingIngest.Status(status));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);
        var client = sdk.Client;

        client.CaptureMessage("first");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var later = Enumerable.Range(0, 5).Select(i => client.CaptureMessage($"later {i}")).ToList();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        later.Should().OnlyContain(id => id == null, "nothing is queued once the key is refused");
        _ingest.Requests.Should().ContainSingle("the server is not asked again");
        client.Sender!.StoppedByServer.Should().BeTrue();
        client.Sender.Drops.Total(SdkDropReason.Unauthorized).Should().Be(6);
        _logs.Entries.Where(e => e.Message.Contains("stopped sending", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Level.Should().Be(LogLevel.Error);
    }

    [Fact]
    public async Task A_400_drops_the_batch_with_one_log_line_and_the_next_batch_reports_it_as_rejected()
    {
        _ingest.Answer(RecordingIngest.Status(400));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);
        var client = sdk.Client;

        client.CaptureMessage("rejected");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("accepted");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(2);
        Dropped(_ingest.Requests.Last()).Should().Equal(new Dictionary<string, long> { ["rejected"] = 1 });
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith("ErrorHub refused 1 events with status 400");
    }

    [Fact]
    public async Task A_server_refusing_every_batch_with_a_4xx_writes_one_line_a_minute_not_one_per_batch()
    {
        // Another service or a proxy at the DSN's address answering 404 to every batch: each wrote a warning into the app's log.
        _ingest.Answer(Enumerable.Repeat(RecordingIngest.Status(404), 5).ToArray());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        for (var i = 0; i < 5; i++)
        {
            sdk.Client.CaptureMessage($"refused {i}");
            (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        }

        _ingest.Requests.Should().HaveCount(5, "a refused batch is not sent again");
        sdk.Client.Sender!.Drops.Total(SdkDropReason.Rejected).Should().Be(5, "each event is counted once, as rejected");
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith("ErrorHub refused 1 events with status 404");

        _clock.Advance(TimeSpan.FromMinutes(1));
        _ingest.Answer(RecordingIngest.Status(404));
        sdk.Client.CaptureMessage("a minute later");
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().HaveCount(2)
            .And.Subject.Last().Message.Should().Contain("4 more refusals since the last one");
    }

    [Fact]
    public async Task A_redirect_that_turns_the_post_into_a_get_is_no_delivery_the_batch_is_dropped_with_one_log_line_and_reported()
    {
        // A DSN whose address answers 302 to a sign-in page: HttpClient follows it with a GET, without the events, and the
        // page answers 200. Taken for a delivery, every event would be lost without a word.
        var signIn = new Uri(_ingest.BaseAddress, RecordingIngest.SignInPath);
        _ingest.Answer(RecordingIngest.Redirect(302, signIn));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);
        var client = sdk.Client;

        client.CaptureMessage("redirected");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("accepted");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(2, "the redirected batch is not sent again: it would be redirected the same way");
        Dropped(_ingest.Requests.Last()).Should().Equal(new Dictionary<string, long> { ["rejected"] = 1 });
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle()
            .Which.Message.Should().StartWith($"ErrorHub could not deliver 1 events: the DSN's address redirected them to {signIn}");
    }

    [Fact]
    public async Task A_redirect_that_keeps_the_post_and_its_body_delivers_the_events()
    {
        // 307 and 308 (an http address moved to https, a path moved) resend the POST with its body.
        var eventsUri = new Uri(_ingest.BaseAddress, "/api/7/events");
        _ingest.Answer(RecordingIngest.Redirect(307, eventsUri));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);
        var client = sdk.Client;

        client.CaptureMessage("moved");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        _ingest.Requests.Should().HaveCount(2);
        Events(_ingest.Requests.Last()).Select(e => e["message"]).Should().Equal("moved");
        client.Sender!.Drops.Total().Should().Be(0);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();
    }

    [Fact]
    public async Task A_refusal_whose_body_never_ends_is_logged_from_its_start_without_waiting_for_the_rest()
    {
        // Whatever answers at the DSN's address (a proxy's error page, another service) may send a body of any length, or
        // one that never ends: reading it whole would hold all of it in the app's memory, or never finish.
        var closedByClient = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ingest.Answer(async response =>
        {
            response.StatusCode = 400;
            await response.Body.WriteAsync(System.Text.Encoding.UTF8.GetBytes("bad batch " + new string('x', 64 * 1024)));
            await response.Body.FlushAsync();
            try
            {
                await Task.Delay(RecordingIngest.Guard, response.HttpContext.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // the client closed the connection
            }

            closedByClient.TrySetResult(response.HttpContext.RequestAborted.IsCancellationRequested);
        });
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs);

        sdk.Client.CaptureMessage("refused");

        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue("the refusal is taken on its status and the start of its body");
        _logs.Entries.Should().ContainSingle(e => e.Level >= LogLevel.Warning)
            .Which.Message.Should().StartWith("ErrorHub refused 1 events with status 400: bad batch xxx");
        (await closedByClient.Task.WaitAsync(RecordingIngest.Guard + TimeSpan.FromSeconds(5))).Should().BeTrue("the SDK lets the connection go rather than wait for the rest of the body");
    }

    [Fact]
    public async Task A_408_is_retried_after_a_back_off()
    {
        _ingest.Answer(RecordingIngest.Status(408));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("slow server");
        _clock.Advance(await _clock.WaitStartedAsync(w => w != SendTimeout, "a back-off"));

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Drop_counts_are_kept_until_a_batch_carrying_them_is_accepted()
    {
        _ingest.Answer(RecordingIngest.Status(400), RecordingIngest.Status(503, retryAfter: "2"));
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("rejected");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("retried");
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(2));
        _clock.Advance(TimeSpan.FromSeconds(2));
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        client.CaptureMessage("clean");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var reports = _ingest.Requests.Select(Dropped).ToList();
        reports.Should().HaveCount(4);
        reports[1].Should().Equal(new Dictionary<string, long> { ["rejected"] = 1 }, "the 503'd batch carried the count");
        reports[2].Should().Equal(new Dictionary<string, long> { ["rejected"] = 1 }, "the 503 did not settle it: its retry carries it again");
        reports[3].Should().BeEmpty();
    }

    [Fact]
    public async Task Events_refused_by_a_full_queue_or_by_BeforeSend_are_counted_and_reported_with_the_next_batch()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxQueueSize = 1;
            o.MaxBatchSize = 1;
            o.BeforeSend = (e, _) => e.Message == "private" ? null : e;
        });
        var client = sdk.Client;
        await HoldTheSenderAsync(client);

        // While the opener waits for ingest, the sender takes this one into the next batch (of one): then the queue's place is free.
        client.CaptureMessage("next batch").Should().NotBeNull();
        using (var guard = new CancellationTokenSource(RecordingIngest.Guard))
        {
            while (client.Sender!.QueuedCount > 0)
            {
                await Task.Delay(1, guard.Token);
            }
        }

        client.CaptureMessage("queued").Should().NotBeNull();
        client.CaptureMessage("no room 1").Should().BeNull();
        client.CaptureMessage("no room 2").Should().BeNull();
        client.CaptureMessage("private").Should().BeNull();
        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var after = _ingest.Requests.Skip(1).ToList();
        after.SelectMany(Events).Select(e => e["message"]).Should().Equal("next batch", "queued");
        after.Select(Dropped).Where(d => d.Count > 0).Should().ContainSingle("the counts travel once, with the next batch sent")
            .Which.Should().Equal(new Dictionary<string, long> { ["queue_full"] = 2, ["before_send"] = 1 });
    }

    [Fact]
    public async Task Batches_stay_within_MaxBatchBytes_and_an_event_larger_than_that_alone_is_dropped_as_too_large()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxBatchBytes = 4096;
        }, _logs);
        var client = sdk.Client;
        await HoldTheSenderAsync(client);

        for (var i = 0; i < 8; i++)
        {
            client.CaptureMessage($"{i} " + new string('x', 1000));
        }

        client.CaptureMessage("huge " + new string('y', 5000)).Should().BeNull("no batch can carry it: it is refused where it is encoded, never queued");
        client.CaptureMessage("huger " + new string('y', 6000)).Should().BeNull();
        client.CaptureMessage("last");
        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var requests = _ingest.Requests.Skip(1).ToList();
        requests.Should().HaveCountGreaterThan(2);
        requests.Should().OnlyContain(r => r.Body.Length <= 4096);
        requests.SelectMany(Events).Select(e => ((string)e["message"]!).Split(' ')[0])
            .Should().Equal("0", "1", "2", "3", "4", "5", "6", "7", "last");
        client.Sender!.Drops.Total(SdkDropReason.TooLarge).Should().Be(2);
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle("refused on the app's thread: one line, the counts go to the server")
            .Which.Message.Should().StartWith("ErrorHub dropped an event of");
    }

    [Fact]
    public async Task An_event_that_did_not_fit_while_a_batch_was_out_starts_a_batch_of_its_own_instead_of_overfilling_the_next()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxBatchBytes = 4096;
            o.MaxBatchSize = 4;
        });
        var client = sdk.Client;
        var sender = client.Sender!;
        await HoldTheSenderAsync(client);

        // Four queued events wake the loop while the opener is out: it takes the large first one into the next batch and
        // keeps the second, which does not fit beside it, aside: that one must start the batch after, not join this one.
        client.CaptureMessage("0 " + new string('x', 3000)).Should().NotBeNull();
        for (var i = 1; i < 6; i++)
        {
            client.CaptureMessage($"{i} " + new string('x', 1000)).Should().NotBeNull();
        }

        await TestGuard.WaitUntilAsync(() => sender.QueuedCount < 6, "the queue taken into the next batch while the opener is out");
        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var requests = _ingest.Requests.Skip(1).ToList();
        requests.Should().OnlyContain(r => r.Body.Length <= 4096, "MaxBatchBytes bounds a batch's bytes before gzip (the recording server inflates them)");
        requests.SelectMany(Events).Select(e => ((string)e["message"]!).Split(' ')[0]).Should().Equal("0", "1", "2", "3", "4", "5");
        sender.Drops.Total(SdkDropReason.TooLarge).Should().Be(0);
    }

    [Fact]
    public async Task With_a_BatchDelay_events_of_that_window_travel_together_after_it_on_the_clock()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BatchDelay = TimeSpan.FromSeconds(2);
        });
        var client = sdk.Client;

        client.CaptureMessage("a");
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(2)); // the window is on
        client.CaptureMessage("b");
        _ingest.Requests.Should().BeEmpty("the batch waits for the clock");
        _clock.Advance(TimeSpan.FromSeconds(2));
        await _ingest.WaitForRequestsAsync(1);

        Events(_ingest.Requests.Single()).Select(e => e["message"]).Should().Equal("a", "b");
    }

    [Fact]
    public async Task In_a_storm_a_batch_waits_a_moment_on_the_clock_to_fill_while_a_lone_event_goes_at_once()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;

        client.CaptureMessage("lone");
        await _ingest.WaitForRequestsAsync(1); // the clock never moved: no BatchDelay, nothing sent just before

        for (var i = 0; i < 30; i++)
        {
            client.CaptureMessage($"storm {i}");
        }

        await _clock.WaitStartedAsync(BackgroundSender.BurstLinger);
        _ingest.Requests.Should().ContainSingle("events that follow a send closely wait for more");
        _clock.Advance(BackgroundSender.BurstLinger);
        await _ingest.WaitForRequestsAsync(2);

        Events(_ingest.Requests.ElementAt(1)).Select(e => e["message"]).Should().Equal(Enumerable.Range(0, 30).Select(i => (object?)$"storm {i}"));
    }

    [Fact]
    public async Task A_lingering_batch_takes_the_queue_in_as_it_fills_on_one_timer_so_a_burst_twice_the_queue_is_not_refused_while_the_clock_stands_still()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxQueueSize = 100;
        });
        var client = sdk.Client;
        var sender = client.Sender!;
        client.CaptureMessage("lone");
        await _ingest.WaitForRequestsAsync(1);

        client.CaptureMessage("burst 0"); // follows a send closely: its batch lingers, waiting for more
        await _clock.WaitStartedAsync(BackgroundSender.BurstLinger);
        var waitsBefore = _clock.WaitsStarted.Count;
        var accepted = 0;
        for (var half = 0; half < 4; half++)
        {
            // Half a queue wakes the lingering loop, which takes it into the batch: no clock needs to move for that.
            accepted += Enumerable.Range((half * 50) + 1, 50).Count(i => client.CaptureMessage($"burst {i}") is not null);
            await TestGuard.WaitUntilAsync(() => sender.QueuedCount == 0, "the queue to be taken into the lingering batch");
        }

        accepted.Should().Be(200, "the queue was emptied into the batch as it filled");
        sender.DroppedCount.Should().Be(0);
        _clock.WaitsStarted.Skip(waitsBefore).Should().BeEmpty("the linger is one timer; taking the queue in needs none");
        _clock.Advance(BackgroundSender.BurstLinger);
        await _ingest.WaitForRequestsAsync(2);
        Events(_ingest.Requests.ElementAt(1)).Should().HaveCount(201);
    }

    [Fact]
    public async Task A_lingering_batch_keeps_its_events_encoded_not_the_app_s_exceptions()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;
        client.CaptureMessage("lone");
        await _ingest.WaitForRequestsAsync(1);

        var thrown = ThrowAndCapture(client); // follows a send closely: its batch lingers, waiting for more
        await _clock.WaitStartedAsync(BackgroundSender.BurstLinger);

        // The app's exception (and whatever it references) is let go while the batch still waits: the event was
        // encoded when the sender took it, instead of waiting whole in the queue until the batch goes.
        var until = DateTime.UtcNow + TestGuard.Timeout;
        while (thrown.IsAlive)
        {
            DateTime.UtcNow.Should().BeBefore(until, "the sender should have encoded the event and let its exception go");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(10);
        }

        _ingest.Requests.Should().ContainSingle("the batch still lingers");
        _clock.Advance(BackgroundSender.BurstLinger);
        await _ingest.WaitForRequestsAsync(2);
        var exceptions = Events(_ingest.Requests.ElementAt(1)).Single()["exceptions"].AsList();
        exceptions.Single().AsMap()["value"].Should().Be("a failure with a large state");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference ThrowAndCapture(Internal.ErrorHubClient client)
    {
        try
        {
            throw new InvalidOperationException("a failure with a large state");
        }
        catch (InvalidOperationException exception)
        {
            client.CaptureException(exception).Should().NotBeNull();
            return new WeakReference(exception);
        }
    }

    [Fact]
    public async Task A_flush_does_not_wait_for_the_BatchDelay()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BatchDelay = TimeSpan.FromSeconds(30);
        });
        var client = sdk.Client;

        client.CaptureMessage("now");

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue("the clock never moved");
        _ingest.Requests.Should().ContainSingle();
    }

    /// <summary>The first event's request hangs until the test releases it, so the next events queue up behind it.</summary>
    private async Task HoldTheSenderAsync(Internal.ErrorHubClient client)
    {
        client.CaptureMessage("opener");
        await _ingest.WaitForRequestsAsync(1);
    }

    private static List<WireMap> Events(RecordedRequest request) =>
        Wire.Read(request.Body).AsMap()["events"].AsList().Select(e => e.AsMap()).ToList();

    private static Dictionary<string, long> Dropped(RecordedRequest request)
    {
        var batch = Wire.Read(request.Body).AsMap();
        return batch.Keys.Contains("dropped")
            ? batch["dropped"].AsMap().Entries.ToDictionary(p => (string)p.Key, p => Convert.ToInt64(p.Value, System.Globalization.CultureInfo.InvariantCulture))
            : [];
    }
}
