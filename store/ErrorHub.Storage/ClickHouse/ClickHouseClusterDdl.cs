using System.Text.RegularExpressions;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Turns the single-server DDL of every schema part into its cluster form, so a table added to any
/// schema file is replicated without code of its own: <c>CREATE DATABASE</c>, <c>CREATE TABLE</c>,
/// <c>CREATE MATERIALIZED VIEW</c> and column <c>ALTER</c>s get <c>ON CLUSTER</c>, and a table's
/// <c>*MergeTree(args)</c> engine becomes <c>Replicated*MergeTree('/clickhouse/tables/{shard}/db/table', '{replica}', args)</c>.
/// Every node of the cluster holds all data (one shard): reads and writes go to the node's own
/// replicated tables, and the materialized views on each node feed that node's replicated aggregates.
/// </summary>
internal sealed partial class ClickHouseClusterDdl
{
    private readonly string _onCluster;

    public ClickHouseClusterDdl(string cluster)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        Cluster = cluster;
        _onCluster = " ON CLUSTER " + ClickHouseSql.QuoteIdentifier(cluster);
    }

    public string Cluster { get; }

    /// <summary>The ZooKeeper path of a replicated table: one per shard, database and table; <c>{shard}</c> comes from each node's macros.</summary>
    public static string ReplicaPath(string database, string table) => $"/clickhouse/tables/{{shard}}/{database}/{table}";

    /// <summary>The statement as the cluster runs it; statements that need no cluster form come back unchanged.</summary>
    public ClusterStatement Convert(string statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        if (CreateDatabase().Match(statement) is { Success: true } database)
        {
            return new(Insert(statement, database.Groups["name"]), ObjectKind.Database, Unquote(database.Groups["name"].Value), null);
        }

        if (CreateView().Match(statement) is { Success: true } view)
        {
            var (db, name) = Split(view.Groups["name"].Value);
            return new(Insert(statement, view.Groups["name"]), ObjectKind.Table, db, name);
        }

        if (CreateTable().Match(statement) is { Success: true } table)
        {
            var (db, name) = Split(table.Groups["name"].Value);
            if (db is null)
            {
                throw new InvalidOperationException($"A table of the schema must name its database: {ClickHouseException.Abbreviate(statement)}");
            }

            var withCluster = Insert(statement, table.Groups["name"]);
            var engine = Engine().Match(withCluster);
            if (!engine.Success)
            {
                throw new InvalidOperationException(
                    $"Table {db}.{name} has an engine that cannot be replicated: cluster mode needs a MergeTree-family engine. {ClickHouseException.Abbreviate(statement)}");
            }

            var arguments = engine.Groups["args"].Success && engine.Groups["args"].Value.Trim().Length > 0
                ? ", " + engine.Groups["args"].Value.Trim()
                : "";
            var replicated = $"ENGINE = Replicated{engine.Groups["family"].Value}MergeTree({ClickHouseSql.Quote(ReplicaPath(db, name))}, '{{replica}}'{arguments})";
            return new(withCluster[..engine.Index] + replicated + withCluster[(engine.Index + engine.Length)..], ObjectKind.Table, db, name);
        }

        if (AlterColumns().Match(statement) is { Success: true } alter)
        {
            return new(Insert(statement, alter.Groups["name"]), ObjectKind.None, null, null);
        }

        return new(statement, ObjectKind.None, null, null);
    }

    private string Insert(string statement, Group name) => statement.Insert(name.Index + name.Length, _onCluster);

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

    [GeneratedRegex(@"^\s*ALTER\s+TABLE\s+" + Name + @"\s+(?:ADD|DROP|MODIFY|CLEAR|COMMENT)\s+COLUMN\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AlterColumns();

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
    }
}
