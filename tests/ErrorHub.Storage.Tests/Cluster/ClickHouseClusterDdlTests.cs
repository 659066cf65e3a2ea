using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>The cluster form of DDL, as text: what any table added to a schema file becomes on a cluster.</summary>
public sealed class ClickHouseClusterDdlTests
{
    private readonly ClickHouseClusterDdl _ddl = new("prod");

    [Fact]
    public void A_replacing_table_becomes_replicated_with_its_version_column_and_a_path_per_database_and_table()
    {
        var converted = _ddl.Convert("""
            CREATE TABLE IF NOT EXISTS `errorhub`.projects
            (
                id UInt32,
                version UInt64
            )
            ENGINE = ReplacingMergeTree(version)
            ORDER BY id
            """);

        converted.Sql.Should().Be("""
            CREATE TABLE IF NOT EXISTS `errorhub`.projects ON CLUSTER `prod`
            (
                id UInt32,
                version UInt64
            )
            ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/errorhub/projects', '{replica}', version)
            ORDER BY id
            """);
        converted.Creates.Should().Be(ClickHouseClusterDdl.ObjectKind.Table);
        (converted.Database, converted.Table).Should().Be(("errorhub", "projects"));
    }

    [Theory]
    [InlineData("ENGINE = AggregatingMergeTree\nPARTITION BY toMonday(hour)", "ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}')\nPARTITION BY toMonday(hour)")]
    [InlineData("ENGINE = SummingMergeTree()\nORDER BY a", "ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}')\nORDER BY a")]
    [InlineData("ENGINE = MergeTree ORDER BY a", "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}') ORDER BY a")]
    [InlineData("engine=ReplacingMergeTree(v) ORDER BY a", "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', v) ORDER BY a")]
    public void Every_merge_tree_engine_becomes_its_replicated_variant(string engine, string expected)
    {
        _ddl.Convert($"CREATE TABLE IF NOT EXISTS db.t (a UInt32, v UInt64) {engine}").Sql
            .Should().Be($"CREATE TABLE IF NOT EXISTS db.t ON CLUSTER `prod` (a UInt32, v UInt64) {expected}");
    }

    [Fact]
    public void A_table_that_cannot_be_replicated_is_refused_rather_than_left_on_one_node()
    {
        var convert = () => _ddl.Convert("CREATE TABLE IF NOT EXISTS db.scratch (a UInt32) ENGINE = Log");

        convert.Should().Throw<InvalidOperationException>().WithMessage("*db.scratch*MergeTree-family*");
    }

    [Fact]
    public void A_view_and_the_database_are_made_on_every_node_and_the_view_keeps_its_local_source_and_target()
    {
        _ddl.Convert("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.v_mv TO `db`.v AS SELECT a FROM `db`.t").Sql
            .Should().Be("CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.v_mv ON CLUSTER `prod` TO `db`.v AS SELECT a FROM `db`.t");
        _ddl.Convert("CREATE DATABASE IF NOT EXISTS `db`").Sql.Should().Be("CREATE DATABASE IF NOT EXISTS `db` ON CLUSTER `prod`");
    }

    [Fact]
    public void Column_changes_run_on_the_cluster_and_row_changes_stay_with_replication()
    {
        _ddl.Convert("ALTER TABLE `db`.events ADD COLUMN grouping String").Sql
            .Should().Be("ALTER TABLE `db`.events ON CLUSTER `prod` ADD COLUMN grouping String");
        foreach (var replicatedByItself in new[]
                 {
                     "ALTER TABLE `db`.events DELETE WHERE project_id = 1",
                     "ALTER TABLE `db`.events DROP PARTITION '2026-11-30'",
                     "INSERT INTO `db`.events SELECT 1",
                     "SELECT 1",
                 })
        {
            var converted = _ddl.Convert(replicatedByItself);
            converted.Sql.Should().BeSameAs(replicatedByItself);
            converted.IsCreate.Should().BeFalse();
        }
    }
}
