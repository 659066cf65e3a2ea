using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

public sealed class ClickHouseServerFixtureTests
{
    [Fact]
    public async Task Without_a_server_binary_or_url_the_tests_fail_and_say_what_to_do()
    {
        var fixture = ClickHouseServerFixture.Create(externalUrl: null, binary: "/nonexistent/clickhouse-server");

        var start = () => fixture.InitializeAsync();

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain("/nonexistent/clickhouse-server")
            .And.Contain("apt-get install -y clickhouse-server")
            .And.Contain(ClickHouseServerFixture.UrlVariable);
        await fixture.DisposeAsync();
    }
}
