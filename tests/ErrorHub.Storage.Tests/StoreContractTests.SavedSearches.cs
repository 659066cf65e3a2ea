using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Saved searches and pinned defaults: per owner and project, bounded, in every store.</summary>
public abstract partial class StoreContractTests
{
    private static readonly Guid Cleo = Guid.Parse("0000000c-0000-0000-0000-000000000003");
    private static readonly Guid Dan = Guid.Parse("0000000d-0000-0000-0000-000000000004");

    private static SavedSearch Saved(Guid? owner, string name, string query = "status=regressed", int project = Project) =>
        new(Guid.NewGuid(), project, owner, name, query, owner ?? Dan, T0);

    [Fact]
    public async Task Saved_searches_are_the_projects_shared_ones_and_the_persons_own_and_round_trip()
    {
        var shared = Saved(null, "Team's 'triage' \\ list", "q=it%27s%20%5C%20quoted&assigned=none");
        var cleos = Saved(Cleo, "Mine", "bookmarked=me");
        var dans = Saved(Dan, "Dan's");
        foreach (var search in new[] { shared, cleos, dans, Saved(Cleo, "Elsewhere", project: Project + 1) })
        {
            (await Store.SavedSearches.CreateAsync(search)).Should().Be(SavedSearchChange.Done);
        }

        (await Store.SavedSearches.GetSearchesAsync(Project, Cleo)).Should().Equal([shared, cleos], "shared first, then her own; never Dan's nor another project's");
        (await Store.SavedSearches.GetSearchesAsync(Project, Dan)).Should().Equal([shared, dans]);
        (await Store.SavedSearches.GetSearchAsync(Project, dans.Id)).Should().Be(dans);
        (await Store.SavedSearches.GetSearchAsync(Project + 1, dans.Id)).Should().BeNull("an id of another project's search");
        (await Store.SavedSearches.GetSearchAsync(Project, Guid.NewGuid())).Should().BeNull();
    }

    [Fact]
    public async Task A_name_is_unique_per_owner_ignoring_case_and_an_update_keeps_owner_and_creation()
    {
        var mine = Saved(Cleo, "Regressed");
        await Store.SavedSearches.CreateAsync(mine);
        (await Store.SavedSearches.CreateAsync(Saved(Cleo, "REGRESSED"))).Should().Be(SavedSearchChange.DuplicateName);
        (await Store.SavedSearches.CreateAsync(Saved(Dan, "Regressed"))).Should().Be(SavedSearchChange.Done, "names are unique per owner");
        (await Store.SavedSearches.CreateAsync(Saved(null, "Regressed"))).Should().Be(SavedSearchChange.Done, "and shared ones are the project's");
        var other = Saved(Cleo, "Other");
        await Store.SavedSearches.CreateAsync(other);

        (await Store.SavedSearches.UpdateAsync(Project, other.Id, "regressed", "status=all")).Should().Be(SavedSearchChange.DuplicateName);
        (await Store.SavedSearches.UpdateAsync(Project, mine.Id, "regressed", "status=ignored")).Should().Be(SavedSearchChange.Done, "its own name in other case");
        (await Store.SavedSearches.GetSearchAsync(Project, mine.Id)).Should().Be(mine with { Name = "regressed", Query = "status=ignored" });
        (await Store.SavedSearches.UpdateAsync(Project, Guid.NewGuid(), "x", "")).Should().Be(SavedSearchChange.NotFound);
        (await Store.SavedSearches.UpdateAsync(Project + 1, mine.Id, "x", "")).Should().Be(SavedSearchChange.NotFound);
    }

