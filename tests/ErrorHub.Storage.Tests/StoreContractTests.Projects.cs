using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Projects, their keys and settings, as the dashboard manages them and ingest checks them.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Created_projects_get_the_next_id_and_their_first_key_and_ids_of_deleted_projects_are_never_reused()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Configured", "configured-key", T0));

        var shop = await Store.Projects.CreateProjectAsync("Shop", "shop-key", T0.AddMinutes(1));
        await Store.Projects.DeleteProjectAsync(shop.Id, T0.AddMinutes(2));
        var worker = await Store.Projects.CreateProjectAsync("Worker 'quoted' 🎉", "worker-key", T0.AddMinutes(3));

        shop.Should().Be(new Project(2, "Shop", "shop-key", T0.AddMinutes(1)));
        worker.Id.Should().Be(3, "project 2 was deleted, and its events may still be stored under its id");
        (await Store.Projects.GetProjectsAsync()).Should().Equal(
            new Project(1, "Configured", "configured-key", T0),
            new Project(3, "Worker 'quoted' 🎉", "worker-key", T0.AddMinutes(3)));
        (await Store.Projects.GetKeysAsync(3)).Should().Equal(new ProjectKey(3, "worker-key", "Default", T0.AddMinutes(3), null));
    }

    [Fact]
    public async Task A_deleted_project_is_gone_from_every_read_and_cannot_be_changed_or_brought_back()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "shop-key", T0));
        await Store.Projects.SaveSettingsAsync(1, new ProjectSettings(100, 30));

        (await Store.Projects.DeleteProjectAsync(1, T0.AddDays(1))).Should().BeTrue();

        (await Store.Projects.GetProjectAsync(1)).Should().BeNull();
        (await Store.Projects.GetProjectsAsync()).Should().BeEmpty();
        (await Store.Projects.GetKeysAsync(1)).Should().BeEmpty("ingest checks keys through this: a deleted project receives nothing");
        (await Store.Projects.GetSettingsAsync(1)).Should().BeNull();
        (await Store.Projects.DeleteProjectAsync(1, T0.AddDays(2))).Should().BeFalse();
        (await Store.Projects.RenameProjectAsync(1, "Back")).Should().BeFalse();
        (await Store.Projects.AddKeyAsync(1, "new-key", "New", T0.AddDays(2))).Should().BeFalse();
        (await Store.Projects.SaveSettingsAsync(1, ProjectSettings.None)).Should().BeFalse();

        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop again", "shop-key", T0.AddDays(3)));
        (await Store.Projects.GetProjectAsync(1)).Should().BeNull("a restart with the project still configured must not undo the deletion");
    }

    [Fact]
    public async Task Renaming_keeps_the_keys_the_settings_and_the_creation_time()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "shop-key", T0));
        await Store.Projects.SaveSettingsAsync(1, new ProjectSettings(60, 14));

        (await Store.Projects.RenameProjectAsync(1, "Web shop \\ 'eu'")).Should().BeTrue();

        (await Store.Projects.GetProjectAsync(1)).Should().Be(new Project(1, "Web shop \\ 'eu'", "shop-key", T0));
        (await Store.Projects.GetSettingsAsync(1)).Should().Be(new ProjectSettings(60, 14));
        (await Store.Projects.RenameProjectAsync(99, "Nothing")).Should().BeFalse();
    }

    [Fact]
    public async Task A_project_has_several_keys_the_newest_active_one_shows_in_its_dsn_and_revoked_ones_stay_listed()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "first-key", T0));

        (await Store.Projects.AddKeyAsync(1, "second-key", "Mobile app", T0.AddHours(1))).Should().BeTrue();
        (await Store.Projects.AddKeyAsync(1, "third-key", "Worker", T0.AddHours(2))).Should().BeTrue();
        (await Store.Projects.AddKeyAsync(1, "second-key", "Again", T0.AddHours(3))).Should().BeFalse("a key is added once");
        (await Store.Projects.AddKeyAsync(2, "other-key", "No project", T0)).Should().BeFalse();
        (await Store.Projects.GetProjectAsync(1))!.PublicKey.Should().Be("third-key");

        (await Store.Projects.RevokeKeyAsync(1, "third-key", T0.AddHours(4))).Should().BeTrue();
        (await Store.Projects.RevokeKeyAsync(1, "third-key", T0.AddHours(5))).Should().BeFalse("it is revoked already");
        (await Store.Projects.RevokeKeyAsync(1, "no-such-key", T0.AddHours(5))).Should().BeFalse();

        (await Store.Projects.GetKeysAsync(1)).Should().Equal(
            new ProjectKey(1, "first-key", "Default", T0, null),
            new ProjectKey(1, "second-key", "Mobile app", T0.AddHours(1), null),
            new ProjectKey(1, "third-key", "Worker", T0.AddHours(2), T0.AddHours(4)));
        (await Store.Projects.GetProjectAsync(1))!.PublicKey.Should().Be("second-key", "the newest key that still works");
        (await Store.Projects.GetProjectsAsync()).Single().PublicKey.Should().Be("second-key");

        await Store.Projects.RevokeKeyAsync(1, "first-key", T0.AddHours(6));
        await Store.Projects.RevokeKeyAsync(1, "second-key", T0.AddHours(6));
        (await Store.Projects.GetProjectAsync(1))!.PublicKey.Should().BeEmpty("no key works any more");
    }

    [Fact]
    public async Task An_upsert_adds_its_key_beside_the_others_and_does_not_bring_back_a_revoked_one()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "first-key", T0));
        await Store.Projects.AddKeyAsync(1, "added-key", "App", T0.AddHours(1));
        await Store.Projects.RevokeKeyAsync(1, "first-key", T0.AddHours(2));

        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "first-key", T0.AddHours(3)));
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "configured-key", T0.AddHours(4)));

        (await Store.Projects.GetKeysAsync(1)).Select(key => (key.PublicKey, key.IsActive)).Should().Equal(
            ("first-key", false), ("added-key", true), ("configured-key", true));
    }

    [Fact]
    public async Task Settings_are_none_until_saved_and_read_back_as_saved()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "shop-key", T0));

        (await Store.Projects.GetSettingsAsync(1)).Should().Be(ProjectSettings.None);
        (await Store.Projects.SaveSettingsAsync(1, new ProjectSettings(1200, null))).Should().BeTrue();
        (await Store.Projects.GetSettingsAsync(1)).Should().Be(new ProjectSettings(1200, null));
        await Store.Projects.SaveSettingsAsync(1, new ProjectSettings(null, 90));
        (await Store.Projects.GetSettingsAsync(1)).Should().Be(new ProjectSettings(null, 90));
        (await Store.Projects.GetSettingsAsync(2)).Should().BeNull();
        (await Store.Projects.SaveSettingsAsync(2, ProjectSettings.None)).Should().BeFalse();
    }

    [Fact]
    public async Task Drop_counts_add_up_per_project_hour_and_reason_from_every_writer()
    {
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "shop-key", T0));
        var hour = new DateTimeOffset(2026, 11, 30, 14, 0, 0, TimeSpan.Zero);
        await Store.Projects.AddDropsAsync([
            new ProjectDrops(1, hour.AddMinutes(5), "rate_limit", 3, 300),
            new ProjectDrops(1, hour.AddMinutes(59), "spike_protection", 1, 0),
            new ProjectDrops(2, hour, "rate_limit", 7, 70),
        ]);
        await Store.Projects.AddDropsAsync([new ProjectDrops(1, hour.AddMinutes(30), "rate_limit", 2, 20)]); // another ingest process
        await Store.Projects.AddDropsAsync([new ProjectDrops(1, hour.AddHours(1), "invalid", 1, 4), new ProjectDrops(1, hour.AddHours(-2), "too_large", 1, 0)]);
        await Store.Projects.AddDropsAsync([]);

        (await Store.Projects.GetDropsAsync(1, hour.AddMinutes(10))).Should().Equal(
            new ProjectDrops(1, hour, "rate_limit", 5, 320),
            new ProjectDrops(1, hour, "spike_protection", 1, 0),
            new ProjectDrops(1, hour.AddHours(1), "invalid", 1, 4));
        (await Store.Projects.GetDropsAsync(2, hour.AddDays(-1))).Should().Equal(new ProjectDrops(2, hour, "rate_limit", 7, 70));
        (await Store.Projects.GetDropsAsync(3, hour.AddDays(-1))).Should().BeEmpty();
    }
}
