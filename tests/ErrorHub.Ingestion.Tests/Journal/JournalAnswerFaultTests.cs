using System.Net;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Journal.JournalTestKit;

namespace ErrorHub.Ingestion.Tests.Journal;

/// <summary>
/// Ingest with the journal on in front of a ClickHouse that answers errors or garbage (<see cref="ClickHouseFaultProxy"/>
/// before the real server): batches are answered 202 (journaled) or 503 with Retry-After, never a 500; ingest restarted
/// while ClickHouse still answers badly replays what it acknowledged; and once ClickHouse answers properly every event
/// answered 202 is stored exactly once, also when an insert committed before its answer broke, and the journal empties.
/// </summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class JournalAnswerFaultTests(ClickHouseServerFixture clickHouse) : IAsyncLifetime
{
    private readonly string _journal = NewDirectory();

    public static TheoryData<ClickHouseFault> Faults => new(ClickHouseFaultProxy.Faults);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        IngestHost.DeleteDirectory(_journal);
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Every_batch_answered_202_while_clickhouse_answers_badly_is_stored_once_after_it_heals_across_a_restart(ClickHouseFault fault)
    {
        await using var proxy = ClickHouseFaultProxy.Start(clickHouse.Url);
        var database = ClickHouseServerFixture.NewDatabaseName("journal_fault");
        var settings = Settings(proxy.Url, database, _journal, new()
        {
            ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:03", // bounds each insert try against a dripping answer
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:02",
            ["ErrorHub:Ingest:Journal:StopFlushTimeout"] = "00:00:02",
        });
        var acknowledged = new List<Guid>();
        var owed = new List<(byte[] Body, Guid[] Ids)>();

        var first = await IngestHost.StartAsync(settings);
        await using (first)
        {
            var (warm, warmIds) = SampleBatch.WithFreshIds();
            using (var response = await first.PostAsync(Wire.Encode(warm)))
            {
                response.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key is checked and cached while ClickHouse is healthy");
            }

            (await WaitUntilStoredAsync(clickHouse.Url, database, warmIds)).Distinct.Should().Be(warmIds.Length);
            acknowledged.AddRange(warmIds);

            proxy.Fault = fault;
            for (var i = 0; i < 4; i++)
            {
                await PostAsync(first, acknowledged, owed);
            }

            acknowledged.Should().HaveCountGreaterThan(warmIds.Length, "the journal takes batches while the store answers badly");
            await WaitForAsync(() => proxy.FaultedRequests > 0, TimeSpan.FromSeconds(60));
            proxy.FaultedRequests.Should().BePositive("the journal's inserts met the fault");
            first.Logs.Errors.Where(e => e.Message.Contains("Unhandled", StringComparison.OrdinalIgnoreCase)).Should().BeEmpty();
        }

        // Restarted while ClickHouse still answers badly: what the journal holds is replayed, nothing is dropped.
        await using var second = await IngestHost.StartAsync(settings);
        await PostAsync(second, acknowledged, owed);

        proxy.Fault = ClickHouseFault.None;
        foreach (var (body, ids) in owed)
        {
            // The client's retries after a 503, as the SDK makes them: the restarted ingest turns ready by itself.
            (await second.PostUntilAcceptedAsync(body)).Should().Be(HttpStatusCode.Accepted, "ingest takes batches again once ClickHouse answers properly");
            acknowledged.AddRange(ids);
        }

        var stored = await WaitUntilStoredAsync(clickHouse.Url, database, acknowledged, TimeSpan.FromSeconds(120));
        stored.Should().Be(((long)acknowledged.Count, (long)acknowledged.Count), "every event answered 202 arrives once, before or after the restart");
        await WaitForAsync(() => second.Journal().PendingEvents == 0, TimeSpan.FromSeconds(60));
        second.Journal().PendingEvents.Should().Be(0, "the journal empties once the store takes its records");
        second.Logs.Errors.Where(e => e.Message.Contains("Unhandled", StringComparison.OrdinalIgnoreCase)).Should().BeEmpty();
    }

    /// <summary>
    /// ClickHouse answering every insert with an error for long: the journal takes batches up to its bound on disk, then
    /// answers 503 with Retry-After (never more on disk than <c>MaxBytes</c>), and once ClickHouse answers properly every
    /// batch answered 202 arrives once and the journal takes batches again.
    /// </summary>
    [Fact]
    public async Task While_clickhouse_answers_errors_the_journal_fills_to_its_bound_then_answers_503_and_all_it_took_arrives_once_after()
    {
        const long MaxBytes = 262_144;
        await using var proxy = ClickHouseFaultProxy.Start(clickHouse.Url);
        var database = ClickHouseServerFixture.NewDatabaseName("journal_full");
        await using var host = await IngestHost.StartAsync(Settings(proxy.Url, database, _journal, new()
        {
            ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:03",
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:02",
            ["ErrorHub:Ingest:Journal:SegmentBytes"] = "65536",
            ["ErrorHub:Ingest:Journal:MaxBytes"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        var (warm, warmIds) = SampleBatch.WithFreshIds();
        using (var response = await host.PostAsync(Wire.Encode(warm)))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        (await WaitUntilStoredAsync(clickHouse.Url, database, warmIds)).Distinct.Should().Be(warmIds.Length);
        var accepted = new List<Guid>(warmIds);
        proxy.Fault = ClickHouseFault.ErrorAnswer;
        var (posted, refused) = await host.PostUntilRefusedAsync(copies: 5, gzip: true);
        accepted.AddRange(posted);

        refused.Should().NotBeNull("the journal's bound is reached while every insert is refused");
        using (refused)
        {
            refused!.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await refused.Content.ReadAsStringAsync());
            refused.Headers.RetryAfter!.Delta.Should().BePositive();
        }

        host.Journal().Bytes.Should().BeLessThanOrEqualTo(MaxBytes, "the journal's disk use stays within its bound");

        // On a loaded machine the requests may fill the journal before its flusher first tries an insert: it tries, and is
        // refused, while the journal is full.
        await WaitForAsync(() => proxy.FaultedRequests > 0, TimeSpan.FromSeconds(60));

        proxy.Fault = ClickHouseFault.None;
        var stored = await WaitUntilStoredAsync(clickHouse.Url, database, accepted, TimeSpan.FromSeconds(120));
        stored.Should().Be(((long)accepted.Count, (long)accepted.Count), "every batch answered 202 arrives once ClickHouse answers properly, each event once");
        await WaitForAsync(() => host.Journal().PendingEvents == 0 && host.Journal().Bytes <= MaxBytes - 65536, TimeSpan.FromSeconds(60));
        (await host.PostUntilAcceptedAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch))).Should().Be(HttpStatusCode.Accepted, "the journal has room again");
    }

    private static async Task PostAsync(IngestHost host, List<Guid> acknowledged, List<(byte[] Body, Guid[] Ids)> owed)
    {
        var (batch, ids) = SampleBatch.WithFreshIds();
        var body = Wire.Encode(batch);
        using var response = await host.PostAsync(body).WaitAsync(TimeSpan.FromSeconds(60));
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            acknowledged.AddRange(ids);
            return;
        }

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, await response.Content.ReadAsStringAsync());
        response.Headers.RetryAfter!.Delta.Should().BePositive();
        owed.Add((body, ids));
    }
}
