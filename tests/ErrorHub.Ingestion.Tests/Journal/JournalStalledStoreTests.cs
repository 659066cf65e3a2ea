using System.Diagnostics;
using System.Net;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Journal.JournalTestKit;

namespace ErrorHub.Ingestion.Tests.Journal;

/// <summary>
/// A ClickHouse that stalls (SIGSTOP: connections accepted, nothing answered) behind ingest with the journal on. This
/// class starts a server of its own, since stopping the shared one would stall every other test.
/// </summary>
public sealed class JournalStalledStoreTests : IAsyncLifetime
{
    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(
        externalUrl: null, Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server");

    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("stall");
    private readonly string _journal = NewDirectory();

    public Task InitializeAsync() => _clickHouse.InitializeAsync();

    public async Task DisposeAsync()
    {
        Signal("CONT");
        await _clickHouse.DisposeAsync();
        IngestHost.DeleteDirectory(_journal);
    }

    [Fact]
    public async Task While_the_store_is_stalled_batches_are_accepted_until_the_journal_is_full_then_503_with_retry_after_and_every_accepted_one_arrives_after()
    {
        await using var host = await IngestHost.StartAsync(Settings(_clickHouse.Url, _database, _journal, new()
        {
            ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:03", // bounds each insert try while the server is stopped
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:02", // the synchronous path would answer 503 after this
            ["ErrorHub:Ingest:Journal:SegmentBytes"] = "65536",
            ["ErrorHub:Ingest:Journal:MaxBytes"] = "262144",
        }));
        var (warm, warmIds) = IngestEndpointTests.Fresh();
        using (var response = await host.PostAsync(Wire.Encode(warm)))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        (await WaitUntilStoredAsync(_clickHouse.Url, _database, warmIds)).Distinct.Should().Be(3);

        Signal("STOP");
        var accepted = new List<Guid>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 400 && refused is null; i++)
        {
            var (batch, ids) = IngestEndpointTests.Fresh(copies: 5);
            var response = await host.PostAsync(Wire.Encode(batch), gzip: true);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.AddRange(ids);
                response.Dispose();
                continue;
            }

            refused = response;
        }

        accepted.Should().HaveCountGreaterThan(15 * 10, "batches are accepted without the store while the journal has room");
        refused.Should().NotBeNull("the journal's bound is reached");
        using (refused)
        {
            refused!.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            refused.Headers.RetryAfter!.Delta.Should().BePositive();
        }

        host.Journal().Bytes.Should().BeGreaterThan(200_000);

        Signal("CONT");
        var stored = await WaitUntilStoredAsync(_clickHouse.Url, _database, accepted, TimeSpan.FromSeconds(120));
        stored.Should().Be(((long)accepted.Count, (long)accepted.Count), "every batch answered 202 arrives once the store answers again, each event once");
        // Rows are readable in the events table before ClickHouse has written the views and answered the insert: the
        // segments are deleted once it answered.
        await WaitForAsync(() => host.Journal().HasRoom, TimeSpan.FromSeconds(30));
        using (var after = await host.PostAsync(Wire.Encode(IngestEndpointTests.Fresh().Batch)))
        {
            after.StatusCode.Should().Be(HttpStatusCode.Accepted, "the journal has room again once its segments are flushed");
        }

    }

    [Fact]
    public async Task Past_the_events_held_in_memory_the_answer_is_503_and_a_stop_while_stalled_is_bounded_and_the_next_start_stores_the_rest()
    {
        var settings = Settings(_clickHouse.Url, _database, _journal, new()
        {
            ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:03",
            ["ErrorHub:Ingest:Journal:MaxPendingEvents"] = "30",
            ["ErrorHub:Ingest:Journal:StopFlushTimeout"] = "00:00:02",
        });
        var accepted = new List<Guid>();
        await using (var host = await IngestHost.StartAsync(settings))
        {
            var (warm, warmIds) = IngestEndpointTests.Fresh();
            using (var response = await host.PostAsync(Wire.Encode(warm)))
            {
                response.StatusCode.Should().Be(HttpStatusCode.Accepted);
            }

            (await WaitUntilStoredAsync(_clickHouse.Url, _database, warmIds)).Distinct.Should().Be(3);
            await WaitForAsync(() => host.Journal().PendingEvents == 0);

            Signal("STOP");
            for (var i = 0; i < 2; i++)
            {
                var (batch, ids) = IngestEndpointTests.Fresh(copies: 5);
                using var response = await host.PostAsync(Wire.Encode(batch));
                response.StatusCode.Should().Be(HttpStatusCode.Accepted, "30 events fit in memory while the store is stalled");
                accepted.AddRange(ids);
            }

            using (var refused = await host.PostAsync(Wire.Encode(IngestEndpointTests.Fresh(copies: 5).Batch)))
            {
                refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a 31st event in memory is past the bound");
                refused.Headers.RetryAfter!.Delta.Should().BePositive();
            }

            await host.StopAsync(); // returns although the store still does not answer: the flush is bounded
            host.Logs.Entries.Should().Contain(e => e.Message.Contains("not yet in the store", StringComparison.Ordinal));
        }

        Segments(_journal).Should().NotBeEmpty("what a stop could not insert stays in the journal");
        Signal("CONT");
        await using (var restarted = await IngestHost.StartAsync(settings))
        {
            var stored = await WaitUntilStoredAsync(_clickHouse.Url, _database, accepted);
            stored.Should().Be((30L, 30L), "the next start replays what the stalled store never got, each event once");
        }
    }

    private void Signal(string signal)
    {
        if (_clickHouse.ProcessId is not { } pid)
        {
            return;
        }

        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
