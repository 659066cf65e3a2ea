using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>A project's releases from its events: the same answers from every store.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Releases_list_newest_first_with_first_and_last_seen_events_and_the_issues_each_brought_paged()
    {
        const string odd = "it's \\ \"odd\"@1.0 '; DROP TABLE events; --";
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "a", T0, TestEvents.User("u1")) with { Release = odd },
            TestEvents.Create(Project, "a", T0.AddHours(1)) with { Release = "shop@2.0" },
            TestEvents.Create(Project, "b", T0.AddHours(2)) with { Release = "shop@2.0" },
            TestEvents.Create(Project, "b", T0.AddHours(3)) with { Release = "shop@2.0" },
            TestEvents.Create(Project, "c", T0.AddHours(4)) with { Release = "shop@3.0" },
            TestEvents.Create(Project, "d", T0.AddMinutes(30)) with { Release = null },
            TestEvents.Create(Project + 1, "x", T0.AddHours(9)) with { Release = "elsewhere@1" },
        ]);

        var all = await Store.Releases.GetReleasesAsync(new ReleaseQuery(Project));
        all.TotalCount.Should().Be(3, "events without a release and other projects' releases are left out");
        all.Items.Should().Equal(
            new ReleaseSummary("shop@3.0", T0.AddHours(4), T0.AddHours(4), 1, 1),
            new ReleaseSummary("shop@2.0", T0.AddHours(1), T0.AddHours(3), 3, 1),
            new ReleaseSummary(odd, T0, T0, 1, 1));

        var second = await Store.Releases.GetReleasesAsync(new ReleaseQuery(Project) { Offset = 1, Limit = 1 });
        second.Items.Select(r => r.Release).Should().Equal("shop@2.0");
        second.TotalCount.Should().Be(3);

        // An issue merged into another is no new issue of its own: the merged issue's first event decides.
        await Store.Merges.MergeAsync(Project, "b", ["a"], T0.AddDays(1));
        var merged = await Store.Releases.GetReleasesAsync(new ReleaseQuery(Project));
        merged.Items.Select(r => (r.Release, r.NewIssues)).Should().Equal(("shop@3.0", 1L), ("shop@2.0", 0L), (odd, 1L));

        var badLimit = () => Store.Releases.GetReleasesAsync(new ReleaseQuery(Project) { Limit = 0 });
        await badLimit.Should().ThrowAsync<ArgumentOutOfRangeException>();
        var badOffset = () => Store.Releases.GetReleasesAsync(new ReleaseQuery(Project) { Offset = -1 });
        await badOffset.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
