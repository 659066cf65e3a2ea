namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// ErrorHub's tables on ClickHouse. A table that grows with the events says <c>-- cluster: sharded by ...</c>: on a
/// cluster it is spread over the shards by that key, which keeps each issue's rows on one shard so its aggregates and
/// duplicate events meet there (ClickHouseClusterDdl); every other table is a full copy on every node. Only features that 18.16 and current servers share: no
/// DateTime64, TTL, CODEC, skip indexes, SimpleAggregateFunction or LowCardinality. Times are
/// DateTime('UTC') so that hour and day buckets do not depend on the server's time zone.
/// </summary>
internal sealed class ClickHouseSchema(string database)
{
    public string Database { get; } = database;

    public string Events => Table("events");


    public string IssueHourly => Table("issue_hourly");

    public string IssueFirsts => Table("issue_firsts");

    public string IssueEvents => Table("issue_events");

    public string IssueDays => Table("issue_days");

    public string IssueTotals => Table("issue_totals");

    /// <summary>
    /// Joins the searchable fields in <c>issue_events.search_text</c>. A search without this character matches the
    /// joined text exactly when it matches one of the fields; a search with it reads the events' own columns.
    /// </summary>
    public const char SearchSeparator = '\u001F';

    public string Projects => Table("projects");

    /// <summary>
    /// The versions this database's schema was migrated to, one row each; the highest is the schema's version. An earlier
    /// build refuses a database of a version it does not know (<see cref="StoreSchemaTooNewException"/>). Raise
    /// <see cref="Version"/> with every change an earlier build could not work with.
    /// </summary>
    public string SchemaVersions => Table("schema_versions");

    /// <summary>
    /// The schema's version as this build makes it. 1: the first release that records it. 2: <c>issue_totals</c> filled
    /// (an earlier build would not remove expired issues from it).
    /// </summary>
    public const int Version = 2;

    /// <summary>Records <see cref="Version"/>; a second process doing the same adds a row the table's engine folds into this one.</summary>
    public string RecordVersion => $"INSERT INTO {SchemaVersions} (version, migrated_at) SELECT {Version}, now()";

    /// <summary>
    /// The database first, then tables, then the views that feed them, so no insert ever meets a
    /// half-made schema.
    /// </summary>
    public IReadOnlyList<string> Statements => [CreateDatabase, .. Tables, .. Views];

    public string CreateDatabase => $"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.QuoteIdentifier(Database)}";

    /// <summary>
    /// Fills <c>issue_firsts</c> from the events stored before it existed (a store made by an earlier
    /// release). argMin states merge to the same result however often a row is added, so running it
    /// again, from two processes, or while events arrive changes nothing.
    /// </summary>
    public string BackfillIssueFirsts => $"""
        INSERT INTO {IssueFirsts} (project_id, fingerprint, first_title, first_culprit, first_grouping)
        {IssueFirstsSelect}
        """;

    private string IssueFirstsSelect => $"""
        SELECT
            project_id,
            fingerprint,
            argMinState(title, toUnixTimestamp(timestamp)) AS first_title,
            argMinState(culprit, toUnixTimestamp(timestamp)) AS first_culprit,
            argMinState(grouping, toUnixTimestamp(timestamp)) AS first_grouping
        FROM {Events}
        GROUP BY project_id, fingerprint
        """;

    /// <summary>
    /// Fills <c>issue_events</c> from the events stored before it existed. Events inserted while this runs may get
    /// a second row; the table's engine removes it when parts merge, and event pages read one row per event id meanwhile.
    /// </summary>
    public string BackfillIssueEvents => $"""
        INSERT INTO {IssueEvents} ({IssueEventColumns})
        {IssueEventsSelect}
        """;

    /// <summary>
    /// Fills <c>issue_days</c> from the events stored before it existed. Only for a store that had events before the
    /// table was made: an event stored in the instant between the view's creation and this statement's start is
    /// counted twice there (the view saw it, and so does this); stop ingest during an upgrade for exact counts.
    /// </summary>
    public string BackfillIssueDays => $"""
        INSERT INTO {IssueDays} (project_id, environment, level, release, fingerprint, day, event_count, user_count, first_seen, last_seen)
        {IssueDaysSelect}
        """;

