using ErrorHub.Internal;
using ErrorHub.Testing.Batches;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Tests.Transport;

public sealed class BackgroundSenderTests : IAsyncLifetime
{
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task Captured_exception_arrives_as_gzipped_MessagePack_with_the_key_from_the_DSN()
    {
        await using var provider = Client(o => o.Dsn = _ingest.Dsn("abcdefabcdefabcdef0123456789abcd", projectId: 42), out var client);

        var id = client.CaptureException(Thrown(new InvalidOperationException("boom")));

        id.Should().NotBeNull();
        (await client.FlushAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
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
    public async Task Many_events_travel_in_batches_no_larger_than_MaxBatchSize_and_none_is_lost()
    {
        await using var provider = Client(o =>
        {
            o.Dsn = _ingest.Dsn();
            o.MaxBatchSize = 40;
        }, out var client);

        for (var i = 0; i < 150; i++)
        {
            client.CaptureMessage($"message {i}").Should().NotBeNull();
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(20))).Should().BeTrue();
        var batches = _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()).ToList();
        batches.Should().OnlyContain(events => events.Count <= 40);
        batches.SelectMany(events => events).Select(e => e.AsMap()["message"]).Should()
            .BeEquivalentTo(Enumerable.Range(0, 150).Select(i => (object)$"message {i}"));
    }

    [Fact]
    public async Task A_503_with_Retry_After_is_retried_and_the_event_arrives()
    {
        _ingest.Answer(RecordingIngest.Status(503, retryAfter: "1"));
        await using var provider = Client(o => o.Dsn = _ingest.Dsn(), out var client);

        client.CaptureMessage("retry me");

        (await client.FlushAsync(TimeSpan.FromSeconds(20))).Should().BeTrue();
        _ingest.Requests.Should().HaveCount(2, "the first attempt got 503, the second 202");
        _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()[0].AsMap()["event_id"]).Distinct().Should().ContainSingle();
    }

    [Fact]
    public async Task A_400_is_not_retried_and_later_events_still_go_out()
    {
        _ingest.Answer(RecordingIngest.Status(400));
        await using var provider = Client(o => o.Dsn = _ingest.Dsn(), out var client);

        client.CaptureMessage("rejected");
        (await client.FlushAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        client.CaptureMessage("accepted");
        (await client.FlushAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();

        _ingest.Requests.Select(r => Wire.Read(r.Body).AsMap()["events"].AsList()[0].AsMap()["message"])
            .Should().Equal("rejected", "accepted");
    }

    [Fact]
    public async Task When_ingest_is_unreachable_capture_never_throws_the_queue_stays_bounded_and_flush_times_out()
    {
        var closedPort = FreeTcpPort();
        await using var provider = Client(o =>
        {
            o.Dsn = $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{closedPort}/1";
            o.MaxQueueSize = 3;
            o.MaxBatchSize = 1;
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
        }, out var client);

        var accepted = Enumerable.Range(0, 20).Count(i => client.CaptureMessage($"lost {i}") is not null);

        accepted.Should().BeInRange(3, 4, "three fit in the queue and at most one more is in flight");
        client.Sender!.DroppedCount.Should().Be(20 - accepted);
        (await client.FlushAsync(TimeSpan.FromMilliseconds(300))).Should().BeFalse();
    }

    [Fact]
    public async Task Without_a_DSN_the_SDK_is_disabled_and_sends_nothing()
    {
        await using var provider = Client(o => o.Dsn = null, out var client);

        client.IsEnabled.Should().BeFalse();
        client.CaptureException(new InvalidOperationException("nobody listens")).Should().BeNull();
        (await client.FlushAsync(TimeSpan.FromSeconds(1))).Should().BeTrue();
        _ingest.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task BeforeSend_can_change_or_drop_events_and_a_throwing_BeforeSend_does_not_lose_them()
    {
        await using var provider = Client(o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BeforeSend = e => e.Message switch
            {
                "drop me" => null,
                "throw" => throw new InvalidOperationException("bug in BeforeSend"),
                _ => Tagged(e),
            };
        }, out var client);

        client.CaptureMessage("drop me").Should().BeNull();
        client.CaptureMessage("keep me").Should().NotBeNull();
        client.CaptureMessage("throw").Should().NotBeNull();
        (await client.FlushAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();

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
        await using var provider = Client(o => o.Dsn = _ingest.Dsn(), out var client);
        var exception = Thrown(new InvalidOperationException("once"));

        client.CaptureException(exception).Should().NotBeNull();
        client.CaptureException(exception).Should().BeNull();

        (await client.FlushAsync(TimeSpan.FromSeconds(10))).Should().BeTrue();
        _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Should().ContainSingle();
    }

    [Fact]
    public async Task A_container_disposed_synchronously_flushes_queued_events_and_does_not_throw()
    {
        var provider = Client(o =>
        {
            o.Dsn = _ingest.Dsn();
            o.ShutdownTimeout = TimeSpan.FromSeconds(30); // an upper bound: the flush ends as soon as the event is sent
        }, out var client);
        client.CaptureMessage("sent while shutting down");

        var dispose = () => provider.Dispose();

        dispose.Should().NotThrow();
        (await _ingest.WaitForRequestsAsync(1, TimeSpan.FromSeconds(10))).Should().BeTrue("disposal flushes what was queued");
    }

    [Fact]
    public void A_malformed_DSN_fails_options_validation_with_a_clear_message()
    {
        var services = new ServiceCollection().AddLogging().AddErrorHub(o => o.Dsn = "http://127.0.0.1:5080/1");
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<ErrorHubOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage("*ErrorHub:Dsn is not valid*public key*");
    }

    private static ServiceProvider Client(Action<ErrorHubOptions> configure, out ErrorHubClient client)
    {
        var services = new ServiceCollection().AddLogging().AddErrorHub(configure);
        var provider = services.BuildServiceProvider();
        client = provider.GetRequiredService<ErrorHubClient>();
        return provider;
    }

    private static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
