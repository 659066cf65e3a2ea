using System.Text;
using ErrorHub.Storage.Events;
using Microsoft.Data.Sqlite;

namespace ErrorHub.Storage.Sqlite;

/// <summary>
/// <c>issue_events</c>: one narrow row per event, without its payload, clustered by issue and time. Every
/// dashboard read that looks at many events (filtered and searched issue lists, the issue page's events table,
/// breakdowns, affected users, filter values) reads it instead of <c>events</c>, whose rows carry the whole
/// payload (a few KB each: reading 100,000 of them takes seconds, and <c>json_extract</c> over them more).
/// The writer adds a row in the batch's transaction; retention deletes it with its event.
/// </summary>
internal static class SqliteIssueEvents
{
    /// <summary>
    /// Joins the searchable fields into <c>search_text</c>. A search without this character matches the joined
    /// text exactly when it matches one of the fields (nothing else folds to it); a search with it takes the
    /// field-by-field way (<see cref="CanSearchJoinedText"/>).
    /// </summary>
    public const char SearchSeparator = '\u001F';

    public const string CreateStatements = """
        CREATE TABLE IF NOT EXISTS issue_events (
            project_id     INTEGER NOT NULL,
            fingerprint    TEXT    NOT NULL, -- as in events (a legacy issue's when filed under it)
            timestamp      INTEGER NOT NULL, -- unix milliseconds
            event_id       BLOB    NOT NULL,
            level          TEXT    NOT NULL,
            environment    TEXT,
            release        TEXT,
            server_name    TEXT,
            browser        TEXT, -- the browser and client_os tags
            client_os      TEXT,
            user_hash      INTEGER NOT NULL, -- 0 when the event has no user
            user_id        TEXT,
            user_email     TEXT,
            user_username  TEXT,
            user_ip        TEXT,
            url            TEXT,
            search_text    TEXT    NOT NULL, -- title, culprit, message, exception types and messages, user id/e-mail/username joined by U+001F
            PRIMARY KEY (project_id, fingerprint, timestamp, event_id)
        ) WITHOUT ROWID;

        -- What the issue list's filters read (the key's timestamp and event id come with every index entry).
        CREATE INDEX IF NOT EXISTS issue_events_by_filter ON issue_events (project_id, fingerprint, environment, release, level, user_hash);
        CREATE INDEX IF NOT EXISTS issue_events_by_environment ON issue_events (project_id, environment);
        CREATE INDEX IF NOT EXISTS issue_events_by_release ON issue_events (project_id, release);
        """;

    /// <summary>
    /// Fills <c>issue_events</c> from the events of a database made before it existed, in the schema transaction.
    /// The payload gives what the events table has no column for; the joined text holds the same fields as the writer's.
    /// </summary>
    public static string Backfill => $"""
        INSERT OR IGNORE INTO issue_events (
            project_id, fingerprint, timestamp, event_id, level, environment, release, server_name, browser, client_os,
            user_hash, user_id, user_email, user_username, user_ip, url, search_text)
        SELECT e.project_id, e.fingerprint, e.timestamp, e.event_id, e.level, e.environment, e.release, e.server_name,
               (SELECT t.value FROM event_tags AS t WHERE t.project_id = e.project_id AND t.event_id = e.event_id AND t.key = '{BreakdownQuery.BrowserTag}'),
               (SELECT t.value FROM event_tags AS t WHERE t.project_id = e.project_id AND t.event_id = e.event_id AND t.key = '{BreakdownQuery.OperatingSystemTag}'),
               e.user_hash,
               json_extract(e.payload, '$.user.id'), json_extract(e.payload, '$.user.email'),
               json_extract(e.payload, '$.user.username'), json_extract(e.payload, '$.user.ipAddress'),
               e.url,
               e.title || char({(int)SearchSeparator}) || e.culprit || char({(int)SearchSeparator}) || coalesce(e.message, '')
                   || char({(int)SearchSeparator}) || coalesce(json_extract(e.payload, '$.user.id'), '')
                   || char({(int)SearchSeparator}) || coalesce(json_extract(e.payload, '$.user.email'), '')
                   || char({(int)SearchSeparator}) || coalesce(json_extract(e.payload, '$.user.username'), '')
                   || coalesce((SELECT group_concat(char({(int)SearchSeparator}) || coalesce(json_extract(x.value, '$.type'), '')
                                                    || char({(int)SearchSeparator}) || coalesce(json_extract(x.value, '$.value'), ''), '')
                                FROM json_each(e.payload, '$.exceptions') AS x), '')
        FROM events AS e
        """;

