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
}
