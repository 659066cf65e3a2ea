using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// Every store contract, on the cluster: the schema in its cluster form (replicated tables made ON CLUSTER)
/// and every query of the writer, readers, access, notification and retention parts against it.
/// ON CLUSTER DDL takes the cluster seconds per table, so the tests share one database made once and
/// emptied (TRUNCATE, replicated) before each test; the test of several processes creating one schema
/// gets a fresh database.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterStoreTests(ClickHouseClusterFixture cluster) : StoreContractTests
{
    private static readonly SemaphoreSlim SharedDatabaseLock = new(1, 1);
    private static readonly Dictionary<ClickHouseClusterFixture, string> SharedDatabases = [];

    private readonly List<string> _extraDatabases = [];
    private readonly List<HttpClient> _clients = [];
    private ServiceProvider? _services;

    private protected override async Task<ErrorHubStore> CreateStoreAsync()
    {
        var database = await EmptySharedDatabaseAsync();
        _services = new ServiceCollection()
            .AddLogging()
            .Configure<StoreOptions>(o =>
            {
                o.Kind = "clickhouse";
                o.ClickHouse.Url = cluster.Nodes[0].Url.ToString();
                o.ClickHouse.Database = database;
                o.ClickHouse.Cluster = ClickHouseClusterFixture.ClusterName;
            })
            .AddErrorHubStore()
            .BuildServiceProvider();
        return _services.GetRequiredService<ErrorHubStore>();
    }

    private async Task<string> EmptySharedDatabaseAsync()
    {
        await SharedDatabaseLock.WaitAsync();
        try
        {
            if (SharedDatabases.TryGetValue(cluster, out var database) && await TryEmptyAsync(database))
            {
                return database;
            }

            // First use, or a TRUNCATE that did not finish in time (18.16 can hold one behind a replicated
            // mutation an earlier test left running): a fresh database costs seconds, a hung test minutes.
            database = ClickHouseServerFixture.NewDatabaseName("cluster");
            await ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[0], _clients), database).Schema.EnsureSchemaAsync();
            SharedDatabases[cluster] = database;
            return database;
        }
        finally
        {
            SharedDatabaseLock.Release();
        }
    }

    private async Task<bool> TryEmptyAsync(string database)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            var tables = await cluster.Nodes[0].QueryAsync(
                $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(database)} AND engine LIKE 'Replicated%' FORMAT TabSeparated", bound.Token);
            foreach (var table in tables.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await cluster.Nodes[0].QueryAsync($"TRUNCATE TABLE {ClickHouseSql.QuoteIdentifier(database)}.{ClickHouseSql.QuoteIdentifier(table)}", bound.Token);
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private protected override Task<IReadOnlyList<ErrorHubStore>> CreateStoresSharingAFreshDatabaseAsync(int count)
    {
        var database = ClickHouseServerFixture.NewDatabaseName("fresh");
        _extraDatabases.Add(database);
        var stores = new List<ErrorHubStore>();
        for (var i = 0; i < count; i++)
        {
            // Separate processes on the same node: the tests read right after writing, before replication could be waited for.
            stores.Add(ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[0], _clients), database));
        }

        return Task.FromResult<IReadOnlyList<ErrorHubStore>>(stores);
    }

    private protected override async Task DestroyStoreAsync(ErrorHubStore store)
    {
        foreach (var database in _extraDatabases)
        {
            await ClusterClients.DropDatabaseAsync(cluster, database);
        }

        _clients.ForEach(c => c.Dispose());
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }
}

internal static class ClusterClients
{
    public static ClickHouseClient Create(ClickHouseClusterNode node, List<HttpClient> owned)
    {
        var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(2) };
        owned.Add(http);
        return new ClickHouseClient(http, new ClickHouseConnection(node.Url, Cluster: ClickHouseClusterFixture.ClusterName));
    }

    /// <summary>Drops a test's database on every node (and with its replicated tables, their replicas in ZooKeeper).</summary>
    public static async Task DropDatabaseAsync(ClickHouseClusterFixture cluster, string database)
    {
        foreach (var node in cluster.Nodes.Where(node => node.IsRunning))
        {
            await node.QueryAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(database)}");
        }
    }
}