    /// <summary>
    /// Fills <c>issue_totals</c> from <c>issue_days</c> (its states as they are: the engine merges them). A maximum is the
    /// same however often a value is added, so running it again (an interrupted upgrade), from two processes, or while
    /// events arrive (the view adds them too) changes nothing.
    /// </summary>
    public string BackfillIssueTotals => $"""
        INSERT INTO {IssueTotals} (project_id, fingerprint, last_seen)
        SELECT project_id, fingerprint, last_seen FROM {IssueDays}
        """;

    private string IssueDaysSelect => $"""
        SELECT
            project_id,
            environment,
            level,
            release,
            fingerprint,
            toStartOfDay(timestamp) AS day,
            countState() AS event_count,
            uniqStateIf(user_hash, user_hash != 0) AS user_count,
            minState(toUnixTimestamp(timestamp)) AS first_seen,
            maxState(toUnixTimestamp(timestamp)) AS last_seen
        FROM {Events}
        GROUP BY project_id, environment, level, release, fingerprint, day
        """;

    private const string IssueEventColumns =
        "project_id, fingerprint, timestamp, event_id, level, release, environment, server_name, browser, client_os, user_hash, user_id, user_email, user_username, user_ip, url, search_text";

    /// <summary>
    /// An issue_events row of each event (an absent tag is index 0, which reads as an empty string), with the search's
    /// fields joined once (an exception's message is usually the event's message: equal fields are kept once, empty ones
    /// left out, which cannot change what a search without the separator matches).
    /// </summary>
    private string IssueEventsSelect => $"""
        SELECT project_id, fingerprint, timestamp, event_id, level, release, environment, server_name,
               tags.value[indexOf(tags.key, {ClickHouseSql.Quote(BreakdownQuery.BrowserTag)})] AS browser,
               tags.value[indexOf(tags.key, {ClickHouseSql.Quote(BreakdownQuery.OperatingSystemTag)})] AS client_os,
               user_hash, user_id, user_email, user_username, user_ip, url,
               arrayStringConcat(
                   arrayFilter(field -> field != '', arrayDistinct(arrayConcat([title, culprit, message, user_id, user_email, user_username], exceptions.type, exceptions.value))),
                   {ClickHouseSql.Quote(SearchSeparator.ToString())}) AS search_text
        FROM {Events}
        """;

    /// <summary>
    /// Rows per index mark of the tables read one event or one issue at a time (<c>events</c>, <c>issue_events</c>):
    /// ClickHouse reads whole granules, and a granule of the default 8,192 events holds some 25 MB of payload, which
    /// one event's page decompressed (90 ms on 18.16 against 7 ms at 1,024, measured on 1,000,000 events). A store made
    /// before keeps the granularity its tables were made with (ClickHouse cannot change it in place).
    /// </summary>
    public const int EventsIndexGranularity = 1024;

