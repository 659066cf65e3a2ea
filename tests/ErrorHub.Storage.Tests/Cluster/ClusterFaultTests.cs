using System.Diagnostics;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
    public async Task A_node_without_zookeeper_in_its_configuration_fails_the_start_at_once_naming_the_section_to_add()
    {
        await using var lonely = await cluster.StartNodeWithoutZooKeeperAsync(zooKeeperConfigured: false);
        using var host = StoreHost(lonely, ClickHouseServerFixture.NewDatabaseName("nozkconfig"), TimeSpan.FromMinutes(10));

        // No background retry: no wait gives a node a ZooKeeper its configuration does not name.
        var start = () => host.StartAsync();

        var refused = (await start.Should().ThrowAsync<ClickHouseException>()).Which;
        refused.Message.Should().Contain("has no <zookeeper> section in its configuration").And.Contain(lonely.Url.ToString());
        refused.StatusCode.Should().NotBeNull("the server's host reads an answered refusal as a misconfiguration: exit code 1 and this line");
        lonely.HasDied.Should().BeFalse();
    }

    [Fact]
    public async Task A_node_whose_zookeeper_stays_unreachable_is_tried_each_time_with_a_line_then_the_process_stops_after_the_wait_limit()
    {
        await using var lonely = await cluster.StartNodeWithoutZooKeeperAsync();
        var logs = new CapturingLoggerProvider();
        using var host = StoreHost(lonely, ClickHouseServerFixture.NewDatabaseName("nozkwait"), TimeSpan.FromSeconds(5), logs);
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStopping.Register(stopping.SetResult);

        await host.StartAsync();
        host.Services.GetRequiredService<StoreSchemaState>().IsReady.Should().BeFalse("ZooKeeper may still be starting: the process waits, not ready");
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(120));

        var failure = host.Services.GetRequiredService<StoreSchemaState>().StartFailure;
        failure.Should().BeOfType<TimeoutException>().Which.Message.Should()
            .Contain("within 00:00:05 (ErrorHub:Store:SchemaWaitLimit)").And.Contain("no ZooKeeper session");
        logs.Entries.Where(e => e.Message.StartsWith("Try ", StringComparison.Ordinal)).Should().NotBeEmpty("a line for each try");
        logs.Entries.Should().ContainSingle(e => e.Level == LogLevel.Critical && e.Message.Contains("Giving up"));
        await host.StopAsync();
    }

    /// <summary>A host with the store on <paramref name="node"/> in cluster mode, as a server process has it.</summary>
    private static IHost StoreHost(ClickHouseClusterNode node, string database, TimeSpan schemaWaitLimit, CapturingLoggerProvider? logs = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.Services.AddErrorHubStore();
        builder.Services.Configure<StoreOptions>(options =>
        {
            options.Kind = StoreOptions.ClickHouseKind;
            options.ClickHouse.Url = node.Url.ToString();
            options.ClickHouse.Database = database;
            options.ClickHouse.Cluster = ClickHouseClusterFixture.ClusterName;
            options.SchemaWaitLimit = schemaWaitLimit;
        });
        return builder.Build();
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
