using ErrorHub.Storage;
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

        Func<Task> tooMany = () => Store.Issues.GetIssuesAsync(new IssueQuery(Project)
        {
            Filter = new IssueFilter { Fingerprints = [.. Enumerable.Range(0, IssueFilter.MaxFingerprints + 1).Select(i => $"fp-{i}")] },
        });
        await tooMany.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Lists_filter_by_stored_triage_status_with_thousands_of_resolved_and_ignored_issues()
    {
        // More resolved and more ignored issues than a list may name: the store reads the states itself.
        const int Resolved = IssueFilter.MaxFingerprints + 1;
        const int Ignored = IssueFilter.MaxFingerprints + 2;
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
