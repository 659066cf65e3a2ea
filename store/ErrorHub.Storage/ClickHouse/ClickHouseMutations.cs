namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Waits for a database's <c>ALTER TABLE ... DELETE</c> mutations: ClickHouse runs them in the background (18.16 has no
/// setting that makes the statement wait), and a caller that deletes rows expects them gone when it answers.
/// </summary>
/// <remarks>
/// On a cluster this node's <c>system.mutations</c> is not enough: a replicated table's mutation is a ZooKeeper entry
/// that this node's replica loads in the background (right after the <c>ALTER</c> it may not list it yet), and every
/// other replica carries it out on its own time, while a reader on another node, or a Distributed read that picks
/// another replica, would still see the rows. So in cluster mode the wait is on ZooKeeper: each replica's
/// <c>mutation_pointer</c> names the last mutation it has finished, and every replica that is up must reach the
/// latest mutation there was when the wait began. A replica that is down catches up when it comes back.
/// </remarks>
internal static class ClickHouseMutations
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    public static async Task WaitAsync(ClickHouseClient client, string database, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Wait;
        var replicated = client.Cluster is null ? [] : await LatestMutationsAsync(client, database, cancellationToken);
        while (true)
        {
            var pending = await client.QueryAsync(
                $"SELECT count() AS n FROM system.mutations WHERE database = {ClickHouseSql.Quote(database)} AND is_done = 0",
                row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
                cancellationToken);
            if ((pending.Count == 0 || pending[0] == 0) && !await AnyReplicaBehindAsync(client, replicated, cancellationToken))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"ClickHouse did not finish deleting rows within {Wait}; the deletion goes on in the background.");
            }

            // Waiting on the server's background work, not on business time: the real clock is the right one.
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>
    /// The ZooKeeper path of every replica set of the database's replicated tables (every shard's, for a sharded table)
    /// with the latest mutation it has: what each of its replicas must have finished.
    /// </summary>
    private static async Task<IReadOnlyList<(string Path, string Mutation)>> LatestMutationsAsync(ClickHouseClient client, string database, CancellationToken cancellationToken)
    {
        var paths = await client.QueryAsync(
            $"SELECT zookeeper_path FROM system.replicas WHERE database = {ClickHouseSql.Quote(database)}",
            row => row.GetProperty("zookeeper_path").GetString() ?? "",
            cancellationToken);
        var shards = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths.Where(path => path.Length > 0))
        {
            shards.Add(path);
            // A sharded table's replica sets differ only in the shard's name (ClickHouseClusterDdl.ShardReplicaPath); the
            // ALTER went to every shard ON CLUSTER, and this node sees only its own shard's replica set in system.replicas.
            if (ShardedPath(path) is { } sharded && sharded.Shard != "all")
            {
                foreach (var shard in await ChildrenAsync(client, sharded.Root, cancellationToken))
                {
                    if (shard != "all" && await ExistsAsync(client, $"{sharded.Root}/{shard}", sharded.Table, cancellationToken))
                    {
                        shards.Add($"{sharded.Root}/{shard}/{sharded.Table}");
                    }
                }
            }
        }

        var latest = new List<(string, string)>();
        foreach (var path in shards)
        {
            var mutations = await ChildrenAsync(client, path + "/mutations", cancellationToken);
            if (mutations.Count > 0)
            {
                latest.Add((path, mutations.Max(StringComparer.Ordinal)!));
            }
        }

        return latest;
    }

    private static async Task<bool> AnyReplicaBehindAsync(ClickHouseClient client, IReadOnlyList<(string Path, string Mutation)> replicated, CancellationToken cancellationToken)
    {
        foreach (var (path, mutation) in replicated)
        {
            foreach (var replica in await ChildrenAsync(client, path + "/replicas", cancellationToken))
            {
                var nodes = await client.QueryAsync(
                    $"SELECT name, value FROM system.zookeeper WHERE path = {ClickHouseSql.Quote(path + "/replicas/" + replica)}",
                    row => (Name: row.GetProperty("name").GetString() ?? "", Value: row.GetProperty("value").GetString() ?? ""),
                    cancellationToken);
                var active = nodes.Any(node => node.Name == "is_active");
                var finished = nodes.FirstOrDefault(node => node.Name == "mutation_pointer").Value ?? "";
                if (active && string.CompareOrdinal(finished, mutation) < 0)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static async Task<IReadOnlyList<string>> ChildrenAsync(ClickHouseClient client, string path, CancellationToken cancellationToken) =>
        await client.QueryAsync(
            $"SELECT name FROM system.zookeeper WHERE path = {ClickHouseSql.Quote(path)}",
            row => row.GetProperty("name").GetString() ?? "",
            cancellationToken);

    /// <summary>Whether <paramref name="parent"/>/<paramref name="relative"/> exists: system.zookeeper fails on a path that does not.</summary>
    private static async Task<bool> ExistsAsync(ClickHouseClient client, string parent, string relative, CancellationToken cancellationToken)
    {
        foreach (var segment in relative.Split('/'))
        {
            if (!(await ChildrenAsync(client, parent, cancellationToken)).Contains(segment, StringComparer.Ordinal))
            {
                return false;
            }

            parent += "/" + segment;
        }

        return true;
    }

    /// <summary><c>/clickhouse/tables/{shard}/db/table</c> split around the shard's name; null for any other path.</summary>
    private static (string Root, string Shard, string Table)? ShardedPath(string path)
    {
        const string Root = "/clickhouse/tables";
        if (!path.StartsWith(Root + "/", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = path[(Root.Length + 1)..].Split('/', 2);
        return parts.Length == 2 ? (Root, parts[0], parts[1]) : null;
    }
}
