using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Storage.Sqlite;
using FluentAssertions;
using Microsoft.Data.Sqlite;
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
        var stores = await CreateStoresSharingAFreshDatabaseAsync(2);
        foreach (var store in stores)
        {
            await store.Schema.EnsureSchemaAsync();
        }

        var results = await Task.WhenAll(stores.Select((store, i) => store.Notifications.Outbox.TryAcquireLeaseAsync("notifications", "server-" + i, TestEvents.BaseTime, TimeSpan.FromMinutes(1))));
        results.Count(won => won).Should().Be(1);
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
}
