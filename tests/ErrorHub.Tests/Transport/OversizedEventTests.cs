using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Transport;

/// <summary>
/// Events the app makes larger than ingest takes in one value (a 300 KB exception message, 100,000 tags set in
/// <c>configure</c>), sent with ordinary ones to a real ingest: ingest refuses a whole batch with 400 for one string over
/// 256 KiB or one map over 100,000 entries, so every event sent with such an event would be lost.
/// </summary>
public sealed class OversizedEventTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private IngestHost _ingest = null!;

    public async Task InitializeAsync() => _ingest = await IngestHost.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task An_event_with_a_huge_message_or_too_many_tags_arrives_cut_and_does_not_cost_the_events_sent_with_it()
    {
        await using var sdk = Start(_clock, o =>
        {
            o.Dsn = _ingest.Dsn;
            o.BatchDelay = TimeSpan.FromSeconds(1); // one batch: the ordinary events travel with the oversized ones
        });
        var client = sdk.Client;

        client.CaptureMessage("before");
        client.CaptureException(Thrown(new InvalidOperationException("payload: " + new string('x', 300_000))));
        client.CaptureMessage("many tags", ErrorHubLevel.Error, e =>
        {
            for (var i = 0; i < 100_001; i++)
            {
                e.Tags["t" + i] = "v";
            }
        });
        client.CaptureMessage("after");
        (await client.FlushAsync(TimeSpan.FromSeconds(10)).Within()).Should().BeTrue();

        var events = await StoredAsync(4);
        events.Select(e => e.Message ?? e.Exceptions[0].Type).Should().BeEquivalentTo(
            ["before", "System.InvalidOperationException", "many tags", "after"]);
        events.Single(e => e.Exceptions.Count > 0).Exceptions[0].Value.Should().StartWith("payload: xxx", "the message is kept, cut to what ingest stores");
        events.Single(e => e.Message == "many tags").Tags.Should().ContainKey("t0");
        client.Sender!.Drops.Total().Should().Be(0);
    }

    private async Task<List<ErrorEvent>> StoredAsync(int count)
    {
        var events = await _ingest.AllEventsAsync();
        for (var waited = 0; events.Count < count && waited < 100; waited++)
        {
            await Task.Delay(100);
            events = await _ingest.AllEventsAsync();
        }

        return events;
    }
}
