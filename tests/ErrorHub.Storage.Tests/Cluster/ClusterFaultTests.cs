using System.Diagnostics;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>What goes wrong on a real cluster says what it is: a node without ZooKeeper, a node that died.</summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterFaultTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private readonly List<HttpClient> _clients = [];

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public Task DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_node_that_cannot_reach_zookeeper_gets_no_on_cluster_statement_and_the_store_says_why_instead_of_killing_the_node()
    {
        await using var lonely = await cluster.StartNodeWithoutZooKeeperAsync();
        var store = ClickHouseDatabase.Open(ClusterClients.Create(lonely, _clients), ClickHouseServerFixture.NewDatabaseName("nozk"));

        var ensure = () => store.Schema.EnsureSchemaAsync();

        (await ensure.Should().ThrowAsync<ClickHouseException>()).Which.Message.Should()
            .Contain("no ZooKeeper session").And.Contain("ErrorHub:Store:ClickHouse:Cluster").And.Contain(lonely.Url.ToString());
        // ClickHouse 18.16 dies (SIGSEGV) on an ON CLUSTER statement sent before its DDL worker has a ZooKeeper session.
        (await lonely.QueryAsync("SELECT 1")).Trim().Should().Be("1", "the node is still up");
        lonely.HasDied.Should().BeFalse();
    }

    [Fact]
    public async Task A_node_that_died_on_its_own_fails_the_next_test_with_its_log_and_is_running_again_for_the_ones_after()
    {
        var node = cluster.Nodes[1];
        using (var process = Process.GetProcessById(node.ProcessId))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        var next = () => cluster.EnsureNodesRunAsync();

        (await next.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain($"ClickHouse {node.Name} died on its own").And.Contain("clickhouse-server.err.log (last lines)");
        node.IsRunning.Should().BeTrue();
        (await node.QueryAsync("SELECT count() FROM system.zookeeper WHERE path = '/'")).Trim().Should().NotBeEmpty();
        await cluster.EnsureNodesRunAsync();
    }
}
