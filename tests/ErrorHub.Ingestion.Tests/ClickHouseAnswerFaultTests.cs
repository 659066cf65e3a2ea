using System.Net;
using ErrorHub.Ingestion.Tests.Journal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Journal.JournalTestKit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// Ingest in front of a ClickHouse that answers errors or garbage (<see cref="ClickHouseFaultProxy"/> before the real
/// server): a 500 with a ClickHouse exception, a garbage body, an answer cut short or reset half-way, an answer dripping
/// in. Each batch gets 202 or 503 with Retry-After, never a 500; once ClickHouse answers properly again, the batches the
/// client sends again (as the SDK does after a 503) are accepted, and every event is stored exactly once, also when the
/// insert had committed before its answer broke.
/// </summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseAnswerFaultTests(ClickHouseServerFixture clickHouse)
{
    public static TheoryData<ClickHouseFault> Faults => new(ClickHouseFaultProxy.Faults);

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Batches_sent_while_clickhouse_answers_badly_get_503_or_202_and_each_event_is_stored_once_after_it_heals(ClickHouseFault fault)
    {
        await using var proxy = ClickHouseFaultProxy.Start(clickHouse.Url);
        var database = ClickHouseServerFixture.NewDatabaseName("answer_fault");
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = proxy.Url.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = database,
            ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:03",
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:02",
            ["ErrorHub:Ingest:SpikeEventsPerSecond"] = "0",
        });
        var all = new List<Guid>();
        var (warm, warmIds) = SampleBatch.WithFreshIds();
        all.AddRange(warmIds);
        using (var response = await host.PostAsync(Wire.Encode(warm)))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key is checked and cached while ClickHouse is healthy");
        }

        proxy.Fault = fault;
        var owed = new List<byte[]>();
        for (var i = 0; i < 3; i++)
        {
            var (batch, ids) = SampleBatch.WithFreshIds();
            all.AddRange(ids);
            var body = Wire.Encode(batch);
            using var response = await host.PostAsync(body).WaitAsync(TimeSpan.FromSeconds(30));
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"ClickHouse answering {fault} is the store failing, not ingest: {await response.Content.ReadAsStringAsync()}");
                response.Headers.RetryAfter!.Delta.Should().BePositive();
                owed.Add(body);
            }
        }

        proxy.FaultedRequests.Should().BePositive("the fault was met");
        if (fault != ClickHouseFault.GarbageBody)
        {
            // Only a garbage body behind a 200 can pass for a commit: the insert's answer has no body to read.
            owed.Should().NotBeEmpty("ingest cannot know the batch was stored: the client must send it again");
        }

        host.Logs.Errors.Where(e => e.Exception is not null && e.Message.Contains("Unhandled", StringComparison.OrdinalIgnoreCase))
            .Should().BeEmpty("a sick ClickHouse is no crash of ingest");

        proxy.Fault = ClickHouseFault.None;
        foreach (var body in owed)
        {
            using var retried = await host.PostAsync(body);
            retried.StatusCode.Should().Be(HttpStatusCode.Accepted, "the client's retry is accepted once ClickHouse is healthy");
        }

        var stored = await WaitUntilStoredAsync(clickHouse.Url, database, all);
        stored.Should().Be(((long)all.Count, (long)all.Count), "every event arrives once, whether its first insert committed before the answer broke or not");
    }
}