    /// <summary>
    /// True when SQLite's own <c>LIKE</c> finds exactly what <c>errorhub_contains</c> (.NET's <c>OrdinalIgnoreCase</c>)
    /// finds, without calling into .NET for every row: for a search of ASCII characters only. <c>LIKE</c> folds ASCII
    /// letters and compares every other character exactly, and under <c>OrdinalIgnoreCase</c> no character outside
    /// ASCII equals one inside it (checked over every UTF-16 code unit by a test), so an ASCII search matches the same
    /// texts. A NUL ends a <c>LIKE</c> pattern early: such a search takes the function.
    /// </summary>
    public static bool CanSearchJoinedTextNatively(string search) =>
        CanSearchJoinedText(search) && System.Text.Ascii.IsValid(search) && !search.Contains('\0', StringComparison.Ordinal);

    /// <summary>A <c>LIKE</c> pattern (escape character <c>\</c>) matching texts that contain <paramref name="search"/> literally.</summary>
    public static string LikePattern(string search)
    {
        var pattern = new StringBuilder(search.Length + 8).Append('%');
        foreach (var c in search)
        {
            if (c is '%' or '_' or '\\')
            {
                pattern.Append('\\');
            }

            pattern.Append(c);
        }

        return pattern.Append('%').ToString();
    }

    /// <summary>True when <paramref name="search"/> can be matched against the joined text (it does not hold the separator).</summary>
    public static bool CanSearchJoinedText(string search) => !search.Contains(SearchSeparator, StringComparison.Ordinal);

    /// <summary>The searchable fields of an event, joined (the search's fields: <see cref="IssueFilter.Search"/>).</summary>
    public static string SearchText(ErrorEvent e)
    {
        var text = new StringBuilder();
        text.Append(e.Title).Append(SearchSeparator).Append(e.Culprit).Append(SearchSeparator).Append(e.Message)
            .Append(SearchSeparator).Append(e.User?.Id).Append(SearchSeparator).Append(e.User?.Email).Append(SearchSeparator).Append(e.User?.Username);
        foreach (var exception in e.Exceptions)
        {
            text.Append(SearchSeparator).Append(exception.Type).Append(SearchSeparator).Append(exception.Value);
        }

        return text.ToString();
    }

    /// <summary>The writer's statement for one event's row; <see cref="Set"/> fills it.</summary>
    public static SqliteCommand CreateInsert(SqliteConnection connection, SqliteTransaction transaction)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT OR IGNORE INTO issue_events (
                project_id, fingerprint, timestamp, event_id, level, environment, release, server_name, browser, client_os,
                user_hash, user_id, user_email, user_username, user_ip, url, search_text)
            VALUES ($project, $fingerprint, $timestamp, $event, $level, $environment, $release, $server, $browser, $client_os,
                    $user_hash, $user_id, $user_email, $user_username, $user_ip, $url, $search_text)
            """;
        foreach (var name in (string[])["$project", "$fingerprint", "$timestamp", "$event", "$level", "$environment", "$release", "$server", "$browser", "$client_os",
                     "$user_hash", "$user_id", "$user_email", "$user_username", "$user_ip", "$url", "$search_text"])
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    /// <summary>Fills <paramref name="insert"/> (from <see cref="CreateInsert"/>) with the row of <paramref name="e"/>, stored under its fingerprint.</summary>
    public static void Set(SqliteCommand insert, ErrorEvent e, long userHash)
    {
        object?[] values =
        [
            e.ProjectId, e.Fingerprint, e.Timestamp.ToUnixTimeMilliseconds(), e.EventId, e.Level, e.Environment, e.Release, e.ServerName,
            e.Tags.GetValueOrDefault(BreakdownQuery.BrowserTag), e.Tags.GetValueOrDefault(BreakdownQuery.OperatingSystemTag),
            userHash, e.User?.Id, e.User?.Email, e.User?.Username, e.User?.IpAddress, e.Request?.Url, SearchText(e),
        ];
        for (var i = 0; i < values.Length; i++)
        {
            insert.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    /// <summary>Creates the table and, for a database whose schema version predates it, fills it from the stored events.</summary>
    public static async Task EnsureAsync(SqliteConnection connection, SqliteTransaction transaction, long storedVersion, CancellationToken cancellationToken)
    {
        await SqliteDatabase.ExecuteAsync(connection, transaction, CreateStatements, cancellationToken);
        if (storedVersion < SqliteSchema.IssueEventsVersion)
        {
            await SqliteDatabase.ExecuteAsync(connection, transaction, Backfill, cancellationToken);
        }
    }
}
