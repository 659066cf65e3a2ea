using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Dashboard.Triage;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.Time.Testing;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Triage;

/// <summary>Resolving, ignoring and what later events make of it (its status, and a regression in its activity), over the real SQLite store and a fake clock.</summary>
public sealed class IssueTriageTests : IAsyncLifetime
{
    private const int Project = 1;
    private static readonly DateTimeOffset Start = new(2025, 6, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Checkout = Fingerprint("checkout");

    private readonly TemporaryStore _store = new();
    private readonly FakeTimeProvider _clock = new(Start);
    private IssueTriage _triage = null!;

    public async Task InitializeAsync()
    {
        await _store.SeedAsync([TestProjects.Shop], [Release(Start.AddHours(-2), "shop@2.4.1")]);
        _triage = new IssueTriage(_store.Store.Notifications.States, _store.Store.Notifications.Activity, _store.Store.Issues, _store.Store.History, _store.Store.Access, _clock, releases: _store.Store.Releases, merges: _store.Store.Merges);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        return Task.CompletedTask;
    }

    private static ErrorEvent Release(DateTimeOffset at, string? release, string user = "u") =>
        Create(Project, Checkout, at, User(user)) with { Release = release };

    private Task AddAsync(params ErrorEvent[] events) => _store.Store.Events.InsertEventsAsync(events);

    private Task<IssueTriageView> ViewAsync() => _triage.EvaluateAsync(Project, Checkout);

    [Fact]
    public async Task A_resolved_issue_that_happens_again_is_regressed_with_the_release_that_brought_it_back()
    {
        await _triage.ResolveAsync(Project, Checkout);
        (await ViewAsync()).Status.Should().Be(TriageStatus.Resolved);

        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(5), "shop@2.4.2"));

