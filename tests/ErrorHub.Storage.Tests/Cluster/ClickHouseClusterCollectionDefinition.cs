using ErrorHub.Testing.ClickHouse;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// The tests that need a ClickHouse cluster (ZooKeeper and two servers) share one; a collection of its own
/// runs beside the single-server tests instead of after them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseClusterCollectionDefinition : ICollectionFixture<ClickHouseClusterFixture>
{
    public const string Name = "ClickHouse cluster";
}
