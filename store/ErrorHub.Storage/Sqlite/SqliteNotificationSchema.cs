namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// The embedded store's tables for notifications and the issue states they read, created with the
/// rest of the schema (every statement is idempotent, so an existing file gains them at its next start).
/// </summary>
internal static class SqliteNotificationSchema
{
    public const string CreateStatements = """
        -- Windows of activity (alert rules, the daily digest) are ranges of event time per project.
        CREATE INDEX IF NOT EXISTS events_by_time ON events (project_id, timestamp);

        CREATE TABLE IF NOT EXISTS issue_states (
            project_id           INTEGER NOT NULL,
            fingerprint          TEXT    NOT NULL,
            status               TEXT    NOT NULL, -- unresolved, resolved, ignored
            changed_at           INTEGER NOT NULL, -- unix seconds
            resolved_in_release  TEXT,
            triage               TEXT,    -- JSON: ignore conditions, next release, assignee (IssueTriageJson)
            PRIMARY KEY (project_id, fingerprint)
        ) WITHOUT ROWID;

        -- Issue timelines: status changes, assignments, comments, merges (IIssueHistory), newest first per issue.
        CREATE TABLE IF NOT EXISTS issue_history (
            project_id   INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            id           TEXT    NOT NULL, -- 32 hex digits
            at           INTEGER NOT NULL, -- unix milliseconds
            kind         TEXT    NOT NULL, -- status, assignment, comment, merge, unmerge, regression
            actor_id     TEXT    NOT NULL, -- 32 hex digits; '' when no account did it
            actor_name   TEXT    NOT NULL,
            text         TEXT    NOT NULL,
            value        TEXT    NOT NULL,
            PRIMARY KEY (project_id, id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS issue_history_by_issue ON issue_history (project_id, fingerprint, at DESC, id DESC);

        -- Merged issues (IIssueMerges): a merged fingerprint's events are read as the target issue's.
        CREATE TABLE IF NOT EXISTS issue_merges (
            project_id   INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL, -- the merged issue
            target       TEXT    NOT NULL, -- the issue it was merged into
            merged_at    INTEGER NOT NULL, -- unix milliseconds
            PRIMARY KEY (project_id, fingerprint)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS issue_merges_by_target ON issue_merges (project_id, target);

        -- Bookmarks (IIssueBookmarks): one row per person and bookmarked fingerprint.
        CREATE TABLE IF NOT EXISTS issue_bookmarks (
            project_id   INTEGER NOT NULL,
            user_id      TEXT    NOT NULL, -- the account's id, 'D' format
            fingerprint  TEXT    NOT NULL,
            created_at   INTEGER NOT NULL, -- unix milliseconds
            PRIMARY KEY (project_id, user_id, fingerprint)
        ) WITHOUT ROWID;

        -- Saved searches of the issue list (ISavedSearches): owner_id is the account's id ('D' format), '' when shared.
        CREATE TABLE IF NOT EXISTS saved_searches (
            id          TEXT    NOT NULL PRIMARY KEY, -- 'D' format
            project_id  INTEGER NOT NULL,
            owner_id    TEXT    NOT NULL,
            name        TEXT    NOT NULL,
            query       TEXT    NOT NULL, -- the list's address query
            created_by  TEXT    NOT NULL,
            created_at  INTEGER NOT NULL  -- unix milliseconds
        );
        CREATE INDEX IF NOT EXISTS saved_searches_by_owner ON saved_searches (project_id, owner_id);

        -- Each person's pinned default search per project: a saved search's id or a recommended search's key.
        CREATE TABLE IF NOT EXISTS pinned_searches (
            project_id  INTEGER NOT NULL,
            user_id     TEXT    NOT NULL,
            pinned      TEXT    NOT NULL,
            pinned_at   INTEGER NOT NULL, -- unix milliseconds
            PRIMARY KEY (project_id, user_id)
        ) WITHOUT ROWID;

        -- The outbox: the record is the payload; the columns are what the worker looks up.
        CREATE TABLE IF NOT EXISTS notifications (
            id              TEXT    NOT NULL PRIMARY KEY,
            project_id      INTEGER NOT NULL,
            key             TEXT    NOT NULL,
            grp             TEXT    NOT NULL,
            state           TEXT    NOT NULL, -- pending, sent, failed
            created_at      INTEGER NOT NULL, -- unix milliseconds
            next_attempt_at INTEGER NOT NULL, -- unix milliseconds
            payload         TEXT    NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS notifications_by_key ON notifications (project_id, key);
        CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at);
        CREATE INDEX IF NOT EXISTS notifications_by_project ON notifications (project_id, created_at);
        CREATE INDEX IF NOT EXISTS notifications_by_group ON notifications (project_id, grp, created_at);

        CREATE TABLE IF NOT EXISTS notification_documents (
            project_id INTEGER NOT NULL,
            kind       TEXT    NOT NULL,
            json       TEXT    NOT NULL,
            PRIMARY KEY (project_id, kind)
        ) WITHOUT ROWID;

        -- The first mail about each issue, which later mails answer (one thread per issue in mail clients); written once.
        CREATE TABLE IF NOT EXISTS mail_threads (
            project_id   INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            message_id   TEXT    NOT NULL,
            subject      TEXT    NOT NULL,
            started_at   INTEGER NOT NULL, -- unix milliseconds
            PRIMARY KEY (project_id, fingerprint)
        ) WITHOUT ROWID;

        -- Who hears about each issue's workflow and why (IssueSubscription): one row per member and issue.
        CREATE TABLE IF NOT EXISTS issue_subscriptions (
            project_id   INTEGER NOT NULL,
            fingerprint  TEXT    NOT NULL,
            user_id      TEXT    NOT NULL, -- 32 hex digits
            subscribed   INTEGER NOT NULL, -- 1 subscribed, 0 unsubscribed (by hand)
            reason       TEXT    NOT NULL, -- manual, commented, assigned, status, mentioned
            at           INTEGER NOT NULL, -- unix milliseconds
            PRIMARY KEY (project_id, fingerprint, user_id)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS leases (
            name       TEXT    NOT NULL PRIMARY KEY,
            holder     TEXT    NOT NULL,
            expires_at INTEGER NOT NULL -- unix milliseconds
        ) WITHOUT ROWID;
        """;
}
