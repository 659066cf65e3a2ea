using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Merging issues and undoing it: every read shows a merged issue's events under the issue it was merged into, in every store.</summary>
public abstract partial class StoreContractTests
{
    private async Task SeedMergeableAsync()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "target", T0.AddHours(1), TestEvents.User("alice"), title: "Target title") with { Release = "shop@1.0" },
            TestEvents.Create(Project, "target", T0.AddHours(2), TestEvents.User("bob"), title: "Target title") with { Release = "shop@1.0" },
            TestEvents.Create(Project, "it's \\ source", T0, TestEvents.User("alice"), title: "Source title") with { Release = "shop@0.9" },
            TestEvents.Create(Project, "it's \\ source", T0.AddHours(5), TestEvents.User("carol"), title: "Source title") with { Release = "shop@1.1" },
            TestEvents.Create(Project, "other", T0.AddHours(3), TestEvents.User("dave"), title: "Other title"),
        ]);
    }

    [Fact]
    public async Task A_merged_issues_events_users_and_counts_show_under_the_target_everywhere_and_unmerging_restores_it()
    {
        await SeedMergeableAsync();
        await Store.Merges.MergeAsync(Project, "target", ["it's \\ source"], T0.AddDays(1));

        (await Store.Merges.GetMergesAsync(Project)).Should().Equal(new Dictionary<string, string> { ["it's \\ source"] = "target" });
        (await Store.Merges.GetMergesAsync(Project + 1)).Should().BeEmpty();

        var list = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Sort = IssueSort.Events });
        list.TotalCount.Should().Be(2, "the merged issue is no issue of its own");
        list.Items.Select(i => (i.Fingerprint, i.Title, i.EventCount, i.UserCount, i.FirstSeen, i.LastSeen)).Should().Equal(
            ("target", "Target title", 4L, 3L, T0, T0.AddHours(5)),
            ("other", "Other title", 1L, 1L, T0.AddHours(3), T0.AddHours(3)));

        var issue = await Store.Issues.GetIssueAsync(Project, "target");
        issue.Should().BeEquivalentTo(new { Title = "Target title", EventCount = 4L, UserCount = 3L, FirstSeen = T0, LastSeen = T0.AddHours(5) });
        (await Store.Issues.GetIssueAsync(Project, "it's \\ source")).Should().BeNull("its events are the target's now");

        // The same through each filtered path: events (search, release), hours (range), triage tabs (named issues).
        var filtered = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Release = "shop@1.1" } });
        filtered.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Fingerprint = "target", EventCount = 1L, Title = "Target title" });
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Search = "Source title" } })).Items.Select(i => i.Fingerprint).Should().Equal("target");
        var ranged = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Since = T0.AddHours(4) } });
        ranged.Items.Should().ContainSingle().Which.EventCount.Should().Be(1);
        var named = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Fingerprints = ["target"] } });
        named.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new { EventCount = 4L, UserCount = 3L });
        var excluded = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { ExcludedFingerprints = ["target"] } });
        excluded.Items.Select(i => i.Fingerprint).Should().Equal("other");
        excluded.TotalCount.Should().Be(1);

        var events = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "target") { Limit = 10 });
        events.Items.Select(e => e.Timestamp).Should().Equal(T0.AddHours(5), T0.AddHours(2), T0.AddHours(1), T0);
        (await Store.Issues.GetEventsAsync(Project, "target", 10)).Should().HaveCount(4);
        var users = await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "target"));
        users.TotalCount.Should().Be(3);
        users.Items.Single(u => u.Id == "alice").EventCount.Should().Be(2, "alice hit both issues");
        var counts = await Store.Issues.GetEventCountsAsync(new EventCountQuery(Project, ["target", "other"], T0, TimeSpan.FromHours(1), 6));
        counts["target"].Should().Equal(1, 1, 1, 0, 0, 1);
        counts["other"].Should().Equal(0, 0, 0, 1, 0, 0);
        var releases = (await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "target"))).Dimensions.Single(d => d.Dimension == BreakdownDimension.Release);
        releases.Values.Should().Equal(new BreakdownValue("shop@1.0", 2), new BreakdownValue("shop@0.9", 1), new BreakdownValue("shop@1.1", 1));

        // New events of the merged fingerprint land in the target.
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "it's \\ source", T0.AddHours(6), TestEvents.User("erin"))]);
        (await Store.Issues.GetIssueAsync(Project, "target"))!.EventCount.Should().Be(5);

        await Store.Merges.UnmergeAsync(Project, "it's \\ source");
        (await Store.Merges.GetMergesAsync(Project)).Should().BeEmpty();
        var source = await Store.Issues.GetIssueAsync(Project, "it's \\ source");
        source.Should().BeEquivalentTo(new { Title = "Source title", EventCount = 3L, UserCount = 3L, FirstSeen = T0, LastSeen = T0.AddHours(6) });
        (await Store.Issues.GetIssueAsync(Project, "target"))!.EventCount.Should().Be(2);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).TotalCount.Should().Be(3);
        (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "target"))).TotalCount.Should().Be(2);
        (await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "target"))).Events.Should().Be(2);
        (await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "it's \\ source"))).Events.Should().Be(3);
    }

    [Fact]
    public async Task Merging_into_an_issue_takes_along_what_was_merged_into_the_sources_and_a_merged_target_stands_for_its_own_target()
    {
        await SeedMergeableAsync();
        await Store.Merges.MergeAsync(Project, "other", ["it's \\ source"], T0);
        await Store.Merges.MergeAsync(Project, "target", ["other", "target"], T0);

        (await Store.Merges.GetMergesAsync(Project)).Should().Equal(new Dictionary<string, string> { ["it's \\ source"] = "target", ["other"] = "target" });
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).Items.Should().ContainSingle().Which.EventCount.Should().Be(5);

        await Store.Merges.MergeAsync(Project, "other", ["fresh"], T0);
        (await Store.Merges.GetMergesAsync(Project))["fresh"].Should().Be("target", "'other' is merged: its events and those merged into it are the target's");

        await Store.Merges.UnmergeAsync(Project, "never-merged");
        var tooMany = () => Store.Merges.MergeAsync(Project, "target", [.. Enumerable.Range(0, 101).Select(i => $"fp-{i}")], T0);
        await tooMany.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Activity_counts_a_merged_issues_events_for_its_target_and_an_undone_merge_counts_them_apart_again()
    {
        await SeedMergeableAsync();
        await Store.Merges.MergeAsync(Project, "target", ["it's \\ source"], T0.AddDays(1));
        var activity = Store.Notifications.Activity;
        var window = new ActivityQuery(Project, T0.AddMinutes(-1), T0.AddHours(6));

        (await activity.GetActivityAsync(window)).Should().Equal(new IssueActivity("target", 4, 3), new IssueActivity("other", 1, 1));
        (await activity.GetActivityAsync(window with { Sort = ActivitySort.Users, MinUsers = 2 })).Should().Equal(new IssueActivity("target", 4, 3));
        (await activity.GetTotalsAsync(Project, EventFilter.All, T0.AddMinutes(-1), T0.AddHours(6))).Should().Be(new ActivityTotals(5, 4, 2));
        (await activity.GetNewIssuesAsync(Project, EventFilter.All, T0.AddHours(-1), 100)).Select(i => i.Fingerprint).Should().Equal(["target", "other"], "a merged issue is no new issue of its own");
        (await activity.GetFirstEventAsync(Project, "target", EventFilter.All))!.Title.Should().Be("Source title", "the merged issue's first event is the target's first");
        (await activity.GetReleasesAfterAsync(Project, "target", EventFilter.All, T0.AddMinutes(30))).Should().Equal(
            new ReleaseActivity("shop@1.0", 2, T0.AddHours(1)),
            new ReleaseActivity("shop@1.1", 1, T0.AddHours(5)));
        (await activity.GetIssueActivityAfterAsync(Project, "target", T0.AddSeconds(-1))).Should().Be(new IssueActivity("target", 4, 3), "alice hit both: one user");
        (await activity.GetIssueActivityAfterAsync(Project, "target", T0.AddMinutes(90))).Should().Be(new IssueActivity("target", 2, 2));

        await Store.Merges.UnmergeAsync(Project, "it's \\ source");

        (await activity.GetActivityAsync(window)).Should().Equal(
            new IssueActivity("it's \\ source", 2, 2), new IssueActivity("target", 2, 2), new IssueActivity("other", 1, 1));
        (await activity.GetTotalsAsync(Project, EventFilter.All, T0.AddMinutes(-1), T0.AddHours(6))).Should().Be(new ActivityTotals(5, 4, 3));
        (await activity.GetFirstEventAsync(Project, "target", EventFilter.All))!.Title.Should().Be("Target title");
        (await activity.GetIssueActivityAfterAsync(Project, "target", T0.AddSeconds(-1))).Should().Be(new IssueActivity("target", 2, 2));
    }

    [Fact]
    public async Task An_issues_activity_after_a_time_counts_to_the_second_with_no_upper_bound()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0.AddSeconds(10), TestEvents.User("a")),
            TestEvents.Create(Project, "fp", T0.AddSeconds(11), TestEvents.User("b")),
            TestEvents.Create(Project, "fp", T0.AddSeconds(59), TestEvents.User("b")),
            TestEvents.Create(Project, "fp", T0.AddDays(400)),
            TestEvents.Create(Project, "fp-other", T0.AddSeconds(30), TestEvents.User("c")),
        ]);
        var activity = Store.Notifications.Activity;

        (await activity.GetIssueActivityAfterAsync(Project, "fp", T0.AddSeconds(10))).Should().Be(new IssueActivity("fp", 3, 1), "strictly after, in the same minute too");
        (await activity.GetIssueActivityAfterAsync(Project, "fp", T0.AddSeconds(10).AddMilliseconds(700))).Should().Be(new IssueActivity("fp", 3, 1), "by whole seconds");
        (await activity.GetIssueActivityAfterAsync(Project, "fp", T0.AddDays(400))).Should().Be(new IssueActivity("fp", 0, 0));
        (await activity.GetIssueActivityAfterAsync(Project, "it's ' OR 1=1 --", T0)).Should().Be(new IssueActivity("it's ' OR 1=1 --", 0, 0));
    }

    [Fact]
    public async Task A_merge_shows_at_once_in_the_process_that_made_it_and_within_seconds_in_another_reading_the_same_store()
    {
        // Two dashboard processes on one store: the one that merges reads its own change at once; the other, which read
        // the issue just before (and may keep the project's merges for a moment), sees it within a few seconds.
        var stores = await StoresSharingOneDatabaseAsync(2);

        var (merging, other) = (stores[0], stores[1]);
        await merging.Events.InsertEventsAsync([TestEvents.Create(Project, "target", T0), TestEvents.Create(Project, "source", T0.AddSeconds(1))]);
        (await other.Issues.GetIssueAsync(Project, "source")).Should().NotBeNull();
        (await merging.Issues.GetIssueAsync(Project, "source")).Should().NotBeNull();

        await merging.Merges.MergeAsync(Project, "target", ["source"], T0.AddMinutes(1));
        (await merging.Issues.GetIssueAsync(Project, "source")).Should().BeNull("the merging process reads its own merge at once");
        (await merging.Issues.GetIssueAsync(Project, "target"))!.EventCount.Should().Be(2);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (await other.Issues.GetIssueAsync(Project, "source") is not null)
        {
            watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "another process sees a merge within seconds");
            await Task.Delay(100);
        }

        (await other.Issues.GetEventPageAsync(new EventQuery(Project, "target") { Limit = 10 })).Items.Should().HaveCount(2);

        await merging.Merges.UnmergeAsync(Project, "source");
        (await merging.Issues.GetIssueAsync(Project, "source")).Should().NotBeNull("the unmerging process reads its own change at once");
    }

    /// <summary>
    /// The issue merged into stands the whole time, whatever a read meets of the merge's rows: merged, unmerged, or the
    /// moment between. A maintainer's issue page reads it right after each merge and unmerge.
    /// </summary>
    [Fact]
    public async Task The_issue_merged_into_is_read_whole_at_every_moment_while_another_merges_into_it_and_unmerges_again()
    {
        await SeedMergeableAsync();
        const int Rounds = 15;
        var targetEvents = new List<long>();
        using var done = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            do
            {
                var target = await Store.Issues.GetIssueAsync(Project, "target");
                target.Should().NotBeNull("the issue merged into never vanishes");
                targetEvents.Add(target!.EventCount);
            }
            while (!done.IsCancellationRequested);
        });

        for (var round = 0; round < Rounds; round++)
        {
            await Store.Merges.MergeAsync(Project, "target", ["it's \\ source"], T0.AddDays(1));
            (await Store.Issues.GetIssueAsync(Project, "target"))!.EventCount.Should().Be(4);
            await Store.Merges.UnmergeAsync(Project, "it's \\ source");
            (await Store.Issues.GetIssueAsync(Project, "target"))!.EventCount.Should().Be(2);
            (await Store.Issues.GetIssueAsync(Project, "it's \\ source")).Should().NotBeNull("an unmerged issue stands on its own at once");
        }

        await done.CancelAsync();
        await reading;
        targetEvents.Should().OnlyContain(events => events == 2 || events == 4, "the target has its own events, with or without the merged issue's");
    }
}
