using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// The steps between the endpoint and the store: each hands on a complete value, so what reaches the
/// store is a whole event (grouped, with the server's defaults), never a placeholder.
/// </summary>
public sealed class IngestPipelineTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private static readonly DateTimeOffset ReceivedAt = new(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
    private static readonly BatchContext Context = new(7, ReceivedAt, new NameVersion("errorhub.dotnet", "0.1.0"));

    [Fact]
    public void A_prepared_batch_is_complete_events_grouped_and_normalized_for_the_project()
    {
        var pipeline = fixture.Host.Services.GetRequiredService<IngestPipeline>();

        var events = pipeline.Prepare(3, Encode(Batch(CheckoutEvent(), MessageEvent().Without("event_id").Without("timestamp"))));

        events.Should().HaveCount(2);
        events.Should().AllSatisfy(e =>
        {
            e.ProjectId.Should().Be(3);
            e.Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$");
            e.GroupingVersion.Should().Be(Grouper.Version);
            e.Title.Should().NotBeNullOrWhiteSpace();
            e.EventId.Should().NotBe(Guid.Empty);
        });
        events[0].Title.Should().Be("OutOfStockException: Item 4711 is out of stock");
        events[0].Culprit.Should().Be("Shop.Inventory.StockService.ValidateStock");
        events[0].GroupingComponents.Where(c => c.Counts).Should().Equal(
            new GroupingComponent("type", "Shop.Inventory.OutOfStockException"),
            new GroupingComponent("app", "Shop.Inventory.StockService.ValidateStock"));
        events[0].LegacyFingerprint.Should().Be(GroupingV1.Fingerprint(DecodedCheckout()), "version 1's fingerprint travels with the event");
        events[1].Timestamp.Should().Be(events[1].ReceivedAt, "an event without a time happened when it arrived");
    }

    [Fact]
    public void The_nil_uuid_and_a_missing_id_both_get_a_fresh_id_while_a_real_id_is_kept()
    {
        var real = Guid.Parse("6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4c13");

        Normalize(new() { EventId = real, Message = "m" }).EventId.Should().Be(real);
        Normalize(new() { EventId = Guid.Empty, Message = "m" }).EventId.Should().NotBe(Guid.Empty);
        Normalize(new() { Message = "m" }).EventId.Should().NotBe(Normalize(new() { Message = "m" }).EventId);
    }

    [Theory]
    [InlineData(-3_600, -3_600)]   // an hour late: kept, a late event keeps its own time
    [InlineData(59, 59)]           // a clock slightly ahead: believed
    [InlineData(60, 60)]           // at the allowance
    [InlineData(61, 0)]            // beyond it: the arrival time
    [InlineData(86_400, 0)]
    [InlineData(-30 * 86_400, -30 * 86_400)]     // 30 days late (a spool of an outage): kept
    [InlineData(-30 * 86_400 - 1, 0)]             // older: the arrival time (retention would delete it at once)
    [InlineData(int.MinValue, 0)]                 // decades late (a clock reset to 1970)
    public void A_time_more_than_a_minute_ahead_of_the_server_or_more_than_30_days_before_it_becomes_the_arrival_time(int sentSecondsFromArrival, int storedSecondsFromArrival) =>
        Normalize(new() { Timestamp = ReceivedAt.AddSeconds(sentSecondsFromArrival), Message = "m" }).Timestamp
            .Should().Be(ReceivedAt.AddSeconds(storedSecondsFromArrival));

    [Fact]
    public void Times_at_the_ends_of_the_calendar_do_not_overflow()
    {
        EventNormalizer.Time(DateTimeOffset.MaxValue, DateTimeOffset.MaxValue).Should().Be(DateTimeOffset.MaxValue);
        EventNormalizer.Time(DateTimeOffset.MaxValue, DateTimeOffset.MinValue).Should().Be(DateTimeOffset.MinValue);
        EventNormalizer.Time(DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Should().Be(DateTimeOffset.MaxValue);
        EventNormalizer.Time(DateTimeOffset.MinValue, DateTimeOffset.MinValue).Should().Be(DateTimeOffset.MinValue);
    }

    [Theory]
    [InlineData("Critical", "fatal")]
    [InlineData(" warn ", "warning")]
    [InlineData("INFORMATION", "info")]
    [InlineData("trace", "debug")]
    [InlineData("verbose", "debug")]
    [InlineData("panic", "error")]
    [InlineData(null, "error")]
    public void Levels_of_other_logging_libraries_map_to_the_five_and_anything_else_is_an_error(string? sent, string stored) =>
        Normalize(new() { Level = sent, Message = "m" }).Level.Should().Be(stored);

    [Fact]
    public void An_event_names_its_own_sdk_or_gets_the_batch_s()
    {
        Normalize(new() { Message = "m" }).Sdk.Should().Be(Context.BatchSdk);
        Normalize(new() { Message = "m", Sdk = new NameVersion("errorhub.worker", "0.0.9") }).Sdk.Should().Be(new NameVersion("errorhub.worker", "0.0.9"));
    }

    private static Decoding.IncomingEvent DecodedCheckout() =>
        new Decoding.EventBatchDecoder(new IngestLimits()).Decode(Encode(Batch(CheckoutEvent()))).Events[0];

    private static ErrorEvent Normalize(Decoding.IncomingEvent incoming) =>
        EventNormalizer.Normalize(incoming, Grouper.Group(incoming), Context);
}
