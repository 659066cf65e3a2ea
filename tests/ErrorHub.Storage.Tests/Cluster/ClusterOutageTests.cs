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
/// The faults an operator of a cluster meets beyond a node that dies: ZooKeeper stopped under ingest (the replicated
/// tables turn read-only), and a node that comes back empty after its disk was replaced.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterOutageTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(60);

    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("outage");

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        // A failed run must not leave the next tests of the collection without ZooKeeper or a node.
        await cluster.StartZooKeeperAsync();
        foreach (var node in cluster.Nodes.Where(node => !node.IsRunning))
        {
            await node.StartAsync();
        }

        // Replicated tables can only be dropped once the nodes have their ZooKeeper sessions back.
        foreach (var node in cluster.Nodes)
        {
            await WaitUntilWritableAsync(node);
        }

        await ClusterClients.DropDatabaseAsync(cluster, _database);
    }

    [Fact]
    public async Task With_zookeeper_stopped_ingest_answers_503_or_journals_loses_nothing_logs_once_and_recovers_by_itself()
    {
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        await using var plain = await IngestHost.StartAsync(Settings(first));
        var journaled = Settings(second);
        journaled["ErrorHub:Ingest:Journal:Enabled"] = "true";
        await using var withJournal = await IngestHost.StartAsync(journaled);
        var acknowledged = new List<Guid>();
        await SendAsync(plain, acknowledged, HttpStatusCode.Accepted);
        var storedThroughFirst = acknowledged.ToList();
        await SendAsync(withJournal, acknowledged, HttpStatusCode.Accepted);

        await cluster.StopZooKeeperAsync();

        for (var i = 0; i < 4; i++)
        {
            var refused = await SendAsync(plain, acknowledged, HttpStatusCode.ServiceUnavailable, "without ZooKeeper the replicated tables are read-only");
            refused.Should().BePositive("the SDK keeps the batch and sends it again later");
            await SendAsync(withJournal, acknowledged, HttpStatusCode.Accepted, "the journal keeps the batch on disk and inserts it once it can");
        }

        await ShouldNotBeReadyAsync(plain, "no ZooKeeper session");
        await ShouldNotBeReadyAsync(withJournal, "no ZooKeeper session");
        foreach (var id in storedThroughFirst)
        {
            (await plain.Issues.GetEventAsync(IngestHost.ProjectId, id)).Should().NotBeNull("reads need no ZooKeeper: the dashboard keeps working");
        }

        (await plain.Issues.GetIssuesAsync(new IssueQuery(IngestHost.ProjectId) { Limit = 100 })).Items.Should().NotBeEmpty();

        // A process (re)started meanwhile starts on the schema its node has, and says it is not ready.
        await using var startedDuringOutage = await IngestHost.StartAsync(Settings(first));
        await ShouldNotBeReadyAsync(startedDuringOutage, "no ZooKeeper session");
        await SendAsync(startedDuringOutage, acknowledged, HttpStatusCode.ServiceUnavailable);

        await cluster.StartZooKeeperAsync();

        // Nobody restarts anything: the nodes take their sessions back and ingest follows.
        var answeredWhileInserting = new List<Guid>();
        foreach (var ingest in new[] { plain, startedDuringOutage, withJournal })
        {
            await EventuallyAcceptsAsync(ingest, acknowledged, answeredWhileInserting);
            using var ready = await ingest.Client.GetAsync("/readyz");
            ready.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await SyncReplicasAsync(first);
        await SyncReplicasAsync(second);
        await ShouldReadAllAsync(plain, acknowledged, "every acknowledged event (journaled ones included) is stored, through the first node", answeredWhileInserting);
        await ShouldReadAllAsync(withJournal, acknowledged, "and through the second", answeredWhileInserting);

        // One line when the outage began and one when it ended, whatever the number of refused batches and probes.
        var writerLines = plain.Logs.Entries.Where(e => e.Category.EndsWith(".StoreWriter", StringComparison.Ordinal)).ToList();
        writerLines.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle("the refused inserts are one outage, not one line each");
        writerLines.Should().ContainSingle(e => e.Level == LogLevel.Information && e.Message.Contains("takes inserts again"));
        var readiness = plain.Logs.Entries.Where(e => e.Category.EndsWith(".StoreReadinessCheck", StringComparison.Ordinal)).ToList();
        readiness.Where(e => e.Level == LogLevel.Warning).Should().ContainSingle().Which.Message.Should().Contain("no ZooKeeper session");
        readiness.Should().ContainSingle(e => e.Level == LogLevel.Information && e.Message.Contains("Ready again"));
    }

    [Fact]
    public async Task A_node_restarted_empty_gets_its_tables_back_from_the_next_process_and_catches_up_with_everything_acknowledged()
    {
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        var acknowledged = new List<Guid>();
        await using var onSecond = await IngestHost.StartAsync(Settings(second));
        await using (var onFirst = await IngestHost.StartAsync(Settings(first)))
        {
            await SendAsync(onFirst, acknowledged, HttpStatusCode.Accepted);
            await SendAsync(onSecond, acknowledged, HttpStatusCode.Accepted);
        }

        // What an admin set in the dashboard, which the configuration does not say.
        (await onSecond.Projects.SaveSettingsAsync(IngestHost.ProjectId, new ProjectSettings(RateLimitPerMinute: 600, RetentionDays: 14))).Should().BeTrue();
        (await onSecond.Projects.AddKeyAsync(IngestHost.ProjectId, "added0in0the0dashboard000000000a", "Dashboard", DateTimeOffset.UtcNow)).Should().BeTrue();
        var project = await onSecond.Projects.GetProjectAsync(IngestHost.ProjectId);
        var keys = (await onSecond.Projects.GetKeysAsync(IngestHost.ProjectId)).Select(key => key.PublicKey).ToList();

        // Its disk replaced: no database, no tables; ZooKeeper still has its replicas.
        await first.KillAndWipeAsync();
        await SendAsync(onSecond, acknowledged, HttpStatusCode.Accepted, "the other node takes writes alone");
        await first.StartAsync();
        (await first.QueryAsync($"SELECT count() FROM system.databases WHERE name = {ClickHouseSql.Quote(_database)}")).Trim().Should().Be("0");

        // The operator starts ErrorHub on it again, as after any restart: it makes the database and takes up the node's replicas,
        // and reads the project only once the node has fetched it: the cluster's project stays as it was, not saved again from
        // the configuration (a new creation time, the dashboard's settings reset).
        await using var again = await IngestHost.StartAsync(Settings(first));
        (await again.Projects.GetProjectAsync(IngestHost.ProjectId)).Should().BeEquivalentTo(project, "the process on the emptied node reads the cluster's project");
        (await again.Projects.GetSettingsAsync(IngestHost.ProjectId)).Should().Be(new ProjectSettings(600, 14), "the dashboard's settings are not reset");
        (await again.Projects.GetKeysAsync(IngestHost.ProjectId)).Select(key => key.PublicKey).Should().BeEquivalentTo(keys);
        again.Logs.Entries.Should().Contain(e => e.Message.Contains("waiting up to") && e.Message.Contains("projects"), "the wait is said in the log");
        await SendAsync(again, acknowledged, HttpStatusCode.Accepted, "the node takes writes again");

        await SyncReplicasAsync(first);
        await ShouldReadAllAsync(again, acknowledged, "the emptied node fetched every part from the other");
        await SyncReplicasAsync(second);
        await ShouldReadAllAsync(onSecond, acknowledged, "and what it took since reached the other");
        var onSecondAfter = await onSecond.Projects.GetProjectAsync(IngestHost.ProjectId);
        onSecondAfter!.CreatedAt.Should().Be(project!.CreatedAt, "nothing saved the project again over the cluster's");
        (await onSecond.Projects.GetSettingsAsync(IngestHost.ProjectId)).Should().Be(new ProjectSettings(600, 14));
    }

    [Fact]
    public async Task With_its_node_hung_ingest_answers_503_with_retry_after_within_the_store_wait_is_not_ready_and_recovers_by_itself()
    {
        var first = cluster.Nodes[0];
        await using var ingest = await IngestHost.StartAsync(Settings(first));
        var acknowledged = new List<Guid>();
        await SendAsync(ingest, acknowledged, HttpStatusCode.Accepted);

        // Hung, not stopped: connections are accepted and nothing is answered. Ingest's client would wait minutes for it
        // (the test's client gives up after 100 s): the batch must be answered 503 within ingest's store wait instead,
        // its key checked from the cache without waiting for the node.
        first.Hang();
        try
        {
            var retryAfter = await SendAsync(ingest, acknowledged, HttpStatusCode.ServiceUnavailable, "a hung node stores nothing");
            retryAfter.Should().BePositive("the SDK keeps the batch and sends it again later");
            using var ready = await ingest.Client.GetAsync("/readyz");
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a load balancer should send events to an ingest whose node answers");
        }
        finally
        {
            first.Hang(hung: false);
        }

        await EventuallyAcceptsAsync(ingest, acknowledged);
        foreach (var id in acknowledged)
        {
            (await ingest.Issues.GetEventAsync(IngestHost.ProjectId, id)).Should().NotBeNull("nothing acknowledged is lost");
        }
    }

    private Dictionary<string, string?> Settings(ClickHouseClusterNode node) => ClusterIngest.Settings(node, _database);

    /// <summary>Sends a fresh batch and checks the answer; returns its Retry-After in seconds (0 when none).</summary>
    private static async Task<double> SendAsync(IngestHost ingest, List<Guid> acknowledged, HttpStatusCode expected, string because = "")
    {
        var (batch, ids) = FreshBatch();
        using var response = await ingest.PostAsync(Wire.Encode(batch), gzip: true);
        response.StatusCode.Should().Be(expected, $"{because} ({await response.Content.ReadAsStringAsync()})");
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            acknowledged.AddRange(ids);
        }

        return response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0;
    }

    /// <summary>
    /// Sends fresh batches until one is acknowledged. A 503 on the way may come from an insert the recovering node did not
    /// answer within ingest's bound and completed after: its events go to <paramref name="answeredWhileInserting"/>.
    /// </summary>
    private static async Task EventuallyAcceptsAsync(IngestHost ingest, List<Guid> acknowledged, List<Guid>? answeredWhileInserting = null)
    {
        var deadline = DateTime.UtcNow + RecoveryBound;
        while (true)
        {
            var (batch, ids) = FreshBatch();
            using var response = await ingest.PostAsync(Wire.Encode(batch), gzip: true);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                acknowledged.AddRange(ids);
                return;
            }

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            answeredWhileInserting?.AddRange(ids);
            DateTime.UtcNow.Should().BeBefore(deadline, "ingest should take batches again once ZooKeeper is back, without a restart");
            await Task.Delay(500);
        }
    }

    private static async Task ShouldNotBeReadyAsync(IngestHost ingest, string reason)
    {
        using var response = await ingest.Client.GetAsync("/readyz");
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a load balancer should send events to an ingest whose node can store them");
        ingest.Logs.Entries.Should().Contain(e => e.Category.EndsWith(".StoreReadinessCheck", StringComparison.Ordinal) && e.Message.Contains(reason));
    }

    private static (WireMap Batch, Guid[] Ids) FreshBatch() => SampleBatch.WithFreshIds();

    /// <summary>Journaled events are inserted behind the answer (the journal's back-off after the outage): they get until the recovery bound.</summary>
    private static Task ShouldReadAllAsync(IngestHost reader, List<Guid> acknowledged, string because, IReadOnlyCollection<Guid>? answeredWhileInserting = null) =>
        ClusterIngest.ShouldReadAllAsync(reader, acknowledged, because, RecoveryBound, answeredWhileInserting);

    private Task WaitUntilWritableAsync(ClickHouseClusterNode node) => ClusterIngest.WaitUntilWritableAsync(node, _database, RecoveryBound);

    private Task SyncReplicasAsync(ClickHouseClusterNode node) => ClusterIngest.SyncReplicasAsync(node, _database);
}
