using System.Net;
using System.Net.Sockets;
using ErrorHub.Storage;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Disks;
using ErrorHub.Testing.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>A store that fails is the server's problem, not the client's: 503 with Retry-After, and no 500.</summary>
public sealed class StoreFailureTests
{
    [Fact]
    public async Task When_the_database_file_cannot_be_opened_a_batch_is_503_with_retry_after_and_is_accepted_once_it_can()
    {
        await using var host = await IngestHost.StartAsync();
        using (var first = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            first.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key is checked and cached while the store works");
        }

        BreakDatabase(host);
        var (batch, ids) = SampleBatch.WithFreshIds();
        using (var failed = await host.PostAsync(Wire.Encode(batch)))
        {
            failed.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            failed.Headers.RetryAfter!.Delta.Should().BePositive();
            (await IngestHost.JsonAsync(failed)).GetProperty("error").GetString().Should().Contain("retry");
        }

        RepairDatabase(host);
        await host.Schema.EnsureSchemaAsync();
        await host.Projects.UpsertProjectAsync(new Project(IngestHost.ProjectId, "Shop", IngestHost.Key, DateTimeOffset.UtcNow));
        using (var retried = await host.PostAsync(Wire.Encode(batch)))
        {
            retried.StatusCode.Should().Be(HttpStatusCode.Accepted, "the writer recovers when the store does");
        }

        (await host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0])).Should().NotBeNull();
    }

    [Fact]
    public async Task When_the_database_file_is_deleted_under_the_running_server_batches_are_503_and_never_202_into_the_deleted_file()
    {
        await using var host = await IngestHost.StartAsync();
        using (var first = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            first.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key is checked and cached, and the writer's connection pooled, while the store works");
        }

        // What an operator (or a clean-up job) does: the files go; nothing in the server is told. Its pooled connections
        // still hold the deleted file open, and a commit into it would succeed where no restart finds it.
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(host.DatabasePath + suffix);
        }

        var (batch, ids) = SampleBatch.WithFreshIds();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var refused = await host.PostAsync(Wire.Encode(batch));
            refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "an event written into a deleted file is lost: the client must keep it and retry");
            refused.Headers.RetryAfter!.Delta.Should().BePositive();
        }

        File.Exists(host.DatabasePath).Should().BeFalse("no reader or writer makes an empty database in the deleted one's place behind the operator's back");

        // The operator restores a store: the client's retry is accepted and kept.
        await host.Schema.EnsureSchemaAsync();
        await host.Projects.UpsertProjectAsync(new Project(IngestHost.ProjectId, "Shop", IngestHost.Key, DateTimeOffset.UtcNow));
        using (var retried = await host.PostAsync(Wire.Encode(batch)))
        {
            retried.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        SqliteConnection.ClearAllPools();
        (await host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0])).Should().NotBeNull("the event answered 202 is in the file on disk");
    }

    [Fact]
    public async Task When_the_databases_disk_is_full_batches_are_503_never_202_and_accepted_again_once_there_is_room()
    {
        using var disk = SmallDisk.Mount("16m");
        await using var host = await IngestHost.StartAsync(directory: Path.Combine(disk.Path, "data"));
        var accepted = new List<Guid>();
        using (var first = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            first.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key is checked and cached while the disk has room");
        }

        var filler = disk.Fill();

        // The database and its write-ahead log may still have free pages: batches fit there until they are used up.
        (WireMap Batch, Guid[] Ids)? refusedBatch = null;
        for (var i = 0; i < 200 && refusedBatch is null; i++)
        {
            var (batch, ids) = SampleBatch.WithFreshIds(copies: 20);
            using var response = await host.PostAsync(Wire.Encode(batch));
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.AddRange(ids);
                continue;
            }

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a full disk is the server's problem: the client keeps the batch and retries");
            response.Headers.RetryAfter!.Delta.Should().BePositive();
            refusedBatch = (batch, ids);
        }

        refusedBatch.Should().NotBeNull("the disk fills up");
        host.Logs.Entries.Should().Contain(e => e.Level >= LogLevel.Warning && e.ToString().Contains("disk is full", StringComparison.Ordinal), "the log names the cause");

        File.Delete(filler);
        var status = HttpStatusCode.ServiceUnavailable;
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (status != HttpStatusCode.Accepted && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            using var retried = await host.PostAsync(Wire.Encode(refusedBatch!.Value.Batch));
            status = retried.StatusCode;
            if (status != HttpStatusCode.Accepted)
            {
                await Task.Delay(200);
            }
        }

        status.Should().Be(HttpStatusCode.Accepted, "ingest takes batches again once the disk has room, without a restart");
        accepted.AddRange(refusedBatch!.Value.Ids);

        SqliteConnection.ClearAllPools();
        var issues = await host.Issues.GetIssuesAsync(new IssueQuery(IngestHost.ProjectId) { Limit = 100 });
        issues.Items.Sum(i => i.EventCount).Should().Be(accepted.Count + 3, "every batch answered 202 is stored, each event once, and the refused one once after its retry");
        foreach (var id in accepted.Where((_, index) => index % 60 == 0))
        {
            (await host.Issues.GetEventAsync(IngestHost.ProjectId, id)).Should().NotBeNull();
        }
    }

    [Fact]
    public async Task When_the_store_fails_before_the_key_is_known_the_answer_is_503_with_retry_after()
    {
        await using var host = await IngestHost.StartAsync();
        BreakDatabase(host);

        using var response = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter!.Delta.Should().BePositive();
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("key");
        RepairDatabase(host);
    }

    [Fact]
    public async Task A_clickhouse_store_on_a_closed_port_answers_503_with_retry_after()
    {
        var closedPort = ClosedPort();
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = $"http://127.0.0.1:{closedPort}/",
            ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:10",
            ["ErrorHub:Store:EnsureSchemaOnStartup"] = "false", // ingest starts while its store is down
            ["ErrorHub:Project:Create"] = "false",
        });

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var response = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch));

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            response.Headers.RetryAfter!.Delta.Should().BePositive();
        }

        host.Logs.Errors.Should().BeEmpty("an unreachable store is reported as a warning per request, not as a crash");
    }

    [Fact]
    public async Task A_store_that_stalls_on_a_commit_gets_503_within_the_wait_and_the_batch_is_stored_once_after_its_retry()
    {
        // A wait of one second, short beside SQLite's busy timeout (30 s): on a loaded machine a commit that nothing holds
        // up may take longer too (it failed so once), so the batches the store should take are posted again on 503, as
        // the SDK does, until the store confirms them; only the stalled one's 503 is asserted.
        await using var host = await IngestHost.StartAsync(new() { ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:01" });
        (await host.PostUntilAcceptedAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch))).Should().Be(HttpStatusCode.Accepted, "the key is checked and cached while the store works");

        // Another process holds the write lock: SQLite waits (its busy timeout is 30 s) instead of failing.
        await using var blocker = await SqliteWriteLock.HoldAsync(host.DatabasePath);

        var (batch, ids) = SampleBatch.WithFreshIds();
        using (var stalled = await host.PostAsync(Wire.Encode(batch)))
        {
            stalled.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a stalled store must not hold the client until its timeout");
            stalled.Headers.RetryAfter!.Delta.Should().BePositive();
            (await IngestHost.JsonAsync(stalled)).GetProperty("error").GetString().Should().Contain("in time");
        }

        await using (var rollback = blocker.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        // The stalled commit goes on once the lock is let go: the retry may wait behind it.
        (await host.PostUntilAcceptedAsync(Wire.Encode(batch))).Should().Be(HttpStatusCode.Accepted);

        var issue = await host.Issues.GetIssueAsync(IngestHost.ProjectId, (await host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0]))!.Fingerprint);
        issue!.EventCount.Should().Be(2, "the first batch's event and this one, the stalled commit and its retry counting once");
    }

    [Fact]
    public async Task A_clickhouse_that_accepts_connections_but_never_answers_gets_503_within_the_wait()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts connections in the backlog, never reads or answers
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = $"http://127.0.0.1:{port}/",
            ["ErrorHub:Store:EnsureSchemaOnStartup"] = "false",
            ["ErrorHub:Project:Create"] = "false",
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:01",
        });

        using var response = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "the key check must not wait on a stalled store either");
        response.Headers.RetryAfter!.Delta.Should().BePositive();
    }

    [Fact]
    public async Task Readiness_probes_arriving_together_share_one_read_of_a_stalled_store()
    {
        // A ClickHouse that takes connections and never answers; each connection it is offered is counted and held.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var held = new System.Collections.Concurrent.ConcurrentBag<Socket>();
        using var stopAccepting = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptSocketAsync(stopAccepting.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = $"http://127.0.0.1:{port}/",
            ["ErrorHub:Store:EnsureSchemaOnStartup"] = "false",
            ["ErrorHub:Project:Create"] = "false",
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:00:03",
        });
        var before = held.Count;

        // An anonymous flood of probes: each one a read of its own would be a connection (a query) of its own.
        var probes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => host.Client.GetAsync("/readyz")));

        try
        {
            probes.Should().OnlyContain(p => p.StatusCode == HttpStatusCode.ServiceUnavailable, "a store that does not answer is not ready");
            (held.Count - before).Should().BeInRange(1, 3, "probes that arrive while a read of the store is under way wait for that read");
        }
        finally
        {
            foreach (var probe in probes)
            {
                probe.Dispose();
            }

            await stopAccepting.CancelAsync();
            await accepting;
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_store_wait_longer_than_the_request_time_is_cut_to_what_is_left_of_it()
    {
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Ingest:MaxStoreWait"] = "00:10:00",
            ["ErrorHub:Ingest:MaxRequestTime"] = "00:00:01",
        });
        using (var first = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch)))
        {
            first.StatusCode.Should().Be(HttpStatusCode.Accepted, "the key is checked and cached while the store works");
        }

        await using var blocker = await SqliteWriteLock.HoldAsync(host.DatabasePath);

        // A client that gives up long before the ten minutes the store wait alone would allow.
        using var client = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/{IngestHost.ProjectId}/events") { Content = IngestHost.MessagePack(Wire.Encode(SampleBatch.WithFreshIds().Batch)) };
        request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", IngestHost.Key);
        using var stalled = await client.SendAsync(request);

        stalled.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        stalled.Headers.RetryAfter!.Delta.Should().BePositive();
        (await IngestHost.JsonAsync(stalled)).GetProperty("error").GetString().Should().Contain("in time");
    }

    /// <summary>
    /// Replaces the database file by a directory of the same name: SQLite can no longer open it, for
    /// any user (the tests may run as root, for whom file permissions change nothing).
    /// </summary>
    private static void BreakDatabase(IngestHost host)
    {
        SqliteConnection.ClearAllPools(); // pooled connections would keep the old file open
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(host.DatabasePath + suffix);
        }

        Directory.CreateDirectory(host.DatabasePath);
    }

    private static void RepairDatabase(IngestHost host) => Directory.Delete(host.DatabasePath);

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
