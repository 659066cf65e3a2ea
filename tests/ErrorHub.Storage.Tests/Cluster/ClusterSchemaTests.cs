using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>The schema on a real cluster: every table on every node, replicated or distributed over replicated local tables; upgrades reach every node.</summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class ClusterSchemaTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("schema");
    private readonly List<HttpClient> _clients = [];

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        await ClusterClients.DropDatabaseAsync(cluster, _database);
        _clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task A_cluster_name_the_nodes_do_not_know_is_refused_with_a_message_naming_the_setting_to_check()
    {
        // The node has its ZooKeeper session and a cluster of its own, only not the one configured: a typo in
        // ErrorHub:Store:ClickHouse:Cluster, which no retry mends.
        using var http = new HttpClient(ClickHouseClient.CreateHandler()) { Timeout = TimeSpan.FromMinutes(2) };
        var client = new ClickHouseClient(http, new ClickHouseConnection(cluster.Nodes[0].Url, Cluster: "no_such_cluster"));
        var store = ClickHouseDatabase.Open(client, _database);

        var refusal = (await store.Schema.Invoking(s => s.EnsureSchemaAsync(CancellationToken.None)).Should().ThrowAsync<ClickHouseException>()).Which;

        refusal.StatusCode.Should().NotBeNull("the node answered: a refusal, not an outage to wait out");
        refusal.Message.Should().Contain("no_such_cluster").And.Contain("check ErrorHub:Store:ClickHouse:Cluster").And.Contain("<remote_servers>");
    }

    [Fact]
    public async Task Every_table_of_the_schema_is_replicated_or_distributed_over_replicated_local_tables_on_every_node()
    {
        var store = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[0], _clients), _database);
        await store.Schema.EnsureSchemaAsync();

        var perNode = new List<string[]>();
        foreach (var node in cluster.Nodes)
        {
            var tables = await TablesAsync(node);
            tables.Should().NotBeEmpty();
            tables.Where(t => t.Engine != "MaterializedView").Should().OnlyContain(
                t => t.Engine.StartsWith("Replicated", StringComparison.Ordinal) || t.Engine == "Distributed",
                $"on {node.Name} a table that is neither replicated nor distributed would hold only what was written through that node");
            foreach (var (name, _) in tables.Where(t => t.Engine == "Distributed"))
            {
                tables.Should().Contain(t => t.Name == name + ClickHouseClusterDdl.LocalSuffix && t.Engine.StartsWith("Replicated", StringComparison.Ordinal),
                    $"the Distributed table {name} spreads over replicated local tables, or a shard's data lives on one node");
            }

            var paths = await node.QueryAsync($"SELECT table, zookeeper_path FROM system.replicas WHERE database = {ClickHouseSql.Quote(_database)} FORMAT TabSeparated");
            foreach (var (table, path) in paths.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).Select(p => (p[0], p[1])))
            {
                path.Should().Be(
                    table.EndsWith(ClickHouseClusterDdl.LocalSuffix, StringComparison.Ordinal) ? $"/clickhouse/tables/01/{_database}/{table}" : $"/clickhouse/tables/all/{_database}/{table}",
                    "a shard's local tables replicate within the shard, the small tables over every node");
            }

            perNode.Add(tables.Select(t => $"{t.Name} {t.Engine}").ToArray());
        }

        perNode[1].Should().Equal(perNode[0], "both nodes have the same tables and views");
        perNode[0].Should().Contain([
            "events Distributed", "events_local ReplicatedReplacingMergeTree", "issue_events Distributed", "issue_hourly Distributed",
            "issue_hourly_local ReplicatedAggregatingMergeTree", "issue_firsts Distributed", "issue_minutely Distributed", "issue_hourly_mv MaterializedView",
            "issue_totals Distributed", "issue_totals_local ReplicatedAggregatingMergeTree", "issue_totals_mv MaterializedView",
            "users ReplicatedReplacingMergeTree", "issue_states ReplicatedReplacingMergeTree", "projects ReplicatedReplacingMergeTree",
            "issue_bookmarks ReplicatedReplacingMergeTree", "saved_searches ReplicatedReplacingMergeTree", "pinned_searches ReplicatedReplacingMergeTree"]);
        foreach (var view in (await TablesAsync(cluster.Nodes[0])).Where(t => t.Engine == "MaterializedView"))
        {
            var definition = await cluster.Nodes[0].QueryAsync($"SHOW CREATE TABLE {ClickHouseSql.QuoteIdentifier(_database)}.{ClickHouseSql.QuoteIdentifier(view.Name)}");
            definition.Should().Contain("events_local").And.MatchRegex(@"TO \S+_local", $"{view.Name} reads the node's own events and writes its own shard's aggregates");
        }
    }

    [Fact]
    public async Task Upgrading_a_store_from_before_the_grouping_column_adds_it_on_every_node()
    {
        var store = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[0], _clients), _database);
        await store.Schema.EnsureSchemaAsync();
        var database = ClickHouseSql.QuoteIdentifier(_database);
        var onCluster = $"ON CLUSTER {ClickHouseClusterFixture.ClusterName}";
        // The previous release's schema: no issue_firsts, no grouping column.
        await cluster.Nodes[0].QueryAsync($"DROP TABLE {database}.issue_firsts_mv {onCluster}");
        await cluster.Nodes[0].QueryAsync($"DROP TABLE {database}.issue_firsts {onCluster}");
        await cluster.Nodes[0].QueryAsync($"DROP TABLE {database}.issue_firsts_local {onCluster}");
        var events = await cluster.Nodes[0].QueryAsync($"SELECT engine_full FROM system.tables WHERE database = {ClickHouseSql.Quote(_database)} AND name = 'events' FORMAT TabSeparatedRaw");
        // Replication takes it to the other node (ON CLUSTER could stop 18.16's DDL worker: docs/deployment.md).
        await cluster.Nodes[0].QueryAsync($"ALTER TABLE {database}.events_local DROP COLUMN grouping");
        await cluster.Nodes[0].QueryAsync($"DROP TABLE {database}.events {onCluster}");
        await cluster.Nodes[0].QueryAsync($"CREATE TABLE {database}.events {onCluster} AS {database}.events_local ENGINE = {events.Trim()}");

        // Upgraded by a process on the other node.
        var upgraded = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[1], _clients), _database);
        await upgraded.Schema.EnsureSchemaAsync();

        foreach (var node in cluster.Nodes)
        {
            var columns = await node.QueryAsync($"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(_database)} AND table = 'events'");
            columns.Split('\n').Should().Contain("grouping", $"{node.Name} has the added column");
            var localColumns = await node.QueryAsync($"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(_database)} AND table = 'events_local'");
            localColumns.Split('\n').Should().Contain("grouping", $"{node.Name}'s local events table has it too");
            (await TablesAsync(node)).Should().Contain([("issue_firsts", "Distributed"), ("issue_firsts_local", "ReplicatedAggregatingMergeTree"), ("issue_firsts_mv", "MaterializedView")]);
        }
    }

    [Fact]
    public async Task Upgrading_a_store_with_the_retired_event_id_table_drops_it_and_its_view_on_every_node()
    {
        var client = ClusterClients.Create(cluster.Nodes[0], _clients);
        var store = ClickHouseDatabase.Open(client, _database);
        await store.Schema.EnsureSchemaAsync();
        var database = ClickHouseSql.QuoteIdentifier(_database);
        // The previous release's id table and view, made as its schema made them (cluster form: Distributed over replicated local tables).
        await client.ExecuteAsync(
            $"""
            CREATE TABLE IF NOT EXISTS {database}.events_by_id (project_id UInt32, event_id UUID, timestamp DateTime('UTC'), fingerprint String)
            -- cluster: sharded by cityHash64(project_id, fingerprint)
            ENGINE = ReplacingMergeTree PARTITION BY toMonday(timestamp) ORDER BY (project_id, event_id)
            """, CancellationToken.None);
        await client.ExecuteAsync(
            $"CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.events_by_id_mv TO {database}.events_by_id AS SELECT project_id, event_id, timestamp, fingerprint FROM {database}.events",
            CancellationToken.None);
        foreach (var node in cluster.Nodes)
        {
            (await TablesAsync(node)).Select(t => t.Name).Should().Contain(["events_by_id", "events_by_id_local", "events_by_id_mv"], "the old schema is in place on every node");
        }

        // Upgraded by a process on the other node.
        var upgraded = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[1], _clients), _database);
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Schema.EnsureSchemaAsync();

        var e = TestEvents.Create(1, "fp", TestEvents.BaseTime);
        await upgraded.Events.InsertEventsAsync([e]);
        await SyncAsync(); // written through one node and read below through the other: replication is asynchronous without a quorum
        foreach (var node in cluster.Nodes)
        {
            (await TablesAsync(node)).Select(t => t.Name).Should().NotContain(name => name.StartsWith("events_by_id", StringComparison.Ordinal), $"{node.Name} no longer has the id table or its view");
        }

        (await store.Issues.GetEventAsync(1, e.EventId))!.EventId.Should().Be(e.EventId, "the event is found by id through either node");
    }

    [Fact]
    public async Task Upgrading_a_store_with_the_separate_search_table_rebuilds_issue_events_with_the_text_and_drops_it_on_every_node()
    {
        var client = ClusterClients.Create(cluster.Nodes[0], _clients);
        var store = ClickHouseDatabase.Open(client, _database);
        await store.Schema.EnsureSchemaAsync();
        var database = ClickHouseSql.QuoteIdentifier(_database);
        var old = TestEvents.Create(7, "fp-old", TestEvents.BaseTime.AddHours(-3), TestEvents.User("ada"), title: "Stored before the upgrade");

        // The previous release's schema, made as its schema made it (cluster form: Distributed over replicated local tables):
        // issue_events without the search text, issue_search with it, each fed by a view and holding the stored events.
        foreach (var statement in new[]
        {
            $"DROP TABLE IF EXISTS {database}.issue_events_mv",
            $"DROP TABLE IF EXISTS {database}.issue_events",
            $"""
            CREATE TABLE IF NOT EXISTS {database}.issue_events (project_id UInt32, fingerprint String, timestamp DateTime('UTC'), event_id UUID, level String,
                release String, environment String, server_name String, browser String, client_os String, user_hash UInt64, user_id String, user_email String,
                user_username String, user_ip String, url String)
            -- cluster: sharded by cityHash64(project_id, fingerprint)
            ENGINE = ReplacingMergeTree PARTITION BY toMonday(timestamp) ORDER BY (project_id, fingerprint, timestamp, event_id) SETTINGS index_granularity = 1024
            """,
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.issue_events_mv TO {database}.issue_events AS SELECT project_id, fingerprint, timestamp, event_id, level,
                release, environment, server_name, '' AS browser, '' AS client_os, user_hash, user_id, user_email, user_username, user_ip, url FROM {database}.events
            """,
            $"""
            CREATE TABLE IF NOT EXISTS {database}.issue_search (project_id UInt32, fingerprint String, timestamp DateTime('UTC'), event_id UUID, environment String,
                release String, level String, user_hash UInt64, search_text String)
            -- cluster: sharded by cityHash64(project_id, fingerprint)
            ENGINE = ReplacingMergeTree PARTITION BY toMonday(timestamp) ORDER BY (project_id, fingerprint, timestamp, event_id)
            """,
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.issue_search_mv TO {database}.issue_search AS SELECT project_id, fingerprint, timestamp, event_id,
                environment, release, level, user_hash, title AS search_text FROM {database}.events
            """,
        })
        {
            await client.ExecuteAsync(statement, CancellationToken.None);
        }

        await store.Events.InsertEventsAsync([old, TestEvents.Create(7, "fp-old", TestEvents.BaseTime.AddHours(-2), TestEvents.User("bob"), title: "Stored before the upgrade")]);
        foreach (var node in cluster.Nodes)
        {
            (await TablesAsync(node)).Select(t => t.Name).Should().Contain(["issue_search", "issue_search_local", "issue_search_mv"], "the old schema is in place on every node");
        }

        // Upgraded by a process on the other node, twice (the second finds nothing to do).
        var upgraded = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[1], _clients), _database);
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Schema.EnsureSchemaAsync();
        await SyncAsync();

        foreach (var node in cluster.Nodes)
        {
            var tables = await TablesAsync(node);
            tables.Select(t => t.Name).Should().NotContain(name => name.StartsWith("issue_search", StringComparison.Ordinal), $"{node.Name} no longer writes a second copy per event");
            tables.Should().Contain([("issue_events", "Distributed"), ("issue_events_local", "ReplicatedReplacingMergeTree"), ("issue_events_mv", "MaterializedView")]);
            var columns = await node.QueryAsync($"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(_database)} AND table = 'issue_events_local'");
            columns.Split('\n').Should().Contain("search_text", $"{node.Name}'s local issue_events has the text");
        }

        foreach (var reader in new[] { store, upgraded })
        {
            (await reader.Issues.GetIssuesAsync(new IssueQuery(7) { Filter = new() { Search = "before the upgrade" } })).Items.Select(i => i.Fingerprint)
                .Should().Equal(["fp-old"], "events stored before the upgrade are found by their text through either node");
            (await reader.Issues.GetIssueAsync(7, "fp-old"))!.EventCount.Should().Be(2, "the rebuilt table holds each stored event once");
            (await reader.Issues.GetAffectedUsersAsync(new AffectedUserQuery(7, "fp-old"))).TotalCount.Should().Be(2);
        }

        await upgraded.Events.InsertEventsAsync([old]); // a client's retry after the upgrade
        await upgraded.Events.InsertEventsAsync([TestEvents.Create(7, "fp-new", TestEvents.BaseTime.AddHours(-1), title: "Written after the upgrade")]);
        await SyncAsync(); // written through the other node: read through this one once its replica has the parts
        (await store.Issues.GetIssueAsync(7, "fp-old"))!.EventCount.Should().Be(2, "the duplicate check reads the rebuilt issue_events");
        (await store.Issues.GetIssuesAsync(new IssueQuery(7) { Filter = new() { Search = "after the upgrade" } })).Items.Select(i => i.Fingerprint).Should().Equal("fp-new");
    }

    [Fact]
    public async Task Repeated_column_changes_and_retention_stay_out_of_the_ddl_queue_and_on_cluster_ddl_still_runs_after_them()
    {
        // On 18.16 an ALTER of a replicated table sent ON CLUSTER to a shard of two replicas can run on both; the second one's
        // bookkeeping then fails and ends that node's DDL worker, after which every ON CLUSTER statement waits for it in vain.
        var client = ClusterClients.Create(cluster.Nodes[0], _clients);
        var store = ClickHouseDatabase.Open(client, _database);
        await store.Schema.EnsureSchemaAsync();
        var database = ClickHouseSql.QuoteIdentifier(_database);
        var cutoff = new DateTimeOffset(2025, 3, 10, 0, 0, 0, TimeSpan.Zero);
        // Project 2 keeps its events longer, so project 1's old week is not dropped whole: its rows go by mutation.
        var plan = new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [1] = cutoff, [2] = cutoff.AddDays(-30) }, null);

        for (var round = 1; round <= 3; round++)
        {
            await client.ExecuteAsync($"ALTER TABLE {database}.projects ADD COLUMN probe_{round} UInt8", CancellationToken.None);
            await client.ExecuteAsync($"ALTER TABLE {database}.events ADD COLUMN probe_{round} UInt8", CancellationToken.None);
            await store.Events.InsertEventsAsync([
                TestEvents.Create(1, "fp-old", cutoff.AddHours(-round)),
                TestEvents.Create(1, "fp-new", cutoff.AddHours(round)),
                TestEvents.Create(2, "fp-other", cutoff.AddDays(-1)),
            ]);
            (await store.Retention.DeleteExpiredAsync(plan)).Should().Be(1, $"round {round} expires project 1's one old event");
        }

        var queuedAlters = await cluster.Nodes[0].QueryAsync(
            $"SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl' AND position(value, {ClickHouseSql.Quote(_database)}) > 0 AND position(value, 'ALTER TABLE') > 0");
        queuedAlters.Trim().Should().Be("0", "replication carries a one-shard cluster's ALTERs to every node, without the DDL queue");
        await SyncAsync();
        foreach (var node in cluster.Nodes)
        {
            foreach (var table in new[] { "projects", "events", "events_local" })
            {
                var columns = await node.QueryAsync($"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(_database)} AND table = '{table}'");
                columns.Split('\n').Should().Contain(["probe_1", "probe_2", "probe_3"], $"{node.Name}'s {table} has every added column");
            }

            var kept = await node.QueryAsync($"SELECT fingerprint FROM {database}.events_local WHERE project_id = 1 ORDER BY timestamp FORMAT TabSeparated");
            kept.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(["fp-new", "fp-new", "fp-new"], $"{node.Name} lost project 1's expired events and kept the others");
        }

        // The DDL queue still works on both nodes.
        var probe = ClickHouseServerFixture.NewDatabaseName("ddlprobe");
        try
        {
            await cluster.Nodes[1].QueryAsync($"CREATE DATABASE {ClickHouseSql.QuoteIdentifier(probe)} ON CLUSTER {ClickHouseClusterFixture.ClusterName}");
            foreach (var node in cluster.Nodes)
            {
                (await node.QueryAsync($"SELECT count() FROM system.databases WHERE name = {ClickHouseSql.Quote(probe)}")).Trim().Should().Be("1", $"{node.Name} ran the ON CLUSTER statement");
            }
        }
        finally
        {
            await ClusterClients.DropDatabaseAsync(cluster, probe);
        }
    }

    [Fact]
    public async Task Users_and_issue_states_saved_through_one_node_are_seen_through_the_other()
    {
        var first = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[0], _clients), _database);
        await first.Schema.EnsureSchemaAsync();
        var second = ClickHouseDatabase.Open(ClusterClients.Create(cluster.Nodes[1], _clients), _database);
        await second.Schema.EnsureSchemaAsync();
        var user = new UserAccount(Guid.NewGuid(), "ada@example.com", "Ada", "hash", UserRole.Member, "stamp", TestEvents.BaseTime);
        var state = new IssueState(3, "fp-checkout", IssueStatus.Resolved, TestEvents.BaseTime) { ResolvedInRelease = "2.1.0" };

        (await first.Access.CreateUserAsync(user)).Should().BeTrue();
        await second.Notifications.States.SetStateAsync(state);
        await SyncAsync();

        (await second.Access.FindUserByEmailAsync("ada@example.com")).Should().BeEquivalentTo(user, "a second dashboard signs the same users in");
        (await first.Notifications.States.GetStateAsync(3, "fp-checkout")).Should().BeEquivalentTo(state, "a second dashboard shows the same triage");
    }

    private async Task SyncAsync()
    {
        foreach (var node in cluster.Nodes)
        {
            var tables = await node.QueryAsync($"SELECT table FROM system.replicas WHERE database = {ClickHouseSql.Quote(_database)} FORMAT TabSeparated");
            foreach (var table in tables.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await node.QueryAsync($"SYSTEM SYNC REPLICA {ClickHouseSql.QuoteIdentifier(_database)}.{ClickHouseSql.QuoteIdentifier(table)}");
            }
        }
    }

    private async Task<List<(string Name, string Engine)>> TablesAsync(ClickHouseClusterNode node)
    {
        var text = await node.QueryAsync($"SELECT name, engine FROM system.tables WHERE database = {ClickHouseSql.Quote(_database)} ORDER BY name FORMAT TabSeparated");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .Select(parts => (parts[0], parts[1]))
            .ToList();
    }
}
