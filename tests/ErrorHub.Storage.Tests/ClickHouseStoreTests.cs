using System.Reflection;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Ingest;
using ClickHouseColumnAttribute = ClickHouse.Driver.ClickHouseColumnAttribute;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The contract against a real ClickHouse server, each test in a database of its own. The store is
/// built through <c>AddErrorHubStore</c>, as a host would.
/// </summary>
[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed partial class ClickHouseStoreTests(ClickHouseServerFixture server) : StoreContractTests
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseStoreTests));
    private readonly CapturingLoggerProvider _logs = new();
    private ServiceProvider? _services;

    private protected override Task<ErrorHubStore> CreateStoreAsync()
    {
        _services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(_logs))
            .Configure<StoreOptions>(o =>
            {
                o.Kind = "clickhouse";
                o.ClickHouse.Url = server.Url.ToString();
                o.ClickHouse.Database = _database;
            })
            .AddErrorHubStore()
            .BuildServiceProvider();
        return Task.FromResult(_services.GetRequiredService<ErrorHubStore>());
    }

    private readonly List<string> _extraDatabases = [];
    private readonly List<HttpClient> _extraClients = [];

    private protected override Task<IReadOnlyList<ErrorHubStore>> CreateStoresSharingAFreshDatabaseAsync(int count)
    {
        var database = ClickHouseServerFixture.NewDatabaseName("fresh");
        _extraDatabases.Add(database);
        var stores = new List<ErrorHubStore>();
        for (var i = 0; i < count; i++)
        {
            var http = new HttpClient(ClickHouseClient.CreateHandler());
            _extraClients.Add(http);
            stores.Add(ClickHouseDatabase.Open(new ClickHouseClient(http, new ClickHouseConnection(server.Url)), database));
        }

        return Task.FromResult<IReadOnlyList<ErrorHubStore>>(stores);
    }

    private protected override int KnownSchemaVersion => ClickHouseSchema.Version;

    private protected override async Task RecordSchemaVersionAsync(ErrorHubStore store, long version)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        await ClickHouseSchemaVersions.RecordAsync(new ClickHouseClient(http, new ClickHouseConnection(server.Url)), store, version);
    }

    private protected override async Task<long> ReadSchemaVersionAsync(ErrorHubStore store)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        return await ClickHouseSchemaVersions.ReadAsync(new ClickHouseClient(http, new ClickHouseConnection(server.Url)), store);
    }

    private protected override async Task ReplaceStoredTriageAsync(int projectId, string fingerprint, string json)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        await ClickHouseStoredTriage.ReplaceAsync(new ClickHouseClient(http, new ClickHouseConnection(server.Url)), ((ClickHouseDatabase)Store.Schema).Database, projectId, fingerprint, json);
    }

    private protected override async Task DestroyStoreAsync(ErrorHubStore store)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        foreach (var database in _extraDatabases.Append(_database))
        {
            await client.ExecuteAsync($"DROP DATABASE IF EXISTS {ClickHouseSql.QuoteIdentifier(database)}", CancellationToken.None);
        }

        _extraClients.ForEach(c => c.Dispose());
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }

    [Fact]
    public async Task Queries_to_clickhouse_write_nothing_into_the_servers_log()
    {
        await Store.Events.InsertEventsAsync([TestEvents.Create(5, "fp", TestEvents.BaseTime)]);
        await Store.Issues.GetIssueAsync(5, "fp");

        _logs.Entries.Where(e => e.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal)).Select(e => e.ToString())
            .Should().BeEmpty("every page view and batch queries ClickHouse: four lines of HttpClient logging each would bury the log");
    }

    [Fact]
    public async Task The_tables_read_one_event_or_issue_at_a_time_index_every_1024_rows_so_one_event_does_not_read_megabytes()
    {
        await Store.Events.InsertEventsAsync([TestEvents.Create(5, "fp", TestEvents.BaseTime)]);

        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var engines = await client.QueryAsync(
            $"SELECT name, engine_full FROM system.tables WHERE database = {ClickHouseSql.Quote(_database)} AND name IN ('events', 'issue_events', 'issue_hourly')",
            row => (Name: row.GetProperty("name").GetString(), Engine: row.GetProperty("engine_full").GetString()),
            CancellationToken.None);

        engines.Should().HaveCount(3);
        engines.Where(e => e.Name != "issue_hourly").Should().OnlyContain(e => e.Engine!.Contains("index_granularity = 1024"));
        engines.Single(e => e.Name == "issue_hourly").Engine.Should().Contain("index_granularity = 8192", "aggregates are read in ranges: the default");
    }

    [Fact]
    public async Task An_export_hands_out_rows_while_clickhouse_still_answers_and_a_stopped_export_ends_the_query()
    {
        // 20,000 users with 1 KB URLs: an answer of about 20 MB, more than the connection's buffers hold, so ClickHouse is
        // still writing it when the first row has been read.
        var url = new RequestRecord("GET", "https://shop.example/" + new string('x', 1000), null, new Dictionary<string, string>());
        for (var batch = 0; batch < 4; batch++)
        {
            await Store.Events.InsertEventsAsync([.. Enumerable.Range(batch * 5000, 5000).Select(i =>
                TestEvents.Create(5, "fp", TestEvents.BaseTime.AddSeconds(-i), new UserRecord($"id-{i}", null, null, null)) with { Request = url })]);
        }

        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        async Task<long> RunningExportsAsync() => (await client.QueryAsync(
            $"SELECT count() AS n FROM system.processes WHERE query LIKE '%latest_url%' AND query LIKE {ClickHouseSql.Quote($"%{_database}%")} AND query NOT LIKE '%system.processes%'",
            row => ClickHouseClient.ReadInt64(row.GetProperty("n")),
            CancellationToken.None))[0];

        var users = Store.Issues.ReadAllAffectedUsersAsync(5, "fp", search: null).GetAsyncEnumerator();
        try
        {
            (await users.MoveNextAsync()).Should().BeTrue();
            users.Current.Id.Should().Be("id-0");
            (await RunningExportsAsync()).Should().Be(1, "the first rows arrive while the query still runs: nothing waits for the whole answer");
        }
        finally
        {
            await users.DisposeAsync();
        }

        var stopped = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (await RunningExportsAsync() > 0 && DateTime.UtcNow < stopped)
        {
            await Task.Delay(100);
        }

        (await RunningExportsAsync()).Should().Be(0, "an export stopped early closes its connection, and ClickHouse ends the query");
    }

    [Fact]
    public async Task Issue_counts_come_from_the_hourly_aggregate_table()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(5, "fp", TestEvents.BaseTime, TestEvents.User("alice")),
            TestEvents.Create(5, "fp", TestEvents.BaseTime.AddMinutes(5), TestEvents.User("bob")),
            TestEvents.Create(5, "fp", TestEvents.BaseTime.AddHours(2)),
        ]);

        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var hours = await client.QueryAsync(
            $"""
            SELECT toUnixTimestamp(hour) AS hour_start, countMerge(event_count) AS events
            FROM {ClickHouseSql.QuoteIdentifier(_database)}.issue_hourly
            WHERE project_id = 5 AND fingerprint = 'fp'
            GROUP BY hour
            ORDER BY hour
            """,
            row => (ClickHouseClient.ReadInt64(row.GetProperty("hour_start")), ClickHouseClient.ReadInt64(row.GetProperty("events"))),
            CancellationToken.None);

        hours.Should().Equal(
            (TestEvents.BaseTime.ToUnixTimeSeconds(), 2L),
            (TestEvents.BaseTime.AddHours(2).ToUnixTimeSeconds(), 1L));
    }

    [Fact]
    public async Task Events_are_stored_compressed_and_read_back_whole() =>
        await ClickHousePayloadChecks.Events_are_stored_compressed_and_read_back_whole(Store, RawClient(), _database);

    [Fact]
    public async Task A_plain_json_payload_of_an_earlier_release_still_reads() =>
        await ClickHousePayloadChecks.A_plain_json_payload_of_an_earlier_release_still_reads(Store, RawClient(), _database);

    [Fact]
    public async Task A_damaged_payload_leaves_out_its_event_and_nothing_else() =>
        await ClickHousePayloadChecks.A_damaged_payload_leaves_out_its_event_and_nothing_else(Store, RawClient(), _database, _logs);

    [Fact]
    public async Task An_events_frames_are_stored_in_its_payload_only_and_read_back_whole() =>
        await ClickHousePayloadChecks.An_events_frames_are_stored_in_its_payload_only_and_read_back_whole(Store, RawClient(), _database);

    [Fact]
    public async Task A_row_of_an_earlier_release_with_its_frames_in_columns_still_reads_the_same() =>
        await ClickHousePayloadChecks.A_row_of_an_earlier_release_with_its_frames_in_columns_still_reads_the_same(Store, RawClient(), _database);

    private ClickHouseClient RawClient()
    {
        var http = new HttpClient(ClickHouseClient.CreateHandler());
        _extraClients.Add(http);
        return new ClickHouseClient(http, new ClickHouseConnection(server.Url));
    }

    [Fact]
    public async Task A_store_made_before_issues_kept_their_first_title_and_grouping_gets_them_from_its_stored_events()
    {
        // The previous release's schema: no issue_firsts and no view feeding it, no grouping column.
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var database = ClickHouseSql.QuoteIdentifier(_database);
        await client.ExecuteAsync($"DROP TABLE {database}.issue_firsts_mv", CancellationToken.None);
        await client.ExecuteAsync($"DROP TABLE {database}.issue_firsts", CancellationToken.None);
        await client.ExecuteAsync($"ALTER TABLE {database}.events DROP COLUMN grouping", CancellationToken.None);
        foreach (var (hour, title, culprit) in new[] { (2, "later title", "Later.Culprit"), (0, "first title", "First.Culprit") })
        {
            // As the previous release wrote them: every column but grouping.
            var seconds = TestEvents.BaseTime.AddHours(hour).ToUnixTimeSeconds();
            await client.ExecuteAsync(
                $"""
                INSERT INTO {database}.events (project_id, timestamp, received_at, event_id, fingerprint, grouping_version, level, title, culprit, payload)
                VALUES (5, toDateTime({seconds}, 'UTC'), toDateTime({seconds}, 'UTC'), {ClickHouseSql.Literal(Guid.NewGuid())}, 'fp', 1, 'error', {ClickHouseSql.Quote(title)}, {ClickHouseSql.Quote(culprit)}, '')
                """,
                CancellationToken.None);
        }

        await Store.Schema.EnsureSchemaAsync();
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(5, "fp", TestEvents.BaseTime.AddHours(3), title: "newest title") with
            {
                GroupingVersion = 2,
                GroupingComponents = [new GroupingComponent(GroupingComponent.Type, "TimeoutException")],
            },
        ]);

        var issue = await Store.Issues.GetIssueAsync(5, "fp");
        issue!.Title.Should().Be("first title", "the events stored before were read to fill in the first title");
        issue.Culprit.Should().Be("First.Culprit");
        issue.Grouping.Should().BeNull("the issue's first event is from before version 2");
        issue.EventCount.Should().Be(3, "filling in the first title adds no events");
        await Store.Schema.EnsureSchemaAsync();
        (await Store.Issues.GetIssueAsync(5, "fp"))!.EventCount.Should().Be(3);
    }

    [Fact]
    public async Task A_store_made_before_issue_events_shows_the_same_events_table_breakdowns_and_affected_users_after_the_upgrade()
    {
        var events = Enumerable.Range(0, 12).Select(i => TestEvents.Create(5, i % 3 == 0 ? "fp-other" : "fp", TestEvents.BaseTime.AddMinutes(-9 * i),
            i % 4 == 0 ? null : new UserRecord("u-" + (i % 5), "name" + (i % 5), $"user{i % 5}@example.com", "10.0.0." + i)) with
        {
            Release = "shop@1." + (i % 3),
            Environment = i % 2 == 0 ? "production" : "staging",
            ServerName = "web-" + (i % 2),
            Tags = new Dictionary<string, string> { ["browser"] = "Chrome " + (i % 3), ["client_os"] = "iOS " + (i % 2) },
            Request = new RequestRecord("GET", "https://shop.example/checkout?step=" + i, null, new Dictionary<string, string>()),
        }).ToList();
        await Store.Events.InsertEventsAsync(events);
        async Task<object> AnswersAsync() => new
        {
            Events = (await Store.Issues.GetEventPageAsync(new EventQuery(5, "fp") { Limit = 100 })).Items,
            Searched = (await Store.Issues.GetEventPageAsync(new EventQuery(5, "fp") { Search = "STEP=1" })).Items,
            Users = await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(5, "fp")),
            Breakdowns = await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(5, "fp")),
        };
        var before = await AnswersAsync();

        // The previous release's schema: no issue_events and no view feeding it.
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var database = ClickHouseSql.QuoteIdentifier(_database);
        await client.ExecuteAsync($"DROP TABLE {database}.issue_events_mv", CancellationToken.None);
        await client.ExecuteAsync($"DROP TABLE {database}.issue_events", CancellationToken.None);

        await Store.Schema.EnsureSchemaAsync();
        await Store.Schema.EnsureSchemaAsync();

        (await AnswersAsync()).Should().BeEquivalentTo(before, o => o.RespectingRuntimeTypes().WithStrictOrdering());
        (await Store.Issues.GetEventPageAsync(new EventQuery(5, "fp") { Limit = 100 })).Items.Should().HaveCount(events.Count(e => e.Fingerprint == "fp"));
    }

    [Fact]
    public async Task A_store_made_with_the_event_id_table_loses_it_on_upgrade_and_still_finds_each_event_by_id_and_counts_a_retry_once()
    {
        var received = TestEvents.BaseTime.AddMinutes(3);
        var withTime = TestEvents.Create(5, "fp", TestEvents.BaseTime.AddMinutes(-10));
        var withoutTime = TestEvents.Create(5, "fp", received) with { ReceivedAt = received }; // its time is its receipt
        await Store.Events.InsertEventsAsync([withTime, withoutTime]);

        // The previous release's schema: the id table and the view that fed it, with the rows it had written.
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var database = ClickHouseSql.QuoteIdentifier(_database);
        await client.ExecuteAsync(
            $"CREATE TABLE {database}.events_by_id (project_id UInt32, event_id UUID, timestamp DateTime('UTC'), fingerprint String) " +
            "ENGINE = ReplacingMergeTree PARTITION BY toMonday(timestamp) ORDER BY (project_id, event_id)", CancellationToken.None);
        await client.ExecuteAsync(
            $"CREATE MATERIALIZED VIEW {database}.events_by_id_mv TO {database}.events_by_id AS SELECT project_id, event_id, timestamp, fingerprint FROM {database}.events",
            CancellationToken.None);
        await client.InsertSelectAsync($"INSERT INTO {database}.events_by_id SELECT project_id, event_id, timestamp, fingerprint FROM {database}.events", CancellationToken.None);

        await Store.Schema.EnsureSchemaAsync();
        await Store.Schema.EnsureSchemaAsync();

        var tables = await client.QueryAsync(
            $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(_database)} AND name LIKE 'events_by_id%'",
            row => row.GetProperty("name").GetString(),
            CancellationToken.None);
        tables.Should().BeEmpty("no insert pays for a table nothing reads");
        (await Store.Issues.GetEventAsync(5, withTime.EventId))!.EventId.Should().Be(withTime.EventId);
        (await Store.Issues.GetEventAsync(5, withoutTime.EventId))!.EventId.Should().Be(withoutTime.EventId);
        (await Store.Issues.GetEventAsync(6, withTime.EventId)).Should().BeNull("an event is found in its own project only");
        (await Store.Issues.GetEventAsync(5, Guid.NewGuid())).Should().BeNull();

        await Store.Events.InsertEventsAsync([withTime, withoutTime]); // a retry after the upgrade
        (await Store.Issues.GetIssueAsync(5, "fp"))!.EventCount.Should().Be(2);
    }

    [Fact]
    public async Task A_store_made_before_issue_days_lists_filtered_and_searched_issues_as_before_after_the_upgrade()
    {
        await SeedFilteredEventsAsync();
        var (before, issue, values) = await ListsAsync();

        // The previous release's schema: neither issue_days nor the view feeding it.
        await ExecuteAsync("DROP TABLE {0}.issue_days_mv", "DROP TABLE {0}.issue_days");

        await Store.Schema.EnsureSchemaAsync();
        await Store.Schema.EnsureSchemaAsync();

        var after = await ListsAsync();
        after.Lists.Should().BeEquivalentTo(before, o => o.WithStrictOrdering(), "the upgrade fills the table from the stored events once");
        after.Issue.Should().BeEquivalentTo(issue);
        after.Values.Should().BeEquivalentTo(values, o => o.WithStrictOrdering());
        before[1].Items.Should().NotBeEmpty();
        before[5].Items.Select(i => i.Fingerprint).Should().Equal("fp-1");
    }

    [Fact]
    public async Task A_store_with_the_search_table_of_its_own_loses_it_on_upgrade_and_searches_filters_and_counts_retries_as_before()
    {
        var events = await SeedFilteredEventsAsync();
        var (before, issue, values) = await ListsAsync();

        // The previous release's schema: issue_events without the search text, and issue_search with it, each fed by a view
        // and filled with the stored events.
        await ExecuteAsync(
            "DROP TABLE {0}.issue_events_mv",
            "DROP TABLE {0}.issue_events",
            "CREATE TABLE {0}.issue_events (project_id UInt32, fingerprint String, timestamp DateTime('UTC'), event_id UUID, level String, release String, " +
            "environment String, server_name String, browser String, client_os String, user_hash UInt64, user_id String, user_email String, user_username String, " +
            "user_ip String, url String) ENGINE = ReplacingMergeTree PARTITION BY toMonday(timestamp) ORDER BY (project_id, fingerprint, timestamp, event_id) " +
            "SETTINGS index_granularity = 1024",
            "CREATE MATERIALIZED VIEW {0}.issue_events_mv TO {0}.issue_events AS SELECT project_id, fingerprint, timestamp, event_id, level, release, environment, " +
            "server_name, '' AS browser, '' AS client_os, user_hash, user_id, user_email, user_username, user_ip, url FROM {0}.events",
            "CREATE TABLE {0}.issue_search (project_id UInt32, fingerprint String, timestamp DateTime('UTC'), event_id UUID, environment String, release String, " +
            "level String, user_hash UInt64, search_text String) ENGINE = ReplacingMergeTree PARTITION BY toMonday(timestamp) ORDER BY (project_id, fingerprint, timestamp, event_id)",
            "CREATE MATERIALIZED VIEW {0}.issue_search_mv TO {0}.issue_search AS SELECT project_id, fingerprint, timestamp, event_id, environment, release, level, " +
            "user_hash, title AS search_text FROM {0}.events");
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var database = ClickHouseSql.QuoteIdentifier(_database);
        await client.InsertSelectAsync(
            $"INSERT INTO {database}.issue_events SELECT project_id, fingerprint, timestamp, event_id, level, release, environment, server_name, '', '', user_hash, " +
            $"user_id, user_email, user_username, user_ip, url FROM {database}.events", CancellationToken.None);
        var late = TestEvents.Create(6, "fp-late", TestEvents.BaseTime.AddHours(-1), title: "Inserted under the old schema");
        await Store.Events.InsertEventsAsync([late]);

        await Store.Schema.EnsureSchemaAsync();
        await Store.Schema.EnsureSchemaAsync();

        var tables = await client.QueryAsync(
            $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(_database)} AND name LIKE 'issue_search%'",
            row => row.GetProperty("name").GetString(),
            CancellationToken.None);
        tables.Should().BeEmpty("no insert pays for a table nothing reads");
        (await Store.Issues.GetIssuesAsync(new IssueQuery(6) { Filter = new() { Search = "old schema" } })).Items.Select(i => i.Fingerprint)
            .Should().Equal(["fp-late"], "an event stored before the upgrade is found by its text after it");
        var after = await ListsAsync();
        after.Lists.Should().BeEquivalentTo(before, o => o.WithStrictOrdering(), "the upgrade fills issue_events from the stored events once");
        after.Issue.Should().BeEquivalentTo(issue);
        after.Values.Should().BeEquivalentTo(values, o => o.WithStrictOrdering());

        await Store.Events.InsertEventsAsync(events); // a retry after the upgrade
        (await Store.Issues.GetIssueAsync(5, "fp-1"))!.EventCount.Should().Be(issue!.EventCount, "the duplicate check reads the rebuilt issue_events");
        var fresh = TestEvents.Create(5, "fp-new", TestEvents.BaseTime.AddHours(-2), title: "Written after the upgrade");
        await Store.Events.InsertEventsAsync([fresh]);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(5) { Filter = new() { Search = "after the upgrade" } })).Items.Select(i => i.Fingerprint)
            .Should().Equal("fp-new");
    }

    private async Task<List<ErrorEvent>> SeedFilteredEventsAsync()
    {
        var events = Enumerable.Range(0, 30).Select(i => TestEvents.Create(5, $"fp-{i % 4}", TestEvents.BaseTime.AddHours(-7 * i),
            i % 3 == 0 ? null : TestEvents.User("u-" + (i % 5)), title: i % 4 == 1 ? "Payment declined by the bank" : "Profile failed", level: i % 5 == 0 ? "warning" : "error") with
        {
            Release = "shop@1." + (i % 3),
            Environment = i % 2 == 0 ? "production" : "staging",
        }).ToList();
        await Store.Events.InsertEventsAsync(events);
        return events;
    }

    /// <summary>Issue lists under filters and searches, one issue and the filter values: what an upgrade must keep.</summary>
    private async Task<(List<IssuePage> Lists, IssueSummary? Issue, IssueFilterValues Values)> ListsAsync()
    {
        IssueFilter[] filters =
        [
            IssueFilter.None,
            new() { Environment = "staging" },
            new() { Release = "shop@1.2", Level = "error" },
            new() { Since = TestEvents.BaseTime.AddDays(-5).AddHours(3), Environment = "production" },
            new() { Since = TestEvents.BaseTime.AddDays(-3) },
            new() { Search = "PAYMENT DECLINED" },
            new() { Search = "u-3", Until = TestEvents.BaseTime.AddDays(-2) },
        ];
        var pages = new List<IssuePage>();
        foreach (var filter in filters)
        {
            pages.Add(await Store.Issues.GetIssuesAsync(new IssueQuery(5) { Filter = filter, Sort = IssueSort.Users }));
        }

        return (pages, await Store.Issues.GetIssueAsync(5, "fp-1"), await Store.Issues.GetFilterValuesAsync(5));
    }

    /// <summary>Statements against this test's database, which <c>{0}</c> names.</summary>
    private async Task ExecuteAsync(params string[] statements)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        foreach (var statement in statements)
        {
            await client.ExecuteAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, ClickHouseSql.QuoteIdentifier(_database)), CancellationToken.None);
        }
    }

    [Theory]
    [InlineData(typeof(ClickHouseEventRow), "events")]
    [InlineData(typeof(ClickHouseProjectRow), "projects")]
    [InlineData(typeof(ClickHouseProjectKeyRow), "project_keys")]
    [InlineData(typeof(ClickHouseUserRow), "users")]
    [InlineData(typeof(ClickHouseMemberRow), "project_members")]
    [InlineData(typeof(ClickHouseInvitationRow), "invitations")]
    [InlineData(typeof(ClickHouseApiTokenRow), "api_tokens")]
    [InlineData(typeof(ClickHouseIssueChangeRow), "issue_history")]
    [InlineData(typeof(ClickHouseIssueMergeRow), "issue_merges")]
    [InlineData(typeof(ClickHouseIssueBookmarkRow), "issue_bookmarks")]
    [InlineData(typeof(ClickHouseSavedSearchRow), "saved_searches")]
    [InlineData(typeof(ClickHousePinnedSearchRow), "pinned_searches")]
    public async Task The_row_classes_declare_every_column_of_their_table_with_the_servers_type(Type rowType, string table)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var serverColumns = await client.QueryAsync(
            $"SELECT name, type FROM system.columns WHERE database = {ClickHouseSql.Quote(_database)} AND table = {ClickHouseSql.Quote(table)}",
            row => (row.GetProperty("name").GetString(), row.GetProperty("type").GetString()),
            CancellationToken.None);

        var declared = rowType.GetProperties()
            .Select(p => p.GetCustomAttribute<ClickHouseColumnAttribute>())
            .Select(a => (a?.Name, a?.Type));

        declared.Should().BeEquivalentTo(serverColumns, "the driver encodes each row by these types, and a mismatch of equal width would store garbage silently");
    }

    [Fact]
    public async Task A_database_from_before_project_keys_keeps_its_key_working_after_the_upgrade()
    {
        var database = ClickHouseServerFixture.NewDatabaseName("old");
        _extraDatabases.Add(database);
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var projects = $"{ClickHouseSql.QuoteIdentifier(database)}.projects";
        await client.ExecuteAsync($"CREATE DATABASE {ClickHouseSql.QuoteIdentifier(database)}", CancellationToken.None);
        await client.ExecuteAsync(
            $"CREATE TABLE {projects} (id UInt32, name String, public_key String, created_at DateTime('UTC'), version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id",
            CancellationToken.None);
        await client.ExecuteAsync($"INSERT INTO {projects} VALUES (1, 'Shop', 'old-shop-key-0123456789', 1700000000, 1)", CancellationToken.None);

        var upgraded = ClickHouseDatabase.Open(client, database);
        await upgraded.Schema.EnsureSchemaAsync();
        await upgraded.Schema.EnsureSchemaAsync();

        (await upgraded.Projects.GetProjectAsync(1)).Should().Be(new Project(1, "Shop", "old-shop-key-0123456789", DateTimeOffset.FromUnixTimeSeconds(1700000000)));
        (await upgraded.Projects.GetKeysAsync(1)).Should().ContainSingle().Which.IsActive.Should().BeTrue();
        (await upgraded.Projects.SaveSettingsAsync(1, new ProjectSettings(10, 7))).Should().BeTrue("the new columns exist");
        (await upgraded.Projects.GetSettingsAsync(1)).Should().Be(new ProjectSettings(10, 7));
        await upgraded.Projects.RevokeKeyAsync(1, "old-shop-key-0123456789", DateTimeOffset.UtcNow);
        await upgraded.Schema.EnsureSchemaAsync();
        (await upgraded.Projects.GetKeysAsync(1)).Single().IsActive.Should().BeFalse("a later start does not bring a revoked key back");
    }

    [Theory]
    [InlineData("2147483648", "2147483648")] // 2^31: past a signed 32-bit integer, still a UInt32
    [InlineData("4294967295", "4294967295")]
    public async Task A_schema_versions_row_past_this_build_is_refused_naming_it_and_nothing_is_changed(string written, string refusedVersion)
    {
        var (client, database) = await DatabaseWithSchemaVersionsAsync("version UInt32, migrated_at DateTime('UTC')", $"({written}, now())");
        var store = ClickHouseDatabase.Open(client, database);

        var refused = await FluentActions.Awaiting(() => store.Schema.EnsureSchemaAsync()).Should().ThrowAsync<StoreSchemaTooNewException>();

        refused.Which.Message.Should().StartWith($"the store's schema is version {refusedVersion}, this build knows up to {ClickHouseSchema.Version}");
        (await TablesAsync(client, database)).Should().Equal(["schema_versions"], "a database of an unknown version is left as it is");
    }

    [Fact]
    public async Task Duplicate_schema_versions_rows_are_read_as_their_highest_version_and_the_store_starts()
    {
        var (client, database) = await DatabaseWithSchemaVersionsAsync(
            "version UInt32, migrated_at DateTime('UTC')", $"({ClickHouseSchema.Version}, now()), ({ClickHouseSchema.Version}, now()), (0, now()), (0, now())");
        var store = ClickHouseDatabase.Open(client, database);

        await store.Schema.EnsureSchemaAsync();

        (await ClickHouseSchemaVersions.ReadAsync(client, store)).Should().Be(ClickHouseSchema.Version);
    }

    [Theory]
    [InlineData("v UInt32", "(1)")] // no version column
    [InlineData("version String", "('one')")]
    [InlineData("version String", "('99999999999999999999999')")]
    [InlineData("version Int64", "(-5)")]
    [InlineData("version Float64", "(1.5)")]
    public async Task A_schema_versions_table_this_build_did_not_make_is_refused_naming_it_and_nothing_is_changed(string columns, string rows)
    {
        var (client, database) = await DatabaseWithSchemaVersionsAsync(columns, rows);
        var store = ClickHouseDatabase.Open(client, database);

        var refused = await FluentActions.Awaiting(() => store.Schema.EnsureSchemaAsync()).Should().ThrowAsync<StoreSchemaVersionUnknownException>();

        refused.Which.Message.Should().Contain(database).And.Contain("schema_versions").And.Contain("no build of ErrorHub makes").And.Contain("nothing was changed");
        (await TablesAsync(client, database)).Should().Equal(["schema_versions"], "a database of an unknown version is left as it is");
    }

    /// <summary>A database holding only a <c>schema_versions</c> table of <paramref name="columns"/> with <paramref name="rows"/>, as another program or a hand could leave it.</summary>
    private async Task<(ClickHouseClient Client, string Database)> DatabaseWithSchemaVersionsAsync(string columns, string rows)
    {
        var database = ClickHouseServerFixture.NewDatabaseName("hostileversion");
        _extraDatabases.Add(database);
        var http = new HttpClient(ClickHouseClient.CreateHandler());
        _extraClients.Add(http);
        var client = new ClickHouseClient(http, new ClickHouseConnection(server.Url));
        var table = $"{ClickHouseSql.QuoteIdentifier(database)}.schema_versions";
        await client.ExecuteAsync($"CREATE DATABASE {ClickHouseSql.QuoteIdentifier(database)}", CancellationToken.None);
        await client.ExecuteAsync($"CREATE TABLE {table} ({columns}) ENGINE = MergeTree ORDER BY tuple()", CancellationToken.None);
        await client.ExecuteAsync($"INSERT INTO {table} VALUES {rows}", CancellationToken.None);
        return (client, database);
    }

    private static async Task<IReadOnlyList<string>> TablesAsync(ClickHouseClient client, string database) =>
        await client.QueryAsync(
            $"SELECT name FROM system.tables WHERE database = {ClickHouseSql.Quote(database)} ORDER BY name",
            row => row.GetProperty("name").GetString() ?? "",
            CancellationToken.None);
}

