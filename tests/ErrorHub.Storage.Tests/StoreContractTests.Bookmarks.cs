using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Bookmarks: per person and per issue, following merges, in every store.</summary>
public abstract partial class StoreContractTests
{
    private static readonly Guid Ana = Guid.Parse("0000000a-0000-0000-0000-000000000001");
    private static readonly Guid Ben = Guid.Parse("0000000b-0000-0000-0000-000000000002");

    [Fact]
    public async Task Bookmarks_are_per_person_and_per_project_and_removing_one_leaves_the_others()
    {
        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, ["checkout", "it's \\ 'quoted'", "profile"], bookmarked: true, T0);
        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, ["checkout"], bookmarked: true, T0.AddMinutes(1)); // again: still one
        await Store.Bookmarks.SetBookmarksAsync(Project, Ben, ["profile"], bookmarked: true, T0);
        await Store.Bookmarks.SetBookmarksAsync(Project + 1, Ana, ["elsewhere"], bookmarked: true, T0);

        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().BeEquivalentTo(["checkout", "it's \\ 'quoted'", "profile"]);
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ben)).Should().BeEquivalentTo(["profile"]);
        (await Store.Bookmarks.GetBookmarksAsync(Project, Guid.NewGuid())).Should().BeEmpty();

        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, ["profile", "never-bookmarked"], bookmarked: false, T0.AddMinutes(2));
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().BeEquivalentTo(["checkout", "it's \\ 'quoted'"]);
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ben)).Should().BeEquivalentTo(["profile"], "Ana's change is hers alone");
        (await Store.Bookmarks.GetBookmarksAsync(Project + 1, Ana)).Should().BeEquivalentTo(["elsewhere"]);

        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, ["profile"], bookmarked: true, T0.AddMinutes(3));
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().Contain("profile", "a removed bookmark can be set again");
    }

    [Fact]
    public async Task A_merged_issues_bookmark_moves_to_the_issue_it_was_merged_into_and_removing_that_star_removes_both()
    {
        await SeedMergeableAsync();
        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, ["it's \\ source"], bookmarked: true, T0);
        await Store.Bookmarks.SetBookmarksAsync(Project, Ben, ["target"], bookmarked: true, T0);

        await Store.Merges.MergeAsync(Project, "target", ["it's \\ source"], T0.AddDays(1));
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().BeEquivalentTo(["target"], "Ana bookmarked what is now part of the target");
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ben)).Should().BeEquivalentTo(["target"]);

        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, ["target"], bookmarked: false, T0.AddDays(2));
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().BeEmpty("the star she sees goes off");
        await Store.Merges.UnmergeAsync(Project, "it's \\ source");
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().BeEmpty("her bookmark of the merged issue went with it");
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ben)).Should().BeEquivalentTo(["target"]);
    }

    [Fact]
    public async Task More_bookmark_changes_than_the_bulk_limit_at_once_are_refused_and_nothing_is_stored()
    {
        var tooMany = Enumerable.Range(0, IIssueBookmarks.MaxIssues + 1).Select(i => $"issue-{i}").ToList();
        await FluentActions.Awaiting(() => Store.Bookmarks.SetBookmarksAsync(Project, Ana, tooMany, bookmarked: true, T0)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().BeEmpty();

        await Store.Bookmarks.SetBookmarksAsync(Project, Ana, [.. tooMany.Take(IIssueBookmarks.MaxIssues)], bookmarked: true, T0);
        (await Store.Bookmarks.GetBookmarksAsync(Project, Ana)).Should().HaveCount(IIssueBookmarks.MaxIssues);
    }
}