    public IReadOnlyList<string> Tables =>
    [
        $"""
        CREATE TABLE IF NOT EXISTS {SchemaVersions}
        (
            version UInt32,
            migrated_at DateTime('UTC')
        )
        ENGINE = ReplacingMergeTree
        ORDER BY version
        """,

        // One row per event. ReplacingMergeTree: rows with an equal sorting key (the same event
        // stored twice) collapse when parts merge; reads also take one row per event id.
        $"""
        CREATE TABLE IF NOT EXISTS {Events}
        (
            project_id UInt32,
            timestamp DateTime('UTC'),
            received_at DateTime('UTC'),
            event_id UUID,
            fingerprint String,
            grouping_version UInt16,
            level String,
            title String,
            culprit String,
            message String,
            logger String,
            platform String,
            release String,
            environment String,
            server_name String,
            exceptions Nested
            (
                type String,
                value String,
                module String
            ),
            frames Nested
            (
                exception_index UInt16,
                function String,
                type String,
                module String,
                file String,
                line_number UInt32,
                column_number UInt32,
                in_app UInt8
            ),
            user_id String,
            user_email String,
            user_username String,
            user_ip String,
            user_hash UInt64,
            http_method String,
            url String,
            tags Nested
            (
                key String,
                value String
            ),
            payload String,
            grouping String
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = ReplacingMergeTree
        PARTITION BY toMonday(timestamp)
        ORDER BY (project_id, toStartOfDay(timestamp), fingerprint, event_id)
        SETTINGS index_granularity = {EventsIndexGranularity}
        """,

        // Per issue and hour. Times inside the states are UInt32 seconds, which keeps the state
        // types free of time zones. user_count skips events without a user (hash 0).
        $"""
        CREATE TABLE IF NOT EXISTS {IssueHourly}
        (
            project_id UInt32,
            fingerprint String,
            hour DateTime('UTC'),
            event_count AggregateFunction(count),
            user_count AggregateFunction(uniq, UInt64),
            first_seen AggregateFunction(min, UInt32),
            last_seen AggregateFunction(max, UInt32),
            latest_title AggregateFunction(argMax, String, UInt32),
            latest_culprit AggregateFunction(argMax, String, UInt32),
            latest_level AggregateFunction(argMax, String, UInt32)
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = AggregatingMergeTree
        PARTITION BY toMonday(hour)
        ORDER BY (project_id, fingerprint, hour)
        """,

        // The first event's title, culprit and grouping per issue, which name the issue (and say why
        // it is one) so that it does not change its name with every event. A table of its own: on 18.16 a view must write every column
        // of its target, so adding these to issue_hourly would break the view of every existing store.
        $"""
        CREATE TABLE IF NOT EXISTS {IssueFirsts}
        (
            project_id UInt32,
            fingerprint String,
            first_title AggregateFunction(argMin, String, UInt32),
            first_culprit AggregateFunction(argMin, String, UInt32),
            first_grouping AggregateFunction(argMin, String, UInt32)
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = AggregatingMergeTree
        ORDER BY (project_id, fingerprint)
        """,

        // The events of each issue in time order, without what the issue page never reads (payload, frames, message):
        // its events table, breakdowns and affected users read one issue's rows here instead of scanning every day of events.
        // search_text is what the issue list's free-text search reads: per event, the searched fields joined in one column,
        // instead of the events' eight columns and two arrays. (It had a table of its own, issue_search, until every insert's
        // cost per table was measured: see Retired.)
        $"""
        CREATE TABLE IF NOT EXISTS {IssueEvents}
        (
            project_id UInt32,
            fingerprint String,
            timestamp DateTime('UTC'),
            event_id UUID,
            level String,
            release String,
            environment String,
            server_name String,
            browser String,
            client_os String,
            user_hash UInt64,
            user_id String,
            user_email String,
            user_username String,
            user_ip String,
            url String,
            search_text String
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = ReplacingMergeTree
        PARTITION BY toMonday(timestamp)
        ORDER BY (project_id, fingerprint, timestamp, event_id)
        SETTINGS index_granularity = {EventsIndexGranularity}
        """,

        // Per issue and day, split by environment, level and release: the issue list (unfiltered, by a range's whole
        // days, by environment, release or level) and the issue page's counts merge these rows, several times fewer
        // than issue_hourly's, instead of reading events. Keyed by the filters first (few values each) so that a filter
        // reads its own rows only. Days are whole UTC days, so retention's cutoffs (whole days) delete whole rows.
        $"""
        CREATE TABLE IF NOT EXISTS {IssueDays}
        (
            project_id UInt32,
            environment String,
            level String,
            release String,
            fingerprint String,
            day DateTime('UTC'),
            event_count AggregateFunction(count),
            user_count AggregateFunction(uniq, UInt64),
            first_seen AggregateFunction(min, UInt32),
            last_seen AggregateFunction(max, UInt32)
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = AggregatingMergeTree
        PARTITION BY toMonday(day)
        ORDER BY (project_id, environment, level, release, fingerprint, day)
        """,

        // One row per issue with its last second, for the list's default order (last seen, unfiltered) and its count: the
        // page is chosen here without grouping issue_days, whose rows are per issue and day. Only a maximum, so that it
        // stays exact whatever is added twice (the upgrade's fill, a view) and under retention, which deletes the rows
        // whose last second is before the cutoff (an issue has an event left exactly when its maximum is past it).
        $"""
        CREATE TABLE IF NOT EXISTS {IssueTotals}
        (
            project_id UInt32,
            fingerprint String,
            last_seen AggregateFunction(max, UInt32)
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = AggregatingMergeTree
        ORDER BY (project_id, fingerprint)
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {Projects}
        (
            id UInt32,
            name String,
            public_key String,
            created_at DateTime('UTC'),
            version UInt64,
            {string.Join(",\n    ", AddedProjectColumns.Select(column => column.Name + " " + column.Type))}
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY id
        """,
    ];

