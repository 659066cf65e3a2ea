using ErrorHub.Storage;
using ErrorHub.Storage.Retention;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>What triage stores beyond the status, and the lists its tabs ask for: the same answers from every store.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task An_issue_state_keeps_its_ignore_conditions_next_release_and_assignee_and_a_later_change_replaces_them()
    {
        var assignee = Guid.NewGuid();
        var ignored = new IssueState(Project, "fp", IssueStatus.Ignored, T0)
        {
            IgnoredUntil = T0.AddHours(5),
            IgnoredUntilEvents = 100,
            IgnoredUntilUsers = 7,
            AssigneeId = assignee,
        };
        await Store.Notifications.States.SetStateAsync(ignored);

        (await Store.Notifications.States.GetStateAsync(Project, "fp")).Should().Be(ignored);

        var resolved = new IssueState(Project, "fp", IssueStatus.Resolved, T0.AddMinutes(1)) { ResolvedAfterRelease = "it's \"shop\"@2.4.1\\", AssigneeId = assignee };
        await Store.Notifications.States.SetStateAsync(resolved);

        (await Store.Notifications.States.GetStateAsync(Project, "fp")).Should().Be(resolved, "ignore conditions end with the ignore");
        (await Store.Notifications.States.GetStatesAsync(Project, IssueStatus.Resolved)).Should().Equal(resolved);
    }

    [Fact]
    public async Task States_are_read_by_name_and_the_assigned_or_timed_ones_alone_without_the_others()
    {
        var assignee = Guid.NewGuid();
        var states = Store.Notifications.States;
        var assigned = new IssueState(Project, "assigned", IssueStatus.Unresolved, T0) { AssigneeId = assignee };
        var timed = new IssueState(Project, "it's \\ timed", IssueStatus.Ignored, T0) { IgnoredUntil = T0.AddHours(1) };
        var counted = new IssueState(Project, "counted", IssueStatus.Ignored, T0) { IgnoredUntilEvents = 10 };
        var resolvedAssigned = new IssueState(Project, "resolved-assigned", IssueStatus.Resolved, T0) { AssigneeId = assignee, Actions = "0123456789abcdef0123456789abcdef" };
        var resolved = Enumerable.Range(0, 50).Select(i => new IssueState(Project, $"resolved-{i:D2}", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@2.4.1" }).ToList();
        await states.SetStatesAsync([assigned, timed, counted, resolvedAssigned, .. resolved, new IssueState(Project + 1, "assigned", IssueStatus.Unresolved, T0) { AssigneeId = assignee }]);
        // Reassigned to nobody later: the latest state counts.
        await states.SetStateAsync(resolved[7] with { AssigneeId = assignee });
        await states.SetStateAsync(resolved[7]);

        (await states.GetStatesOfAsync(Project, ["resolved-03", "counted", "unknown", "counted", "it's \\ timed"]))
            .Should().Equal(counted, timed, resolved[3]);
        (await states.GetStatesOfAsync(Project, [])).Should().BeEmpty();
        (await states.GetStatesOfAsync(Project + 2, ["assigned"])).Should().BeEmpty();
        (await states.GetAssignedOrTimedStatesAsync(Project)).Should().Equal(assigned, timed, resolvedAssigned);
    }

    [Fact]
    public async Task Lists_narrow_to_named_issues_or_leave_them_out_with_and_without_other_filters()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "a", T0.AddMinutes(1)),
            TestEvents.Create(Project, "b", T0.AddMinutes(2)) with { Environment = "staging" },
            TestEvents.Create(Project, "c", T0.AddMinutes(3)),
            TestEvents.Create(Project, "it's \\ odd", T0.AddMinutes(4)),
        ]);

        async Task<string[]> ListAsync(IssueFilter filter) =>
            [.. (await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = filter })).Items.Select(i => i.Fingerprint)];

        (await ListAsync(new IssueFilter { Fingerprints = ["a", "c", "not-there"] })).Should().Equal("c", "a");
        (await ListAsync(new IssueFilter { ExcludedFingerprints = ["a", "it's \\ odd"] })).Should().Equal("c", "b");
        (await ListAsync(new IssueFilter { Fingerprints = ["it's \\ odd"] })).Should().Equal("it's \\ odd");
        (await ListAsync(new IssueFilter { Fingerprints = [] })).Should().BeEmpty("an empty tab lists nothing");
        (await ListAsync(new IssueFilter { ExcludedFingerprints = [] })).Should().HaveCount(4);
        (await ListAsync(new IssueFilter { ExcludedFingerprints = ["a"], Environment = "production" })).Should().Equal("it's \\ odd", "c");
        (await ListAsync(new IssueFilter { Fingerprints = ["a", "b"], Since = T0 })).Should().Equal("b", "a");
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { ExcludedFingerprints = ["a"] } })).TotalCount.Should().Be(3);

        // Any number of names: a project with thousands of regressed issues at once names them all (until December 2026 a
        // list of more than 5,000 was refused).
        string[] many = [.. Enumerable.Range(0, 6_000).Select(i => $"fp-{i}"), "c"];
        (await ListAsync(new IssueFilter { Fingerprints = many })).Should().Equal("c");
        (await ListAsync(new IssueFilter { ExcludedFingerprints = many })).Should().Equal("it's \\ odd", "b", "a");
        (await ListAsync(new IssueFilter { Statuses = [], StatusExceptions = many })).Should().Equal("c");
        (await ListAsync(new IssueFilter { Statuses = [], StatusExceptions = many, Environment = "production" })).Should().Equal(["c"], "with a filter that reads events");
    }

    [Fact]
    public async Task Issues_whose_events_can_end_their_state_are_found_from_the_aggregates_and_their_events_since_the_change_read_in_one_answer()
    {
        var changed = T0.AddHours(1);
        var ann = TestEvents.User("ann");
        var bob = TestEvents.User("bob");
        const string Ignored = "it's \\ ignored";
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "resolved", T0) with { Release = "shop@0.9" },
            TestEvents.Create(Project, "resolved", changed.AddMilliseconds(500)) with { Release = "shop@0.9" },
            TestEvents.Create(Project, "resolved", changed.AddSeconds(1), ann) with { Release = "shop@1.0" },
            TestEvents.Create(Project, "resolved", changed.AddHours(1), bob) with { Release = "shop@2.0" },
            TestEvents.Create(Project, "resolved", changed.AddHours(2), ann) with { Release = "shop@1.0" },
            TestEvents.Create(Project, "resolved", changed.AddHours(3)) with { Release = null },
            TestEvents.Create(Project, "quiet", T0),
            TestEvents.Create(Project, "quiet", changed.AddMilliseconds(999)),
            TestEvents.Create(Project, Ignored, changed.AddMinutes(1), ann),
            TestEvents.Create(Project, Ignored, changed.AddMinutes(2)),
            TestEvents.Create(Project, "merged", T0),
            TestEvents.Create(Project, "merged", changed.AddMinutes(3), bob),
            TestEvents.Create(Project, "for-good", changed.AddMinutes(1)),
            TestEvents.Create(Project, "for-good", changed.AddMinutes(2)),
            TestEvents.Create(Project, "for-a-day", changed.AddMinutes(1)),
            TestEvents.Create(Project, "reopened", changed.AddMinutes(1)),
            TestEvents.Create(Project, "never-triaged", changed.AddMinutes(1)),
            TestEvents.Create(Project + 1, "resolved", changed.AddMinutes(1)),
        ]);
        await Store.Notifications.States.SetStatesAsync(
        [
            new IssueState(Project, "resolved", IssueStatus.Resolved, changed) { ResolvedInRelease = "shop@1.0" },
            new IssueState(Project, "quiet", IssueStatus.Resolved, changed),
            new IssueState(Project, Ignored, IssueStatus.Ignored, changed) { IgnoredUntilUsers = 5 },
            new IssueState(Project, "merged", IssueStatus.Resolved, changed),
            new IssueState(Project, "for-good", IssueStatus.Ignored, changed) { AssigneeId = Guid.NewGuid() },
            new IssueState(Project, "for-a-day", IssueStatus.Ignored, changed) { IgnoredUntil = changed.AddDays(1) },
            new IssueState(Project, "reopened", IssueStatus.Unresolved, changed),
            new IssueState(Project, "state-without-events", IssueStatus.Resolved, changed),
            new IssueState(Project + 1, "resolved", IssueStatus.Resolved, changed.AddHours(10)),
        ]);
        await Store.Merges.MergeAsync(Project, Ignored, ["merged"], changed);
        var activity = Store.Notifications.Activity;

        var seen = (await activity.GetIssuesSeenAfterChangesAsync(Project)).OrderBy(issue => issue.Fingerprint, StringComparer.Ordinal).ToList();

        seen.Should().Equal(
            [new IssueSeenAfterChange(Ignored, changed.AddMinutes(3), 4), new IssueSeenAfterChange("resolved", changed.AddHours(3), 6)],
            "only resolved issues and ignores until N more events or users, with events after their change's second (with those of " +
            "the issues merged into them; every event counted): not quiet, ignored for good or until a time, unresolved, merged-away or never triaged issues");

        string[] named = [Ignored, "resolved", "quiet", "for-good", "reopened", "merged", "not-there"];
        var answer = (await activity.GetActivityAfterChangesAsync(Project, named)).OrderBy(issue => issue.Fingerprint, StringComparer.Ordinal).ToList();

        answer.Select(issue => issue.Fingerprint).Should().Equal(["for-good", Ignored, "resolved"], "the named resolved and ignored issues with events since their change, whatever their conditions");
        answer[0].Activity.Should().Be(new IssueActivity("for-good", 2, 0));
        answer[2].Releases.Should().Equal(
            [new ReleaseActivity("shop@1.0", 2, changed.AddSeconds(1)), new ReleaseActivity("shop@2.0", 1, changed.AddHours(1)), new ReleaseActivity("", 1, changed.AddHours(3))],
            "after the change's second only, per release, oldest first");
        answer[2].Activity.Should().Be(new IssueActivity("resolved", 4, 2));
        answer[1].Activity.Should().Be(new IssueActivity(Ignored, 3, 2), "with the events of the issue merged into it");
        answer[1].Releases.Should().Equal(new ReleaseActivity("shop@2.4.1", 3, changed.AddMinutes(1)));
        (await activity.GetActivityAfterChangesAsync(Project, [])).Should().BeEmpty();

        // The same as the questions asked one issue at a time.
        (await activity.GetReleasesAfterAsync(Project, "resolved", EventFilter.All, changed)).Should().Equal(answer[2].Releases);
        (await activity.GetIssueActivityAfterAsync(Project, Ignored, changed)).Should().Be(answer[1].Activity);
    }

    [Fact]
    public async Task An_issue_is_seen_after_its_change_by_any_of_its_days_environments_or_releases_and_counts_every_kept_event()
    {
        // An issue's events fall into rows per day, environment, level and release; the one row past the change can be any
        // of them, and the count is of every event of the issue (before the change too), as long as retention kept it.
        var changed = T0.AddDays(3).AddHours(5);
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "old-days", T0),
            TestEvents.Create(Project, "old-days", T0.AddDays(1)),
            TestEvents.Create(Project, "old-days", T0.AddDays(2)) with { Environment = "staging" },
            TestEvents.Create(Project, "old-days", changed.AddDays(2)) with { Environment = "staging", Release = "shop@3.0", Level = "warning" },
            TestEvents.Create(Project, "same-day-before", changed.AddHours(-4)),
            TestEvents.Create(Project, "same-day-before", changed.AddSeconds(-1)) with { Release = "shop@3.0" },
            TestEvents.Create(Project, "same-day-after", changed.AddHours(-4)),
            TestEvents.Create(Project, "same-day-after", changed.AddSeconds(1)),
            TestEvents.Create(Project, "unmerged", T0),
            TestEvents.Create(Project, "unmerged", changed.AddHours(1)),
            TestEvents.Create(Project, "target", T0),
        ]);
        await Store.Notifications.States.SetStatesAsync(
        [
            new IssueState(Project, "old-days", IssueStatus.Resolved, changed),
            new IssueState(Project, "same-day-before", IssueStatus.Resolved, changed),
            new IssueState(Project, "same-day-after", IssueStatus.Ignored, changed) { IgnoredUntilEvents = 10 },
            new IssueState(Project, "unmerged", IssueStatus.Ignored, changed),
            new IssueState(Project, "target", IssueStatus.Resolved, changed),
        ]);
        var activity = Store.Notifications.Activity;
        async Task<List<IssueSeenAfterChange>> SeenAsync() =>
            [.. (await activity.GetIssuesSeenAfterChangesAsync(Project)).OrderBy(issue => issue.Fingerprint, StringComparer.Ordinal)];

        (await SeenAsync()).Should().Equal(
            [new IssueSeenAfterChange("old-days", changed.AddDays(2), 4), new IssueSeenAfterChange("same-day-after", changed.AddSeconds(1), 2)],
            "an event after the change in another environment, level and release counts, one earlier the same day does not; ignored for good is never read");

        await Store.Merges.MergeAsync(Project, "target", ["unmerged"], changed);
        (await SeenAsync()).Select(issue => issue.Fingerprint).Should().Equal(
            ["old-days", "same-day-after", "target"], "the merged issue's event after the change counts for the issue it was merged into");
        (await SeenAsync()).Last().Should().Be(new IssueSeenAfterChange("target", changed.AddHours(1), 3));

        await Store.Merges.UnmergeAsync(Project, "unmerged");
        (await SeenAsync()).Select(issue => issue.Fingerprint).Should().Equal(
            ["old-days", "same-day-after"], "unmerged, its events are its own again, and its own state is ignored for good");

        // Retention keeps the last two days before the latest event: the old days' events are no longer counted.
        var cutoff = changed.AddDays(1).Date;
        (await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [Project] = new DateTimeOffset(cutoff, TimeSpan.Zero) }, null))).Should().BePositive();
        (await SeenAsync()).Should().Equal(
            [new IssueSeenAfterChange("old-days", changed.AddDays(2), 1)], "only the kept event counts; issues whose events all expired are not seen");
    }

    [Fact]
    public async Task Six_thousand_regressed_issues_are_found_and_read_in_one_answer_each()
    {
        // More than a list could name until December 2026 (5,000).
        const int Regressed = 6_000;
        var changed = T0.AddHours(1);
        string[] fingerprints = [.. Enumerable.Range(0, Regressed).Select(i => $"regressed-{i:D4}-{new string('x', 24)}")];
        await Store.Events.InsertEventsAsync([.. fingerprints.SelectMany((fingerprint, i) => new[] { TestEvents.Create(Project, fingerprint, T0), TestEvents.Create(Project, fingerprint, changed.AddSeconds(i + 1)) })]);
        await Store.Notifications.States.SetStatesAsync([.. fingerprints.Select(fingerprint => new IssueState(Project, fingerprint, IssueStatus.Resolved, changed))]);

        var seen = await Store.Notifications.Activity.GetIssuesSeenAfterChangesAsync(Project);
        seen.Select(issue => issue.Fingerprint).Should().BeEquivalentTo(fingerprints);

        var answer = (await Store.Notifications.Activity.GetActivityAfterChangesAsync(Project, fingerprints)).OrderBy(issue => issue.Fingerprint, StringComparer.Ordinal).ToList();
        answer.Select(issue => issue.Fingerprint).Should().Equal(fingerprints);
        answer.Select(issue => issue.Releases.Single().FirstSeen).Should().Equal(fingerprints.Select((_, i) => changed.AddSeconds(i + 1)));
    }

    [Fact]
    public async Task Lists_filter_by_stored_triage_status_with_thousands_of_resolved_and_ignored_issues()
    {
        // More resolved and more ignored issues than a list could name until December 2026 (5,000): the store reads the states itself.
        const int Resolved = 5_001;
        const int Ignored = 5_002;
        string[] untriaged = ["u-0", "u-1", "u-2"];
        var events = Enumerable.Range(0, Resolved).Select(i => TestEvents.Create(Project, $"r-{i}", T0.AddSeconds(i)))
            .Concat(Enumerable.Range(0, Ignored).Select(i => TestEvents.Create(Project, $"g-{i}", T0.AddSeconds(i)) with { Environment = "staging" }))
            .Concat(untriaged.Select((fingerprint, i) => TestEvents.Create(Project, fingerprint, T0.AddHours(5).AddMinutes(i))))
            .Append(TestEvents.Create(Project, "reopened", T0.AddHours(6)))
            .Append(TestEvents.Create(7 + 1, "r-0", T0))
            .ToList();
        await Store.Events.InsertEventsAsync(events);
        await Store.Notifications.States.SetStatesAsync(
        [
            .. Enumerable.Range(0, Resolved).Select(i => new IssueState(Project, $"r-{i}", IssueStatus.Resolved, T0.AddHours(1))),
            .. Enumerable.Range(0, Ignored).Select(i => new IssueState(Project, $"g-{i}", IssueStatus.Ignored, T0.AddHours(1)) { IgnoredUntilEvents = 10 }),
            new IssueState(Project, "reopened", IssueStatus.Unresolved, T0.AddHours(1)),
            new IssueState(Project, "state-without-events", IssueStatus.Resolved, T0.AddHours(1)),
        ]);

        Task<IssuePage> PageAsync(IssueFilter filter, int offset = 0, int limit = 50, IssueSort sort = IssueSort.LastSeen) =>
            Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = filter, Offset = offset, Limit = limit, Sort = sort });

        var unresolved = await PageAsync(new IssueFilter { Statuses = [IssueStatus.Unresolved] });
        unresolved.TotalCount.Should().Be(4, "never triaged and reopened issues are unresolved, the others are not");
        unresolved.Items.Select(issue => issue.Fingerprint).Should().Equal("reopened", "u-2", "u-1", "u-0");

        var withMoved = await PageAsync(new IssueFilter { Statuses = [IssueStatus.Unresolved], StatusExceptions = ["r-7", "g-3", "not-there"] });
        withMoved.TotalCount.Should().Be(6, "issues whose events moved them are listed with the unresolved ones");
        withMoved.Items.Select(issue => issue.Fingerprint).Should().Equal("reopened", "u-2", "u-1", "u-0", "r-7", "g-3");

        var resolved = await PageAsync(new IssueFilter { Statuses = [IssueStatus.Resolved], ExcludedFingerprints = ["r-7"] }, offset: Resolved - 11, limit: 50);
        resolved.TotalCount.Should().Be(Resolved - 1);
        resolved.Items.Select(issue => issue.Fingerprint).Should().Equal([.. Enumerable.Range(0, 11).Where(i => i != 7).Select(i => $"r-{i}").Reverse()], "the last page of the tab, newest first");

        var ignored = await PageAsync(new IssueFilter { Statuses = [IssueStatus.Ignored], Environment = "staging" }, limit: 2);
        ignored.TotalCount.Should().Be(Ignored, "with a filter that reads events too");
        ignored.Items.Select(issue => issue.Fingerprint).Should().Equal($"g-{Ignored - 1}", $"g-{Ignored - 2}");
        var searched = await PageAsync(new IssueFilter { Statuses = [IssueStatus.Ignored], Search = ": g-12" });
        searched.TotalCount.Should().Be(Enumerable.Range(0, Ignored).Count(i => $"g-{i}".StartsWith("g-12", StringComparison.Ordinal)), "with a search");
        searched.Items.Should().OnlyContain(issue => issue.Fingerprint.StartsWith("g-12", StringComparison.Ordinal));
        (await PageAsync(new IssueFilter { Statuses = [IssueStatus.Resolved, IssueStatus.Ignored], Since = T0.AddHours(-1) })).TotalCount.Should().Be(Resolved + Ignored);
        (await PageAsync(new IssueFilter { Statuses = [] })).TotalCount.Should().Be(0);

        await Store.Notifications.States.SetStateAsync(new IssueState(Project, "r-0", IssueStatus.Unresolved, T0.AddHours(2)));
        (await PageAsync(new IssueFilter { Statuses = [IssueStatus.Unresolved] })).TotalCount.Should().Be(5, "the latest state counts");
        (await PageAsync(new IssueFilter { Statuses = [IssueStatus.Resolved] })).TotalCount.Should().Be(Resolved - 1);
    }
}
