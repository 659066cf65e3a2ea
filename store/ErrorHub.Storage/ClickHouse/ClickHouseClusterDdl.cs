using System.Text.RegularExpressions;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Turns the single-server DDL of every schema part into its cluster form, so a table added to any schema file
/// works on a cluster without code of its own. Every statement that creates a table runs <c>ON CLUSTER</c> (a change
/// only where replication cannot carry it, below), and a table becomes one of two things:
/// <list type="bullet">
/// <item>A table whose statement says <c>-- cluster: sharded by &lt;expression&gt;</c> (the tables that grow with
/// the events) becomes <c>&lt;table&gt;_local</c>, a <c>Replicated*MergeTree</c> per shard
/// (<c>/clickhouse/tables/{shard}/db/&lt;table&gt;_local</c>), plus a <c>Distributed</c> table under the table's
/// own name, so readers and writers keep their SQL. Materialized views read and write the local tables: each shard
/// aggregates its own events, which the sharding key keeps together per issue.</item>
/// <item>Any other table is a full copy on every node: one <c>Replicated*MergeTree</c> replica set over the whole
/// cluster (<c>/clickhouse/tables/all/db/&lt;table&gt;</c>, no <c>{shard}</c>), which needs every node's
/// <c>replica</c> macro to be unique in the cluster.</item>
/// </list>
/// Row changes (<c>ALTER ... DELETE/UPDATE</c>, <c>DROP PARTITION</c>) of a Distributed table go to its local
/// tables on every shard; a column change goes to the local tables, and the Distributed table is made again over them.
/// An <c>ALTER</c> of a replicated table runs <c>ON CLUSTER</c> only where replication cannot carry it: to the other
/// shards of a cluster of several. ClickHouse 18.x's DDL worker can run such an ALTER on two replicas of one shard, and
/// the second one's bookkeeping error ends the worker for good: every later ON CLUSTER statement then waits for that node
/// until it restarts (docs/deployment.md).
/// </summary>
internal sealed partial class ClickHouseClusterDdl
{
    /// <summary>The suffix of a sharded table's replicated part under its Distributed table.</summary>
    public const string LocalSuffix = "_local";

    private readonly string _onCluster;

