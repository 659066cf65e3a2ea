using System.Diagnostics;
using System.Net;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Disks;
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
        var (warm, warmIds) = SampleBatch.WithFreshIds();
        using (var response = await host.PostAsync(Wire.Encode(warm)))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        (await WaitUntilStoredAsync(_clickHouse.Url, _database, warmIds)).Distinct.Should().Be(3);

        Signal("STOP");
        var (accepted, refused) = await host.PostUntilRefusedAsync(copies: 5, gzip: true);

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

        // The flusher counts the events stored, moves its checkpoint and deletes the stored segments only once the insert
        // that made them readable has answered: until then the journal is still full (a retry later is answered 202).
        var roomAgain = Stopwatch.StartNew();
        while ((host.Journal().PendingEvents > 0 || host.Journal().Bytes > 262144 - 65536) && roomAgain.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        using (var after = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            after.StatusCode.Should().Be(HttpStatusCode.Accepted, $"the journal has room again once its segments are flushed (answer: {await after.Content.ReadAsStringAsync()}; journal bytes {host.Journal().Bytes}, pending {host.Journal().PendingEvents})");
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
            var (warm, warmIds) = SampleBatch.WithFreshIds();
            using (var response = await host.PostAsync(Wire.Encode(warm)))
            {
                response.StatusCode.Should().Be(HttpStatusCode.Accepted);
            }

            (await WaitUntilStoredAsync(_clickHouse.Url, _database, warmIds)).Distinct.Should().Be(3);
            await WaitForAsync(() => host.Journal().PendingEvents == 0);

            Signal("STOP");
            for (var i = 0; i < 2; i++)
            {
                var (batch, ids) = SampleBatch.WithFreshIds(copies: 5);
                using var response = await host.PostAsync(Wire.Encode(batch));
                response.StatusCode.Should().Be(HttpStatusCode.Accepted, "30 events fit in memory while the store is stalled");
                accepted.AddRange(ids);
            }

            using (var refused = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds(copies: 5).Batch)))
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

    [Fact]
    public async Task When_the_journals_disk_is_full_the_answer_is_503_and_once_the_store_answers_every_accepted_batch_arrives_and_batches_are_accepted_again()
    {
        // A 1 MiB disk of its own for the journal, far below its MaxBytes: the disk fills first, as when other files take it.
        using var disk = SmallDisk.Mount("1m");
        try
        {
            await using var host = await IngestHost.StartAsync(Settings(_clickHouse.Url, _database, Path.Combine(disk.Path, "journal"), new()
            {
                ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:03",
                ["ErrorHub:Ingest:Journal:SegmentBytes"] = "262144",
                ["ErrorHub:Ingest:Journal:MaxBytes"] = "67108864",
            }));
            var (warm, warmIds) = SampleBatch.WithFreshIds();
            using (var response = await host.PostAsync(Wire.Encode(warm)))
            {
                response.StatusCode.Should().Be(HttpStatusCode.Accepted);
            }

            (await WaitUntilStoredAsync(_clickHouse.Url, _database, warmIds)).Distinct.Should().Be(3);

            Signal("STOP");
            var (accepted, refused) = await host.PostUntilRefusedAsync(copies: 20);

            accepted.Should().NotBeEmpty("batches are journaled while the disk has room");
            refused.Should().NotBeNull("the disk fills up");
            using (refused)
            {
                refused!.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a batch the journal could not write is not acknowledged");
                refused.Headers.RetryAfter!.Delta.Should().BePositive();
            }

            // The stored segments are what holds the disk: the checkpoint that lets them go must find room too.
            Signal("CONT");
            var stored = await WaitUntilStoredAsync(_clickHouse.Url, _database, accepted, TimeSpan.FromSeconds(120));
            stored.Should().Be(((long)accepted.Count, (long)accepted.Count), "every batch answered 202 arrives once the store answers again, each event once");

            var (after, afterIds) = SampleBatch.WithFreshIds();
            var status = HttpStatusCode.ServiceUnavailable;
            var deadline = Stopwatch.StartNew();
            while (status != HttpStatusCode.Accepted && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                using var response = await host.PostAsync(Wire.Encode(after));
                status = response.StatusCode;
                if (status != HttpStatusCode.Accepted)
                {
                    await Task.Delay(200);
                }
            }

            status.Should().Be(HttpStatusCode.Accepted, "the journal's disk has room again once the stored segments are deleted, without a restart");
            (await WaitUntilStoredAsync(_clickHouse.Url, _database, afterIds)).Distinct.Should().Be(3, "and what it accepts then is flushed too");
        }
        finally
        {
            Signal("CONT");
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