    /// <summary>
    /// What earlier releases made and no release writes or reads any more, dropped when the schema is ensured: views first,
    /// so that no insert feeds a table being dropped. <c>events_by_id</c> (an event's time and issue by its id) cost every
    /// insert a part of its own; <c>issue_events</c>, which every event also reaches, answers the same look-ups
    /// (docs/storage.md, "Finding an event by its id"). <c>issue_search</c> held per event the same key and filter columns
    /// as <c>issue_events</c> plus the joined search text: a second part per insert and a second table's merges for one
    /// column, which <c>issue_events</c> now holds (docs/storage.md, <c>issue_events</c>).
    /// </summary>
    public IReadOnlyList<string> Retired =>
    [
        $"DROP TABLE IF EXISTS {Table("events_by_id_mv")}",
        $"DROP TABLE IF EXISTS {Table("events_by_id")}",
        $"DROP TABLE IF EXISTS {Table("issue_search_mv")}",
        $"DROP TABLE IF EXISTS {Table("issue_search")}",
    ];

    /// <summary>
    /// An <c>issue_events</c> made before it held <c>search_text</c> is made again (view and table) and filled from the
    /// events: on 18.16 a view must write every column of its target, so the column cannot be added under a running view,
    /// and the rows it has cannot get their text from anything but the events.
    /// </summary>
    public IReadOnlyList<string> RebuildIssueEvents =>
    [
        $"DROP TABLE IF EXISTS {Table("issue_events_mv")}",
        $"DROP TABLE IF EXISTS {IssueEvents}",
    ];

    public IReadOnlyList<string> Views =>
    [
        $"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {Table("issue_hourly_mv")} TO {IssueHourly}
        AS SELECT
            project_id,
            fingerprint,
            toStartOfHour(timestamp) AS hour,
            countState() AS event_count,
            uniqStateIf(user_hash, user_hash != 0) AS user_count,
            minState(toUnixTimestamp(timestamp)) AS first_seen,
            maxState(toUnixTimestamp(timestamp)) AS last_seen,
            argMaxState(title, toUnixTimestamp(timestamp)) AS latest_title,
            argMaxState(culprit, toUnixTimestamp(timestamp)) AS latest_culprit,
            argMaxState(level, toUnixTimestamp(timestamp)) AS latest_level
        FROM {Events}
        GROUP BY project_id, fingerprint, hour
        """,

        $"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {Table("issue_firsts_mv")} TO {IssueFirsts}
        AS {IssueFirstsSelect}
        """,

        $"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {Table("issue_events_mv")} TO {IssueEvents}
        AS {IssueEventsSelect}
        """,

        $"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {Table("issue_days_mv")} TO {IssueDays}
        AS {IssueDaysSelect}
        """,

        $"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {Table("issue_totals_mv")} TO {IssueTotals}
        AS SELECT project_id, fingerprint, maxState(toUnixTimestamp(timestamp)) AS last_seen
        FROM {Events}
        GROUP BY project_id, fingerprint
        """,

    ];

    /// <summary>
    /// Columns added to the events table after its first release, with their types: an older store gets
    /// them (empty for the events it has) before the views that read them are made.
    /// </summary>
    /// <summary>
    /// The columns that releases after the first added to <c>projects</c>, in the order they were added: an older table gets
    /// them by <c>ALTER</c> (ClickHouseAccessSchema), a new one has them from its <c>CREATE</c>, in the same order. On a
    /// cluster the order matters: a replica made later (a node added, or one whose disk was replaced) must be created with
    /// exactly the columns ZooKeeper holds for the table, or ClickHouse refuses it (code 122).
    /// </summary>
    public static IReadOnlyList<(string Name, string Type)> AddedProjectColumns { get; } =
    [
        ("deleted", "UInt8"),
        ("deleted_at", "DateTime('UTC')"),
        ("rate_limit_per_minute", "UInt32"),
        ("retention_days", "UInt32"),
    ];

    public static IReadOnlyList<(string Name, string Type)> AddedEventColumns { get; } = [("grouping", "String")];

    public string Table(string name) => ClickHouseSql.QuoteIdentifier(Database) + "." + name;
}
