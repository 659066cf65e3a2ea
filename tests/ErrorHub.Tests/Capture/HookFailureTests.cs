using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Capture;

/// <summary>The app's own hooks failing: its events still go out, and its log gets a few lines, not one per event.</summary>
public sealed class HookFailureTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_BeforeSend_that_throws_on_every_event_sends_them_unchanged_and_writes_one_warning_a_minute()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BeforeSend = (_, _) => throw new InvalidOperationException("the app's BeforeSend is broken");
        }, _logs);
        var client = sdk.Client;

        for (var i = 0; i < 50; i++)
        {
            client.CaptureException(Thrown(new TimeoutException($"storm {i}"))).Should().NotBeNull();
        }

        // Delivered before the clock jumps: a send still in flight at the jump would see its timeout pass at once.
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();
        _clock.Advance(TimeSpan.FromSeconds(61));
        client.CaptureException(Thrown(new TimeoutException("a minute later")));
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Events().Should().HaveCount(51, "a failing hook never costs the app its events");
        var warnings = Warnings("BeforeSend threw");
        warnings.Should().HaveCount(2, "the first failure, then one a minute");
        warnings[0].Should().Contain("the app's BeforeSend is broken").And.Contain("0 more since the last one");
        warnings[1].Should().Contain("49 more since the last one");
    }

    [Fact]
    public async Task A_user_provider_that_throws_on_every_event_keeps_the_events_and_writes_one_warning_a_minute()
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs, services: s => s.AddSingleton<IErrorHubUserProvider, BrokenUserProvider>());
        var client = sdk.Client;

        for (var i = 0; i < 20; i++)
        {
            client.CaptureMessage($"storm {i}");
        }

        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        Events().Should().HaveCount(20);
        Warnings("user provider threw").Should().ContainSingle().Which.Should().Contain("the customer store is down");
    }

    [Fact]
    public async Task A_capture_from_inside_BeforeSend_is_not_sent_but_is_counted_as_before_send_and_reported_to_the_server()
    {
        IErrorHubClient? inner = null;
        Guid? fromInside = Guid.Empty;
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn();
            o.BeforeSend = (e, _) =>
            {
                // The app reports from its own hook: a report of this report would recurse without end.
                fromInside = inner!.CaptureMessage("captured inside BeforeSend");
                inner.CaptureException(Thrown(new InvalidOperationException("thrown inside BeforeSend")));
                return e;
            };
        }, _logs);
        inner = sdk.Client;

        sdk.Client.CaptureMessage("the app's own event").Should().NotBeNull();
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        fromInside.Should().BeNull("nothing was sent for it");
        Events().Select(e => (string?)e["message"]).Should().Equal("the app's own event");
        sdk.Client.Sender!.Drops.Total(ErrorHub.Transport.SdkDropReason.BeforeSend).Should().Be(2);
        var batch = Wire.Read(_ingest.Requests.Single().Body).AsMap();
        batch["dropped"].AsMap()["before_send"].Should().Be(2L, "the server learns why it has fewer events than the app reported");
    }

    private List<WireMap> Events() =>
        [.. _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap())];

    private List<string> Warnings(string text) =>
        [.. _logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains(text, StringComparison.Ordinal)).Select(e => e.Message)];

    private sealed class BrokenUserProvider : IErrorHubUserProvider
    {
        public UserInfo? GetUser(UserInfo? current) => throw new InvalidOperationException("the customer store is down");
    }
}
