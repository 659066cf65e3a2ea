using System.Net;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// The proof that ErrorHub runs on a cluster: two stateless ingest processes (real Kestrel over loopback),
/// each writing through its own ClickHouse node; one node is killed; nothing acknowledged is lost, reads
/// keep working through the other node, and the killed node catches up when it is back.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterFailoverTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private const int BatchesPerPhase = 6;
    private const int CopiesPerBatch = 4; // 12 events per batch

    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("failover");

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        // A failed run must not leave the next tests of the collection without a node.
        foreach (var node in cluster.Nodes.Where(node => !node.IsRunning))
        {
            await node.StartAsync();
        }

        await ClusterClients.DropDatabaseAsync(cluster, _database);
    }

    [Fact]
    public async Task A_killed_node_loses_no_acknowledged_event_reads_continue_on_the_other_and_it_catches_up_when_back()
    {
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        await using var ingestOnFirst = await IngestHost.StartAsync(Settings(first));
        await using var ingestOnSecond = await IngestHost.StartAsync(Settings(second));
        var acknowledged = new List<Guid>();

        // Both ingest processes take SDK batches; each writes through its own node.
        for (var i = 0; i < BatchesPerPhase; i++)
        {
            foreach (var ingest in new[] { ingestOnFirst, ingestOnSecond })
            {
                var (batch, ids) = FreshBatch();
                using var response = await ingest.PostAsync(Wire.Encode(batch), gzip: true);
                response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
                acknowledged.AddRange(ids);
            }
        }

        await SyncReplicasAsync(first);
        await SyncReplicasAsync(second);
        await ShouldReadAllAsync(ingestOnFirst, acknowledged, "the dashboard reading through the first node sees what both ingest processes took");
        await ShouldReadAllAsync(ingestOnSecond, acknowledged, "the dashboard reading through the second node sees what both ingest processes took");

        await first.KillAsync();

        var refused = new List<(WireMap Batch, Guid[] Ids)>();
        for (var i = 0; i < BatchesPerPhase; i++)
        {
            var (batch, ids) = FreshBatch();
            using (var survivor = await ingestOnSecond.PostAsync(Wire.Encode(batch), gzip: true))
            {
                survivor.StatusCode.Should().Be(HttpStatusCode.Accepted, "the surviving node takes writes alone");
                acknowledged.AddRange(ids);
            }

            var (orphan, orphanIds) = FreshBatch();
            using var onKilledNode = await ingestOnFirst.PostAsync(Wire.Encode(orphan), gzip: true);
            onKilledNode.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "an ingest whose node is down must not accept what it cannot store");
            onKilledNode.Headers.RetryAfter!.Delta.Should().BePositive("the SDK keeps the batch and sends it again later");
            refused.Add((orphan, orphanIds));
        }

        await ShouldReadAllAsync(ingestOnSecond, acknowledged, "every acknowledged event, from both ingest processes, is readable through the surviving node");

        // A process started while a node is down still starts: the schema exists here, so no ON CLUSTER statement waits for the dead node.
        await using (var startedDuringOutage = await IngestHost.StartAsync(Settings(second)))
        {
            var (batch, ids) = FreshBatch();
            using var response = await startedDuringOutage.PostAsync(Wire.Encode(batch), gzip: true);
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
            acknowledged.AddRange(ids);
        }

        await first.StartAsync();
        await SyncReplicasAsync(first);
        await ShouldReadAllAsync(ingestOnFirst, acknowledged, "the node that was down fetched what the other took meanwhile");

        // The SDK's retries of the refused batches now land, through either node.
        foreach (var (batch, ids) in refused)
        {
            using var retried = await ingestOnFirst.PostAsync(Wire.Encode(batch), gzip: true);
            retried.StatusCode.Should().Be(HttpStatusCode.Accepted, "the ingest on the restarted node takes batches again");
            acknowledged.AddRange(ids);
        }

        await SyncReplicasAsync(second);
        await ShouldReadAllAsync(ingestOnSecond, acknowledged, "and what the restarted node took replicates to the other");
        await ShouldReadAllAsync(ingestOnFirst, acknowledged, "and stays readable through the restarted node");
        ingestOnSecond.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task With_an_insert_quorum_of_two_an_acknowledged_event_is_on_both_nodes_and_one_node_down_means_503_not_a_weaker_promise()
    {
        var (first, second) = (cluster.Nodes[0], cluster.Nodes[1]);
        var quorum = Settings(first);
        quorum["ErrorHub:Store:ClickHouse:InsertQuorum"] = "2";
        await using var ingest = await IngestHost.StartAsync(quorum);
        await using var readerOnSecond = await IngestHost.StartAsync(Settings(second));

        var (batch, ids) = FreshBatch();
        using (var accepted = await ingest.PostAsync(Wire.Encode(batch), gzip: true))
        {
            accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        }

        // No waiting for replication: the quorum made the acknowledgement wait for the second replica.
        await ShouldReadAllAsync(readerOnSecond, [.. ids], "the second node had the events before the first acknowledged them");

        await second.KillAsync();
        var (refused, _) = FreshBatch();
        using var response = await ingest.PostAsync(Wire.Encode(refused), gzip: true);
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "with one of two replicas down the quorum cannot be met");
        response.Headers.RetryAfter!.Delta.Should().BePositive();
        await second.StartAsync();
    }

    private Dictionary<string, string?> Settings(ClickHouseClusterNode node) => ClusterIngest.Settings(node, _database);

    private static (WireMap Batch, Guid[] Ids) FreshBatch() => SampleBatch.WithFreshIds(CopiesPerBatch);

    private static Task ShouldReadAllAsync(IngestHost reader, List<Guid> acknowledged, string because) => ClusterIngest.ShouldReadAllAsync(reader, acknowledged, because);

    private Task SyncReplicasAsync(ClickHouseClusterNode node) => ClusterIngest.SyncReplicasAsync(node, _database);
}
