using System.Globalization;
using System.Net;
using ErrorHub.Ingestion.Tests.Journal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;

namespace ErrorHub.Ingestion.Tests;

/// <summary>Events that claim to have happened long before they arrived: a clock reset to 1970, a corrupt or hostile client.</summary>
public sealed class EventTimeTests
{
    [Fact]
    public async Task An_event_from_a_clock_reset_to_1970_is_stored_at_its_arrival_and_one_spooled_last_week_keeps_its_time()
    {
        await using var host = await IngestHost.StartAsync();
        var lastWeek = DateTimeOffset.UtcNow.AddDays(-7);
        Guid reset = Guid.NewGuid(), spooled = Guid.NewGuid();
        var batch = Batch(
            MessageEvent().With("event_id", reset.ToString("N")).With("timestamp", 0L),
            MessageEvent().With("event_id", spooled.ToString("N")).With("timestamp", lastWeek.ToUnixTimeMilliseconds()));

        using var response = await host.PostAsync(Wire.Encode(batch));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var fromReset = (await host.Issues.GetEventAsync(IngestHost.ProjectId, reset))!;
        fromReset.Timestamp.Should().Be(fromReset.ReceivedAt, "retention deletes events by their time: one from 1970 would be gone soon after its 202");
        (await host.Issues.GetEventAsync(IngestHost.ProjectId, spooled))!.Timestamp.Should().BeCloseTo(lastWeek, TimeSpan.FromSeconds(1), "a late event keeps its own time");
    }
}

/// <summary>On ClickHouse every week the events of an insert name is a partition (parts, files) of its own.</summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseEventTimeTests(ClickHouseServerFixture clickHouse)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task A_batch_whose_events_claim_a_hundred_past_weeks_makes_no_more_partitions_than_the_weeks_an_event_may_be_late()
    {
        var database = ClickHouseServerFixture.NewDatabaseName("weeks");
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = clickHouse.Url.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = database,
        });
        var now = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, 100)
            .Select(week => MessageEvent().With("event_id", Guid.NewGuid().ToString("N")).With("timestamp", now.AddDays(-7 * week).ToUnixTimeMilliseconds()))
            .ToArray();

        using var response = await host.PostAsync(Wire.Encode(Batch(events)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        using var parts = await Http.PostAsync(clickHouse.Url, new StringContent(
            $"SELECT uniqExact(partition) FROM system.parts WHERE database = '{database}' AND table = 'events' AND active FORMAT TSV"));
        var partitions = int.Parse((await parts.Content.ReadAsStringAsync()).Trim(), CultureInfo.InvariantCulture);
        partitions.Should().BeLessThanOrEqualTo(6, "events more than 30 days late are stored at their arrival: one batch cannot make a partition per week it names (1,000 weeks made 5,000 parts, about 200,000 files)");
    }
}
