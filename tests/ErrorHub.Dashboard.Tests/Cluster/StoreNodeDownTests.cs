using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.ClickHouse;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Dashboard.Tests.Cluster;

/// <summary>The dashboard on a ClickHouse cluster node that stops: what its users and its operator see.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseClusterCollectionDefinition : ICollectionFixture<ClickHouseClusterFixture>
{
    public const string Name = "ClickHouse cluster (dashboard)";
}

[Collection(ClickHouseClusterCollectionDefinition.Name)]
public sealed class StoreNodeDownTests(ClickHouseClusterFixture cluster) : IAsyncLifetime
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("dashnode");

    public Task InitializeAsync() => cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        foreach (var node in cluster.Nodes.Where(node => !node.IsRunning))
        {
            await node.StartAsync();
        }

        foreach (var node in cluster.Nodes)
        {
            await node.QueryAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(_database)}");
        }
    }

    private DashboardServer DashboardOn(ClickHouseClusterNode node, string? pageTimeout = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ErrorHub:Store:Kind"] = "clickhouse",
            ["ErrorHub:Store:ClickHouse:Url"] = node.Url.ToString(),
            ["ErrorHub:Store:ClickHouse:Database"] = _database,
            ["ErrorHub:Store:ClickHouse:Cluster"] = ClickHouseClusterFixture.ClusterName,
        };
        if (pageTimeout is not null)
        {
            settings["ErrorHub:Store:ClickHouse:PageTimeout"] = pageTimeout;
        }

        return DashboardServer.Start(settings);
    }

    [Fact]
    public async Task With_its_node_stopped_every_page_answers_a_clear_503_at_once_and_works_again_when_the_node_is_back()
    {
        var node = cluster.Nodes[0];
        using var dashboard = DashboardOn(node);
        using var client = await dashboard.SignedInClientAsync();
        string[] pages = ["projects/1/issues", "projects/1/issues/0123456789abcdef", "projects/1/releases", "/"];
        string[] api = ["api/projects/1/issues", "api/projects/1/issues/0123456789abcdef/activity"];
        foreach (var page in pages.Concat(api))
        {
            using var up = await GetAsync(client, page);
            up.StatusCode.Should().NotBe(HttpStatusCode.ServiceUnavailable, page);
            ((int)up.StatusCode).Should().BeLessThan(500, page);
        }

        await node.KillAsync();

        foreach (var page in pages)
        {
            using var down = await GetAsync(client, page);
            var body = await down.Content.ReadAsStringAsync();
            down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{page} cannot be read with the node stopped: {body}");
            down.Headers.RetryAfter!.Delta.Should().BePositive();
            body.Should().Contain("The store is not answering").And.NotContain("Exception").And.NotContain(node.Url.Authority, "the cause is for the log, not for visitors");
        }

        foreach (var call in api)
        {
            using var down = await GetAsync(client, call);
            down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, call);
            down.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
            (await down.Content.ReadAsStringAsync()).Should().Contain("the store cannot be read right now");
        }

        var outage = dashboard.Logs.Entries.Where(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal)).ToList();
        outage.Should().ContainSingle("one line when the outage begins, not one per request").Which.Level.Should().Be(LogLevel.Error);
        outage[0].Exception!.Message.Should().Contain(node.Url.ToString(), "the log says which node to look at");

        await node.StartAsync();
        foreach (var page in pages.Concat(api))
        {
            using var back = await GetAsync(client, page);
            ((int)back.StatusCode).Should().BeLessThan(500, $"{page} reads the node again, without a restart of the dashboard");
        }

        dashboard.Logs.Entries.Should().ContainSingle(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal) && e.Level == LogLevel.Information)
            .Which.Message.Should().Contain("answers again");
    }

    [Fact]
    public async Task With_its_node_hung_every_page_answers_a_clear_503_within_the_page_timeout_not_the_request_timeout()
    {
        var node = cluster.Nodes[0];
        // Short, so that the node is stopped for seconds only; RequestTimeout stays at its two minutes.
        using var dashboard = DashboardOn(node, pageTimeout: "00:00:02");
        using var client = await dashboard.SignedInClientAsync();
        string[] pages = ["projects/1/issues", "projects/1/issues/0123456789abcdef", "/"];
        const string api = "api/projects/1/issues";
        foreach (var page in pages.Append(api))
        {
            using var up = await GetAsync(client, page);
            ((int)up.StatusCode).Should().BeLessThan(500, page);
        }

        // Hung, not stopped: the kernel still accepts connections, and the node answers nothing.
        node.Hang();
        try
        {
            foreach (var page in pages)
            {
                using var hung = await GetAsync(client, page);
                var body = await hung.Content.ReadAsStringAsync();
                hung.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{page} cannot be read from a hung node: {body}");
                hung.Headers.RetryAfter!.Delta.Should().BePositive();
                body.Should().Contain("The store is not answering");
            }

            using var hungApi = await GetAsync(client, api);
            hungApi.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            node.Hang(hung: false);
        }

        var outage = dashboard.Logs.Entries.Where(e => e.Category.EndsWith("StoreOutagePages", StringComparison.Ordinal)).ToList();
        outage.Should().ContainSingle(e => e.Level == LogLevel.Error).Which.Exception!.Message.Should().Contain("did not start answering", "the log says the node hung");
        foreach (var page in pages.Append(api))
        {
            using var back = await GetAsync(client, page);
            ((int)back.StatusCode).Should().BeLessThan(500, $"{page} reads the node again once it runs");
        }
    }

    /// <summary>A hang ends here, well before the test run's own limit: a stopped node must be answered, not waited for.</summary>
    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string page)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await client.GetAsync(page, bound.Token);
    }
}
