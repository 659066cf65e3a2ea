using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Storage.Retention;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>The contract against a real SQLite file in a temporary directory.</summary>
public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "errorhub-sqlite-" + Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_directory, "nested", "errorhub.db");

    private protected override Task<ErrorHubStore> CreateStoreAsync() =>
        Task.FromResult(SqliteDatabase.Open(DatabasePath));

    private readonly List<ErrorHubStore> _extraStores = [];

    private protected override Task<IReadOnlyList<ErrorHubStore>> CreateStoresSharingAFreshDatabaseAsync(int count)
    {
        var path = Path.Combine(_directory, "shared", "fresh.db");
        var stores = Enumerable.Range(0, count).Select(_ => SqliteDatabase.Open(path)).ToList();
        _extraStores.AddRange(stores);
        return Task.FromResult<IReadOnlyList<ErrorHubStore>>(stores);
    }

    private protected override int KnownSchemaVersion => SqliteSchema.Version;

    private protected override async Task RecordSchemaVersionAsync(ErrorHubStore store, long version)
    {
        await using var connection = new SqliteConnection($"Data Source={((SqliteDatabase)store.Schema).DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA user_version = {version}";
        await command.ExecuteNonQueryAsync();
    }

    private protected override async Task<long> ReadSchemaVersionAsync(ErrorHubStore store)
    {
        await using var connection = new SqliteConnection($"Data Source={((SqliteDatabase)store.Schema).DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private protected override async Task ReplaceStoredTriageAsync(int projectId, string fingerprint, string json)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE issue_states SET triage = $json WHERE project_id = $project AND fingerprint = $fingerprint";
        command.Parameters.AddWithValue("$json", json);
        command.Parameters.AddWithValue("$project", projectId);
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        (await command.ExecuteNonQueryAsync()).Should().Be(1);
    }

    private protected override Task DestroyStoreAsync(ErrorHubStore store)
    {
        store.Dispose();
        _extraStores.ForEach(s => s.Dispose());
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>SQLite takes a lease in one conditional statement; ClickHouse has no such write (docs/storage.md).</summary>
    [Fact]
    public async Task Of_two_processes_racing_for_a_free_lease_exactly_one_wins()
    {
        var stores = await StoresSharingOneDatabaseAsync(2);

        var results = await Task.WhenAll(stores.Select((store, i) => store.Notifications.Outbox.TryAcquireLeaseAsync("notifications", "server-" + i, TestEvents.BaseTime, TimeSpan.FromMinutes(1))));
        results.Count(won => won).Should().Be(1);
    }

    /// <summary>
    /// Why an ASCII search may use SQLite's LIKE (which folds ASCII letters only) and still find exactly what .NET's
    /// OrdinalIgnoreCase finds: no UTF-16 code unit outside ASCII equals an ASCII letter under it. Were a runtime to change
    /// that (U+0131, U+017F and U+212A fold to ASCII under some rules), this fails before a search silently misses.
    /// </summary>
    [Fact]
    public void No_character_outside_ASCII_equals_an_ASCII_letter_ignoring_case()
    {
        var letters = Enumerable.Range('A', 26).Concat(Enumerable.Range('a', 26)).Select(c => ((char)c).ToString()).ToList();
        var equal = Enumerable.Range(128, 65536 - 128)
            .Select(c => ((char)c).ToString())
            .Where(c => letters.Any(letter => string.Equals(c, letter, StringComparison.OrdinalIgnoreCase)))
            .ToList();

        equal.Should().BeEmpty();
    }

    [Fact]
    public async Task An_ascii_search_finds_what_the_dotnet_comparison_finds_beside_letters_that_only_look_alike()
    {
        string[] titles = ["FILE not found", "f\u0131le not found", "\uFB01le not found", "\u212Aey missing", "key missing", "Ünïcode FILE", "50%_off\\sale"];
        await Store.Events.InsertEventsAsync([.. titles.Select((title, i) => TestEvents.Create(7, $"fp-{i}", TestEvents.BaseTime, title: title, message: "m"))]);

        foreach (var search in new[] { "file", "KEY", "ey m", "%_OFF\\", "_", "\\", "le not" })
        {
            var expected = titles.Select((title, i) => (title, i))
                .Where(t => t.title.Contains(search, StringComparison.OrdinalIgnoreCase) || "m".Contains(search, StringComparison.OrdinalIgnoreCase))
                .Select(t => $"fp-{t.i}").Order(StringComparer.Ordinal);

            var page = await Store.Issues.GetIssuesAsync(new IssueQuery(7) { Filter = new IssueFilter { Search = search }, Limit = 50 });

            page.Items.Select(i => i.Fingerprint).Order(StringComparer.Ordinal).Should().Equal(expected, $"searching for {search}");
        }
    }

    [Fact]
    public async Task The_database_is_one_file_in_write_ahead_log_mode()
    {
        File.Exists(DatabasePath).Should().BeTrue("the schema creates the file and its directory");

        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        (await command.ExecuteScalarAsync()).Should().Be("wal");
    }

    /// <summary>
    /// Another process's write transaction (a backup, a sqlite3 shell left in BEGIN) held for long: changes made under a
    /// WriteWithin bound (the dashboard's pages) all give up within it, those queued behind each other here included,
    /// instead of each waiting out the busy timeout of 30 seconds in turn.
    /// </summary>
    [Fact]
    public async Task Bounded_writes_queued_behind_another_processs_lock_all_give_up_within_their_bound()
    {
        await using var holder = await SqliteWriteLock.HoldAsync(DatabasePath);
        var started = TimeProvider.System.GetTimestamp();
        SqliteDatabase.WriteWithin.Value = TimeSpan.FromSeconds(1);
        try
        {
            // Each on its own thread, as concurrent requests are: SQLite's waits block the calling one.
            var writes = Enumerable.Range(0, 4)
                .Select(i => Task.Run(() => Store.Projects.CreateProjectAsync("Locked " + i, "locked-project-key-" + i + "-0123456789", TestEvents.BaseTime)))
                .ToList();
            foreach (var write in writes)
            {
                // Unbounded, the first alone would wait 30 s and the fourth two minutes.
                var refused = await FluentActions.Awaiting(() => write.WaitAsync(TimeSpan.FromSeconds(25))).Should().ThrowAsync<SqliteException>();
                refused.Which.SqliteErrorCode.Should().Be(SQLitePCL.raw.SQLITE_BUSY);
                SqliteDatabase.IsUnavailable(refused.Which).Should().BeTrue("a request answers it 503 with Retry-After");
            }
        }
        finally
        {
            SqliteDatabase.WriteWithin.Value = null;
        }

        TimeProvider.System.GetElapsedTime(started).Should().BeLessThan(TimeSpan.FromSeconds(25));
        (await Store.Projects.GetProjectsAsync()).Should().NotContain(project => project.Name.StartsWith("Locked", StringComparison.Ordinal));
    }

    /// <summary>
    /// Ingest's commits (no WriteWithin) keep waiting SQLite's busy timeout: a lock held longer than the dashboard's bound,
    /// and let go well within 30 seconds, delays them but refuses nothing.
    /// </summary>
    [Fact]
    public async Task Unbounded_writes_wait_out_another_processs_lock_that_bounded_writes_give_up_on()
    {
        var holder = await SqliteWriteLock.HoldAsync(DatabasePath);
        try
        {
            SqliteDatabase.WriteWithin.Value = TimeSpan.FromMilliseconds(500);
            try
            {
                await FluentActions.Awaiting(() => Store.Events.InsertEventsAsync([TestEvents.Create(1, "bounded", TestEvents.BaseTime)]))
                    .Should().ThrowAsync<SqliteException>();
            }
            finally
            {
                SqliteDatabase.WriteWithin.Value = null;
            }

            // Its own thread: SQLite's waits block the calling one (the driver's async methods run synchronously).
            var unbounded = Task.Run(() => Store.Events.InsertEventsAsync([TestEvents.Create(1, "unbounded", TestEvents.BaseTime)]));
            // Longer than the bound above: were it applied to this write too, the write would have failed by now.
            await Task.Delay(TimeSpan.FromSeconds(2));
            unbounded.IsCompleted.Should().BeFalse("it waits for the lock: {0}", unbounded.Exception?.Message);
            await holder.DisposeAsync();
            await unbounded.WaitAsync(TimeSpan.FromSeconds(25));
        }
        finally
        {
            await holder.DisposeAsync();
        }

        (await Store.Issues.GetIssueAsync(1, "unbounded")).Should().NotBeNull();
        (await Store.Issues.GetIssueAsync(1, "bounded")).Should().BeNull();
    }


    [Fact]
    public async Task A_second_store_on_the_same_file_sees_the_data()
    {
        var e = TestEvents.Create(3, "fp", TestEvents.BaseTime);
        await Store.Events.InsertEventsAsync([e]);

        using var other = SqliteDatabase.Open(DatabasePath);
        await other.Schema.EnsureSchemaAsync();

        (await other.Issues.GetEventAsync(3, e.EventId)).Should().NotBeNull();
        (await other.Issues.GetIssueAsync(3, "fp"))!.EventCount.Should().Be(1);
    }

    [Fact]
    public async Task A_database_from_before_project_keys_keeps_its_key_working_after_the_upgrade()
    {
        var path = Path.Combine(_directory, "old", "errorhub.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL, created_at INTEGER NOT NULL);
                INSERT INTO projects VALUES (1, 'Shop', 'old-shop-key-0123456789', 1700000000);
                """;
            await command.ExecuteNonQueryAsync();
        }

        using var upgraded = SqliteDatabase.Open(path);
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Schema.EnsureSchemaAsync();

        (await upgraded.Projects.GetProjectAsync(1)).Should().Be(new Project(1, "Shop", "old-shop-key-0123456789", DateTimeOffset.FromUnixTimeSeconds(1700000000)));
        (await upgraded.Projects.GetKeysAsync(1)).Should().ContainSingle().Which.IsActive.Should().BeTrue();
        (await upgraded.Projects.SaveSettingsAsync(1, new ProjectSettings(10, 7))).Should().BeTrue("the new columns exist");
        await upgraded.Projects.RevokeKeyAsync(1, "old-shop-key-0123456789", DateTimeOffset.UtcNow);
        await upgraded.Schema.EnsureSchemaAsync();
        (await upgraded.Projects.GetKeysAsync(1)).Single().IsActive.Should().BeFalse("a later start does not bring a revoked key back");
    }

    [Fact]
    public async Task A_database_from_before_issues_kept_their_grouping_keeps_its_issues_and_events_join_them()
    {
        var path = Path.Combine(_directory, "old-issues", "errorhub.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE issues (
                    project_id INTEGER NOT NULL, fingerprint TEXT NOT NULL, title TEXT NOT NULL, culprit TEXT NOT NULL, level TEXT NOT NULL,
                    event_count INTEGER NOT NULL, user_count INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                    PRIMARY KEY (project_id, fingerprint)) WITHOUT ROWID;
                INSERT INTO issues VALUES (1, 'fp-v1', 'DbUpdateException: An error occurred', 'Shop.Orders', 'error', 4, 1, 1700000000000, 1700000600000);
                """;
            await command.ExecuteNonQueryAsync();
        }

        using var upgraded = SqliteDatabase.Open(path);
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Events.InsertEventsAsync([TestEvents.Create(1, "fp-v2", DateTimeOffset.FromUnixTimeSeconds(1700001000)) with
        {
            GroupingVersion = 2,
            LegacyFingerprint = "fp-v1",
            GroupingComponents = [new GroupingComponent(GroupingComponent.Type, "SqliteException")],
        }]);

        var issue = await upgraded.Issues.GetIssueAsync(1, "fp-v1");
        issue!.EventCount.Should().Be(5);
        issue.Title.Should().Be("DbUpdateException: An error occurred");
        issue.Grouping.Should().BeNull("made by version 1");
        (await upgraded.Issues.GetIssueAsync(1, "fp-v2")).Should().BeNull();
    }

    /// <summary>The reads that use issue_events, as a user sees them, to compare before and after an upgrade.</summary>
    private static async Task<object> DashboardAnswersAsync(ErrorHubStore store, string fingerprint) => new
    {
        Searched = (await store.Issues.GetIssuesAsync(new IssueQuery(1) { Filter = new IssueFilter { Search = "grüße" } })).Items,
        ByUserEmail = (await store.Issues.GetIssuesAsync(new IssueQuery(1) { Filter = new IssueFilter { Search = "SMITH@" } })).Items,
        ByInnerException = (await store.Issues.GetIssuesAsync(new IssueQuery(1) { Filter = new IssueFilter { Search = "nullreferenceexception" } })).Items,
        Staging = (await store.Issues.GetIssuesAsync(new IssueQuery(1) { Sort = IssueSort.Users, Filter = new IssueFilter { Environment = "staging" } })).Items,
        Events = (await store.Issues.GetEventPageAsync(new EventQuery(1, fingerprint) { Limit = 100 })).Items,
        EventsSearched = (await store.Issues.GetEventPageAsync(new EventQuery(1, fingerprint) { Search = "checkout?bundle" })).Items,
        Users = await store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(1, fingerprint)),
        Breakdowns = await store.Issues.GetBreakdownsAsync(new BreakdownQuery(1, fingerprint)),
        FilterValues = await store.Issues.GetFilterValuesAsync(1),
    };

    private static List<ErrorEvent> VariedEvents()
    {
        var events = new List<ErrorEvent> { TestEvents.CreateComplete(1, "fp-upgrade", TestEvents.BaseTime.AddHours(-5)) };
        for (var i = 0; i < 30; i++)
        {
            events.Add(TestEvents.Create(1, i % 3 == 0 ? "fp-upgrade" : "fp-other-" + (i % 4), TestEvents.BaseTime.AddMinutes(-7 * i),
                i % 5 == 0 ? null : new UserRecord("u-" + (i % 6), "name" + (i % 6), $"joe.smith{i % 6}@example.com", "10.0.0." + i),
                message: "Grüße from step " + i) with
            {
                Environment = i % 2 == 0 ? "production" : "staging",
                Release = i % 4 == 0 ? null : "shop@1." + (i % 3),
                ServerName = "web-" + (i % 2),
                Tags = new Dictionary<string, string> { ["browser"] = "Chrome " + (i % 3), ["client_os"] = "Windows " + (i % 2) },
                Request = new RequestRecord("GET", "https://shop.example/checkout?bundle=" + i, null, new Dictionary<string, string>()),
            });
        }

        return events;
    }

    [Fact]
    public async Task A_database_from_before_issue_events_answers_every_dashboard_read_as_before_after_the_upgrade()
    {
        var path = Path.Combine(_directory, "before-issue-events", "errorhub.db");
        object before;
        using (var original = SqliteDatabase.Open(path))
        {
            await original.Schema.EnsureSchemaAsync();
            await original.Events.InsertEventsAsync(VariedEvents());
            before = await DashboardAnswersAsync(original, "fp-upgrade");
        }

        // What the previous release left: the same tables without issue_events, schema version 1.
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "DROP TABLE issue_events; PRAGMA user_version = 1;";
            await command.ExecuteNonQueryAsync();
        }

        using var upgraded = SqliteDatabase.Open(path);
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Schema.EnsureSchemaAsync();

        var after = await DashboardAnswersAsync(upgraded, "fp-upgrade");
        after.Should().BeEquivalentTo(before, o => o.RespectingRuntimeTypes().WithStrictOrdering());
        (await upgraded.Issues.GetIssuesAsync(new IssueQuery(1) { Filter = new IssueFilter { Search = "grüße" } })).Items.Should().NotBeEmpty("the upgrade made the events searchable");
        (await IssueEventsDisagreementsAsync(path)).Should().BeEmpty();
    }

    [Fact]
    public async Task The_per_issue_event_rows_agree_with_the_events_after_writes_duplicates_legacy_issues_merges_and_retention()
    {
        var events = VariedEvents();
        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync([events[0], events[5]]);
        await Store.Events.InsertEventsAsync([TestEvents.Create(1, "fp-new-grouping", TestEvents.BaseTime) with { LegacyFingerprint = "fp-upgrade" }]);
        (await IssueEventsDisagreementsAsync(DatabasePath)).Should().BeEmpty();

        await Store.Merges.MergeAsync(1, "fp-upgrade", ["fp-other-1", "fp-other-2"], TestEvents.BaseTime);
        var merged = await Store.Issues.GetIssuesAsync(new IssueQuery(1) { Filter = new IssueFilter { Environment = "staging" } });
        merged.Items.Select(i => i.Fingerprint).Should().NotContain(["fp-other-1", "fp-other-2"]);
        (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(1, "fp-upgrade"))).TotalCount
            .Should().Be(events.Where(e => e.Fingerprint is "fp-upgrade" or "fp-other-1" or "fp-other-2" && e.User is not null).Select(e => e.User!.Key).Distinct().Count());

        await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?>(), TestEvents.BaseTime.AddHours(-1)));
        (await IssueEventsDisagreementsAsync(DatabasePath)).Should().BeEmpty();
        (await Store.Issues.GetEventPageAsync(new EventQuery(1, "fp-upgrade") { Limit = 1000 })).Items
            .Should().OnlyContain(e => e.Timestamp >= TestEvents.BaseTime.AddHours(-1));
    }

    /// <summary>Events without their issue_events row, rows without their event, and rows whose columns differ from the event's.</summary>
    private static async Task<List<string>> IssueEventsDisagreementsAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT 'missing ' || hex(e.event_id) FROM events AS e
            WHERE NOT EXISTS (SELECT 1 FROM issue_events AS r WHERE r.project_id = e.project_id AND r.fingerprint = e.fingerprint AND r.timestamp = e.timestamp AND r.event_id = e.event_id
                              AND r.level = e.level AND r.environment IS e.environment AND r.release IS e.release AND r.server_name IS e.server_name
                              AND r.user_hash = e.user_hash AND r.url IS e.url AND r.user_id IS json_extract(e.payload, '$.user.id')
                              AND r.user_email IS json_extract(e.payload, '$.user.email') AND r.user_ip IS json_extract(e.payload, '$.user.ipAddress')
                              AND r.browser IS (SELECT t.value FROM event_tags AS t WHERE t.project_id = e.project_id AND t.event_id = e.event_id AND t.key = 'browser'))
            UNION ALL
            SELECT 'extra ' || hex(r.event_id) FROM issue_events AS r
            WHERE NOT EXISTS (SELECT 1 FROM events AS e WHERE e.project_id = r.project_id AND e.event_id = r.event_id)
            """;
        var problems = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            problems.Add(reader.GetString(0));
        }

        return problems;
    }

    private const int RetentionProject = 7;

    // The worker's wait does not depend on the store; SQLite's quick runs make a run made too early show within the bound.
    [Fact]
    public async Task The_retention_worker_waits_for_the_stores_tables_instead_of_failing_each_interval()
    {
        var now = new DateTimeOffset(2025, 3, 20, 15, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(now);
        await Store.Projects.UpsertProjectAsync(new Project(RetentionProject, "Short", "short-key", now.AddYears(-1)));
        await Store.Projects.SaveSettingsAsync(RetentionProject, new ProjectSettings(null, 7));
        await Store.Events.InsertEventsAsync([TestEvents.Create(RetentionProject, "fp-a", now.AddDays(-8))]);
        var schema = new StoreSchemaState();
        using var worker = new RetentionWorker(
            Store.Retention, Store.Projects, Options.Create(new RetentionOptions()), clock, NullLogger<RetentionWorker>.Instance, schema);
        var runs = System.Threading.Channels.Channel.CreateUnbounded<long>();
        worker.RunCompleted += deleted => runs.Writer.TryWrite(deleted);
        await worker.StartAsync(CancellationToken.None);
        try
        {
            clock.Advance(RetentionWorker.FirstRunAfter + TimeSpan.FromHours(3));
            // A run, if one were made, would report from a pool thread within moments; a second bounds the wait, not a timing.
            var ranEarly = await Task.WhenAny(runs.Reader.WaitToReadAsync().AsTask(), Task.Delay(TimeSpan.FromSeconds(1))) is Task<bool>;
            ranEarly.Should().BeFalse("no run is made while the store's tables are still being created");

            schema.Created();
            schema.MarkReady();
            (await NextRunAsync(runs)).Should().Be(1, "the first run is made as soon as the tables exist");
            (await Store.Issues.GetIssueAsync(RetentionProject, "fp-a")).Should().BeNull();
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task A_negative_user_version_another_program_set_is_refused_and_the_file_is_left_as_it_is(int version)
    {
        // SQLite's user_version is the application's to use: a file another program versioned, or one an operator set by hand.
        var store = Store;
        await store.Events.InsertEventsAsync([TestEvents.Create(1, "kept", DateTimeOffset.UtcNow)]);
        await RecordSchemaVersionAsync(store, version);
        var tables = await TablesAsync();

        var refused = await FluentActions.Awaiting(() => store.Schema.EnsureSchemaAsync()).Should().ThrowAsync<StoreSchemaVersionUnknownException>();

        refused.Which.Message.Should().StartWith($"the store's schema version is {version}, which no build of ErrorHub makes")
            .And.Contain("PRAGMA user_version").And.Contain("nothing was changed");
        (await ReadSchemaVersionAsync(store)).Should().Be(version, "the other program's version is not recorded over");
        (await TablesAsync()).Should().Equal(tables);
    }

    private async Task<IReadOnlyList<string>> TablesAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master ORDER BY name";
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
