using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The production store's database: its tables and views (<see cref="ClickHouseSchema"/>), and the
/// parts that share its client. Ingest only appends to <c>events</c>; issue lists come from
/// <c>issue_hourly</c>, which a materialized view keeps, so any number of ingest processes write
/// without coordinating. How duplicates are kept out of the counts: docs/storage.md.
/// </summary>
internal sealed class ClickHouseDatabase : IStoreSchema
{
    private const int TableAlreadyExists = 57;
    private const int DatabaseAlreadyExists = 82;
    private const int DuplicateColumn = 15;
    private const int IllegalColumn = 44;

    private readonly ClickHouseSchema _schema;
    private readonly ClickHouseAccessSchema _accessSchema;
    private readonly ClickHouseClient _client;
    private readonly ILogger _logger;
    private bool _announced;

    public ClickHouseDatabase(ClickHouseClient client, string database, ILogger? logger = null)
    {
        _client = client;
        _schema = new ClickHouseSchema(database);
        _accessSchema = new ClickHouseAccessSchema(_schema);
        _logger = logger ?? NullLogger.Instance;
    }

    public string Kind => StoreOptions.ClickHouseKind;

    public string Database => _schema.Database;

    /// <summary>The whole store on one database: its parts share the client.</summary>
    public static ErrorHubStore Open(ClickHouseClient client, string database, ILogger? logger = null)
    {
        var store = new ClickHouseDatabase(client, database, logger);
        var notifications = new ClickHouseNotificationSchema(store._schema);
        var merges = new ClickHouseMergeCache(client, notifications.IssueMerges);
        var issueMerges = new ClickHouseIssueMerges(client, notifications, merges);
        return new ErrorHubStore(
            store,
            new ClickHouseEventWriter(client, store._schema),
            new ClickHouseIssueReader(client, store._schema, merges, store._logger),
            new ClickHouseProjectStore(client, store._schema, store._accessSchema),
            new ClickHouseAccessStore(client, store._accessSchema),
            new ClickHouseRetention(client, store._schema))
        {
            Notifications = new NotificationStores(new ClickHouseIssueStates(client, notifications), new ClickHouseIssueActivity(client, notifications, merges, store._logger), new ClickHouseNotificationStore(client, notifications)),
            History = new ClickHouseIssueHistory(client, notifications),
            Merges = issueMerges,
            Bookmarks = new ClickHouseIssueBookmarks(client, notifications, issueMerges),
            SavedSearches = new ClickHouseSavedSearches(client, notifications),
            Releases = new ClickHouseReleaseReader(client, store._schema, merges),
        };
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        var version = await _client.GetServerVersionAsync(cancellationToken);
        if (!_announced)
        {
            // Once: a start that waits for ZooKeeper tries again every few seconds.
            StoreLog.UsingClickHouse(_logger, version, _client.Url, _schema.Database);
            _announced = true;
        }

        // A database made by an administrator may be used by an account that may not create databases.
        var databases = await _client.QueryAsync(
            $"SELECT name FROM system.databases WHERE name = {ClickHouseSql.Quote(_schema.Database)}",
            row => row.GetProperty("name").GetString(),
            cancellationToken);
        if (databases.Count == 0)
        {
            await CreateAsync(_schema.CreateDatabase, cancellationToken);
        }

        // A store made before one of the tables fed by a view existed has events to fill it from.
        var existingTables = databases.Count == 0 ? [] : (await _client.QueryAsync(
            $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND name IN ('events', 'issue_firsts', 'issue_events', 'issue_days', 'schema_versions')",
            row => row.GetProperty("name").GetString(),
            cancellationToken)).ToList();

        // Before any change: a database a newer build migrated is not touched (nor its version recorded over) by this one.
        var storedVersion = existingTables.Contains("schema_versions") ? await StoredVersionAsync(cancellationToken) : 0;
        StoreSchemaTooNewException.ThrowIfNewer(Kind, storedVersion, ClickHouseSchema.Version);
        if (existingTables.Contains("issue_events") && !await HasColumnAsync("issue_events", "search_text", cancellationToken))
        {
            // Made by a release before issue_search was folded into it: made again below and filled from the events.
            foreach (var statement in _schema.RebuildIssueEvents)
            {
                await _client.ExecuteAsync(statement, cancellationToken);
            }

            existingTables.Remove("issue_events");
        }

        var backfills = existingTables.Contains("events")
            ? new (string Table, string Statement)[]
            {
                ("issue_firsts", _schema.BackfillIssueFirsts),
                ("issue_events", _schema.BackfillIssueEvents),
                ("issue_days", _schema.BackfillIssueDays),
            }.Where(backfill => !existingTables.Contains(backfill.Table)).ToList()
            : [];
        if (existingTables.Contains("events") && storedVersion < 2)
        {
            // Filled (from issue_days, so after its own fill) until version 2 is recorded: an interrupted fill is run again
            // whole at the next start, which changes nothing it had already done (a maximum).
            backfills.Add(("issue_totals", _schema.BackfillIssueTotals));
        }
        foreach (var statement in _schema.Tables)
        {
            await CreateAsync(statement, cancellationToken);
        }

        await AddEventColumnsAsync(cancellationToken);
        foreach (var statement in _schema.Views.Concat(_accessSchema.Statements).Concat(new ClickHouseNotificationSchema(_schema).Statements))
        {
            await CreateAsync(statement, cancellationToken);
        }

        foreach (var statement in _schema.Retired)
        {
            await _client.ExecuteAsync(statement, cancellationToken);
        }

        foreach (var (_, statement) in backfills)
        {
            await _client.InsertSelectAsync(statement, cancellationToken);
        }

        await _accessSchema.UpgradeAsync(_client, cancellationToken);
        if (storedVersion < ClickHouseSchema.Version)
        {
            // Last, once every migration of this version is done: an interrupted start is migrated again by the next.
            await _client.InsertSelectAsync(_schema.RecordVersion, cancellationToken);
        }

        if (_client.Cluster is not null)
        {
            await WaitForFullCopiesAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Waits, bounded, until this node holds every row the other replicas have of the tables every node holds whole
    /// (projects and their keys and settings, users, triage, notifications). A node restarted empty takes up its
    /// replicas again and fetches their parts in the background; a process that read them before that would find no
    /// project and save its configured one over the cluster's (a new creation time, settings reset), or no user and offer
    /// to create the first admin. <c>SYSTEM SYNC REPLICA</c> cannot tell: on 18.16 it returned before the fetches were done
    /// (it waits on the queue in memory, which the replica fills from ZooKeeper in the background after the ATTACH, which
    /// itself queues the fetches in ZooKeeper). So the replica's state in ZooKeeper is read too: no part fetch left in its queue there
    /// nor in memory, and every entry of the shared log pulled. A node without its ZooKeeper session cannot fetch, nor
    /// take writes: it is not waited for (readiness reports it). The tables that grow with the events are not waited
    /// for: reads through the node see part of them until it has fetched them (docs/deployment.md).
    /// </summary>
    private async Task WaitForFullCopiesAsync(CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var logged = false;
        while (true)
        {
            var behind = await FullCopiesBehindAsync(cancellationToken);
            if (behind.Count == 0)
            {
                if (logged)
                {
                    StoreLog.ReplicasCaughtUp(_logger, _client.Url, DateTime.UtcNow - started);
                }

                return;
            }

            if (DateTime.UtcNow - started > CatchUpBound)
            {
                throw new ClickHouseException(
                    $"ClickHouse at {_client.Url} has not fetched the rows of {string.Join(", ", behind)} from the other replicas within {CatchUpBound} " +
                    "(a node restarted empty, or far behind): starting on it now could save this process's configured project or first admin over the " +
                    "cluster's. Check that the other replicas are up and reachable from this node (interserver_http_port), and system.replication_queue on it.",
                    errorCode: null,
                    HttpStatusCode.OK);
            }

            if (!logged)
            {
                StoreLog.WaitingForReplicas(_logger, _client.Url, string.Join(", ", behind), CatchUpBound);
                logged = true;
            }

            await Task.Delay(CatchUpPoll, cancellationToken);
        }
    }

    private static readonly TimeSpan CatchUpBound = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan CatchUpPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>The full-copy tables whose replica on this node lacks parts the others have; empty when none (or no ZooKeeper session).</summary>
    private async Task<IReadOnlyList<string>> FullCopiesBehindAsync(CancellationToken cancellationToken)
    {
        var replicas = await _client.QueryAsync(
            $"""
            SELECT table, zookeeper_path, replica_path, is_readonly OR is_session_expired AS no_session, inserts_in_queue, log_pointer, log_max_index
            FROM system.replicas
            WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND zookeeper_path LIKE {ClickHouseSql.Quote(ClickHouseClusterDdl.FullCopyReplicaPath(_schema.Database, "") + "%")}
            ORDER BY table
            """,
            row => (
                Table: row.GetProperty("table").GetString() ?? "",
                Path: row.GetProperty("zookeeper_path").GetString() ?? "",
                ReplicaPath: row.GetProperty("replica_path").GetString() ?? "",
                NoSession: ClickHouseClient.ReadInt64(row.GetProperty("no_session")) != 0,
                Fetches: ClickHouseClient.ReadInt64(row.GetProperty("inserts_in_queue")),
                LogPointer: ClickHouseClient.ReadInt64(row.GetProperty("log_pointer")),
                LogMaxIndex: ClickHouseClient.ReadInt64(row.GetProperty("log_max_index"))),
            cancellationToken);
        if (replicas.Any(replica => replica.NoSession))
        {
            return [];
        }

        var behind = new List<string>();
        foreach (var replica in replicas)
        {
            // log_pointer is the next entry of the shared log to pull; both are 0 when the log is empty or holds only
            // its first entry, which ZooKeeper tells apart.
            var logPulled = replica.LogPointer > replica.LogMaxIndex
                || (replica.LogPointer == 0 && await ZooKeeperChildrenAsync(replica.Path + "/log", cancellationToken) == 0);
            if (replica.Fetches > 0 || !logPulled || await ZooKeeperChildrenAsync(replica.ReplicaPath + "/queue", cancellationToken, fetchesOnly: true) > 0)
            {
                behind.Add(replica.Table);
            }
        }

        return behind;
    }

    /// <param name="fetchesOnly">Count only a queue's part fetches (<c>get</c> entries), not its merges, which a busy node always has.</param>
    private async Task<long> ZooKeeperChildrenAsync(string path, CancellationToken cancellationToken, bool fetchesOnly = false) =>
        (await _client.QueryAsync(
            $"SELECT count() AS n FROM system.zookeeper WHERE path = {ClickHouseSql.Quote(path)}{(fetchesOnly ? " AND position(value, '\\nget\\n') > 0" : "")}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
            cancellationToken)).Single();

    /// <summary>
    /// The highest version recorded in <c>schema_versions</c>; 0 when none is (a database made before they were). A table of
    /// that name whose <c>version</c> is not the UInt32 every build makes (another program's, one made by hand) is refused
    /// before anything is changed: its rows say nothing this build could trust.
    /// </summary>
    private async Task<long> StoredVersionAsync(CancellationToken cancellationToken)
    {
        var columns = await _client.QueryAsync(
            $"SELECT name, type FROM system.columns WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND table = 'schema_versions'",
            row => $"{row.GetProperty("name").GetString()} {row.GetProperty("type").GetString()}",
            cancellationToken);
        if (!columns.Contains("version UInt32"))
        {
            throw new StoreSchemaVersionUnknownException(
                $"the table {_schema.SchemaVersions} has columns no build of ErrorHub makes ({string.Join(", ", columns)}; ErrorHub's are version UInt32, " +
                "migrated_at DateTime('UTC')), so the store's schema version cannot be read: another program or a hand made it; nothing was changed. " +
                "Point ErrorHub:Store:ClickHouse:Database at ErrorHub's own database (a new one is made where none is), or rename that table");
        }

        return (await _client.QueryAsync(
            $"SELECT max(version) AS version FROM {_schema.SchemaVersions}",
            row => ClickHouseClient.ReadInt64(row.GetProperty("version")),
            cancellationToken)).SingleOrDefault();
    }

    private async Task<bool> HasColumnAsync(string table, string column, CancellationToken cancellationToken) =>
        (await _client.QueryAsync(
            $"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND table = {ClickHouseSql.Quote(table)} AND name = {ClickHouseSql.Quote(column)}",
            row => row.GetProperty("name").GetString(),
            cancellationToken)).Count > 0;

    /// <summary>An events table made by an earlier release lacks the newer columns; its events keep them empty.</summary>
    private async Task AddEventColumnsAsync(CancellationToken cancellationToken)
    {
        var existing = await _client.QueryAsync(
            $"SELECT name FROM system.columns WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND table = 'events'",
            row => row.GetProperty("name").GetString() ?? "",
            cancellationToken);
        foreach (var (name, type) in ClickHouseSchema.AddedEventColumns.Where(column => !existing.Contains(column.Name)))
        {
            try
            {
                await _client.ExecuteAsync($"ALTER TABLE {_schema.Events} ADD COLUMN {name} {type}", cancellationToken);
            }
            catch (ClickHouseException ex) when (ex.ErrorCode is DuplicateColumn or IllegalColumn)
            {
                // Another process added it first.
            }
        }
    }

    private async Task CreateAsync(string statement, CancellationToken cancellationToken)
    {
        try
        {
            await _client.ExecuteAsync(statement, cancellationToken);
        }
        catch (ClickHouseException ex) when (ex.ErrorCode is TableAlreadyExists or DatabaseAlreadyExists)
        {
            // Another process created it between our IF NOT EXISTS check and the create: the goal is met.
        }
    }

    public async Task CheckAsync(CancellationToken cancellationToken = default)
    {
        await _client.QueryAsync($"SELECT count() AS n FROM {_schema.Projects} WHERE id = 0", _ => 0, cancellationToken);
        if (_client.Cluster is null)
        {
            return;
        }

        // A node without its ZooKeeper session (ZooKeeper down, or out of this node's reach) still answers reads, but its
        // replicated tables are read-only: every insert fails. Not ready, so a load balancer sends events to a node that has one.
        var readOnly = await _client.QueryAsync(
            $"SELECT table FROM system.replicas WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND (is_readonly OR is_session_expired) ORDER BY table",
            row => row.GetProperty("table").GetString() ?? "",
            cancellationToken);
        if (readOnly.Count > 0)
        {
            throw new ClickHouseException(
                $"ClickHouse at {_client.Url} has no ZooKeeper session: {readOnly.Count} replicated tables of {_schema.Database} are read-only " +
                $"({string.Join(", ", readOnly.Take(3))}{(readOnly.Count > 3 ? ", ..." : "")}), so inserts fail until ZooKeeper answers it again.");
        }
    }
}
