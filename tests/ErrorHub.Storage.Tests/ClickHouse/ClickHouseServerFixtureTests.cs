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

    [Fact]
    public async Task A_server_it_starts_runs_with_the_environment_variables_it_was_given()
    {
        // What a benchmark passes to measure the server's allocator settings (MALLOC_CONF) must reach the server process.
        var binary = Environment.GetEnvironmentVariable(ClickHouseServerFixture.BinaryVariable) ?? "/usr/sbin/clickhouse-server";
        var fixture = ClickHouseServerFixture.Create(externalUrl: null, binary, new Dictionary<string, string> { ["ERRORHUB_FIXTURE_CHECK"] = "given-" + Guid.NewGuid().ToString("N") });
        try
        {
            await fixture.InitializeAsync();

            var environment = (await File.ReadAllTextAsync($"/proc/{fixture.ProcessId}/environ")).Split('\0');
            environment.Should().Contain("ERRORHUB_FIXTURE_CHECK=" + fixture.ServerEnvironment["ERRORHUB_FIXTURE_CHECK"]);
            environment.Should().Contain(variable => variable.StartsWith("PATH=", StringComparison.Ordinal), "the variables are added to the inherited environment, not instead of it");
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
