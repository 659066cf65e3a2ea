using ErrorHub.Storage.ClickHouse;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using static ErrorHub.Testing.Batches.SampleBatch;

namespace ErrorHub.Storage.Tests.Cluster;

/// <summary>
/// What the tests that run ingest processes on the cluster's nodes share: a process's settings for one node, batches of
/// fresh events, waiting until a node has every part its replicas announced, and checking that every acknowledged event
/// can be read.
/// </summary>
internal static class ClusterIngest
{
    public static Dictionary<string, string?> Settings(ClickHouseClusterNode node, string database) => new()
    {
        ["ErrorHub:Store:Kind"] = "clickhouse",
        ["ErrorHub:Store:ClickHouse:Url"] = node.Url.ToString(),
        ["ErrorHub:Store:ClickHouse:Database"] = database,
        ["ErrorHub:Store:ClickHouse:Cluster"] = ClickHouseClusterFixture.ClusterName,
        ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:30",
    };

    /// <summary>
    /// Every acknowledged event by id, and the issues' counts add up to exactly them (none lost, none twice): at once, or,
    /// for events inserted behind the answer (the journal), once they are all there <paramref name="within"/>. Events of
    /// <paramref name="answeredWhileInserting"/> (batches answered 503 because the store did not answer within ingest's
    /// bound, whose insert the node may still have completed) may be there too, each once: a 503 promises nothing stored
    /// only when the store refused; when it did not answer, the SDK's resend is what keeps the event.
    /// </summary>
    public static async Task ShouldReadAllAsync(
        IngestHost reader, List<Guid> acknowledged, string because, TimeSpan? within = null, IReadOnlyCollection<Guid>? answeredWhileInserting = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.Zero);
        var missing = new List<Guid>(acknowledged);
        while (true)
        {
            var stillMissing = new List<Guid>();
            foreach (var id in missing)
            {
                if (await reader.Issues.GetEventAsync(IngestHost.ProjectId, id) is null)
                {
                    stillMissing.Add(id);
                }
            }

            missing = stillMissing;
            if (missing.Count == 0 || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500);
        }

        missing.Should().BeEmpty(because);
        var alsoStored = 0;
        foreach (var id in answeredWhileInserting ?? [])
        {
            if (await reader.Issues.GetEventAsync(IngestHost.ProjectId, id) is not null)
            {
                alsoStored++;
            }
        }

        var issues = await reader.Issues.GetIssuesAsync(new IssueQuery(IngestHost.ProjectId) { Limit = 100 });
        issues.Items.Sum(issue => issue.EventCount).Should().Be(acknowledged.Count + alsoStored, because);
    }

    /// <summary>Whether the node's replicated tables of <paramref name="database"/> take writes (it has its ZooKeeper session) within <paramref name="bound"/>.</summary>
    public static async Task<bool> WaitUntilWritableAsync(ClickHouseClusterNode node, string database, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            var readOnly = await node.QueryAsync($"SELECT count() FROM system.replicas WHERE database = {ClickHouseSql.Quote(database)} AND (is_readonly OR is_session_expired)");
            if (readOnly.Trim() == "0")
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Waits, on the server, until the node has fetched every part its replicas announced (SYSTEM SYNC REPLICA): first for
    /// its ZooKeeper session, which a restarted node gets once its previous one expires.
    /// </summary>
    public static async Task SyncReplicasAsync(ClickHouseClusterNode node, string database)
    {
        (await WaitUntilWritableAsync(node, database, TimeSpan.FromSeconds(90))).Should().BeTrue($"{node.Name}'s replicas should be writable again");
        var tables = await node.QueryAsync($"SELECT table FROM system.replicas WHERE database = {ClickHouseSql.Quote(database)} FORMAT TabSeparated");
        foreach (var table in tables.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await node.QueryAsync($"SYSTEM SYNC REPLICA {ClickHouseSql.QuoteIdentifier(database)}.{ClickHouseSql.QuoteIdentifier(table)}");
        }
    }
}
