using ErrorHub.Storage.Events;
using ErrorHub.Storage.Retention;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Retention as a user sees it: old events are gone, and so is what only they made (counts, users, first seen, whole issues).</summary>
public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset Cutoff = new(2025, 3, 10, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Retention_deletes_each_projects_events_before_its_cutoff_and_what_only_they_made()
    {
        var gone = TestEvents.CreateComplete(Project, "fp-old-only", Cutoff.AddDays(-20));
        await Store.Events.InsertEventsAsync([
            gone,
            TestEvents.Create(Project, "fp-old-only", Cutoff.AddDays(-3), TestEvents.User("a")),
            TestEvents.Create(Project, "fp-mixed", Cutoff.AddDays(-15), TestEvents.User("a")),
            TestEvents.Create(Project, "fp-mixed", Cutoff.AddHours(-1), TestEvents.User("b")),
            TestEvents.Create(Project, "fp-mixed", Cutoff.AddHours(1), TestEvents.User("c")),
            TestEvents.Create(Project, "fp-mixed", Cutoff.AddDays(2), TestEvents.User("c")),
            TestEvents.Create(8, "fp-kept-forever", Cutoff.AddDays(-30)),
            TestEvents.Create(9, "fp-other", Cutoff.AddDays(-6)),
            TestEvents.Create(9, "fp-other", Cutoff.AddDays(-4)),
        ]);
        var plan = new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [Project] = Cutoff, [8] = null }, Cutoff.AddDays(-5));

        (await Store.Retention.DeleteExpiredAsync(plan)).Should().Be(5);

        (await Store.Issues.GetIssueAsync(Project, "fp-old-only")).Should().BeNull("all its events expired");
        (await Store.Issues.GetEventAsync(Project, gone.EventId)).Should().BeNull();
        var mixed = await Store.Issues.GetIssueAsync(Project, "fp-mixed");
        mixed.Should().NotBeNull();
        mixed!.EventCount.Should().Be(2);
        mixed.UserCount.Should().Be(1, "only user c is left");
        mixed.FirstSeen.Should().Be(Cutoff.AddHours(1));
        mixed.LastSeen.Should().Be(Cutoff.AddDays(2));
        (await Store.Issues.GetEventsAsync(Project, "fp-mixed", 10)).Select(e => e.Timestamp).Should().BeEquivalentTo([Cutoff.AddHours(1), Cutoff.AddDays(2)]);
        (await Store.Issues.GetIssueAsync(8, "fp-kept-forever"))!.EventCount.Should().Be(1, "a project without retention keeps its events");
        var other = await Store.Issues.GetIssueAsync(9, "fp-other");
        other!.EventCount.Should().Be(1, "projects the plan does not name get the others' cutoff");
        other.FirstSeen.Should().Be(Cutoff.AddDays(-4));
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).Items.Select(i => i.Fingerprint).Should().Equal("fp-mixed");
        (await Store.Notifications.Activity.GetTotalsAsync(Project, EventFilter.All, Cutoff.AddDays(-30), Cutoff.AddDays(3)))
            .Should().Be(new ActivityTotals(2, 1, 1), "alerts and digests count only the kept events");

        (await Store.Retention.DeleteExpiredAsync(plan)).Should().Be(0, "nothing is left to delete");
    }

    [Fact]
    public async Task Retention_keeps_counting_a_user_whose_old_events_expired_while_a_newer_one_of_the_issue_is_kept()
    {
        await Store.Events.InsertEventsAsync([
            TestEvents.Create(Project, "fp-returning", Cutoff.AddDays(-9), TestEvents.User("back")),
            TestEvents.Create(Project, "fp-returning", Cutoff.AddDays(-2), TestEvents.User("back")),
            TestEvents.Create(Project, "fp-returning", Cutoff.AddDays(-2), TestEvents.User("gone")),
            TestEvents.Create(Project, "fp-returning", Cutoff.AddDays(1), TestEvents.User("back")),
            TestEvents.Create(Project, "fp-returning", Cutoff.AddDays(1), TestEvents.User("new")),
            TestEvents.Create(Project, "fp-elsewhere", Cutoff.AddDays(-2), TestEvents.User("gone")),
            TestEvents.Create(Project, "fp-elsewhere", Cutoff.AddDays(1), TestEvents.User("gone")),
        ]);

        (await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [Project] = Cutoff }, null))).Should().Be(4);

        var returning = await Store.Issues.GetIssueAsync(Project, "fp-returning");
        returning!.EventCount.Should().Be(2);
        returning.UserCount.Should().Be(2, "back still had an event of the issue, gone had none left in it");
        (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp-returning"))).Items.Select(u => u.Id).Should().BeEquivalentTo(["back", "new"]);
        (await Store.Issues.GetIssueAsync(Project, "fp-elsewhere"))!.UserCount.Should().Be(1, "gone's event of another issue counts for that issue");
    }

    [Fact]
    public async Task After_retention_filters_search_the_events_table_breakdowns_and_affected_users_see_only_the_kept_events()
    {
        var old = TestEvents.Create(Project, "fp-kept", Cutoff.AddDays(-2), new UserRecord("old-user", null, "old@example.com", null), message: "expired needle")
            with { Environment = "staging", Tags = new Dictionary<string, string> { ["browser"] = "Firefox 121" } };
        var kept = TestEvents.Create(Project, "fp-kept", Cutoff.AddDays(1), new UserRecord("new-user", null, "new@example.com", null), message: "kept needle")
            with { Tags = new Dictionary<string, string> { ["browser"] = "Chrome 131" } };
        await Store.Events.InsertEventsAsync([old, kept]);

        (await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [Project] = Cutoff }, null))).Should().Be(1);

        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Environment = "staging" } })).TotalCount.Should().Be(0);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Search = "expired needle" } })).TotalCount.Should().Be(0);
        var searched = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = new IssueFilter { Search = "needle" } });
        searched.Items.Should().ContainSingle().Which.EventCount.Should().Be(1);
        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp-kept"))).Items.Select(e => e.EventId).Should().Equal(kept.EventId);
        (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp-kept"))).Items.Select(u => u.Id).Should().Equal("new-user");
        var browsers = (await Store.Issues.GetBreakdownsAsync(new BreakdownQuery(Project, "fp-kept"))).Dimensions.Single(d => d.Dimension == BreakdownDimension.Browser);
        browsers.Values.Select(v => v.Value).Should().Equal("Chrome 131");
        (await Store.Issues.GetFilterValuesAsync(Project)).Environments.Should().Equal("production");
    }

    [Fact]
    public async Task Retention_with_a_cutoff_for_every_project_removes_whole_old_weeks_and_keeps_the_rest()
    {
        var events = new List<ErrorEvent>();
        for (var day = -40; day <= 3; day++)
        {
            events.Add(TestEvents.Create(Project, "fp-daily", Cutoff.AddDays(day).AddHours(12), TestEvents.User("u" + day)));
            events.Add(TestEvents.Create(11, "fp-short", Cutoff.AddDays(day).AddHours(12)));
        }

        await Store.Events.InsertEventsAsync(events);
        var plan = new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [Project] = Cutoff.AddDays(-30), [11] = Cutoff }, OthersCutoff: Cutoff.AddDays(-90));

        (await Store.Retention.DeleteExpiredAsync(plan)).Should().Be(10 + 40);

        var daily = await Store.Issues.GetIssueAsync(Project, "fp-daily");
        daily!.EventCount.Should().Be(34);
        daily.UserCount.Should().Be(34);
        daily.FirstSeen.Should().Be(Cutoff.AddDays(-30).AddHours(12));
        (await Store.Notifications.Activity.GetTotalsAsync(Project, EventFilter.All, Cutoff.AddDays(-60), Cutoff.AddDays(5)))
            .Should().Be(new ActivityTotals(34, 34, 1), "whole weeks dropped from what alerts and digests count too");
        var shortLived = await Store.Issues.GetIssueAsync(11, "fp-short");
        shortLived!.EventCount.Should().Be(4);
        shortLived.FirstSeen.Should().Be(Cutoff.AddHours(12));

        // Events arriving late with old timestamps are deleted by the next run.
        await Store.Events.InsertEventsAsync([TestEvents.Create(11, "fp-short", Cutoff.AddDays(-1))]);
        (await Store.Retention.DeleteExpiredAsync(plan)).Should().Be(1);
        (await Store.Issues.GetIssueAsync(11, "fp-short"))!.EventCount.Should().Be(4);
    }

    [Fact]
    public async Task The_retention_worker_runs_a_minute_after_the_start_and_then_on_its_interval_with_each_projects_days()
    {
        var now = new DateTimeOffset(2025, 3, 20, 15, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(now);
        await Store.Projects.UpsertProjectAsync(new Project(Project, "Short", "short-key", now.AddYears(-1)));
        await Store.Projects.SaveSettingsAsync(Project, new ProjectSettings(null, 7));
        await Store.Projects.UpsertProjectAsync(new Project(12, "Default", "default-key", now.AddYears(-1)));
        await Store.Projects.UpsertProjectAsync(new Project(13, "Deleted", "deleted-key", now.AddYears(-1)));
        await Store.Projects.DeleteProjectAsync(13, now.AddDays(-1));
        await Store.Events.InsertEventsAsync([
            TestEvents.Create(Project, "fp-a", now.AddDays(-8)),
            TestEvents.Create(Project, "fp-a", now.AddDays(-6)),
            TestEvents.Create(Project, "fp-b", now.AddDays(-2)),
            TestEvents.Create(12, "fp-c", now.AddDays(-100)),
            TestEvents.Create(12, "fp-c", now.AddDays(-80)),
            TestEvents.Create(13, "fp-d", now.AddDays(-100)),
        ]);
        using var worker = new RetentionWorker(
            Store.Retention, Store.Projects, Options.Create(new RetentionOptions()), clock, NullLogger<RetentionWorker>.Instance);
        var runs = System.Threading.Channels.Channel.CreateUnbounded<long>();
        worker.RunCompleted += deleted => runs.Writer.TryWrite(deleted);
        await worker.StartAsync(CancellationToken.None);
        try
        {
            clock.Advance(RetentionWorker.FirstRunAfter - TimeSpan.FromSeconds(1));
            runs.Reader.TryRead(out _).Should().BeFalse("the first run waits a minute after the start");
            clock.Advance(TimeSpan.FromSeconds(1));
            (await NextRunAsync(runs)).Should().Be(3, "project 7 keeps 7 days, the others the default 90, a deleted project's events too");
            (await Store.Issues.GetIssueAsync(Project, "fp-a"))!.EventCount.Should().Be(1);
            (await Store.Issues.GetIssueAsync(12, "fp-c"))!.EventCount.Should().Be(1);

            await Store.Projects.SaveSettingsAsync(Project, new ProjectSettings(null, 1));
            clock.Advance(TimeSpan.FromHours(1));
            (await NextRunAsync(runs)).Should().Be(2, "a changed retention counts at the next run: only yesterday and today are kept");
            (await Store.Issues.GetIssueAsync(Project, "fp-a")).Should().BeNull();
            (await Store.Issues.GetIssueAsync(Project, "fp-b")).Should().BeNull("two days old is past one day");

            clock.Advance(TimeSpan.FromHours(1));
            (await NextRunAsync(runs)).Should().Be(0);
        }
        finally
        {
            await worker.StopAsync(CancellationToken.None);
        }
    }

    private protected static async Task<long> NextRunAsync(System.Threading.Channels.Channel<long> runs) =>
        await runs.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2)); // a bound on a hang, not a timing
}
