using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// Flushes and shutdowns against an ingest that does not answer: each gives up after its timeout on the app's clock
/// (a fake one, advanced by the test), never earlier and never later, and never throws.
/// </summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(8);

    private static readonly string[] OwnMessages = ["in flight", "queued 1", "queued 2"];

    private readonly TestClock _clock = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task FlushAsync_returns_false_when_its_timeout_passes_on_the_clock_and_the_event_still_goes_out_later()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var client = sdk.Client;
        client.CaptureMessage("slow ingest");
        await _ingest.WaitForRequestsAsync(1);

        var flush = client.FlushAsync(TimeSpan.FromSeconds(5));

        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(5));
        flush.IsCompleted.Should().BeFalse("the event is still on its way and the clock has not moved");
        _clock.Advance(TimeSpan.FromSeconds(5));
        (await flush.Within()).Should().BeFalse();

        _ingest.ReleaseHanging();
        (await client.FlushAsync(TimeSpan.FromSeconds(5)).Within()).Should().BeTrue();
        _ingest.Requests.Should().ContainSingle("the request was answered late, not given up and repeated");
    }

    [Fact]
    public async Task Stopping_the_app_waits_for_queued_events_at_most_ShutdownTimeout_on_the_clock()
    {
        _ingest.Answer(_ingest.Hang());
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging().AddSingleton<TimeProvider>(_clock).AddErrorHub(o =>
        {
            o.Dsn = _ingest.Dsn();
            o.ShutdownTimeout = ShutdownTimeout;
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            host.Services.GetRequiredService<IErrorHubClient>().CaptureMessage("last words");
            await _ingest.WaitForRequestsAsync(1);

            var stop = host.StopAsync();

            await _clock.WaitStartedAsync(ShutdownTimeout);
            stop.IsCompleted.Should().BeFalse("stopping waits for the queued event");
            _clock.Advance(ShutdownTimeout);
            await stop.Within();
        }
        finally
        {
            await _clock.DisposeAdvancingAsync(((IAsyncDisposable)host).DisposeAsync);
        }
    }

    [Fact]
    public async Task Stopping_then_disposing_the_app_waits_ShutdownTimeout_once_in_all_and_logs_how_many_events_were_given_up()
    {
        _ingest.Answer(_ingest.Hang());
        var logs = new CapturingLoggerProvider();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging => logging.AddProvider(logs)).AddSingleton<TimeProvider>(_clock).AddErrorHub(o =>
        {
            o.Dsn = _ingest.Dsn();
            o.ShutdownTimeout = ShutdownTimeout;
            o.MaxBatchSize = 1;
            // The host hooks process-wide events (TaskScheduler.UnobservedTaskException): a faulted task another test
            // forgot, found by a collection while this host runs, would be a fourth event given up. Only this test's
            // own three events are counted.
            o.BeforeSend = (e, _) => OwnMessages.Contains(e.Message) ? e : null;
        });
        var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IErrorHubClient>();
        client.CaptureMessage("in flight");
        await _ingest.WaitForRequestsAsync(1);
        client.CaptureMessage("queued 1");
        client.CaptureMessage("queued 2");

        var stop = host.StopAsync();
        await _clock.WaitStartedAsync(ShutdownTimeout);
        _clock.Advance(ShutdownTimeout);
        await stop.Within();

        // The deadline has passed: disposal must not start a second ShutdownTimeout. The clock does not move here.
        await ((IAsyncDisposable)host).DisposeAsync().AsTask().Within();

        logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.StartsWith("ErrorHub gave up 3 events at shutdown"));
        await _ingest.WaitForAbandonedAsync(1);
    }

    [Fact]
    public async Task Disposing_the_SDK_waits_at_most_ShutdownTimeout_on_the_clock_then_abandons_the_request_in_flight()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.ShutdownTimeout = ShutdownTimeout;
        });
        var client = sdk.Client;
        client.CaptureMessage("last words");
        await _ingest.WaitForRequestsAsync(1);

        var disposal = sdk.Services.DisposeAsync().AsTask();

        await _clock.WaitStartedAsync(ShutdownTimeout);
        disposal.IsCompleted.Should().BeFalse("disposal waits for the queued event");
        _clock.Advance(ShutdownTimeout);
        await disposal.Within();
        await _ingest.WaitForAbandonedAsync(1); // nothing of the SDK is left running
    }

    [Fact]
    public async Task A_container_disposed_synchronously_waits_at_most_ShutdownTimeout_on_the_clock_and_does_not_throw()
    {
        _ingest.Answer(_ingest.Hang());
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.ShutdownTimeout = ShutdownTimeout;
        });
        var client = sdk.Client;
        client.CaptureMessage("last words");
        await _ingest.WaitForRequestsAsync(1);

        // Dispose blocks its thread by design (a time-limited wait at shutdown), so it gets a thread of its own.
        var disposal = Task.Run(sdk.Services.Dispose);

        await _clock.WaitStartedAsync(ShutdownTimeout);
        disposal.IsCompleted.Should().BeFalse("disposal waits for the queued event");
        _clock.Advance(ShutdownTimeout);
        await disposal.Within();
        await _ingest.WaitForAbandonedAsync(1);
    }

    [Fact]
    public async Task A_container_disposed_synchronously_sends_what_was_queued()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.ShutdownTimeout = ShutdownTimeout;
        });
        var client = sdk.Client;
        client.CaptureMessage("sent while shutting down");

        await Task.Run(sdk.Services.Dispose).Within();

        _ingest.Requests.Should().ContainSingle("disposal flushes what was queued");
    }

    [Fact]
    public async Task When_ingest_is_unreachable_capture_never_throws_the_queue_stays_bounded_and_flush_gives_up_on_time()
    {
        var closedPort = FreeTcpPort();
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{closedPort}/1";
            o.MaxQueueSize = 3;
            o.MaxBatchSize = 1;
            o.ShutdownTimeout = TimeSpan.Zero; // nothing will ever arrive: disposal need not wait
        });
        var client = sdk.Client;

        var accepted = Enumerable.Range(0, 20).Count(i => client.CaptureMessage($"lost {i}") is not null);

        accepted.Should().BeInRange(3, 5, "three fit in the queue, at most one more is in flight and one more in the next batch (of one)");
        client.Sender!.DroppedCount.Should().Be(20 - accepted);
        var flush = client.FlushAsync(TimeSpan.FromSeconds(7));
        await _clock.WaitStartedAsync(TimeSpan.FromSeconds(7));
        _clock.Advance(TimeSpan.FromSeconds(7));
        (await flush.Within()).Should().BeFalse();
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
