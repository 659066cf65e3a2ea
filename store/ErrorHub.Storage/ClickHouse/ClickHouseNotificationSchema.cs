namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// The tables of notifications and the issue states they read, created after the event tables (the
/// per-minute aggregate's view reads <c>events</c>). Same rules as <see cref="ClickHouseSchema"/>:
/// only what 18.16 and current servers share.
/// </summary>
internal sealed class ClickHouseNotificationSchema(ClickHouseSchema schema)
{
    public string Database => schema.Database;

    public string Events => schema.Events;

    public string IssueHourly => schema.IssueHourly;

    public string IssueDays => schema.IssueDays;

    public string IssueEvents => schema.IssueEvents;

    public string IssueMinutely => Table("issue_minutely");

    public string IssueStates => Table("issue_states");

    public string IssueHistory => Table("issue_history");

    public string IssueMerges => Table("issue_merges");

    public string IssueBookmarks => Table("issue_bookmarks");

    public string SavedSearches => Table("saved_searches");

    public string PinnedSearches => Table("pinned_searches");

    public string Notifications => Table("notifications");

    public string Documents => Table("notification_documents");

    public string Leases => Table("leases");

    public string MailThreads => Table("mail_threads");

    public string IssueSubscriptions => Table("issue_subscriptions");

    public IReadOnlyList<string> Statements =>
    [
        // Events and users per issue, environment, level and minute: alert windows and the daily digest
        // count here instead of scanning events. Ordered by time first, since every read is a time range.
        $"""
        CREATE TABLE IF NOT EXISTS {IssueMinutely}
        (
            project_id UInt32,
            minute DateTime('UTC'),
            fingerprint String,
            environment String,
            level String,
            event_count AggregateFunction(count),
            user_count AggregateFunction(uniq, UInt64)
        )
        -- cluster: sharded by cityHash64(project_id, fingerprint)
        ENGINE = AggregatingMergeTree
        PARTITION BY toMonday(minute)
        ORDER BY (project_id, minute, fingerprint, environment, level)
        """,

        $"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {Table("issue_minutely_mv")} TO {IssueMinutely}
        AS SELECT
            project_id,
            toStartOfMinute(timestamp) AS minute,
            fingerprint,
            environment,
            level,
            countState() AS event_count,
            uniqStateIf(user_hash, user_hash != 0) AS user_count
        FROM {schema.Events}
        GROUP BY project_id, minute, fingerprint, environment, level
        """,

        // The latest row of an issue (by version) is its state.
        $"""
        CREATE TABLE IF NOT EXISTS {IssueStates}
        (
            project_id UInt32,
            fingerprint String,
            status String,
            changed_at DateTime('UTC'),
            resolved_in_release String,
            triage String,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, fingerprint)
        """,

        // Issue timelines (IIssueHistory): each entry written once; a deletion is a newer row of the entry.
        $"""
        CREATE TABLE IF NOT EXISTS {IssueHistory}
        (
            project_id UInt32,
            fingerprint String,
            id String,
            at_ms Int64,
            kind String,
            actor_id String,
            actor_name String,
            text String,
            value String,
            deleted UInt8,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, fingerprint, id)
        """,

        // Merged issues (IIssueMerges): the latest row of a fingerprint says which issue it is merged into ('' = none).
        $"""
        CREATE TABLE IF NOT EXISTS {IssueMerges}
        (
            project_id UInt32,
            fingerprint String,
            target String,
            merged_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, fingerprint)
        """,

        // Bookmarks (IIssueBookmarks): the latest row of a person's fingerprint says whether it is bookmarked.
        $"""
        CREATE TABLE IF NOT EXISTS {IssueBookmarks}
        (
            project_id UInt32,
            user_id String,
            fingerprint String,
            bookmarked UInt8,
            changed_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, user_id, fingerprint)
        """,

        // Saved searches (ISavedSearches): the latest row of an id is the search; deleted 1 when it was deleted.
        $"""
        CREATE TABLE IF NOT EXISTS {SavedSearches}
        (
            project_id UInt32,
            id String,
            owner_id String,
            name String,
            query String,
            created_by String,
            created_at DateTime('UTC'),
            deleted UInt8,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, id)
        """,

        // Pinned default searches: the latest row of a person's project is the pin; an empty pinned is none.
        $"""
        CREATE TABLE IF NOT EXISTS {PinnedSearches}
        (
            project_id UInt32,
            user_id String,
            pinned String,
            pinned_at DateTime('UTC'),
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, user_id)
        """,

        // The outbox: every change of a notification is a new row; the latest version is its state.
        // Times are unix milliseconds, as on SQLite, so cooldowns compare the same everywhere.
        $"""
        CREATE TABLE IF NOT EXISTS {Notifications}
        (
            project_id UInt32,
            id UUID,
            key String,
            grp String,
            state String,
            created_at Int64,
            next_attempt_at Int64,
            payload String,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, id)
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {Documents}
        (
            project_id UInt32,
            kind String,
            json String,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, kind)
        """,

        // The first mail about each issue, which later mails answer. Rows are never changed: of two servers that
        // started a thread at once, the earliest row (then the smallest message id) is the thread, for every reader.
        $"""
        CREATE TABLE IF NOT EXISTS {MailThreads}
        (
            project_id UInt32,
            fingerprint String,
            message_id String,
            subject String,
            started_at Int64
        )
        ENGINE = ReplacingMergeTree
        ORDER BY (project_id, fingerprint, started_at, message_id)
        """,

        // Who hears about each issue's workflow and why: the row of the highest version is a member's subscription. Versions
        // make the rules without reading first: a choice by hand is above every implied row (the latest choice wins), and of
        // implied rows the earliest is highest (the first reason stays).
        $"""
        CREATE TABLE IF NOT EXISTS {IssueSubscriptions}
        (
            project_id UInt32,
            fingerprint String,
            user_id String,
            subscribed UInt8,
            reason String,
            at_ms Int64,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY (project_id, fingerprint, user_id)
        """,

        $"""
        CREATE TABLE IF NOT EXISTS {Leases}
        (
            name String,
            holder String,
            expires_at Int64,
            version UInt64
        )
        ENGINE = ReplacingMergeTree(version)
        ORDER BY name
        """,
    ];

    private string Table(string name) => ClickHouseSql.QuoteIdentifier(schema.Database) + "." + name;
}