    [Fact]
    public async Task An_owner_keeps_at_most_the_limit_of_saved_searches_and_deleting_one_makes_room()
    {
        for (var i = 0; i < ISavedSearches.MaxPerOwner; i++)
        {
            (await Store.SavedSearches.CreateAsync(Saved(Cleo, $"search {i}"))).Should().Be(SavedSearchChange.Done);
        }

        (await Store.SavedSearches.CreateAsync(Saved(Cleo, "one more"))).Should().Be(SavedSearchChange.TooMany);
        (await Store.SavedSearches.CreateAsync(Saved(null, "shared"))).Should().Be(SavedSearchChange.Done, "the project's shared ones count apart");
        var first = (await Store.SavedSearches.GetSearchesAsync(Project, Cleo)).First(search => !search.IsShared);
        (await Store.SavedSearches.DeleteAsync(Project, first.Id, T0)).Should().BeTrue();
        (await Store.SavedSearches.DeleteAsync(Project, first.Id, T0)).Should().BeFalse("it is gone");
        (await Store.SavedSearches.CreateAsync(Saved(Cleo, "one more"))).Should().Be(SavedSearchChange.Done);
        (await Store.SavedSearches.GetSearchesAsync(Project, Cleo)).Should().HaveCount(ISavedSearches.MaxPerOwner + 1);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" padded ")]
    [InlineData("bell\a")]
    [InlineData("line\nbreak")]
    public async Task A_name_out_of_bounds_is_refused_and_nothing_is_stored(string name)
    {
        await FluentActions.Awaiting(() => Store.SavedSearches.CreateAsync(Saved(Cleo, name))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => Store.SavedSearches.CreateAsync(Saved(Cleo, new string('n', ISavedSearches.MaxNameLength + 1)))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => Store.SavedSearches.CreateAsync(Saved(Cleo, "long", new string('q', ISavedSearches.MaxQueryLength + 1)))).Should().ThrowAsync<ArgumentException>();
        (await Store.SavedSearches.GetSearchesAsync(Project, Cleo)).Should().BeEmpty();

        var longest = Saved(Cleo, new string('n', ISavedSearches.MaxNameLength), "q=" + new string('q', ISavedSearches.MaxQueryLength - 2));
        (await Store.SavedSearches.CreateAsync(longest)).Should().Be(SavedSearchChange.Done);
        (await Store.SavedSearches.GetSearchAsync(Project, longest.Id)).Should().Be(longest);
    }

    [Fact]
    public async Task A_pin_is_per_person_and_project_and_deleting_the_pinned_search_unpins_it_for_everyone()
    {
        var shared = Saved(null, "Shared");
        await Store.SavedSearches.CreateAsync(shared);
        (await Store.SavedSearches.GetPinAsync(Project, Cleo)).Should().BeNull();

        await Store.SavedSearches.SetPinAsync(Project, Cleo, shared.Id.ToString("D"), T0);
        await Store.SavedSearches.SetPinAsync(Project, Dan, shared.Id.ToString("D"), T0);
        await Store.SavedSearches.SetPinAsync(Project + 1, Cleo, "recommended:assigned_to_me", T0);
        (await Store.SavedSearches.GetPinAsync(Project, Cleo)).Should().Be(shared.Id.ToString("D"));
        (await Store.SavedSearches.GetPinAsync(Project + 1, Cleo)).Should().Be("recommended:assigned_to_me");

        await Store.SavedSearches.SetPinAsync(Project, Cleo, "recommended:unassigned", T0.AddMinutes(1));
        (await Store.SavedSearches.GetPinAsync(Project, Cleo)).Should().Be("recommended:unassigned", "a new pin replaces the old one");
        await Store.SavedSearches.SetPinAsync(Project, Cleo, shared.Id.ToString("D"), T0.AddMinutes(2));

        await Store.SavedSearches.DeleteAsync(Project, shared.Id, T0.AddMinutes(3));
        (await Store.SavedSearches.GetPinAsync(Project, Cleo)).Should().BeNull();
        (await Store.SavedSearches.GetPinAsync(Project, Dan)).Should().BeNull();
        (await Store.SavedSearches.GetPinAsync(Project + 1, Cleo)).Should().Be("recommended:assigned_to_me");

        await Store.SavedSearches.SetPinAsync(Project + 1, Cleo, null, T0.AddMinutes(4));
        (await Store.SavedSearches.GetPinAsync(Project + 1, Cleo)).Should().BeNull("unpinned");
        await FluentActions.Awaiting(() => Store.SavedSearches.SetPinAsync(Project, Cleo, new string('p', ISavedSearches.MaxPinLength + 1), T0)).Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task Forgetting_a_deleted_project_removes_its_saved_searches_and_pins_only()
    {
        var gone = Saved(Cleo, "Gone");
        var kept = Saved(Cleo, "Kept", project: Project + 1);
        await Store.SavedSearches.CreateAsync(gone);
        await Store.SavedSearches.CreateAsync(Saved(null, "Gone too"));
        await Store.SavedSearches.CreateAsync(kept);
        await Store.SavedSearches.SetPinAsync(Project, Cleo, "recommended:unresolved", T0);
        await Store.SavedSearches.SetPinAsync(Project + 1, Cleo, kept.Id.ToString("D"), T0);

        await Store.SavedSearches.ForgetProjectAsync(Project, T0.AddMinutes(1));

        (await Store.SavedSearches.GetSearchesAsync(Project, Cleo)).Should().BeEmpty();
        (await Store.SavedSearches.GetPinAsync(Project, Cleo)).Should().BeNull();
        (await Store.SavedSearches.GetSearchesAsync(Project + 1, Cleo)).Should().Equal([kept]);
        (await Store.SavedSearches.GetPinAsync(Project + 1, Cleo)).Should().Be(kept.Id.ToString("D"));
    }
}
