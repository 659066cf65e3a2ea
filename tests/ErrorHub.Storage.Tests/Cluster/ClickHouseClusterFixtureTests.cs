using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

public sealed class ClickHouseClusterFixtureTests
{
    [Fact]
    public async Task Without_zookeeper_the_cluster_tests_fail_and_say_what_to_install()
    {
        var fixture = ClickHouseClusterFixture.Create("/usr/sbin/clickhouse-server", "/nonexistent/zookeeper.jar");

        var start = () => fixture.InitializeAsync();

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain("/nonexistent/zookeeper.jar")
            .And.Contain("apt-get install -y zookeeper")
            .And.Contain(ClickHouseClusterFixture.ZooKeeperJarVariable);
        await fixture.DisposeAsync();
    }
}
