using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The store records its schema's version, so that processes upgraded one at a time against one store can tell a store
/// migrated by a newer build (refused: the process must be upgraded) from an older one (migrated, as always).
/// </summary>
public abstract partial class StoreContractTests
{
    /// <summary>The schema version this build makes on this store.</summary>
    private protected abstract int KnownSchemaVersion { get; }

    /// <summary>Records <paramref name="version"/> as the schema's version of <paramref name="store"/>'s database, as a build that migrated it would.</summary>
    private protected abstract Task RecordSchemaVersionAsync(ErrorHubStore store, long version);

    /// <summary>The schema version recorded in <paramref name="store"/>'s database.</summary>
    private protected abstract Task<long> ReadSchemaVersionAsync(ErrorHubStore store);

    [Fact]
    public async Task A_new_store_records_the_schema_version_of_the_build_that_made_it()
    {
        (await ReadSchemaVersionAsync(Store)).Should().Be(KnownSchemaVersion);
    }

    [Fact]
    public async Task Several_processes_making_one_fresh_store_at_once_all_start_and_record_one_version()
    {
        var stores = await CreateStoresSharingAFreshDatabaseAsync(3);

        await Task.WhenAll(stores.Select(store => Task.Run(() => store.Schema.EnsureSchemaAsync())));

        foreach (var store in stores)
        {
            (await ReadSchemaVersionAsync(store)).Should().Be(KnownSchemaVersion);
        }

        // A later start of any of them finds the version it knows and starts as before.
        await stores[^1].Schema.EnsureSchemaAsync();
    }

    [Fact]
    public async Task A_store_a_newer_build_migrated_is_refused_with_both_versions_and_left_at_its_version()
    {
        var store = (await StoresSharingOneDatabaseAsync(1))[0];
        var newer = KnownSchemaVersion + 1;
        await RecordSchemaVersionAsync(store, newer);

        var refused = await FluentActions.Awaiting(() => store.Schema.EnsureSchemaAsync()).Should().ThrowAsync<StoreSchemaTooNewException>();

        refused.Which.Message.Should().StartWith(
            $"the store's schema is version {newer}, this build knows up to {KnownSchemaVersion}: upgrade this process");
        (await ReadSchemaVersionAsync(store)).Should().Be(newer, "an older build must not record its version over the newer one's");
    }

    [Fact]
    public async Task A_schema_version_far_past_any_build_is_refused_as_newer_and_left_as_it_is()
    {
        // The largest version every store can hold (SQLite's user_version is a signed 32-bit integer).
        var store = (await StoresSharingOneDatabaseAsync(1))[0];
        await store.Schema.EnsureSchemaAsync();
        await RecordSchemaVersionAsync(store, int.MaxValue);

        var refused = await FluentActions.Awaiting(() => store.Schema.EnsureSchemaAsync()).Should().ThrowAsync<StoreSchemaTooNewException>();

        refused.Which.Message.Should().StartWith($"the store's schema is version {int.MaxValue}, this build knows up to {KnownSchemaVersion}");
        (await ReadSchemaVersionAsync(store)).Should().Be(int.MaxValue);
    }
}
