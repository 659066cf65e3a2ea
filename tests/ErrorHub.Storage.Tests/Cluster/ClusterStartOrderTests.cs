using System.Net;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// Start order does not matter: ingest started on a cluster whose tables do not exist yet while ZooKeeper is down (the
/// stack started in the wrong order, ZooKeeper restarting) starts, says it is not ready, and becomes ready by itself once
/// ZooKeeper is back, with its tables made, its configured project saved and its journal replayed.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterStartOrderTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(90);

    private readonly string _earlier = ClickHouseServerFixture.NewDatabaseName("startearlier");
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("startorder");
    private readonly string _journal = Directory.CreateTempSubdirectory("errorhub-startorder-").FullName;

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        // A failed run must not leave the next tests of the collection without ZooKeeper.
        await cluster.StartZooKeeperAsync();
        foreach (var node in cluster.Nodes)
        {
            await ClusterIngest.WaitUntilWritableAsync(node, _database, RecoveryBound);
            await ClusterIngest.WaitUntilWritableAsync(node, _earlier, RecoveryBound);
        }

        await ClusterClients.DropDatabaseAsync(cluster, _database);
        await ClusterClients.DropDatabaseAsync(cluster, _earlier);
        IngestHost.DeleteDirectory(_journal);
    }

    [Fact]
    public async Task Started_on_fresh_nodes_with_zookeeper_down_ingest_is_not_ready_then_makes_its_tables_by_itself_and_loses_nothing_acknowledged()
    {
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        var acknowledged = new List<Guid>();

        // A journal that an earlier process left with batches it acknowledged but could not insert (ZooKeeper went down
        // under it): the process started next, on a database whose tables do not exist yet, replays them once it can.
        var earlierSettings = Settings(second, _earlier);
        earlierSettings["ErrorHub:Ingest:Journal:Enabled"] = "true";
        earlierSettings["ErrorHub:Ingest:Journal:Directory"] = _journal;
        earlierSettings["ErrorHub:Ingest:Journal:StopFlushTimeout"] = "00:00:01";
        var journaled = new List<Guid>();
        await using (var earlier = await IngestHost.StartAsync(earlierSettings))
        {
            await cluster.StopZooKeeperAsync();
            for (var i = 0; i < 3; i++)
            {
                await SendAsync(earlier, journaled, HttpStatusCode.Accepted, "the journal keeps the batch while the tables are read-only");
            }
        }

        Directory.EnumerateFiles(_journal, "*", SearchOption.AllDirectories).Should().NotBeEmpty("the stop left the batches in the journal");

        // ZooKeeper is still down: the new database cannot be made (ON CLUSTER needs it). Both processes start all the same.
        var withJournal = Settings(second, _database);
        withJournal["ErrorHub:Ingest:Journal:Enabled"] = "true";
        withJournal["ErrorHub:Ingest:Journal:Directory"] = _journal;
        await using var plain = await IngestHost.StartAsync(Settings(first, _database));
        await using var replaying = await IngestHost.StartAsync(withJournal);
        foreach (var ingest in new[] { plain, replaying })
        {
            using var alive = await ingest.Client.GetAsync("/healthz");
            alive.StatusCode.Should().Be(HttpStatusCode.OK, "the process runs: a service manager must not restart it in a loop");
            using var ready = await ingest.Client.GetAsync("/readyz");
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "nothing can be stored before the tables exist");
            ingest.Logs.Entries.Should().Contain(
                e => e.Category.EndsWith(".StoreReadinessCheck", StringComparison.Ordinal) && e.Message.Contains("tables do not exist yet"),
                "the operator reads why in the log");
            var retryAfter = await SendAsync(ingest, acknowledged, HttpStatusCode.ServiceUnavailable, "no key can be checked before the tables exist");
            retryAfter.Should().BePositive("the SDK keeps the batch and sends it again later");
            ingest.Logs.Entries.Should().NotContain(
                e => e.Category.EndsWith(".IngestEndpoint", StringComparison.Ordinal),
                "the key is not looked up before the store is ready (a lookup would fail, or find no project and be cached as a refusal), and refused batches are not logged one by one");
        }

        (await first.QueryAsync($"SELECT count() FROM system.databases WHERE name = {ClickHouseSql.Quote(_database)}")).Trim()
            .Should().Be("0", "without ZooKeeper no ON CLUSTER statement was sent");

        await cluster.StartZooKeeperAsync();

        // Nobody restarts anything.
        foreach (var ingest in new[] { plain, replaying })
        {
            await WaitUntilReadyAsync(ingest);

            // The configured key right away: it was not looked up (and refused) before the project was saved.
            await SendAsync(ingest, acknowledged, HttpStatusCode.Accepted, "the configured project is saved before ingest counts as ready");
        }

        foreach (var node in new[] { first, second })
        {
            (await node.QueryAsync($"SELECT count() FROM system.tables WHERE database = {ClickHouseSql.Quote(_database)} AND name IN ('events', 'projects')")).Trim()
                .Should().Be("2", $"{node.Name} has the tables");
        }

        acknowledged.AddRange(journaled);
        await ClusterIngest.SyncReplicasAsync(first, _database);
        await ClusterIngest.SyncReplicasAsync(second, _database);
        await ClusterIngest.ShouldReadAllAsync(plain, acknowledged, "every acknowledged event, the replayed journal's included, is stored once", RecoveryBound);

        // The log: the first failure with its exception, one line when the tables exist; not a line per try.
        foreach (var ingest in new[] { plain, replaying })
        {
            var schemaLines = ingest.Logs.Entries.Where(e => e.Category.EndsWith(".StoreSchemaInitializer", StringComparison.Ordinal)).ToList();
            schemaLines.Should().ContainSingle(e => e.Level >= LogLevel.Error, "the tries while ZooKeeper is down are one outage")
                .Which.Exception.Should().BeOfType<ClickHouseException>().Which.Message.Should().Contain("no ZooKeeper session");
            schemaLines.Count(e => e.Level == LogLevel.Warning).Should().BeLessThanOrEqualTo(2, "after the first failure, at most a line a minute");
            schemaLines.Should().ContainSingle(e => e.Message.Contains("tables exist now"));
        }

        replaying.Logs.Entries.Should().Contain(e => e.Message.Contains("wait until the store has made its tables"));
    }

    private static Dictionary<string, string?> Settings(ClickHouseClusterNode node, string database) => ClusterIngest.Settings(node, database);

    /// <summary>Sends a fresh batch and checks the answer; returns its Retry-After in seconds (0 when none).</summary>
    private static async Task<double> SendAsync(IngestHost ingest, List<Guid> acknowledged, HttpStatusCode expected, string because)
    {
        var (batch, ids) = SampleBatch.WithFreshIds();
        using var response = await ingest.PostAsync(Wire.Encode(batch), gzip: true);
        response.StatusCode.Should().Be(expected, $"{because} ({await response.Content.ReadAsStringAsync()})");
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            acknowledged.AddRange(ids);
        }

        return response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0;
    }

    private static async Task WaitUntilReadyAsync(IngestHost ingest)
    {
        var deadline = DateTime.UtcNow + RecoveryBound;
        while (true)
        {
            using var ready = await ingest.Client.GetAsync("/readyz");
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            DateTime.UtcNow.Should().BeBefore(deadline, $"ingest should make its tables and turn ready by itself once ZooKeeper is back ({await ready.Content.ReadAsStringAsync()})");
            await Task.Delay(500);
        }
    }
}
