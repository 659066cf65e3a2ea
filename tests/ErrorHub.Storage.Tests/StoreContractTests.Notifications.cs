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
    public async Task A_state_keeps_the_timeline_entry_written_with_it_whole()
    {
        // Triage stores each change's entry with its state, so that an entry the store refused or lost is added later from it.
        var states = Store.Notifications.States;
        var hostile = TestEvents.HostileStrings.Where(s => s.Length > 0).ToList();
        var entry = new IssueChange(Project, "fp-a", Guid.NewGuid(), T0.AddMilliseconds(512), IssueChangeKind.Assignment, Guid.NewGuid(), hostile[0])
        {
            Text = string.Concat(hostile),
            Value = Guid.NewGuid().ToString("D"),
        };
        // A merge's entry of the other issue is kept too (the target's state keeps the merged issue's entry until the merge is stored).
        var otherSide = new IssueChange(Project, "fp-merged", Guid.NewGuid(), T0, IssueChangeKind.Merge, null, "") { Text = "Merged into “a”", Value = "fp-a" };
        var assigned = new IssueState(Project, "fp-a", IssueStatus.Unresolved, T0) { AssigneeId = Guid.NewGuid(), Actions = Guid.NewGuid().ToString("N"), Entries = new IssueEntries([otherSide, entry]) };
        await states.SetStateAsync(assigned);
        (await states.GetStateAsync(Project, "fp-a")).Should().Be(assigned);

        var byNobody = new IssueState(Project, "fp-b", IssueStatus.Resolved, T0) { Entries = new IssueEntries([new IssueChange(Project, "fp-b", Guid.NewGuid(), T0, IssueChangeKind.Status, null, "") { Text = "Resolved", Value = "resolved" }]) };
        await states.SetStateAsync(byNobody);
        (await states.GetStatesAsync(Project, IssueStatus.Resolved)).Should().Equal(byNobody);
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
    public async Task The_projects_events_per_hour_count_every_issue_by_the_events_own_time_the_last_hour_cut_at_the_windows_end()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(1)),
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(59)),
            TestEvents.Create(Project, "fp-b", T0.AddMinutes(30), level: "debug"),
            TestEvents.Create(Project, "fp-c", T0.AddHours(2).AddMinutes(5)),
            TestEvents.Create(Project, "fp-a", T0.AddHours(3).AddMinutes(10)),
            TestEvents.Create(Project, "fp-a", T0.AddHours(3).AddMinutes(40)),
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(-1)),
            TestEvents.Create(Project + 1, "fp-a", T0.AddMinutes(2)),
        ]);
        var activity = Store.Notifications.Activity;

        (await activity.GetEventsPerHourAsync(Project, T0, T0.AddHours(3).AddMinutes(30))).Should().Equal(3, 0, 1, 1);
        (await activity.GetEventsPerHourAsync(Project, T0, T0.AddHours(4))).Should().Equal(3, 0, 1, 2);
        (await activity.GetEventsPerHourAsync(Project, T0, T0)).Should().BeEmpty();
        await FluentActions.Awaiting(() => activity.GetEventsPerHourAsync(Project, T0.AddMinutes(1), T0.AddHours(1))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => activity.GetEventsPerHourAsync(Project, T0, T0.AddHours(49))).Should().ThrowAsync<ArgumentException>();
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
        (await activity.GetFirstEventSinceAsync(Project, "fp-a", EventFilter.All, T0.AddMinutes(35)))!.Timestamp.Should().Be(T0.AddMinutes(40));
        (await activity.GetFirstEventSinceAsync(Project, "fp-a", EventFilter.All, T0.AddMinutes(40).AddMilliseconds(700)))!.Timestamp
            .Should().Be(T0.AddMinutes(40), "from the start of its second, as the releases after a time are counted");
        (await activity.GetFirstEventSinceAsync(Project, "fp-a", new EventFilter("production"), T0.AddMinutes(42)))!.Release.Should().BeNull("the event at 50 minutes");
        (await activity.GetFirstEventSinceAsync(Project, "fp-a", new EventFilter("production"), T0.AddMinutes(51))).Should().BeNull("the later one is staging's");

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

    private static Notification Mail(string key, DateTimeOffset created, string group = "g", int project = Project) =>
        new(Guid.NewGuid(), project, key, group, "new-issue", created)
        {
            Fingerprint = "fp-" + key,
            Recipients = ["joe@example.com", "o'brien@example.com"],
            Subject = "[shop/production] New issue: <b>'; DROP TABLE x; --",
            TextBody = "text 🎉",
            HtmlBody = "<p>html</p>",
            NextAttemptAt = created,
        };

    [Fact]
    public async Task A_notification_is_recorded_once_per_key_and_reads_back_with_every_field()
    {
        var outbox = Store.Notifications.Outbox;
        var mail = Mail("new:fp-a", T0);

        (await outbox.AddNotificationAsync(mail)).Should().BeTrue();
        (await outbox.AddNotificationAsync(Mail("new:fp-a", T0.AddMinutes(1)))).Should().BeFalse("the occasion was already recorded");
        (await outbox.AddNotificationAsync(Mail("new:fp-a", T0, project: Project + 1))).Should().BeTrue("keys are per project");

        (await outbox.GetNotificationsAsync(Project, 10)).Should().ContainSingle().Which.Should().BeEquivalentTo(mail);
    }

    [Fact]
    public async Task Due_notifications_are_the_pending_ones_whose_attempt_time_has_come_oldest_first()
    {
        var outbox = Store.Notifications.Outbox;
        var first = Mail("a", T0);
        var retried = Mail("b", T0.AddSeconds(1));
        var sent = Mail("c", T0.AddSeconds(2));
        var other = Mail("d", T0.AddSeconds(3), project: Project + 1);
        foreach (var mail in new[] { first, retried, sent, other })
        {
            await outbox.AddNotificationAsync(mail);
        }

        var later = retried with { Attempts = 1, NextAttemptAt = T0.AddMinutes(5), LastError = "421 busy" };
        await outbox.UpdateNotificationAsync(later);
        var delivered = sent with { State = NotificationState.Sent, Attempts = 1, SentAt = T0.AddSeconds(3) };
        await outbox.UpdateNotificationAsync(delivered);

        (await outbox.GetDueNotificationsAsync(T0.AddMinutes(1), 10)).Select(n => n.Key).Should().Equal("a", "d");
        (await outbox.GetDueNotificationsAsync(T0.AddMinutes(5), 10)).Select(n => n.Key).Should().Equal("a", "b", "d");
        (await outbox.GetDueNotificationsAsync(T0.AddMinutes(5), 1)).Select(n => n.Key).Should().Equal("a");
        (await outbox.GetNotificationsAsync(Project, 10)).Should().BeEquivalentTo([delivered, later, first], o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Counts_say_how_many_a_project_got_since_a_time_how_many_were_held_back_since_its_last_mail_and_when_a_group_last_got_one()
    {
        var outbox = Store.Notifications.Outbox;
        (await outbox.CountNotificationsAsync(Project, T0, "g")).Should().Be(new NotificationCounts(0, 0, null));
        await outbox.AddNotificationAsync(Mail("0", T0.AddMinutes(-1), group: "rule-1:fp-a") with { State = NotificationState.HeldBack });
        await outbox.AddNotificationAsync(Mail("1", T0, group: "rule-1:fp-a"));
        await outbox.AddNotificationAsync(Mail("2", T0.AddMinutes(10).AddMilliseconds(250), group: "rule-1:fp-a"));
        await outbox.AddNotificationAsync(Mail("3", T0.AddMinutes(20), group: "rule-1:fp-b"));
        await outbox.AddNotificationAsync(Mail("4", T0.AddMinutes(30), group: "rule-1:fp-a", project: Project + 1));
        await outbox.UpdateNotificationAsync((await outbox.GetNotificationsAsync(Project, 10))[0] with { State = NotificationState.Sent });
        await outbox.AddNotificationAsync(Mail("5", T0.AddMinutes(40), group: "rule-1:fp-a") with { State = NotificationState.HeldBack });
        await outbox.AddNotificationAsync(Mail("6", T0.AddMinutes(41), group: "rule-1:fp-c") with { State = NotificationState.HeldBack });

        (await outbox.CountNotificationsAsync(Project, T0.AddMinutes(5), "rule-1:fp-a")).Should().Be(new NotificationCounts(2, 2, T0.AddMinutes(10).AddMilliseconds(250)));
        (await outbox.CountNotificationsAsync(Project, T0.AddHours(1), "rule-9:fp-a")).Should().Be(new NotificationCounts(0, 2, null));
        (await outbox.CountNotificationsAsync(Project, T0.AddHours(1), "rule-1:fp-c")).Should().Be(new NotificationCounts(0, 2, null), "a held-back one starts no cooldown");
    }

    [Fact]
    public async Task Documents_are_kept_per_project_and_kind_and_replaced()
    {
        var outbox = Store.Notifications.Outbox;
        (await outbox.GetDocumentAsync(Project, "alerts")).Should().BeNull();
        await outbox.SaveDocumentAsync(Project, "alerts", "{\"a\":1}");
        await outbox.SaveDocumentAsync(Project, "alerts", "{\"a\":\"it's 🎉\"}");
        await outbox.SaveDocumentAsync(Project, "worker", "{}");
        (await outbox.GetDocumentAsync(Project, "alerts")).Should().Be("{\"a\":\"it's 🎉\"}");
        (await outbox.GetDocumentAsync(Project, "worker")).Should().Be("{}");
        (await outbox.GetDocumentAsync(Project + 1, "alerts")).Should().BeNull();
    }

    [Fact]
    public async Task An_issue_s_mail_thread_is_its_first_mail_and_a_later_start_keeps_it()
    {
        var outbox = Store.Notifications.Outbox;
        var first = new MailThread("a1@errorhub", "[shop] NullReferenceException in 'Cart'; --", T0);
        (await outbox.GetMailThreadAsync(Project, "fp-a")).Should().BeNull("no mail about the issue yet");

        (await outbox.StartMailThreadAsync(Project, "fp-a", first)).Should().Be(first);
        (await outbox.StartMailThreadAsync(Project, "fp-a", new MailThread("b2@errorhub", "[shop] Other", T0.AddMinutes(1))))
            .Should().Be(first, "later mails answer the first one");
        (await outbox.GetMailThreadAsync(Project, "fp-a")).Should().Be(first);

        var elsewhere = new MailThread("c3@errorhub", "[jobs] Other", T0.AddMinutes(2));
        (await outbox.StartMailThreadAsync(Project + 1, "fp-a", elsewhere)).Should().Be(elsewhere, "threads are per project");
        (await outbox.GetMailThreadAsync(Project, "fp-b")).Should().BeNull("and per issue");
        foreach (var (hostile, i) in TestEvents.HostileStrings.Where(h => h.Length > 0).Select((h, i) => (h, i)))
        {
            var thread = new MailThread($"h{i}@errorhub", hostile, T0);
            (await outbox.StartMailThreadAsync(Project, hostile, thread)).Should().Be(thread, $"string #{i} must round-trip");
        }
    }

    [Fact]
    public async Task A_lease_has_one_holder_until_it_expires()
    {
        var outbox = Store.Notifications.Outbox;
        (await outbox.TryAcquireLeaseAsync("notifications", "server-a", T0, TimeSpan.FromMinutes(1))).Should().BeTrue();
        (await outbox.TryAcquireLeaseAsync("notifications", "server-b", T0.AddSeconds(30), TimeSpan.FromMinutes(1))).Should().BeFalse("server-a holds it");
        (await outbox.TryAcquireLeaseAsync("notifications", "server-a", T0.AddSeconds(50), TimeSpan.FromMinutes(1))).Should().BeTrue("the holder renews it");
        (await outbox.TryAcquireLeaseAsync("notifications", "server-b", T0.AddSeconds(100), TimeSpan.FromMinutes(1))).Should().BeFalse("renewed until 1:50");
        (await outbox.TryAcquireLeaseAsync("other", "server-b", T0.AddSeconds(100), TimeSpan.FromMinutes(1))).Should().BeTrue("leases are by name");
        (await outbox.TryAcquireLeaseAsync("notifications", "server-b", T0.AddSeconds(111), TimeSpan.FromMinutes(1))).Should().BeTrue("server-a did not renew");
        (await outbox.TryAcquireLeaseAsync("notifications", "server-a", T0.AddSeconds(120), TimeSpan.FromMinutes(1))).Should().BeFalse();
    }

    [Fact]
    public async Task Of_two_servers_racing_for_the_worker_lease_at_most_one_works_in_any_round_and_soon_exactly_one_does()
    {
        var stores = await StoresSharingOneDatabaseAsync(2);

        var holders = stores.Select((store, i) => new LeaseHolder(store.Notifications.Outbox, "notifications", "server-" + i, TimeSpan.FromMinutes(2))).ToList();
        var workers = new HashSet<int>();
        for (var round = 0; round < 4; round++)
        {
            var now = T0.AddSeconds(30 * round);
            var results = await Task.WhenAll(holders.Select(holder => Task.Run(() => holder.TryHoldAsync(now))));
            results.Count(until => until is not null).Should().BeLessThanOrEqualTo(1, $"two servers must not both work in round {round}");
            if (round == 0)
            {
                results.Should().OnlyContain(until => until == null, "a fresh claim waits a round, so that a claim made at the same instant shows");
                continue;
            }

            var worker = Array.FindIndex(results, until => until is not null);
            worker.Should().BeGreaterThanOrEqualTo(0, $"one server works from round 1 on (round {round})");
            results[worker].Should().Be(now + TimeSpan.FromMinutes(1), "a round may work for half the lease");
            workers.Add(worker);
        }

        workers.Should().ContainSingle("the holder keeps the lease by renewing it");
    }

    [Fact]
    public async Task A_worker_that_stops_renewing_is_replaced_after_its_lease_and_the_new_one_waits_a_round()
    {
        var outbox = Store.Notifications.Outbox;
        var first = new LeaseHolder(outbox, "notifications", "server-a", TimeSpan.FromMinutes(2));
        var second = new LeaseHolder(outbox, "notifications", "server-b", TimeSpan.FromMinutes(2));
        (await first.TryHoldAsync(T0)).Should().BeNull();
        (await first.TryHoldAsync(T0.AddSeconds(30))).Should().Be(T0.AddSeconds(90));
        (await second.TryHoldAsync(T0.AddSeconds(60))).Should().BeNull("server-a holds the lease");
        (await second.TryHoldAsync(T0.AddSeconds(160))).Should().BeNull("server-a's lease ran out at 2:30, but a fresh claim waits a round");
        (await first.TryHoldAsync(T0.AddSeconds(170))).Should().BeNull("server-b took the lease over");
        (await second.TryHoldAsync(T0.AddSeconds(190))).Should().Be(T0.AddSeconds(250));
    }
}
