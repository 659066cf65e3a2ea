using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Issue states (triage writes them, notifications read them) and the activity reads behind alert rules and digests.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task An_issue_without_a_stored_state_is_unknown_and_the_latest_state_wins()
    {
        var states = Store.Notifications.States;
        (await states.GetStateAsync(Project, "fp-a")).Should().BeNull("an issue nobody triaged has no state (unresolved)");

        var resolved = new IssueState(Project, "fp-a", IssueStatus.Resolved, T0) { ResolvedInRelease = "shop@2.5.0" };
        await states.SetStateAsync(resolved);
        (await states.GetStateAsync(Project, "fp-a")).Should().Be(resolved);

        var reopened = new IssueState(Project, "fp-a", IssueStatus.Unresolved, T0.AddHours(1));
        await states.SetStateAsync(reopened);
        (await states.GetStateAsync(Project, "fp-a")).Should().Be(reopened, "the release of the earlier resolution does not linger");

        var ignored = new IssueState(Project, "fp-a", IssueStatus.Ignored, T0.AddHours(2));
        await states.SetStateAsync(ignored);
        (await states.GetStateAsync(Project, "fp-a")).Should().Be(ignored);
    }

    [Fact]
    public async Task States_are_listed_per_project_by_fingerprint_and_by_status()
    {
        var states = Store.Notifications.States;
        var b = new IssueState(Project, "fp-b", IssueStatus.Resolved, T0);
        var a = new IssueState(Project, "fp-a", IssueStatus.Ignored, T0.AddMinutes(1));
        var c = new IssueState(Project, "fp-c", IssueStatus.Resolved, T0.AddMinutes(2)) { ResolvedInRelease = "2.0" };
        var elsewhere = new IssueState(Project + 1, "fp-a", IssueStatus.Resolved, T0);
        foreach (var state in new[] { b, a, c, elsewhere })
        {
            await states.SetStateAsync(state);
        }

        (await states.GetStatesAsync(Project)).Should().Equal(a, b, c);
        (await states.GetStatesAsync(Project, IssueStatus.Resolved)).Should().Equal(b, c);
        (await states.GetStatesAsync(Project, IssueStatus.Unresolved)).Should().BeEmpty();
        (await states.GetStatesAsync(Project + 1)).Should().Equal(elsewhere);
        (await states.GetStateAsync(Project + 2, "fp-a")).Should().BeNull();
    }

    [Fact]
    public async Task A_state_keeps_whole_seconds_and_hostile_fingerprints_and_releases()
    {
        var states = Store.Notifications.States;
        foreach (var (hostile, i) in TestEvents.HostileStrings.Where(s => s.Length > 0).Select((s, i) => (s, i)))
        {
            var state = new IssueState(Project, hostile, IssueStatus.Resolved, T0.AddSeconds(i).AddMilliseconds(750)) { ResolvedInRelease = hostile };
            await states.SetStateAsync(state);
            (await states.GetStateAsync(Project, hostile)).Should().Be(state with { ChangedAt = T0.AddSeconds(i) }, $"string #{i} must round-trip");
        }
    }

    [Fact]
    public async Task New_issues_are_those_first_seen_since_a_time_with_an_event_passing_the_filter()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp-old", T0.AddMinutes(-10)),
            TestEvents.Create(Project, "fp-old", T0.AddMinutes(5)),
            TestEvents.Create(Project, "fp-new", T0.AddMinutes(2)),
            TestEvents.Create(Project, "fp-staging", T0.AddMinutes(3)) with { Environment = "staging" },
            TestEvents.Create(Project, "fp-warning", T0.AddMinutes(4), level: "warning"),
            TestEvents.Create(Project + 1, "fp-other-project", T0.AddMinutes(1)),
        ]);
        var activity = Store.Notifications.Activity;

        (await activity.GetNewIssuesAsync(Project, EventFilter.All, T0, 100)).Select(i => i.Fingerprint)
            .Should().Equal("fp-new", "fp-staging", "fp-warning");
        (await activity.GetNewIssuesAsync(Project, new EventFilter("production", "error"), T0, 100))
            .Should().Equal(new NewIssue("fp-new", T0.AddMinutes(2)));
        (await activity.GetNewIssuesAsync(Project, EventFilter.All, T0, 2)).Should().HaveCount(2, "the limit bounds the answer");
        (await activity.GetNewIssuesAsync(Project, EventFilter.All, T0.AddMinutes(10), 100)).Should().BeEmpty();
    }

    [Fact]
    public async Task Activity_counts_events_and_distinct_users_per_issue_in_a_window_of_whole_minutes()
    {
        var busy = Enumerable.Range(0, 6).Select(i => TestEvents.Create(Project, "fp-busy", T0.AddMinutes(1).AddSeconds(i * 5), TestEvents.User("u" + (i % 2))));
        var spread = Enumerable.Range(0, 3).Select(i => TestEvents.Create(Project, "fp-users", T0.AddMinutes(2), TestEvents.User("v" + i)));
        var anonymous = Enumerable.Range(0, 2).Select(_ => TestEvents.Create(Project, "fp-anonymous", T0.AddMinutes(3)));
        var outside = TestEvents.Create(Project, "fp-busy", T0.AddMinutes(10));
        var debug = TestEvents.Create(Project, "fp-debug", T0.AddMinutes(2), level: "debug");
        await Store.Events.InsertEventsAsync([.. busy, .. spread, .. anonymous, outside, debug]);
        var activity = Store.Notifications.Activity;
        var window = new ActivityQuery(Project, T0.AddSeconds(30), T0.AddMinutes(5));

        (await activity.GetActivityAsync(window)).Should().Equal(
            new IssueActivity("fp-busy", 6, 2),
            new IssueActivity("fp-users", 3, 3),
            new IssueActivity("fp-anonymous", 2, 0),
            new IssueActivity("fp-debug", 1, 0));
        (await activity.GetActivityAsync(window with { MinEvents = 3, Sort = ActivitySort.Users })).Should().Equal(
            new IssueActivity("fp-users", 3, 3),
            new IssueActivity("fp-busy", 6, 2));
        (await activity.GetActivityAsync(window with { MinUsers = 3 })).Should().Equal(new IssueActivity("fp-users", 3, 3));
        (await activity.GetActivityAsync(window with { Filter = new EventFilter(MinimumLevel: "info") })).Should().NotContain(a => a.Fingerprint == "fp-debug");
        (await activity.GetActivityAsync(window with { Filter = new EventFilter("staging") })).Should().BeEmpty();
        (await activity.GetActivityAsync(window with { Limit = 1 })).Should().Equal(new IssueActivity("fp-busy", 6, 2));

        (await activity.GetTotalsAsync(Project, EventFilter.All, T0, T0.AddMinutes(5))).Should().Be(new ActivityTotals(12, 5, 4));
        (await activity.GetTotalsAsync(Project, EventFilter.All, T0.AddDays(1), T0.AddDays(2))).Should().Be(new ActivityTotals(0, 0, 0));
    }

    [Fact]
    public async Task An_issues_first_event_and_its_releases_after_a_time_are_read_from_its_events()
    {
        var first = TestEvents.Create(Project, "fp-a", T0, TestEvents.User("joe")) with { Release = "1.0" };
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(1)) with { Release = "1.0" },
            first,
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(30)) with { Release = "1.0" },
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(40)) with { Release = "2.0" },
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(41)) with { Release = "2.0" },
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(50)) with { Release = null },
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(60)) with { Release = "3.0", Environment = "staging" },
        ]);
        var activity = Store.Notifications.Activity;

        (await activity.GetFirstEventAsync(Project, "fp-a", EventFilter.All)).Should().BeEquivalentTo(first);
        (await activity.GetFirstEventAsync(Project, "fp-a", new EventFilter("staging")))!.Release.Should().Be("3.0");
        (await activity.GetFirstEventAsync(Project, "fp-none", EventFilter.All)).Should().BeNull();

        (await activity.GetReleasesAfterAsync(Project, "fp-a", new EventFilter("production"), T0.AddMinutes(30))).Should().Equal(
            new ReleaseActivity("2.0", 2, T0.AddMinutes(40)),
            new ReleaseActivity("", 1, T0.AddMinutes(50)));
        (await activity.GetReleasesAfterAsync(Project, "fp-a", EventFilter.All, T0.AddMinutes(60))).Should().BeEmpty("strictly after");
    }

    [Fact]
    public async Task Activity_refuses_unknown_levels_and_unbounded_limits()
    {
        var activity = Store.Notifications.Activity;
        await FluentActions.Awaiting(() => activity.GetActivityAsync(new ActivityQuery(Project, T0, T0.AddHours(1)) { Filter = new EventFilter(MinimumLevel: "' OR 1=1 --") }))
            .Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => activity.GetNewIssuesAsync(Project, EventFilter.All, T0, 10_001))
            .Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Awaiting(() => activity.GetActivityAsync(new ActivityQuery(Project, T0, T0.AddHours(1)) { Limit = 0 }))
            .Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
