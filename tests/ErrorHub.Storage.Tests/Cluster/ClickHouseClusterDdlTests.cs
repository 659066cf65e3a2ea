using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>The cluster form of DDL, as text: what any table added to a schema file becomes on a cluster.</summary>
public sealed class ClickHouseClusterDdlTests
{
    private static readonly Dictionary<string, string> Distributed = new() { ["events"] = "Distributed(prod, db, events_local, cityHash64(project_id, fingerprint))" };

    private readonly ClickHouseClusterDdl _ddl = new("prod");

    [Fact]
    public void A_small_table_becomes_one_replica_set_over_every_node_with_its_version_column()
    {
        var converted = _ddl.Convert("""
            CREATE TABLE IF NOT EXISTS `errorhub`.projects
            (
                id UInt32,
                version UInt64
            )
            ENGINE = ReplacingMergeTree(version)
            ORDER BY id
            """).Should().ContainSingle().Subject;

        converted.Sql.Should().Be("""
            CREATE TABLE IF NOT EXISTS `errorhub`.projects ON CLUSTER `prod`
            (
                id UInt32,
                version UInt64
            )
            ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/errorhub/projects', '{replica}', version)
            ORDER BY id
            """, "no {shard} in the path: every node of every shard holds the whole table");
        converted.Creates.Should().Be(ClickHouseClusterDdl.ObjectKind.Table);
        (converted.Database, converted.Table).Should().Be(("errorhub", "projects"));
    }

    [Theory]
    [InlineData("ENGINE = AggregatingMergeTree\nPARTITION BY toMonday(hour)", "ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/all/db/t', '{replica}')\nPARTITION BY toMonday(hour)")]
    [InlineData("ENGINE = SummingMergeTree()\nORDER BY a", "ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/all/db/t', '{replica}')\nORDER BY a")]
    [InlineData("ENGINE = MergeTree ORDER BY a", "ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/db/t', '{replica}') ORDER BY a")]
    [InlineData("engine=ReplacingMergeTree(v) ORDER BY a", "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/db/t', '{replica}', v) ORDER BY a")]
    public void Every_merge_tree_engine_becomes_its_replicated_variant(string engine, string expected)
    {
        _ddl.Convert($"CREATE TABLE IF NOT EXISTS db.t (a UInt32, v UInt64) {engine}").Should().ContainSingle().Which.Sql
            .Should().Be($"CREATE TABLE IF NOT EXISTS db.t ON CLUSTER `prod` (a UInt32, v UInt64) {expected}");
    }

    [Fact]
    public void A_table_that_grows_with_events_becomes_a_replicated_local_table_per_shard_under_a_distributed_table_of_its_own_name()
    {
        var statements = _ddl.Convert("""
            CREATE TABLE IF NOT EXISTS `db`.events
            (
                project_id UInt32,
                fingerprint String
            )
            -- cluster: sharded by cityHash64(project_id, fingerprint)
            ENGINE = ReplacingMergeTree
            ORDER BY (project_id, fingerprint)
            """);

        statements.Select(s => s.Sql).Should().Equal(
            """
            CREATE TABLE IF NOT EXISTS `db`.`events_local` ON CLUSTER `prod`
            (
                project_id UInt32,
                fingerprint String
            )
            -- cluster: sharded by cityHash64(project_id, fingerprint)
            ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/events_local', '{replica}')
            ORDER BY (project_id, fingerprint)
            """,
            "CREATE TABLE IF NOT EXISTS `db`.`events` ON CLUSTER `prod` AS `db`.`events_local` ENGINE = Distributed(`prod`, `db`, `events_local`, cityHash64(project_id, fingerprint))");
        statements.Select(s => s.Table).Should().Equal("events_local", "events");
    }

    [Fact]
    public void A_table_that_cannot_be_replicated_is_refused_rather_than_left_on_one_node()
    {
        var convert = () => _ddl.Convert("CREATE TABLE IF NOT EXISTS db.scratch (a UInt32) ENGINE = Log");

        convert.Should().Throw<InvalidOperationException>().WithMessage("*db.scratch*MergeTree-family*");
    }

    [Fact]
    public void A_view_and_the_database_are_made_on_every_node_and_a_view_reads_and_writes_the_local_tables_of_distributed_ones()
    {
        _ddl.Convert("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.v_mv TO `db`.v AS SELECT a FROM `db`.t").Should().ContainSingle().Which.Sql
            .Should().Be("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.v_mv ON CLUSTER `prod` TO `db`.v AS SELECT a FROM `db`.t");
        _ddl.Convert("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.issue_hourly_mv TO `db`.issue_hourly AS SELECT a FROM `db`.events", new Dictionary<string, string> { ["events"] = "Distributed(prod, db, events_local, rand())", ["issue_hourly"] = "Distributed(prod, db, issue_hourly_local, rand())" })
            .Should().ContainSingle().Which.Sql
            .Should().Be("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.issue_hourly_mv ON CLUSTER `prod` TO `db`.`issue_hourly_local` AS SELECT a FROM `db`.`events_local`");
        _ddl.Convert("CREATE DATABASE IF NOT EXISTS `db`").Should().ContainSingle().Which.Sql.Should().Be("CREATE DATABASE IF NOT EXISTS `db` ON CLUSTER `prod`");
    }

