using System.Net;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Dashboard.Tests.Cluster;

/// <summary>
/// The dashboard started on a cluster whose tables do not exist yet while ZooKeeper is down: it serves its "not answering"
/// page, and once ZooKeeper is back makes its tables, saves the configured project and offers the first admin's setup link
/// by itself.
/// </summary>
[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class StartOrderTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("dashstart");

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        // A failed run must not leave the next tests of the collection without ZooKeeper.
        await cluster.StartZooKeeperAsync();
        foreach (var node in cluster.Nodes)
        {
            await node.QueryAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(_database)}");
        }
    }

    [Fact]
    public async Task Started_with_zookeeper_down_before_its_tables_exist_it_answers_its_503_page_then_gets_ready_with_the_project_and_the_setup_link()
    {
        var node = cluster.Nodes[0];
        await cluster.StopZooKeeperAsync();
        using var dashboard = DashboardServer.Start(
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = node.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = _database,
                ["ErrorHub:Store:ClickHouse:Cluster"] = ClickHouseClusterFixture.ClusterName,
            },
            withAdmin: false);
        using var client = dashboard.NewClient();
        var link = dashboard.Services.GetRequiredService<SetupLink>();

        foreach (var page in new[] { "/", "login", link.RelativeUrl })
        {
            using var down = await client.GetAsync(page);
            var body = await down.Content.ReadAsStringAsync();
            down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{page}: nothing can be read before the tables exist ({body})");
            down.Headers.RetryAfter!.Delta.Should().BePositive();
            body.Should().Contain("The store is not answering").And.NotContain("Exception");
        }

        using (var api = await client.GetAsync("api/projects"))
        {
            api.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        using (var alive = await client.GetAsync("healthz"))
        {
            alive.StatusCode.Should().Be(HttpStatusCode.OK, "the process runs: a service manager must not restart it in a loop");
        }

        dashboard.Logs.Entries.Should().NotContain(e => e.Message.Contains("/setup?token="), "whether an account exists cannot be read yet");

        await cluster.StartZooKeeperAsync();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            using var ready = await client.GetAsync("readyz");
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            DateTime.UtcNow.Should().BeBefore(deadline, "the dashboard should make its tables and turn ready by itself once ZooKeeper is back");
            await Task.Delay(500);
        }

        (await dashboard.Projects.GetProjectAsync(1)).Should().NotBeNull("the configured project is saved once the tables exist")
            .And.BeEquivalentTo(new { Name = "Web shop" });
        dashboard.Logs.Entries.Should().Contain(e => e.Message.Contains("/setup?token=" + link.Secret, StringComparison.Ordinal), "the log tells where to set up, once it can tell");
        using var setup = await client.GetAsync(link.RelativeUrl);
        setup.StatusCode.Should().Be(HttpStatusCode.OK, "the setup page works once the store is ready");
    }
}
