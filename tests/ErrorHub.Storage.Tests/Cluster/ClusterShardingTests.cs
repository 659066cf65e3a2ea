using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// The Distributed layout where it matters: two nodes that are two shards, so each holds only part of the events.
/// Writes through either node spread over both; every read through either node sees all of it, once.
/// </summary>
public sealed class ClusterShardingTests(ClickHouseTwoShardClusterFixture shards) : IClassFixture<ClickHouseTwoShardClusterFixture>, IAsyncLifetime
{
    private const int Project = 7;
    private const int Issues = 24;
    private static readonly DateTimeOffset T0 = TestEvents.BaseTime;

    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("shards");
    private readonly List<HttpClient> _clients = [];

    private ClickHouseClusterFixture Cluster => shards.Cluster;

    public Task InitializeAsync() => Cluster.EnsureNodesRunAsync();

    public async Task DisposeAsync()
    {
        await ClusterClients.DropDatabaseAsync(Cluster, _database);
        _clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task Issues_spread_over_both_shards_whole_and_reads_through_either_node_see_every_event_once_with_exact_counts()
    {
        var first = ClickHouseDatabase.Open(ClusterClients.Create(Cluster.Nodes[0], _clients), _database);
        await first.Schema.EnsureSchemaAsync();
        var second = ClickHouseDatabase.Open(ClusterClients.Create(Cluster.Nodes[1], _clients), _database);
        await second.Schema.EnsureSchemaAsync();
        var written = new List<ErrorEvent>();
        for (var issue = 0; issue < Issues; issue++)
        {
            var batch = Enumerable.Range(0, 3)
                .Select(i => TestEvents.Create(Project, $"fp-{issue:00}", T0.AddMinutes(issue).AddSeconds(i), TestEvents.User($"user-{i}")))
                .ToList();
            // Half the issues through each node; every issue's events in one batch.
            await (issue % 2 == 0 ? first : second).Events.InsertEventsAsync(batch);
            written.AddRange(batch);
        }

        // The same event again (an SDK retry) through the other node: it lands on its issue's shard and counts once.
        await second.Events.InsertEventsAsync([written[0]]);

        var perShard = new List<HashSet<string>>();
        foreach (var node in Cluster.Nodes)
        {
            var fingerprints = await node.QueryAsync(
                $"SELECT DISTINCT fingerprint FROM {ClickHouseSql.QuoteIdentifier(_database)}.events_local FORMAT TabSeparated");
            perShard.Add(fingerprints.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet());
        }

        perShard.Should().OnlyContain(issues => issues.Count > 0, "with two shards each holds some of the issues");
        perShard[0].Should().NotIntersectWith(perShard[1], "all of one issue's events live on one shard");
        perShard[0].Union(perShard[1]).Should().HaveCount(Issues);

        foreach (var store in new[] { first, second })
        {
            var page = await store.Issues.GetIssuesAsync(new IssueQuery(Project) { Limit = 100 });
            page.TotalCount.Should().Be(Issues);
            page.Items.Should().OnlyContain(issue => issue.EventCount == 3 && issue.UserCount == 3, "each issue's aggregates merge on its shard and across shards");
            page.Items.Select(issue => issue.Fingerprint).Should().OnlyHaveUniqueItems("an issue is one row however many shards answered");
            foreach (var e in written)
            {
                (await store.Issues.GetEventAsync(Project, e.EventId)).Should().BeEquivalentTo(e);
            }
        }
    }
}