        var view = await ViewAsync();
        view.Should().BeEquivalentTo(new { Status = TriageStatus.Regressed, RegressedInRelease = "shop@2.4.2", RegressedAt = Start.AddMinutes(5) });
        (await _triage.EvaluateAsync(Project))[Checkout].Status.Should().Be(TriageStatus.Regressed, "the list sees what the page sees");
    }

    [Fact]
    public async Task Resolved_in_the_next_release_ignores_events_of_the_current_and_older_releases_and_regresses_on_a_newer_one()
    {
        await _triage.ResolveAsync(Project, Checkout, afterRelease: "shop@2.4.1");
        _clock.Advance(TimeSpan.FromMinutes(30));

        await AddAsync(Release(Start.AddMinutes(1), "shop@2.4.1", "a"), Release(Start.AddMinutes(2), "shop@2.3.9", "b"), Release(Start.AddMinutes(3), null, "c"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Resolved, "old servers still running the old release are expected");

        await AddAsync(Release(Start.AddMinutes(4), "shop@2.10.0", "d"));
        (await ViewAsync()).Should().BeEquivalentTo(new { Status = TriageStatus.Regressed, RegressedInRelease = "shop@2.10.0" }, "2.10 comes after 2.4 by version, not by text");
    }

    [Fact]
    public async Task Resolved_in_a_release_regresses_from_that_release_on()
    {
        await _triage.ResolveAsync(Project, Checkout, inRelease: "shop@2.5.0");
        await AddAsync(Release(Start.AddMinutes(1), "shop@2.5.0-beta.1", "a"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Resolved);

        await AddAsync(Release(Start.AddMinutes(2), "shop@2.5.0", "b"));
        (await ViewAsync()).RegressedInRelease.Should().Be("shop@2.5.0");
    }

    [Fact]
    public async Task An_issue_ignored_until_three_more_events_comes_back_with_the_third()
    {
        await _triage.IgnoreAsync(Project, Checkout, events: 3);
        _clock.Advance(TimeSpan.FromMinutes(5));
        await AddAsync(Release(Start.AddMinutes(2), "shop@2.4.1", "a"), Release(Start.AddMinutes(3), "shop@2.4.1", "b"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Ignored);

        await AddAsync(Release(Start.AddMinutes(4), "shop@2.4.1", "c"));

        (await ViewAsync()).Status.Should().Be(TriageStatus.Unresolved);
    }

    [Fact]
    public async Task Ignored_until_more_events_counts_exactly_the_events_after_the_ignore_also_those_stamped_ahead_of_the_clock()
    {
        // Two events earlier in the same minute as the ignore: they came before it and do not count.
        _clock.Advance(TimeSpan.FromSeconds(30));
        await AddAsync(Release(Start.AddSeconds(10), "shop@2.4.1", "a"), Release(Start.AddSeconds(12), "shop@2.4.1", "b"));
        await _triage.IgnoreAsync(Project, Checkout, events: 3);
        _clock.Advance(TimeSpan.FromSeconds(20));
        await AddAsync(Release(Start.AddSeconds(40), "shop@2.4.1", "c"), Release(Start.AddSeconds(45), "shop@2.4.1", "d"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Ignored, "two events came after the ignore, not three");

        // The third comes from a client whose clock is a few seconds ahead (the next minute by its stamp): it counts now.
        await AddAsync(Release(_clock.GetUtcNow().AddSeconds(15), "shop@2.4.1", "e"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Unresolved);
        (await _triage.EvaluateAsync(Project)).Should().ContainKey(Checkout).WhoseValue.Status.Should().Be(TriageStatus.Unresolved, "the list sees what the page sees");
    }

    [Fact]
    public async Task Ignored_until_more_users_counts_the_users_of_merged_issues_once()
    {
        var merged = Fingerprint("merged-users");
        await AddAsync(Create(Project, merged, Start.AddHours(-1), User("m")));
        await _store.Store.Merges.MergeAsync(Project, Checkout, [merged], Start);
        await _triage.IgnoreAsync(Project, Checkout, users: 2);
        _clock.Advance(TimeSpan.FromMinutes(5));

        await AddAsync(Release(Start.AddMinutes(1), null, "same"), Create(Project, merged, Start.AddMinutes(2), User("same")));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Ignored, "one person hit both issues: one user, not two");

        await AddAsync(Create(Project, merged, Start.AddMinutes(3), User("another")));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Unresolved, "a second user, through the merged issue");
    }

    [Fact]
    public async Task An_issue_ignored_until_two_more_users_stays_ignored_while_one_user_keeps_failing()
    {
        await _triage.IgnoreAsync(Project, Checkout, users: 2);
        _clock.Advance(TimeSpan.FromMinutes(5));
        await AddAsync(Release(Start.AddMinutes(1), null, "same"), Release(Start.AddMinutes(2), null, "same"), Release(Start.AddMinutes(3), null, "same"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Ignored);

        await AddAsync(Release(Start.AddMinutes(4), null, "another"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Unresolved);
    }

    [Fact]
    public async Task An_issue_ignored_for_an_hour_is_back_after_the_hour_and_one_ignored_for_good_stays_ignored()
    {
        await _triage.IgnoreAsync(Project, Checkout, duration: TimeSpan.FromHours(1));
        _clock.Advance(TimeSpan.FromMinutes(59));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Ignored);
        _clock.Advance(TimeSpan.FromMinutes(1));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Unresolved);

        await _triage.IgnoreAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromDays(400));
        await AddAsync(Release(_clock.GetUtcNow().AddMinutes(-1), "shop@9.0", "x"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Ignored);
    }

    [Fact]
    public async Task A_noisy_issue_ignored_for_good_stays_ignored_without_its_events_being_read_and_an_unchanged_project_reads_no_events()
    {
        var activity = new RecordingActivity(_store.Store.Notifications.Activity);
        var triage = new IssueTriage(_store.Store.Notifications.States, activity, _store.Store.Issues, _store.Store.History, _store.Store.Access, _clock);
        var forGood = Fingerprint("ignored-for-good");
        var forADay = Fingerprint("ignored-for-a-day");
        var counted = Fingerprint("ignored-until-100-events");
        await AddAsync(Create(Project, forGood, Start.AddHours(-1)), Create(Project, forADay, Start.AddHours(-1)), Create(Project, counted, Start.AddHours(-1)), Release(Start.AddHours(-1), "shop@2.4.1"));
        await triage.IgnoreAsync(Project, forGood);
        await triage.IgnoreAsync(Project, forADay, duration: TimeSpan.FromDays(1));
        await triage.IgnoreAsync(Project, counted, events: 100);
        await triage.ResolveAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(
        [
            .. Enumerable.Range(1, 200).Select(i => Create(Project, forGood, Start.AddSeconds(i), User("u" + i))),
            .. Enumerable.Range(1, 200).Select(i => Create(Project, forADay, Start.AddSeconds(i), User("u" + i))),
            Create(Project, counted, Start.AddMinutes(1)),
            Release(Start.AddMinutes(2), "shop@2.4.2"),
        ]);

        var views = await triage.EvaluateAsync(Project);

        views.ToDictionary(pair => pair.Key, pair => pair.Value.Status).Should().BeEquivalentTo(new Dictionary<string, TriageStatus>
        {
            [forGood] = TriageStatus.Ignored,
            [forADay] = TriageStatus.Ignored,
            [counted] = TriageStatus.Ignored,
            [Checkout] = TriageStatus.Regressed,
        });
        activity.Seen.Should().BeEquivalentTo([counted, Checkout], "an ignore for good or until a time cannot end by events: the store does not even look at them");
        activity.Read.Should().BeEquivalentTo([counted, Checkout], "only the events of issues whose events can move them are read");

        // The 10 s refresh of an unchanged project: no events read.
        activity.Clear();
        (await triage.EvaluateAsync(Project)).Should().BeEquivalentTo(views);
        activity.Read.Should().BeEmpty("nothing changed since the last render");

        // New events of one issue: only that issue is read again.
        await AddAsync(Create(Project, counted, Start.AddMinutes(3)), Create(Project, forGood, Start.AddMinutes(3)));
        activity.Clear();
        (await triage.EvaluateAsync(Project))[counted].Status.Should().Be(TriageStatus.Ignored);
        activity.Read.Should().Equal(counted);
    }

    /// <summary>The real store's activity, with the issues triage asked about written down.</summary>
    private sealed class RecordingActivity(IIssueActivity inner) : IIssueActivity
    {
        public List<string> Seen { get; } = [];

        public List<string> Read { get; } = [];

        public void Clear()
        {
            Seen.Clear();
            Read.Clear();
        }

        public async Task<IReadOnlyList<IssueSeenAfterChange>> GetIssuesSeenAfterChangesAsync(int projectId, CancellationToken cancellationToken = default)
        {
            var seen = await inner.GetIssuesSeenAfterChangesAsync(projectId, cancellationToken);
            Seen.AddRange(seen.Select(issue => issue.Fingerprint));
            return seen;
        }

        public Task<IReadOnlyList<ActivityAfterChange>> GetActivityAfterChangesAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default)
        {
            Read.AddRange(fingerprints);
            return inner.GetActivityAfterChangesAsync(projectId, fingerprints, cancellationToken);
        }

        public Task<IReadOnlyList<NewIssue>> GetNewIssuesAsync(int projectId, EventFilter filter, DateTimeOffset since, int limit, CancellationToken cancellationToken = default) =>
            inner.GetNewIssuesAsync(projectId, filter, since, limit, cancellationToken);

        public Task<IReadOnlyList<IssueActivity>> GetActivityAsync(ActivityQuery query, CancellationToken cancellationToken = default) =>
            inner.GetActivityAsync(query, cancellationToken);

        public Task<ActivityTotals> GetTotalsAsync(int projectId, EventFilter filter, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
            inner.GetTotalsAsync(projectId, filter, from, to, cancellationToken);

        public Task<long[]> GetEventsPerHourAsync(int projectId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
            inner.GetEventsPerHourAsync(projectId, from, to, cancellationToken);

        public Task<ErrorEvent?> GetFirstEventAsync(int projectId, string fingerprint, EventFilter filter, CancellationToken cancellationToken = default) =>
            inner.GetFirstEventAsync(projectId, fingerprint, filter, cancellationToken);

        public Task<ErrorEvent?> GetFirstEventSinceAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset since, CancellationToken cancellationToken = default) =>
            inner.GetFirstEventSinceAsync(projectId, fingerprint, filter, since, cancellationToken);

        public Task<IReadOnlyList<ReleaseActivity>> GetReleasesAfterAsync(int projectId, string fingerprint, EventFilter filter, DateTimeOffset after, CancellationToken cancellationToken = default)
        {
            Read.Add(fingerprint);
            return inner.GetReleasesAfterAsync(projectId, fingerprint, filter, after, cancellationToken);
        }

        public Task<IssueActivity> GetIssueActivityAfterAsync(int projectId, string fingerprint, DateTimeOffset after, CancellationToken cancellationToken = default)
        {
            Read.Add(fingerprint);
            return inner.GetIssueActivityAfterAsync(projectId, fingerprint, after, cancellationToken);
        }
    }

    [Fact]
    public async Task Reopening_makes_it_unresolved_and_an_assignment_keeps_the_status()
    {
        var someone = Guid.NewGuid();
        await _triage.ResolveAsync(Project, Checkout);
        await _triage.AssignAsync(Project, Checkout, someone);

        var assigned = await ViewAsync();
        assigned.Status.Should().Be(TriageStatus.Resolved);
        assigned.State!.AssigneeId.Should().Be(someone);

        await _triage.ReopenAsync(Project, Checkout);
        var reopened = await ViewAsync();
        reopened.Status.Should().Be(TriageStatus.Unresolved);
        reopened.State!.AssigneeId.Should().Be(someone, "reopening does not unassign");
    }

    [Fact]
    public async Task Every_change_is_in_the_timeline_with_who_made_it_and_when_newest_first()
    {
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        var bo = new IssueActor(Guid.NewGuid(), "Bo Member");
        await _triage.ResolveAsync(Project, Checkout, afterRelease: "shop@2.4.1", by: ada);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, bo);
        await _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, bo);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _triage.IgnoreAsync(Project, Checkout, events: 100, by: bo);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _triage.ReopenAsync(Project, Checkout, by: ada);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _triage.AssignAsync(Project, Checkout, null, ada);

        var timeline = (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(Project, Checkout))).Items;

        timeline.Select(change => (change.Kind, change.ActorName, change.Text, change.Value)).Should().Equal(
            (IssueChangeKind.Assignment, "Ada Admin", "Unassigned", ""),
            (IssueChangeKind.Status, "Ada Admin", "Reopened", "unresolved"),
            (IssueChangeKind.Status, "Bo Member", "Ignored until 100 more events", "ignored"),
            (IssueChangeKind.Assignment, "Bo Member", "Assigned to Ada Admin", TemporaryStore.Admin.Id.ToString("D")),
            (IssueChangeKind.Status, "Ada Admin", "Resolved in the next release (after shop@2.4.1)", "resolved"));
        timeline[^1].At.Should().Be(Start);
        timeline[^1].ActorId.Should().Be(ada.Id);
        timeline[0].At.Should().Be(Start.AddMinutes(4));
    }

    [Fact]
    public async Task A_change_whose_timeline_entry_the_store_refused_is_stored_and_entered_once_when_made_again()
    {
        // SQLite cannot take a write and lose its answer; it can take the state and refuse the entry written after it (a disk
        // full at that moment), which leaves the same half-made change. Until December 2026 the assignment made again found
        // the issue assigned already and wrote no entry, and the resolution made again moved its time to the retry's.
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        var assign = Guid.NewGuid();
        var resolve = Guid.NewGuid();
        await ExecuteSqlAsync("CREATE TRIGGER refuse_entries BEFORE INSERT ON issue_history BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
        await FluentActions.Awaiting(() => _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, ada, assign)).Should().ThrowAsync<Exception>();
        await FluentActions.Awaiting(() => _triage.ResolveAsync(Project, Checkout, by: ada, actionId: resolve)).Should().ThrowAsync<Exception>();
        (await ViewAsync()).State.Should().BeEquivalentTo(new { Status = IssueStatus.Resolved, AssigneeId = TemporaryStore.Admin.Id, ChangedAt = Start }, "the states were stored");
        await ExecuteSqlAsync("DROP TRIGGER refuse_entries");

        // Made again, each in the order of its retry and twice (an answer lost once more), then a new change.
        _clock.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 2; i++)
        {
            await _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, ada, assign);
            await _triage.ResolveAsync(Project, Checkout, by: ada, actionId: resolve);
        }

        (await ViewAsync()).State!.ChangedAt.Should().Be(Start, "resolved when the store took it, not when it was made again");
        (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(Project, Checkout))).Items.Select(change => (change.Kind, change.ActorName, change.Text))
            .Should().BeEquivalentTo(new[] { (IssueChangeKind.Status, "Ada Admin", "Resolved"), (IssueChangeKind.Assignment, "Ada Admin", "Assigned to Ada Admin") }, "each change is entered once, with who made it");

        // A new action (another id) to the same end changes nothing and enters nothing, as before.
        await _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, ada);
        (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(Project, Checkout))).Items.Should().HaveCount(2);
    }

    [Fact]
    public async Task A_bulk_change_that_stopped_partway_is_finished_by_its_retry_with_every_issue_changed_and_entered_once()
    {
        var issues = new[] { Checkout, Fingerprint("cart"), Fingerprint("login") };
        await AddAsync([.. issues.Skip(1).Select(issue => Create(Project, issue, Start.AddMinutes(-5)))]);
        var action = Guid.NewGuid();
        var reached = 0;

        // The second issue's state is taken, its entry refused.
        await ExecuteSqlAsync($"CREATE TRIGGER refuse_one BEFORE INSERT ON issue_history WHEN NEW.fingerprint = '{issues[1]}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
        await FluentActions.Awaiting(() => _triage.AssignManyAsync(Project, issues, TemporaryStore.Admin.Id, progress: done => reached = done, actionId: action)).Should().ThrowAsync<Exception>();
        reached.Should().Be(1);
        await ExecuteSqlAsync("DROP TRIGGER refuse_one");

        (await _triage.AssignManyAsync(Project, [.. issues.Skip(reached)], TemporaryStore.Admin.Id, actionId: action)).Should().Be(2, "the retry reports the issue it stopped at as changed by it");
        foreach (var issue in issues)
        {
            (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(Project, issue))).Items.Select(change => change.Kind).Should().Equal([IssueChangeKind.Assignment], $"{issue} is entered once");
        }
    }

    [Fact]
    public async Task A_change_whose_entry_the_store_refused_and_that_no_one_made_again_is_in_the_timeline()
    {
        // The state is kept with its entry: the next change, or the next read of the timeline, adds the entry the store
        // refused. Until December 2026 such a change kept its state without an entry for good.
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        var timeline = new IssueTimeline(_store.Store.History, _triage, _clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<IssueTimeline>.Instance);
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_history", () => _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, ada));

        _clock.Advance(TimeSpan.FromMinutes(1));
        await _triage.ResolveAsync(Project, Checkout, by: ada);

        _clock.Advance(TimeSpan.FromMinutes(1));
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_history", () => _triage.ReopenAsync(Project, Checkout, by: ada));

        _clock.Advance(TimeSpan.FromMinutes(1));
        (await timeline.GetAsync(Project, Checkout)).Items.Select(entry => (entry.Kind, entry.Text, entry.ActorName, entry.At)).Should().Equal(
            [
                (IssueChangeKind.Status, "Reopened", "Ada Admin", Start.AddMinutes(2)),
                (IssueChangeKind.Status, "Resolved", "Ada Admin", Start.AddMinutes(1)),
                (IssueChangeKind.Assignment, "Assigned to Ada Admin", "Ada Admin", Start),
            ],
            "each change is entered once, with who made it and when the store took it");
        (await timeline.GetAsync(Project, Checkout)).Items.Should().HaveCount(3, "read again, nothing is added twice");
    }

    [Fact]
    public async Task A_merge_and_an_unmerge_made_again_with_their_action_id_are_made_and_entered_once()
    {
        // SQLite cannot lose an answer; it can refuse the merge written after its entries, and a merge made again after a lost
        // answer finds itself made. Until December 2026 the latter was refused ("merged already") and its entries were missing.
        var (cart, merging) = await AddCartAndMergingAsync();
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        var merge = Guid.NewGuid();
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_merges", () => merging.MergeAsync(Project, Checkout, [cart], ada, merge));

        (await merging.MergeAsync(Project, Checkout, [cart], ada, merge)).Should().BeNull();
        (await merging.MergeAsync(Project, Checkout, [cart], ada, merge)).Should().BeNull("made again as after a lost answer, it is answered as merged");
        (await merging.MergeAsync(Project, Checkout, [cart], ada)).Should().NotBeNull("another merge of an issue merged already is refused, as before");
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Merge]);
        (await KindsAsync(cart)).Should().Equal([IssueChangeKind.Merge]);

        _clock.Advance(TimeSpan.FromMinutes(1));
        var unmerge = Guid.NewGuid();
        await FailsWhileTheStoreRefusesAsync("DELETE ON issue_merges", () => merging.UnmergeAsync(Project, cart, ada, unmerge));

        (await merging.UnmergeAsync(Project, cart, ada, unmerge)).Should().BeTrue();
        (await merging.UnmergeAsync(Project, cart, ada, unmerge)).Should().BeTrue("made again as after a lost answer, it is answered as unmerged");
        (await merging.UnmergeAsync(Project, cart, ada)).Should().BeFalse("another unmerge of an issue of its own finds nothing to unmerge, as before");
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge]);
        (await KindsAsync(cart)).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge]);
    }

    [Fact]
    public async Task Two_changes_in_a_row_whose_entries_the_store_refused_are_both_in_the_timeline()
    {
        // The store refuses the timeline for a while (a full disk) and takes the states: the second change cannot add the
        // first one's entry either. Until December 2026 a state kept only its own change's entry, and the first was lost.
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        await ExecuteSqlAsync(RefuseEntries);
        await FluentActions.Awaiting(() => _triage.AssignAsync(Project, Checkout, TemporaryStore.Admin.Id, ada)).Should().ThrowAsync<Exception>();
        _clock.Advance(TimeSpan.FromMinutes(1));
        await FluentActions.Awaiting(() => _triage.ResolveAsync(Project, Checkout, by: ada)).Should().ThrowAsync<Exception>();
        await ExecuteSqlAsync("DROP TRIGGER refuse_entries");

        _clock.Advance(TimeSpan.FromMinutes(1));
        (await Timeline.GetAsync(Project, Checkout)).Items.Select(entry => (entry.Kind, entry.Text, entry.At)).Should().Equal(
            [(IssueChangeKind.Status, "Resolved", Start.AddMinutes(1)), (IssueChangeKind.Assignment, "Assigned to Ada Admin", Start)],
            "each change is entered once, when the store took it");
        (await Timeline.GetAsync(Project, Checkout)).Items.Should().HaveCount(2, "read again, nothing is added twice");

        await _triage.ReopenAsync(Project, Checkout, by: ada);
        (await _store.Store.Notifications.States.GetStateAsync(Project, Checkout))!.Entries.Select(entry => entry.Text).Should().Equal(
            ["Reopened"], "a state keeps only the entries not known to be in the timeline");
    }

    [Fact]
    public async Task A_merge_and_an_unmerge_the_store_refused_and_no_one_made_again_are_in_no_timeline()
    {
        // Until December 2026 their entries were written before them, so the timelines told of a merge and an unmerge that
        // were never made while the page said "Not saved".
        var (cart, merging) = await AddCartAndMergingAsync();
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_merges", () => merging.MergeAsync(Project, Checkout, [cart], ada, Guid.NewGuid()));

        (await Timeline.GetAsync(Project, Checkout)).Items.Should().BeEmpty("the merge was not made");
        (await Timeline.GetAsync(Project, cart)).Items.Should().BeEmpty();
        _clock.Advance(TimeSpan.FromMinutes(1));
        await _triage.ResolveAsync(Project, Checkout, by: ada);
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Status], "the next change adds no entry of the merge either");

        _clock.Advance(TimeSpan.FromMinutes(1));
        (await merging.MergeAsync(Project, Checkout, [cart], ada, Guid.NewGuid())).Should().BeNull("merged by another click, it is entered once");
        _clock.Advance(TimeSpan.FromMinutes(1));
        await FailsWhileTheStoreRefusesAsync("DELETE ON issue_merges", () => merging.UnmergeAsync(Project, cart, ada, Guid.NewGuid()));

        (await Timeline.GetAsync(Project, cart)).Items.Select(entry => entry.Kind).Should().Equal([IssueChangeKind.Merge], "the unmerge was not made");
        (await Timeline.GetAsync(Project, Checkout)).Items.Select(entry => entry.Kind).Should().Equal([IssueChangeKind.Merge, IssueChangeKind.Status]);
        (await _store.Store.Merges.GetMergesAsync(Project)).Should().ContainKey(cart);
    }

    [Fact]
    public async Task A_merge_whose_entries_the_store_refused_and_that_no_one_made_again_is_in_both_timelines()
    {
        var (cart, merging) = await AddCartAndMergingAsync();
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_history", () => merging.MergeAsync(Project, Checkout, [cart], new IssueActor(TemporaryStore.Admin.Id, "Ada Admin"), Guid.NewGuid()));
        (await _store.Store.Merges.GetMergesAsync(Project)).Should().ContainKey(cart, "the store took the merge");

        // The issue merged into is the one people read: its timeline adds the entries of both sides.
        (await Timeline.GetAsync(Project, Checkout)).Items.Select(entry => (entry.Kind, entry.Text)).Should().Equal([(IssueChangeKind.Merge, "Merged “NullReferenceException: cart” into this issue (1 event)")]);
        (await KindsAsync(cart)).Should().Equal([IssueChangeKind.Merge]);
        (await Timeline.GetAsync(Project, Checkout)).Items.Should().HaveCount(1, "read again, nothing is added twice");
    }

    /// <summary>A second issue, "cart" (one event), to merge into Checkout as the issue page merges.</summary>
    private async Task<(string Cart, IssueMerging Merging)> AddCartAndMergingAsync()
    {
        var cart = Fingerprint("cart");
        await AddAsync(Create(Project, cart, Start.AddMinutes(-5), title: "NullReferenceException: cart"));
        return (cart, new IssueMerging(_store.Store.Merges, _store.Store.Issues, _store.Store.History, _triage, new IssueMergeFeed(), _clock));
    }

    /// <summary>Makes <paramref name="change"/> while SQLite refuses every <paramref name="writes"/> (as a full disk would), and sees it fail.</summary>
    private async Task FailsWhileTheStoreRefusesAsync(string writes, Func<Task> change)
    {
        await ExecuteSqlAsync($"CREATE TRIGGER refuse_writes BEFORE {writes} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
        await FluentActions.Awaiting(change).Should().ThrowAsync<Exception>();
        await ExecuteSqlAsync("DROP TRIGGER refuse_writes");
    }

    [Fact]
    public async Task An_unmerge_whose_entries_the_store_refused_is_in_the_timeline_of_the_issue_it_left_when_that_is_read_first()
    {
        // Until December 2026 both entries were kept with the merged issue's state only: the issue it left, the one people
        // read, had no "Unmerged" until someone read the other's activity.
        var (cart, merging) = await AddCartAndMergingAsync();
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        (await merging.MergeAsync(Project, Checkout, [cart], ada, Guid.NewGuid())).Should().BeNull();
        _clock.Advance(TimeSpan.FromMinutes(1));
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_history", () => merging.UnmergeAsync(Project, cart, ada, Guid.NewGuid()));
        (await _store.Store.Merges.GetMergesAsync(Project)).Should().NotContainKey(cart, "the store took the unmerge");

        (await Timeline.GetAsync(Project, Checkout)).Items.Select(entry => (entry.Kind, entry.Text)).Should().Equal(
            [(IssueChangeKind.Unmerge, "Unmerged “NullReferenceException: cart”: it is an issue of its own again"), (IssueChangeKind.Merge, "Merged “NullReferenceException: cart” into this issue (1 event)")]);
        (await Timeline.GetAsync(Project, cart)).Items.Select(entry => entry.Kind).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge]);
        (await Timeline.GetAsync(Project, Checkout)).Items.Should().HaveCount(2, "read again, nothing is added twice");
    }

    [Fact]
    public async Task A_merge_whose_entries_the_store_refused_then_unmerged_is_in_both_timelines_before_the_unmerge()
    {
        // The merge stands until the unmerge: its entries, lost, are written before the unmerge's. Until December 2026 they stayed
        // kept with a state, never added (the merge no longer stood), and both timelines said "Unmerged" of a merge they never told.
        var (cart, merging) = await AddCartAndMergingAsync();
        var ada = new IssueActor(TemporaryStore.Admin.Id, "Ada Admin");
        await FailsWhileTheStoreRefusesAsync("INSERT ON issue_history", () => merging.MergeAsync(Project, Checkout, [cart], ada, Guid.NewGuid()));
        (await _store.Store.Merges.GetMergesAsync(Project)).Should().ContainKey(cart, "the store took the merge");

        // The merged issue's activity, read first, adds its own entry (until December 2026 only the target's read added it).
        (await Timeline.GetAsync(Project, cart)).Items.Select(entry => (entry.Kind, entry.Text.StartsWith("Merged into “", StringComparison.Ordinal))).Should().Equal([(IssueChangeKind.Merge, true)]);

        _clock.Advance(TimeSpan.FromMinutes(1));
        (await merging.UnmergeAsync(Project, cart, ada, Guid.NewGuid())).Should().BeTrue();
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge], "the merge is told before its unmerge");
        (await KindsAsync(cart)).Should().Equal([IssueChangeKind.Unmerge, IssueChangeKind.Merge]);
        (await Timeline.GetAsync(Project, Checkout)).Items.Should().HaveCount(2, "read, nothing is added twice");
        (await _store.Store.Notifications.States.GetStateAsync(Project, Checkout))!.Entries.Should().BeEmpty("nothing is left to add");
    }

    private const string RefuseEntries = "CREATE TRIGGER refuse_entries BEFORE INSERT ON issue_history BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END";

    private async Task<IReadOnlyList<IssueChangeKind>> KindsAsync(string issue) =>
        [.. (await _store.Store.History.GetChangesAsync(new IssueChangeQuery(Project, issue))).Items.Select(entry => entry.Kind)];

    private async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.DatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task An_event_of_an_issue_merged_into_a_resolved_one_regresses_it()
    {
        var merged = Fingerprint("merged");
        await AddAsync(Create(Project, merged, Start.AddHours(-1), User("m")));
        await _store.Store.Merges.MergeAsync(Project, Checkout, [merged], Start);
        await _triage.ResolveAsync(Project, Checkout, afterRelease: "shop@2.4.1");
        _clock.Advance(TimeSpan.FromMinutes(10));

        await AddAsync(Create(Project, merged, Start.AddMinutes(5), User("m")) with { Release = "shop@2.4.1" });
        (await ViewAsync()).Status.Should().Be(TriageStatus.Resolved, "an event of the release it was resolved after");

        await AddAsync(Create(Project, merged, Start.AddMinutes(6), User("m")) with { Release = "shop@2.5.0" });
        (await ViewAsync()).Should().BeEquivalentTo(new { Status = TriageStatus.Regressed, RegressedInRelease = "shop@2.5.0" });
    }

    [Fact]
    public async Task Two_maintainers_changing_one_issue_at_once_keep_both_changes()
    {
        var bo = Guid.NewGuid();
        var states = new PausingIssueStates(_store.Store.Notifications.States);
        var triage = new IssueTriage(states, _store.Store.Notifications.Activity, _store.Store.Issues, _store.Store.History, _store.Store.Access, _clock);

        // Ada assigns Bo; her read of the state is held until Cy's resolve has had every chance to pass it.
        var assigning = states.PauseNextRead();
        var assign = Task.Run(() => triage.AssignAsync(Project, Checkout, bo));
        await assigning.Reached;
        var resolve = Task.Run(() => triage.ResolveAsync(Project, Checkout));
        await Task.WhenAny(resolve, Task.Delay(TimeSpan.FromSeconds(1)));
        assigning.Continue();
        await Task.WhenAll(assign, resolve);

        var afterAssignAndResolve = await ViewAsync();
        afterAssignAndResolve.Status.Should().Be(TriageStatus.Resolved, "the resolve made while the assignment was under way stays");
        afterAssignAndResolve.State!.AssigneeId.Should().Be(bo, "the assignment made while the resolve was under way stays");

        // And the other way round: Cy ignores while Ada unassigns.
        var ignoring = states.PauseNextRead();
        var ignore = Task.Run(() => triage.IgnoreAsync(Project, Checkout, events: 10));
        await ignoring.Reached;
        var unassign = Task.Run(() => triage.AssignAsync(Project, Checkout, null));
        await Task.WhenAny(unassign, Task.Delay(TimeSpan.FromSeconds(1)));
        ignoring.Continue();
        await Task.WhenAll(ignore, unassign);

        var afterIgnoreAndUnassign = await ViewAsync();
        afterIgnoreAndUnassign.Status.Should().Be(TriageStatus.Ignored);
        afterIgnoreAndUnassign.State!.AssigneeId.Should().BeNull("the unassignment made while the ignore was under way stays");
    }

    /// <summary>The real store's issue states, with one read held where the test says, as a slow store would hold it.</summary>
    private sealed class PausingIssueStates(IIssueStates inner) : IIssueStates
    {
        private Pause? _next;

        public Pause PauseNextRead() => _next = new Pause();

        public Task SetStateAsync(IssueState state, CancellationToken cancellationToken = default) => inner.SetStateAsync(state, cancellationToken);

        public Task SetStatesAsync(IReadOnlyCollection<IssueState> states, CancellationToken cancellationToken = default) => inner.SetStatesAsync(states, cancellationToken);

        public async Task<IssueState?> GetStateAsync(int projectId, string fingerprint, CancellationToken cancellationToken = default)
        {
            var state = await inner.GetStateAsync(projectId, fingerprint, cancellationToken);
            if (Interlocked.Exchange(ref _next, null) is { } pause)
            {
                pause.Arrived();
                await pause.Released;
            }

            return state;
        }

        public Task<IReadOnlyList<IssueState>> GetStatesAsync(int projectId, IssueStatus? status = null, CancellationToken cancellationToken = default) =>
            inner.GetStatesAsync(projectId, status, cancellationToken);

        public Task<IReadOnlyList<IssueState>> GetStatesOfAsync(int projectId, IReadOnlyCollection<string> fingerprints, CancellationToken cancellationToken = default) =>
            inner.GetStatesOfAsync(projectId, fingerprints, cancellationToken);

        public Task<IReadOnlyList<IssueState>> GetAssignedOrTimedStatesAsync(int projectId, CancellationToken cancellationToken = default) =>
            inner.GetAssignedOrTimedStatesAsync(projectId, cancellationToken);

        public Task<IReadOnlyList<IssueState>> GetStatesChangedAsync(int projectId, IssueStatus status, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
            inner.GetStatesChangedAsync(projectId, status, from, to, cancellationToken);

        public Task<IReadOnlyList<IssueState>> GetStatesResolvedForReleasesAsync(int projectId, IReadOnlyCollection<string> releases, CancellationToken cancellationToken = default) =>
            inner.GetStatesResolvedForReleasesAsync(projectId, releases, cancellationToken);

        public Task<IReadOnlyList<string>> GetReleasesResolvedAfterAsync(int projectId, CancellationToken cancellationToken = default) =>
            inner.GetReleasesResolvedAfterAsync(projectId, cancellationToken);
    }

    private sealed class Pause
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reached => _reached.Task;

        public Task Released => _released.Task;

        public void Arrived() => _reached.TrySetResult();

        public void Continue() => _released.TrySetResult();
    }

    [Fact]
    public async Task Impossible_ignore_conditions_are_refused()
    {
        Func<Task> zeroEvents = () => _triage.IgnoreAsync(Project, Checkout, events: 0);
        Func<Task> pastDuration = () => _triage.IgnoreAsync(Project, Checkout, duration: TimeSpan.FromMinutes(-5));

        await zeroEvents.Should().ThrowAsync<ArgumentOutOfRangeException>();
        await pastDuration.Should().ThrowAsync<ArgumentOutOfRangeException>();
        (await _store.Store.Notifications.States.GetStateAsync(Project, Checkout)).Should().BeNull("nothing was stored");
    }

    [Fact]
    public async Task A_release_of_another_app_reopens_by_when_the_project_first_saw_it_not_by_its_version_number()
    {
        // The project runs two apps: api@3.0 went out before shop@2.4.1 (seeded two hours ago), api@1.0-hotfix after.
        await AddAsync(Create(Project, Fingerprint("api-timeout"), Start.AddHours(-3), User("ops")) with { Release = "api@3.0" });
        await _triage.ResolveAsync(Project, Checkout, afterRelease: "shop@2.4.1");
        _clock.Advance(TimeSpan.FromMinutes(30));

        await AddAsync(Release(Start.AddMinutes(1), "api@3.0", "a"));
        (await ViewAsync()).Status.Should().Be(TriageStatus.Resolved, "api 3.0 is higher than shop 2.4.1 only as a number; it is an older deploy");
        (await _triage.EvaluateAsync(Project))[Checkout].Status.Should().Be(TriageStatus.Resolved, "the list judges as the page does");

        await AddAsync(Release(Start.AddMinutes(2), "api@1.0.1", "b"));
        (await ViewAsync()).Should().BeEquivalentTo(new { Status = TriageStatus.Regressed, RegressedInRelease = "api@1.0.1" }, "api 1.0.1 first came after shop 2.4.1");
        (await _triage.EvaluateAsync(Project))[Checkout].Status.Should().Be(TriageStatus.Regressed);
    }

    [Theory]
    [InlineData("shop@2.4.1", "shop@2.10.0", true)]
    [InlineData("2.4.1", "2.5", true)]
    [InlineData("api@3.0", "shop@2.4.1", false)]
    [InlineData("2.4.1", "shop@2.4.1", false)]
    [InlineData("shop@9f3c2ab", "shop@2.4.1", false)]
    [InlineData("@acme/web@1.2.0", "@acme/web@1.3.0", true)]
    public void Only_versions_of_the_same_app_compare_by_version(string left, string right, bool comparable)
    {
        ReleaseVersion.AreComparable(left, right).Should().Be(comparable);
        ReleaseVersion.AreComparable(right, left).Should().Be(comparable);
    }

    [Theory]
    [InlineData("shop@2.10.0", "shop@2.9.1", 1)]
    [InlineData("2.4.1", "2.4.1", 0)]
    [InlineData("2.4.1-beta.2", "2.4.1", -1)]
    [InlineData("v1.2", "1.2.0", 0)]
    [InlineData("1.2.0+sha.9f3c", "1.2.0+sha.0000", 0)]
    [InlineData("release-b", "release-a", 1)]
    [InlineData("", "1.0", -1)]
    public void Releases_compare_by_version_where_they_are_versions(string left, string right, int expected)
    {
        Math.Sign(ReleaseVersion.Compare(left, right)).Should().Be(expected);
        Math.Sign(ReleaseVersion.Compare(right, left)).Should().Be(-expected);
    }

    // A regression in the issue's activity: the timeline records it when it is read (IssueTimeline).
    private IssueTimeline Timeline => new(_store.Store.History, _triage, _clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<IssueTimeline>.Instance);

    private async Task<List<IssueChange>> RegressionsAsync() =>
        [.. (await Timeline.GetAsync(Project, Checkout, limit: 100)).Items.Where(entry => entry.Kind == IssueChangeKind.Regression)];

    [Fact]
    public async Task A_regression_is_one_entry_per_resolution_at_the_time_of_the_event_that_brought_the_issue_back()
    {
        await _triage.ResolveAsync(Project, Checkout, inRelease: "shop@2.4.2");
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(2), "shop@2.4.1", "old"));
        (await RegressionsAsync()).Should().BeEmpty("an event of an older release does not reopen an issue resolved in a newer one");

        await AddAsync(Release(Start.AddMinutes(5), "shop@2.5.0"), Release(Start.AddMinutes(7), "shop@2.5.0", "other"));
        var first = await RegressionsAsync();
        first.Should().ContainSingle().Which.Should().BeEquivalentTo(new
        {
            At = Start.AddMinutes(5),
            ActorId = (Guid?)null,
            ActorName = "",
            Text = "Regressed in shop@2.5.0: a new event after it was resolved in shop@2.4.2",
            Value = "shop@2.5.0",
        });
        (await RegressionsAsync()).Should().Equal(first, "read again, the timeline does not add the regression twice");

        // Resolved again, and back again: a second entry; the first one stays.
        _clock.Advance(TimeSpan.FromMinutes(10));
        await _triage.ResolveAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(25), null));
        var second = await RegressionsAsync();
        second.Should().HaveCount(2);
        second[0].Text.Should().Be("Regressed: a new event after it was resolved", "an event without a release after a resolution without one");
        second[1].Should().Be(first[0]);

        (await Timeline.GetAsync(Project, Checkout, limit: 100)).Items.Should().Contain(entry => entry.Kind == IssueChangeKind.Status, "the people's changes stay beside it");
    }

    [Fact]
    public async Task Resolved_for_the_next_release_the_entry_names_the_release_it_was_resolved_after()
    {
        await _triage.ResolveAsync(Project, Checkout, afterRelease: "shop@2.4.1");
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(3), "shop@2.4.1"), Release(Start.AddMinutes(4), "shop@2.4.2"));

        (await RegressionsAsync()).Should().ContainSingle().Which.Text.Should().Be("Regressed in shop@2.4.2: a new event after it was resolved for the release after shop@2.4.1");
    }

    [Fact]
    public async Task An_issue_that_is_resolved_and_quiet_or_reopened_by_hand_gets_no_regression_entry()
    {
        await _triage.ResolveAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        (await RegressionsAsync()).Should().BeEmpty();

        await _triage.ReopenAsync(Project, Checkout);
        _clock.Advance(TimeSpan.FromMinutes(10));
        await AddAsync(Release(Start.AddMinutes(15), "shop@2.4.2"));
        (await RegressionsAsync()).Should().BeEmpty("an unresolved issue's new events are no regression");
    }
}
