using ErrorHub.Internal;
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
/// The encoding's warm-up at start (a synthetic event encoded on the SDK's background task so the JIT compiles the
/// path before the app's first failure): what an app and its server would notice of it is nothing at all.
/// </summary>
public sealed class WarmUpTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task The_warm_up_sends_nothing_and_the_first_real_failure_arrives_alone_with_nothing_counted_as_dropped()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn());
        var sender = sdk.Client.Sender!;

        await sender.WarmUp.Within();
        _ingest.Requests.Should().BeEmpty();
        sender.EnqueuedCount.Should().Be(0);

        var id = sdk.Client.CaptureException(Thrown(new InvalidOperationException("the real one")));
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var batch = Wire.Read(_ingest.Requests.Should().ContainSingle().Subject.Body).AsMap();
        batch.Keys.Should().NotContain("dropped");
        var errorEvent = batch["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["event_id"].Should().Be(id!.Value.ToString("N"));
        errorEvent["exceptions"].AsList()[0].AsMap()["value"].Should().Be("the real one");
    }

    [Fact]
    public async Task The_synthetic_event_is_written_through_the_same_fields_as_a_failed_request()
    {
        // The warm-up only helps if it runs the code real events run: the captured chain, the request's copy, the
        // repeating fields. Its bytes decode like a real event's, with this client's release and environment.
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.Release = "shop@1.2.3";
            o.Environment = "staging";
        });

        var encoded = EncodedEvent.Encode(sdk.Client.WarmUpEvent(), System.Buffers.ArrayPool<byte>.Shared);
        var errorEvent = Wire.Read(encoded.ToArrayAndReturn()).AsMap();

        errorEvent["release"].Should().Be("shop@1.2.3");
        errorEvent["environment"].Should().Be("staging");
        errorEvent["exceptions"].AsList().Should().ContainSingle().Subject.AsMap()["value"].Should().Be(EventPathWarmUp.Message);
        errorEvent["request"].AsMap()["url"].Should().Be("http://localhost/errorhub-warm-up");
        errorEvent["request"].AsMap()["headers"].AsMap().Keys.Should().Contain("User-Agent");
        errorEvent.Keys.Should().Contain(["runtime", "os", "tags", "extra", "server_name", "user", "breadcrumbs"]);
    }

    [Fact]
    public async Task A_warm_up_that_fails_is_logged_at_Debug_and_the_SDK_sends_as_before()
    {
        var logs = new CapturingLoggerProvider();
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), logs, LogLevel.Debug);
        var sender = sdk.Client.Sender!;
        await sender.WarmUp.Within();

        // Once while making the event, once in the middle of writing it (a request copy that throws when read).
        sender.StartWarmUp(() => throw new InvalidOperationException("no event today"));
        await sender.WarmUp.Within();
        sender.StartWarmUp(() => new ErrorHubEvent { Request = new RequestInfo(new ThrowingRequest()) });
        await sender.WarmUp.Within();

        sender.WarmUp.IsCompletedSuccessfully.Should().BeTrue();
        logs.Entries.Where(e => e.Message.Contains("warm-up", StringComparison.Ordinal)).Should().HaveCount(2)
            .And.OnlyContain(e => e.Level == LogLevel.Debug);

        var id = sdk.Client.CaptureException(Thrown(new InvalidOperationException("after the failed warm-ups")));
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var errorEvent = Wire.Read(_ingest.Requests.Should().ContainSingle().Subject.Body).AsMap()["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["event_id"].Should().Be(id!.Value.ToString("N"));
    }

    [Fact]
    public async Task A_report_path_warm_up_that_fails_leaves_the_encoding_warm_up_and_the_SDK_as_before()
    {
        var logs = new CapturingLoggerProvider();
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), logs, LogLevel.Debug);
        var sender = sdk.Client.Sender!;
        await sender.WarmUp.Within();

        var encoded = 0;
        sender.StartWarmUp(() => { encoded++; return sdk.Client.WarmUpEvent(); }, new UnreadableTypes());
        await sender.WarmUp.Within();

        sender.WarmUp.IsCompletedSuccessfully.Should().BeTrue();
        encoded.Should().Be(1, "the encoding's part runs whatever the report path's part does");
        logs.Entries.Where(e => e.Message.Contains("warm-up", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Level.Should().Be(LogLevel.Debug);
        _ingest.Requests.Should().BeEmpty();
        sender.Drops.Total().Should().Be(0);

        var id = sdk.Client.CaptureException(Thrown(new InvalidOperationException("after the failed warm-up")));
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var errorEvent = Wire.Read(_ingest.Requests.Should().ContainSingle().Subject.Body).AsMap()["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["event_id"].Should().Be(id!.Value.ToString("N"));
    }

    [Fact]
    public async Task Where_nothing_is_compiled_at_run_time_the_warm_up_encodes_nothing_and_reads_no_types()
    {
        // NativeAOT: every method is compiled ahead, so encoding an event and walking the report path's types gain nothing.
        var logs = new CapturingLoggerProvider();
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), logs, LogLevel.Debug);
        var sender = sdk.Client.Sender!;
        await sender.WarmUp.Within();

        var encoded = 0;
        sender.StartWarmUp(() => { encoded++; return sdk.Client.WarmUpEvent(); }, new UnreadableTypes(), compilesCode: false);
        await sender.WarmUp.Within();

        encoded.Should().Be(0, "no event is made or encoded");
        logs.Entries.Where(e => e.Message.Contains("warm-up", StringComparison.Ordinal)).Should().BeEmpty("the report path's types are not read either (reading these throws)");

        sender.StartWarmUp(() => { encoded++; return sdk.Client.WarmUpEvent(); }, compilesCode: true);
        await sender.WarmUp.Within();
        encoded.Should().Be(1, "where the JIT compiles, the warm-up runs as before");

        var id = sdk.Client.CaptureException(Thrown(new InvalidOperationException("after a skipped warm-up")));
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        var errorEvent = Wire.Read(_ingest.Requests.Should().ContainSingle().Subject.Body).AsMap()["events"].AsList().Should().ContainSingle().Subject.AsMap();
        errorEvent["event_id"].Should().Be(id!.Value.ToString("N"));
    }

    [Fact]
    public void The_report_path_is_compiled_without_running_any_of_it()
    {
        // What keeps the warm-up invisible to the app: no exception is captured, no scope read, nothing queued.
        EventPathWarmUp.PrepareCapturePath(ErrorHubClient.CapturePathTypes, CancellationToken.None).Should().BeGreaterThan(5);
        EventPathWarmUp.PrepareCapturePath([typeof(Tripwire)], CancellationToken.None).Should().Be(2, "its optimized method and its lambda's");
        Tripwire.Runs.Should().Be(0);

        using var stopped = new CancellationTokenSource();
        stopped.Cancel();
        EventPathWarmUp.PrepareCapturePath(ErrorHubClient.CapturePathTypes, stopped.Token).Should().Be(0, "a stopping SDK compiles nothing more");
    }

    [Fact]
    public async Task Stopping_the_SDK_during_its_warm_up_ends_it_quietly()
    {
        var logs = new CapturingLoggerProvider();
        var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), logs, LogLevel.Debug);
        var warmUp = sdk.Client.Sender!.WarmUp;

        await sdk.DisposeAsync();

        await warmUp.Within();
        warmUp.IsCompletedSuccessfully.Should().BeTrue();
        logs.Entries.Should().NotContain(e => e.Message.Contains("warm-up", StringComparison.Ordinal));
        _ingest.Requests.Should().BeEmpty();
    }

    private static class Tripwire
    {
        public static int Runs;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public static Action Report() => [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] () => Runs++;

        public static void NotOptimized() => Runs++;
    }

    private sealed class UnreadableTypes : IReadOnlyList<Type>
    {
        public int Count => 1;

        public Type this[int index] => throw new InvalidOperationException("no types today");

        public IEnumerator<Type> GetEnumerator() => throw new InvalidOperationException("no types today");

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class ThrowingRequest : RequestSnapshot
    {
        public override (string? Method, string? Url, string? QueryString, IDictionary<string, string> Headers, IDictionary<string, string> Form) Fill() =>
            throw new InvalidOperationException("unreadable request");

        public override bool TryReadForWire(out WireRequest request) => throw new InvalidOperationException("unreadable request");
    }
}
