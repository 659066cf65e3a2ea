using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using FluentAssertions;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Ingest;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// Every store contract, on the cluster: the schema in its cluster form (replicated tables made ON CLUSTER)
/// and every query of the writer, readers, access, notification and retention parts against it.
/// ON CLUSTER DDL takes the cluster seconds per table, so the tests share one database made once and
/// emptied (every partition dropped on both replicas) before each test; the test of several processes creating one
/// schema gets a fresh database.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterStoreTests(ClickHouseClusterFixture cluster) : StoreContractTests
{
    private static readonly TimeSpan CleanupBound = TimeSpan.FromSeconds(30);
    private static readonly SemaphoreSlim SharedDatabaseLock = new(1, 1);
    private static readonly Dictionary<ClickHouseClusterFixture, string> SharedDatabases = [];

    private readonly List<string> _extraDatabases = [];
    private readonly List<HttpClient> _clients = [];
    private readonly CapturingLoggerProvider _logs = new();
    private ServiceProvider? _services;
    private string? _database;

    private protected override async Task<ErrorHubStore> CreateStoreAsync()
    {
        var database = _database = await EmptySharedDatabaseAsync();
        _services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(_logs))
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

    private protected override Task ReplaceStoredTriageAsync(int projectId, string fingerprint, string json) =>
        ClickHouseStoredTriage.ReplaceAsync(ClusterClients.Create(cluster.Nodes[0], _clients), _database!, projectId, fingerprint, json);

    [Fact]
    public async Task Events_are_stored_compressed_and_read_back_whole() =>
        await ClickHousePayloadChecks.Events_are_stored_compressed_and_read_back_whole(Store, ClusterClients.Create(cluster.Nodes[0], _clients), _database!);

    [Fact]
    public async Task A_plain_json_payload_of_an_earlier_release_still_reads() =>
        await ClickHousePayloadChecks.A_plain_json_payload_of_an_earlier_release_still_reads(Store, ClusterClients.Create(cluster.Nodes[0], _clients), _database!);

    [Fact]
    public async Task A_damaged_payload_leaves_out_its_event_and_nothing_else() =>
        await ClickHousePayloadChecks.A_damaged_payload_leaves_out_its_event_and_nothing_else(Store, ClusterClients.Create(cluster.Nodes[0], _clients), _database!, _logs);

    [Fact]
    public async Task An_events_frames_are_stored_in_its_payload_only_and_read_back_whole() =>
        await ClickHousePayloadChecks.An_events_frames_are_stored_in_its_payload_only_and_read_back_whole(Store, ClusterClients.Create(cluster.Nodes[0], _clients), _database!);

    [Fact]
    public async Task A_row_of_an_earlier_release_with_its_frames_in_columns_still_reads_the_same() =>
        await ClickHousePayloadChecks.A_row_of_an_earlier_release_with_its_frames_in_columns_still_reads_the_same(Store, ClusterClients.Create(cluster.Nodes[0], _clients), _database!);

    [Fact]
    public async Task A_deletion_answers_once_every_replica_has_removed_the_rows()
    {
        // A dashboard on the other node reads its own replica: rows deleted through the first node must be gone there
        // too when the call answers. The other replica is held back from carrying out the deletion until the call has
        // been seen waiting for it.
        const int project = 41;
        var ana = Guid.NewGuid();
        var other = cluster.Nodes[1];
        var table = $"{ClickHouseSql.QuoteIdentifier(_database!)}.{ClickHouseSql.QuoteIdentifier("issue_bookmarks")}";
        var countOnOther = $"SELECT count() FROM {table} WHERE project_id = {project} FORMAT TabSeparated";
        await Store.Bookmarks.SetBookmarksAsync(project, ana, ["fp-a", "fp-b"], bookmarked: true, TestEvents.BaseTime);
        using (var replicated = new CancellationTokenSource(CleanupBound))
        {
            while ((await other.QueryAsync(countOnOther, replicated.Token)).Trim() != "2")
            {
                await Task.Delay(100, replicated.Token);
            }
        }

        await other.QueryAsync($"SYSTEM STOP MERGES {table}");
        Task deletion;
        try
        {
            deletion = Store.Bookmarks.DeleteBookmarksAsync(project);
            var first = await Task.WhenAny(deletion, Task.Delay(TimeSpan.FromSeconds(3)));
            first.Should().NotBeSameAs(deletion, "the other replica still has the rows, and a reader there would see them");
        }
        finally
        {
            await other.QueryAsync($"SYSTEM START MERGES {table}");
        }

        await deletion.WaitAsync(CleanupBound);
        (await other.QueryAsync(countOnOther)).Trim().Should().Be("0", "the call answered once the other replica had removed them too");
        (await Store.Bookmarks.GetBookmarksAsync(project, ana)).Should().BeEmpty();
    }

    private async Task<string> EmptySharedDatabaseAsync()
    {
        await cluster.EnsureNodesRunAsync();
        await SharedDatabaseLock.WaitAsync();
        try
        {
            if (SharedDatabases.TryGetValue(cluster, out var database))
            {
                try
                {
                    await EmptyAsync(database);
                    return database;
                }
                catch
                {
                    // The next test starts on a fresh database rather than on whatever this one holds.
                    SharedDatabases.Remove(cluster);
                    throw;
                }
            }

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

    /// <summary>
    /// Drops every partition of every replicated table and waits until both replicas have (ALTER ... DROP PARTITION with
    /// replication_alter_partitions_sync=2). Not TRUNCATE: on 18.16 a TRUNCATE of a replicated table holds the table's lock
    /// while it waits for the replicas, whose replication queue needs that lock to drop the parts: sent to a replica that
    /// is not the table's leader it never ends (fixed in ClickHouse 19.14, docs/deployment.md).
    /// </summary>
    private async Task EmptyAsync(string database)
    {
        using var bound = new CancellationTokenSource(CleanupBound);
        var name = ClickHouseSql.Quote(database);
        try
        {
            var partitions = new HashSet<(string Table, string Partition)>();
            foreach (var node in cluster.Nodes)
            {
                var rows = await node.QueryAsync(
                    $"SELECT DISTINCT table, partition_id FROM system.parts WHERE database = {name} AND active AND table IN " +
                    $"(SELECT name FROM system.tables WHERE database = {name} AND engine LIKE 'Replicated%') FORMAT TabSeparated",
                    bound.Token);
                foreach (var row in rows.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')))
                {
                    partitions.Add((row[0], row[1]));
                }
            }

            foreach (var (table, partition) in partitions)
            {
                await cluster.Nodes[0].QueryAsync(
                    $"ALTER TABLE {ClickHouseSql.QuoteIdentifier(database)}.{ClickHouseSql.QuoteIdentifier(table)} DROP PARTITION ID {ClickHouseSql.Quote(partition)}",
                    "replication_alter_partitions_sync=2",
                    bound.Token);
            }
        }
        catch (OperationCanceledException ex) when (bound.IsCancellationRequested)
        {
            throw new TimeoutException($"Emptying the shared cluster database {database} took longer than {CleanupBound.TotalSeconds:0} s: a replica is stuck.", ex);
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

    private protected override int KnownSchemaVersion => ClickHouseSchema.Version;

    private protected override Task RecordSchemaVersionAsync(ErrorHubStore store, long version) =>
        ClickHouseSchemaVersions.RecordAsync(ClusterClients.Create(cluster.Nodes[0], _clients), store, version);

    private protected override Task<long> ReadSchemaVersionAsync(ErrorHubStore store) =>
        ClickHouseSchemaVersions.ReadAsync(ClusterClients.Create(cluster.Nodes[0], _clients), store);

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
