namespace ErrorHub.Storage;

/// <summary>
/// Where ErrorHub keeps its data. A server binds it from the configuration section <c>ErrorHub:Store</c>
/// (environment variables: <c>ErrorHub__Store__Kind</c>, <c>ErrorHub__Store__ClickHouse__Url</c>, ...).
/// See docs/storage.md and docs/configuration.md.
/// </summary>
public sealed class StoreOptions
{
    public const string SectionName = "ErrorHub:Store";
    public const string SqliteKind = "sqlite";
    public const string ClickHouseKind = "clickhouse";

    /// <summary><c>sqlite</c> (default: one file, zero setup) or <c>clickhouse</c>.</summary>
    public string Kind { get; set; } = SqliteKind;

    /// <summary>Create missing tables when the host starts (default true).</summary>
    public bool EnsureSchemaOnStartup { get; set; } = true;

    /// <summary>
    /// How long a process that cannot create the store's tables at start (ClickHouse not reachable yet, a cluster's ZooKeeper
    /// still starting) keeps trying, not ready, before it gives up and exits with code 1. Default 10 minutes; between 1
    /// second and 7 days. docs/deployment.md.
    /// </summary>
    public TimeSpan SchemaWaitLimit { get; set; } = TimeSpan.FromMinutes(10);

    internal static readonly TimeSpan MaxSchemaWaitLimit = TimeSpan.FromDays(7);

    public SqliteStoreOptions Sqlite { get; set; } = new();

    public ClickHouseStoreOptions ClickHouse { get; set; } = new();

    /// <summary>What is wrong with these settings, one message per setting, each naming its <c>ErrorHub:Store</c> key.</summary>
    public IReadOnlyList<string> Validate() => StoreOptionsValidator.Problems(this);
}

public sealed class SqliteStoreOptions
{
    public const string DefaultFileName = "errorhub.db";

    /// <summary>
    /// The database file. Default <c>errorhub.db</c>; a server takes a relative path relative to its data
    /// directory (<c>ErrorHub:DataDirectory</c>, default <c>.errorhub</c> under the content root).
    /// </summary>
    public string? Path { get; set; }

    /// <summary>
    /// How long, in all, a change made from a dashboard page or API request waits for the file's write lock (behind this
    /// process's other writes, and another process's transaction, e.g. a backup) before it answers 503 with
    /// <c>Retry-After</c>. Default 10 seconds, at most 30. Ingest and background work wait SQLite's busy timeout of 30
    /// seconds for each write.
    /// </summary>
    public TimeSpan PageWriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal static readonly TimeSpan MaxPageWriteTimeout = TimeSpan.FromSeconds(30);
}

public sealed class ClickHouseStoreOptions
{
    /// <summary>The server's HTTP interface, e.g. <c>http://127.0.0.1:8123/</c>.</summary>
    public string? Url { get; set; }

    /// <summary>Database that holds ErrorHub's tables; created if missing. Default <c>errorhub</c>.</summary>
    public string Database { get; set; } = "errorhub";

    /// <summary>User name; when unset, the server's <c>default</c> user.</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    /// <summary>Time limit for one request (a large insert included). Default 2 minutes.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a dashboard page or API request waits for ClickHouse to start answering each of its queries before it
    /// answers 503 with <c>Retry-After</c> (a hung node). Default 15 seconds: ClickHouse starts answering a query once it
    /// has its first rows, which for a page's aggregations is when it is done, so a tight bound would turn a large
    /// install's slow page into an outage page. Background work (schema, retention, notifications) is bounded by
    /// <see cref="RequestTimeout"/> only.
    /// </summary>
    public TimeSpan PageTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The name of a cluster in the servers' <c>remote_servers</c>: tables are created <c>ON CLUSTER</c> as
    /// <c>Replicated*MergeTree</c>, so every node holds all data. Unset (default): one server. docs/deployment.md.
    /// </summary>
    public string? Cluster { get; set; }

    /// <summary>
    /// On a cluster, how many replicas must have written an insert before it is acknowledged (ClickHouse's
    /// <c>insert_quorum</c>). Default 0: the node written to. With N, fewer than N live replicas means refused events (503).
    /// </summary>
    public int InsertQuorum { get; set; }

    /// <summary>
    /// Whether inserts (and answers) travel gzip-compressed. Unset (default): compressed, except to a server on
    /// the loopback interface, where compressing costs both processes the CPU they share and saves no network.
    /// </summary>
    public bool? Compress { get; set; }
}
