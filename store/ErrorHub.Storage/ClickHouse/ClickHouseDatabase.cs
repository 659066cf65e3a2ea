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
            Merges = new ClickHouseIssueMerges(client, notifications, merges),
            Releases = new ClickHouseReleaseReader(client, store._schema, merges),
        };
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        var version = await _client.GetServerVersionAsync(cancellationToken);
        StoreLog.UsingClickHouse(_logger, version, _client.Url, _schema.Database);
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
            $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(_schema.Database)} AND name IN ('events', 'issue_firsts', 'issue_events', 'issue_days')",
            row => row.GetProperty("name").GetString(),
            cancellationToken)).ToList();
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