    [Fact]
    public void A_column_change_of_a_full_copy_is_left_to_its_replication_and_waits_for_every_replica()
    {
        // Not ON CLUSTER: 18.x's DDL worker can run an ALTER of a replicated table on two replicas, and then stops for good.
        var converted = _ddl.Convert("ALTER TABLE `db`.projects ADD COLUMN deleted UInt8").Should().ContainSingle().Subject;
        converted.Sql.Should().Be("ALTER TABLE `db`.projects ADD COLUMN deleted UInt8");
        converted.WaitForAllReplicas.Should().BeTrue();
    }

    [Fact]
    public void A_column_change_of_a_distributed_table_goes_to_every_shard_and_the_distributed_table_is_made_again_over_its_changed_local_tables()
    {
        _ddl.Convert("ALTER TABLE `db`.events ADD COLUMN grouping String", Distributed).Select(s => s.Sql).Should().Equal(
            "ALTER TABLE `db`.`events_local` ON CLUSTER `prod` ADD COLUMN grouping String",
            "DROP TABLE IF EXISTS `db`.`events` ON CLUSTER `prod`",
            "CREATE TABLE IF NOT EXISTS `db`.`events` ON CLUSTER `prod` AS `db`.`events_local` ENGINE = Distributed(prod, db, events_local, cityHash64(project_id, fingerprint))");

        var oneShard = _ddl.Convert("ALTER TABLE `db`.events ADD COLUMN grouping String", Distributed, oneShard: true);
        oneShard.Select(s => s.Sql).Should().Equal(
            "ALTER TABLE `db`.`events_local` ADD COLUMN grouping String",
            "DROP TABLE IF EXISTS `db`.`events` ON CLUSTER `prod`",
            "CREATE TABLE IF NOT EXISTS `db`.`events` ON CLUSTER `prod` AS `db`.`events_local` ENGINE = Distributed(prod, db, events_local, cityHash64(project_id, fingerprint))");
        oneShard[0].WaitForAllReplicas.Should().BeTrue("the Distributed table is made again on every node from its local table, which must have the column there");
    }

    [Fact]
    public void A_retired_table_is_dropped_on_every_node_with_the_local_part_it_may_have_each_only_where_this_node_still_has_it()
    {
        var converted = _ddl.Convert("DROP TABLE IF EXISTS `db`.`events_by_id`", Distributed);
        converted.Select(s => s.Sql).Should().Equal(
            "DROP TABLE IF EXISTS `db`.`events_by_id` ON CLUSTER `prod`",
            "DROP TABLE IF EXISTS `db`.`events_by_id_local` ON CLUSTER `prod`");
        converted.Should().OnlyContain(s => s.DropsExisting && !s.IsCreate, "an ON CLUSTER drop of what is gone here would wait for a node that may be down");
        converted.Select(s => s.Table).Should().Equal("events_by_id", "events_by_id_local");
        ClickHouseClusterDdl.DatabaseOf("DROP TABLE IF EXISTS `db`.`events_by_id_mv`").Should().Be("db");
        _ddl.Convert("DROP TABLE `db`.events ON CLUSTER `prod`").Should().ContainSingle().Which.Sql
            .Should().Be("DROP TABLE `db`.events ON CLUSTER `prod`", "a statement already in its cluster form is left alone");
    }

    [Fact]
    public void Row_changes_of_a_distributed_table_go_to_its_local_tables_on_every_shard_and_those_of_a_full_copy_stay_with_replication()
    {
        var distributed = Distributed;
        _ddl.Convert("ALTER TABLE `db`.events DELETE WHERE project_id = 1", distributed).Should().ContainSingle().Which.Sql
            .Should().Be("ALTER TABLE `db`.`events_local` ON CLUSTER `prod` DELETE WHERE project_id = 1");
        _ddl.Convert("ALTER TABLE `db`.events DROP PARTITION '2026-11-30'", distributed).Should().ContainSingle().Which.Sql
            .Should().Be("ALTER TABLE `db`.`events_local` ON CLUSTER `prod` DROP PARTITION '2026-11-30'");
        _ddl.Convert("ALTER TABLE `db`.events DELETE WHERE project_id = 1", distributed, oneShard: true).Should().ContainSingle().Which.Sql
            .Should().Be("ALTER TABLE `db`.`events_local` DELETE WHERE project_id = 1", "one shard's replication reaches every node");
        _ddl.Convert("ALTER TABLE `db`.events DROP PARTITION '2026-11-30'", distributed, oneShard: true).Should().ContainSingle().Which.Sql
            .Should().Be("ALTER TABLE `db`.`events_local` DROP PARTITION '2026-11-30'");
        foreach (var replicatedByItself in new[]
                 {
                     "ALTER TABLE `db`.issue_states DELETE WHERE project_id = 1",
                     "ALTER TABLE `db`.projects DROP PARTITION tuple()",
                     "INSERT INTO `db`.events SELECT 1",
                     "SELECT 1",
                 })
        {
            var converted = _ddl.Convert(replicatedByItself, distributed).Should().ContainSingle().Subject;
            converted.Sql.Should().BeSameAs(replicatedByItself);
            converted.IsCreate.Should().BeFalse();
        }
    }
}