    public ClickHouseClusterDdl(string cluster)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        Cluster = cluster;
        _onCluster = " ON CLUSTER " + ClickHouseSql.QuoteIdentifier(cluster);
    }

    public string Cluster { get; }

    /// <summary>The ZooKeeper path of a sharded table's local part: one replica set per shard; <c>{shard}</c> comes from each node's macros.</summary>
    public static string ShardReplicaPath(string database, string table) => $"/clickhouse/tables/{{shard}}/{database}/{table}";

    /// <summary>The ZooKeeper path of a table every node holds whole: one replica set over the cluster.</summary>
    public static string FullCopyReplicaPath(string database, string table) => $"/clickhouse/tables/all/{database}/{table}";

    /// <summary>The database a statement creates or changes (null when it names none), so its Distributed tables can be looked up before <see cref="Convert"/>.</summary>
    public static string? DatabaseOf(string statement)
    {
        foreach (var pattern in new[] { CreateView(), CreateTable(), Alter(), DropTable() })
        {
            if (pattern.Match(statement) is { Success: true } match)
            {
                return Split(match.Groups["name"].Value).Database;
            }
        }

        return null;
    }

    /// <summary>
    /// The statements the cluster runs for <paramref name="statement"/>, in order; a statement that needs no cluster form
    /// comes back alone and unchanged. <paramref name="distributedTables"/>: the tables of the statement's database
    /// that are Distributed, with their engine as the server shows it (<c>system.tables.engine_full</c>; see
    /// <see cref="DatabaseOf"/>), which views and row changes must not touch directly. <paramref name="oneShard"/>: the
    /// cluster has a single shard, whose replication carries an ALTER of a local table to every node.
    /// </summary>
    public IReadOnlyList<ClusterStatement> Convert(string statement, IReadOnlyDictionary<string, string>? distributedTables = null, bool oneShard = false)
    {
        ArgumentNullException.ThrowIfNull(statement);
        distributedTables ??= new Dictionary<string, string>();
        if (CreateDatabase().Match(statement) is { Success: true } database)
        {
            return [new(Insert(statement, database.Groups["name"]), ObjectKind.Database, Unquote(database.Groups["name"].Value), null)];
        }

        if (CreateView().Match(statement) is { Success: true } view)
        {
            var (db, name) = Split(view.Groups["name"].Value);
            var withCluster = Insert(statement, view.Groups["name"]);
            return [new(db is null ? withCluster : ToLocalTables(withCluster, db, distributedTables), ObjectKind.Table, db, name)];
        }

        if (CreateTable().Match(statement) is { Success: true } table)
        {
            return ConvertTable(statement, table);
        }

        if (DropTable().Match(statement) is { Success: true } drop && Split(drop.Groups["name"].Value) is ({ } dropDb, var dropName))
        {
            // A retired table goes from every node, and so does the local part under it if it was sharded (whether or not
            // the Distributed table over it is still there after an interrupted upgrade). Each part is dropped only
            // where this node still has it, so a process starts while another node is down, as for a CREATE.
            var local = dropName + LocalSuffix;
            return
            [
                new(Insert(statement, drop.Groups["name"]), ObjectKind.None, dropDb, dropName) { DropsExisting = true },
                new($"DROP TABLE IF EXISTS {ClickHouseSql.QuoteIdentifier(dropDb)}.{ClickHouseSql.QuoteIdentifier(local)}{_onCluster}", ObjectKind.None, dropDb, local) { DropsExisting = true },
            ];
        }

        if (Alter().Match(statement) is { Success: true } alter)
        {
            var (db, name) = Split(alter.Groups["name"].Value);
            var sharded = db is not null && distributedTables.ContainsKey(name);
            if (ColumnChange().IsMatch(statement))
            {
                if (!sharded)
                {
                    // A full copy is one replica set over every node: its replication takes the change everywhere.
                    return [new(statement, ObjectKind.None, null, null) { WaitForAllReplicas = true }];
                }

                // 18.16 refuses ALTER ... ON CLUSTER of a table that is not replicated when the shards replicate
                // internally (code 371), and a Distributed table holds nothing but its columns: it is made again over
                // the changed local tables, which must all have the change by then.
                var (quotedDb, quotedName) = (ClickHouseSql.QuoteIdentifier(db!), ClickHouseSql.QuoteIdentifier(name));
                return
                [
                    new(ToLocalTable(statement, alter.Groups["name"], db!, name, oneShard), ObjectKind.None, null, null) { WaitForAllReplicas = oneShard },
                    new($"DROP TABLE IF EXISTS {quotedDb}.{quotedName}{_onCluster}", ObjectKind.None, null, null),
                    new($"CREATE TABLE IF NOT EXISTS {quotedDb}.{quotedName}{_onCluster} AS {quotedDb}.{ClickHouseSql.QuoteIdentifier(name + LocalSuffix)} ENGINE = {distributedTables[name]}",
                        ObjectKind.Table, db, name),
                ];
            }

            // Rows: a replicated table copies the change to its replicas by itself; a Distributed table has no rows of
            // its own, so the change goes to its local table on every shard.
            if (sharded)
            {
                return [new(ToLocalTable(statement, alter.Groups["name"], db!, name, oneShard), ObjectKind.None, null, null)];
            }
        }

        return [new(statement, ObjectKind.None, null, null)];
    }

    /// <summary>
    /// The statement that takes up this node's replica of a replicated table again, on this node alone, when the node lost
    /// the table but ZooKeeper still has its replica (a node whose data directory was wiped or replaced): <c>CREATE</c>
    /// refuses that replica as existing (code 253), <c>ATTACH</c> joins it, and the replica then fetches every part it lacks
    /// from the others. Null for a statement that does not create a replicated table.
    /// </summary>
    public string? AttachExistingReplica(ClusterStatement statement)
    {
        if (statement.Creates != ObjectKind.Table || !statement.Sql.Contains("ENGINE = Replicated", StringComparison.Ordinal))
        {
            return null;
        }

        var create = CreateTable().Match(statement.Sql);
        return create.Success ? "ATTACH TABLE " + statement.Sql[create.Groups["name"].Index..].Replace(_onCluster, "", StringComparison.Ordinal) : null;
    }

    private IReadOnlyList<ClusterStatement> ConvertTable(string statement, Match table)
    {
        var (db, name) = Split(table.Groups["name"].Value);
        if (db is null)
        {
            throw new InvalidOperationException($"A table of the schema must name its database: {ClickHouseException.Abbreviate(statement)}");
        }

        var shardingKey = ShardedBy().Match(statement) is { Success: true } sharded ? sharded.Groups["key"].Value.Trim() : null;
        var localName = shardingKey is null ? name : name + LocalSuffix;
        var withCluster = shardingKey is null ? Insert(statement, table.Groups["name"]) : Rename(statement, table.Groups["name"], db, localName);
        var engine = Engine().Match(withCluster);
        if (!engine.Success)
        {
            throw new InvalidOperationException(
                $"Table {db}.{name} has an engine that cannot be replicated: cluster mode needs a MergeTree-family engine. {ClickHouseException.Abbreviate(statement)}");
        }

        var arguments = engine.Groups["args"].Success && engine.Groups["args"].Value.Trim().Length > 0
            ? ", " + engine.Groups["args"].Value.Trim()
            : "";
        var path = shardingKey is null ? FullCopyReplicaPath(db, name) : ShardReplicaPath(db, localName);
        var replicated = $"ENGINE = Replicated{engine.Groups["family"].Value}MergeTree({ClickHouseSql.Quote(path)}, '{{replica}}'{arguments})";
        var local = new ClusterStatement(withCluster[..engine.Index] + replicated + withCluster[(engine.Index + engine.Length)..], ObjectKind.Table, db, localName);
        if (shardingKey is null)
        {
            return [local];
        }

        var qualifiedLocal = ClickHouseSql.QuoteIdentifier(db) + "." + ClickHouseSql.QuoteIdentifier(localName);
        var distributed = $"CREATE TABLE IF NOT EXISTS {ClickHouseSql.QuoteIdentifier(db)}.{ClickHouseSql.QuoteIdentifier(name)}{_onCluster} AS {qualifiedLocal} " +
            $"ENGINE = Distributed({ClickHouseSql.QuoteIdentifier(Cluster)}, {ClickHouseSql.QuoteIdentifier(db)}, {ClickHouseSql.QuoteIdentifier(localName)}, {shardingKey})";
        return [local, new ClusterStatement(distributed, ObjectKind.Table, db, name)];
    }

    /// <summary>Points a view's source and target at the local tables of Distributed ones: each node's view sees only the rows inserted on it.</summary>
    private static string ToLocalTables(string statement, string database, IReadOnlyDictionary<string, string> distributedTables)
    {
        foreach (var table in distributedTables.Keys)
        {
            var reference = new Regex(
                $@"(?<![\w`.]){Regex.Escape(ClickHouseSql.QuoteIdentifier(database))}\.`?{Regex.Escape(table)}`?(?![\w`])|(?<![\w`.])`?{Regex.Escape(database)}`?\.`?{Regex.Escape(table)}`?(?![\w`])",
                RegexOptions.CultureInvariant);
            statement = reference.Replace(statement, ClickHouseSql.QuoteIdentifier(database) + "." + ClickHouseSql.QuoteIdentifier(table + LocalSuffix));
        }

        return statement;
    }

    private string Insert(string statement, Group name) => statement.Insert(name.Index + name.Length, _onCluster);

    /// <summary>An ALTER of a Distributed table turned to its local tables: through this node's replica alone when one shard holds everything.</summary>
    private string ToLocalTable(string statement, Group name, string database, string table, bool oneShard) => oneShard
        ? statement[..name.Index] + ClickHouseSql.QuoteIdentifier(database) + "." + ClickHouseSql.QuoteIdentifier(table + LocalSuffix) + statement[(name.Index + name.Length)..]
        : Rename(statement, name, database, table + LocalSuffix);

    private string Rename(string statement, Group name, string database, string table) =>
        statement[..name.Index] + ClickHouseSql.QuoteIdentifier(database) + "." + ClickHouseSql.QuoteIdentifier(table) + _onCluster + statement[(name.Index + name.Length)..];

    private static (string? Database, string Name) Split(string qualified)
    {
        // Names are back-quoted by ClickHouseSql.QuoteIdentifier, which never leaves a bare '.' inside quotes for our plain identifiers.
        var dot = qualified.LastIndexOf('.');
        return dot < 0 ? (null, Unquote(qualified)) : (Unquote(qualified[..dot]), Unquote(qualified[(dot + 1)..]));
    }

    private static string Unquote(string name) => name.Length >= 2 && name[0] == '`' && name[^1] == '`' ? name[1..^1] : name;

    private const string Name = @"(?<name>(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)(?:\.(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*))?)";

    [GeneratedRegex(@"^\s*CREATE\s+DATABASE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + Name, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CreateDatabase();

    [GeneratedRegex(@"^\s*CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?" + Name, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CreateView();

    [GeneratedRegex(@"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?" + Name, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CreateTable();

    [GeneratedRegex(@"ENGINE\s*=\s*(?<family>Replacing|Aggregating|Summing|Collapsing|VersionedCollapsing|Graphite)?MergeTree\b(?:\s*\((?<args>[^)]*)\))?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Engine();

    [GeneratedRegex(@"^\s*--\s*cluster:\s*sharded\s+by\s+(?<key>.+?)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Multiline)]
    private static partial Regex ShardedBy();

    [GeneratedRegex(@"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?" + Name + @"\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DropTable();

    [GeneratedRegex(@"^\s*ALTER\s+TABLE\s+" + Name + @"\s", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Alter();

    [GeneratedRegex(@"^\s*ALTER\s+TABLE\s+\S+\s+(?:ADD|DROP|MODIFY|CLEAR|COMMENT)\s+COLUMN\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ColumnChange();

    internal enum ObjectKind
    {
        None,
        Database,
        Table,
    }

    /// <summary>A statement in its cluster form, and the object it creates (so a node that has it already need not ask the whole cluster).</summary>
    internal sealed record ClusterStatement(string Sql, ObjectKind Creates, string? Database, string? Table)
    {
        public bool IsCreate => Creates != ObjectKind.None;

        /// <summary>
        /// An ALTER sent to this node's replica instead of ON CLUSTER: it answers once every replica has the change, as
        /// ON CLUSTER did (otherwise a current server answers when this replica has it, and the next statement or a read
        /// through another node may not see it yet).
        /// </summary>
        public bool WaitForAllReplicas { get; init; }

        /// <summary>A DROP of <see cref="Table"/>: sent only while this node still has it (an ON CLUSTER statement waits for every node).</summary>
        public bool DropsExisting { get; init; }
    }
}