/// <summary>The schema version a ClickHouse store (one server or a cluster) records, read and written as a build does.</summary>
internal static class ClickHouseSchemaVersions
{
    public static Task RecordAsync(ClickHouseClient client, ErrorHubStore store, long version) =>
        client.InsertSelectAsync($"INSERT INTO {Table(store)} (version, migrated_at) SELECT {version}, now()", CancellationToken.None);

    public static async Task<long> ReadAsync(ClickHouseClient client, ErrorHubStore store) =>
        (await client.QueryAsync($"SELECT max(version) AS version FROM {Table(store)}", row => ClickHouseClient.ReadInt64(row.GetProperty("version")), CancellationToken.None)).Single();

    private static string Table(ErrorHubStore store) => new ClickHouseSchema(((ClickHouseDatabase)store.Schema).Database).SchemaVersions;
}

/// <summary>Hand edits of a ClickHouse store's issue states, for tests of what a state stored by someone else reads as.</summary>
internal static class ClickHouseStoredTriage
{
    /// <summary>A newer row of the state with the same values but <paramref name="json"/> as its triage details, as the store writes a change.</summary>
    public static Task ReplaceAsync(ClickHouseClient client, string database, int projectId, string fingerprint, string json)
    {
        var states = new ClickHouseNotificationSchema(new ClickHouseSchema(database)).IssueStates;
        return client.InsertSelectAsync(
            $"""
            INSERT INTO {states} (project_id, fingerprint, status, changed_at, resolved_in_release, triage, version)
            SELECT project_id, fingerprint, argMax(status, version), argMax(changed_at, version), argMax(resolved_in_release, version), {ClickHouseSql.Quote(json)}, max(version) + 1
            FROM {states}
            WHERE project_id = {ClickHouseSql.Literal(projectId)} AND fingerprint = {ClickHouseSql.Quote(fingerprint)}
            GROUP BY project_id, fingerprint
            """,
            CancellationToken.None);
    }
}
