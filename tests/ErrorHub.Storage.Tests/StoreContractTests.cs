using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// What every store (<see cref="ErrorHubStore"/>: schema, writer, issue reader, projects) promises, run against each real store. Each test gets
/// an empty store of its own.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    private const int Project = 7;
    private static readonly DateTimeOffset T0 = TestEvents.BaseTime;

    private ErrorHubStore? _store;

    private protected ErrorHubStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>A new store with an empty database whose schema is not created yet.</summary>
    private protected abstract Task<ErrorHubStore> CreateStoreAsync();

    private protected abstract Task DestroyStoreAsync(ErrorHubStore store);

    /// <summary>
    /// Separate store instances (as separate processes would have) on one new, empty database;
    /// the derived class cleans them up with the test.
    /// </summary>
    private protected abstract Task<IReadOnlyList<ErrorHubStore>> CreateStoresSharingAFreshDatabaseAsync(int count);

    /// <summary>Separate store instances on one new database, its schema made (one after another, as processes started in turn).</summary>
    private protected async Task<IReadOnlyList<ErrorHubStore>> StoresSharingOneDatabaseAsync(int count)
    {
        var stores = await CreateStoresSharingAFreshDatabaseAsync(count);
        foreach (var store in stores)
        {
            await store.Schema.EnsureSchemaAsync();
        }

        return stores;
    }

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.Schema.EnsureSchemaAsync();
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await DestroyStoreAsync(_store);
        }
    }

    [Fact]
    public async Task An_event_reads_back_with_every_field()
    {
        var complete = TestEvents.CreateComplete(Project, "fp-complete", T0);
        await Store.Events.InsertEventsAsync([complete]);

        var byId = await Store.Issues.GetEventAsync(Project, complete.EventId);
        var byIssue = await Store.Issues.GetEventsAsync(Project, "fp-complete", 10);

        byId.Should().BeEquivalentTo(complete, o => o.RespectingRuntimeTypes());
        byIssue.Should().ContainSingle().Which.Should().BeEquivalentTo(complete);
        byId!.Timestamp.Should().Be(complete.Timestamp, "the payload keeps sub-second precision");
        byId.User!.Key.Should().Be("user-42");
    }

    [Fact]
    public async Task Hostile_and_unicode_strings_survive_in_every_place_a_string_goes()
    {
        foreach (var (hostile, i) in TestEvents.HostileStrings.Select((s, i) => (s, i)))
        {
            var fingerprint = "fp-" + hostile;
            var e = TestEvents.Create(Project, fingerprint, T0.AddMinutes(i), TestEvents.User(hostile.Length == 0 ? "empty" : hostile), title: hostile, culprit: hostile, level: hostile)
                with
            {
                Message = hostile,
                Release = hostile,
                Tags = new Dictionary<string, string> { [hostile] = hostile },
            };
            await Store.Events.InsertEventsAsync([e]);

            (await Store.Issues.GetEventAsync(Project, e.EventId)).Should().BeEquivalentTo(e, $"string #{i} must round-trip");
            var issue = await Store.Issues.GetIssueAsync(Project, fingerprint);
            issue.Should().NotBeNull($"the issue of string #{i} is found by its fingerprint");
            issue!.Title.Should().Be(hostile);
            issue.Culprit.Should().Be(hostile);
            issue.Level.Should().Be(hostile);
            (await Store.Issues.GetEventsAsync(Project, fingerprint, 5)).Should().ContainSingle().Which.EventId.Should().Be(e.EventId);
        }
    }

    [Fact]
    public async Task A_missing_event_is_null_and_an_event_is_invisible_to_other_projects()
    {
        var e = TestEvents.Create(Project, "fp", T0);
        await Store.Events.InsertEventsAsync([e]);

        (await Store.Issues.GetEventAsync(Project, Guid.NewGuid())).Should().BeNull();
        (await Store.Issues.GetEventAsync(Project + 1, e.EventId)).Should().BeNull();
    }

    [Fact]
    public async Task Issues_group_events_by_fingerprint_with_counts_users_and_first_and_last_seen()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(10), TestEvents.User("alice")),
            TestEvents.Create(Project, "fp-a", T0.AddMinutes(5), TestEvents.User("bob")),
            TestEvents.Create(Project, "fp-a", T0.AddHours(3), TestEvents.User("alice")),
            TestEvents.Create(Project, "fp-a", T0.AddDays(2), user: null),
            TestEvents.Create(Project, "fp-b", T0.AddMinutes(1), user: null),
        ]);

        var page = await Store.Issues.GetIssuesAsync(new IssueQuery(Project));

        page.TotalCount.Should().Be(2);
        var a = page.Items.Single(i => i.Fingerprint == "fp-a");
        a.Should().BeEquivalentTo(new
        {
            ProjectId = Project,
            EventCount = 4L,
            UserCount = 2L,
            FirstSeen = T0.AddMinutes(5),
            LastSeen = T0.AddDays(2),
        });
        var b = page.Items.Single(i => i.Fingerprint == "fp-b");
        b.EventCount.Should().Be(1);
        b.UserCount.Should().Be(0, "an event without a user affects no user");
        b.FirstSeen.Should().Be(T0.AddMinutes(1));
        b.LastSeen.Should().Be(T0.AddMinutes(1));
    }

    [Fact]
    public async Task Users_are_told_apart_by_id_then_email_then_username_then_ip()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0, new UserRecord("42", "jdoe", "jdoe@example.com", "10.0.0.1")),
            TestEvents.Create(Project, "fp", T0.AddSeconds(1), new UserRecord("42", "other-name", null, null)),
            TestEvents.Create(Project, "fp", T0.AddSeconds(2), new UserRecord(null, "jdoe", "jdoe@example.com", null)),
            TestEvents.Create(Project, "fp", T0.AddSeconds(3), new UserRecord(null, null, "jdoe@example.com", "10.0.0.2")),
            TestEvents.Create(Project, "fp", T0.AddSeconds(4), new UserRecord(null, null, null, "10.0.0.1")),
            TestEvents.Create(Project, "fp", T0.AddSeconds(5), new UserRecord(null, null, null, null)),
        ]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp");

        // "42", "jdoe@example.com" (twice) and "10.0.0.1"; the last event has no user at all.
        issue!.UserCount.Should().Be(3);
        issue.EventCount.Should().Be(6);
    }

    [Fact]
    public async Task The_first_event_by_timestamp_names_the_issue_and_the_latest_sets_its_level_whatever_the_arrival_order()
    {
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp", T0.AddHours(1), title: "second title", culprit: "Second.Culprit", level: "warning")]);
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp", T0.AddHours(5), title: "newest title", culprit: "Newest.Culprit", level: "fatal")]);
        var afterTwo = await Store.Issues.GetIssueAsync(Project, "fp");
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp", T0, title: "oldest title", culprit: "Oldest.Culprit")]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp");

        afterTwo!.Title.Should().Be("second title", "a newer event does not rename the issue");
        issue!.Title.Should().Be("oldest title", "an event that happened earlier but arrived late is the first");
        issue.Culprit.Should().Be("Oldest.Culprit");
        issue.Level.Should().Be("fatal", "the level is the latest event's");
        issue.FirstSeen.Should().Be(T0);
        issue.LastSeen.Should().Be(T0.AddHours(5));
    }

    [Fact]
    public async Task The_first_event_says_why_the_issue_is_one_issue_in_the_list_and_alone_whatever_the_arrival_order()
    {
        var later = Regrouped(TestEvents.Create(Project, "fp", T0.AddHours(1)), legacy: "fp-v1") with
        {
            TitleWrapper = null,
            GroupingComponents = [new GroupingComponent(GroupingComponent.Type, "TimeoutException"), new GroupingComponent(GroupingComponent.AppFrame, "Shop.Later")],
        };
        var first = Regrouped(TestEvents.Create(Project, "fp", T0), legacy: "fp-v1");
        await Store.Events.InsertEventsAsync([later]);
        await Store.Events.InsertEventsAsync([first]);
        await Store.Events.InsertEventsAsync([later with { EventId = Guid.NewGuid(), Timestamp = T0.AddHours(2) }]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp");
        var listed = (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).Items.Single();

        issue!.Grouping.Should().BeEquivalentTo(new IssueGrouping(2, "DbUpdateException", first.GroupingComponents), o => o.WithStrictOrdering());
        listed.Grouping.Should().BeEquivalentTo(issue.Grouping);
    }

    [Fact]
    public async Task Hostile_and_unicode_grouping_components_survive_into_the_issue()
    {
        GroupingComponent[] components =
        [
            new(GroupingComponent.Client, "'); DROP TABLE issues; --"),
            new(GroupingComponent.Message, "\"}]},{\"kind\":\"type\" <script>alert(1)</script> \u0000 ünïcødé 错误 🙂"),
            new("made-up-kind", new string('x', 5000), Counts: false),
        ];
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp", T0) with { GroupingVersion = 2, GroupingComponents = components, TitleWrapper = "Wrapper\n\"'" }]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp");

        issue!.Grouping.Should().BeEquivalentTo(new IssueGrouping(2, "Wrapper\n\"'", components), o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task An_issue_made_by_grouping_version_1_has_no_grouping_and_keeps_none_when_newer_events_join_it()
    {
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp-v1", T0)]);
        await Store.Events.InsertEventsAsync([Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(1)), legacy: "fp-v1")]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp-v1");

        issue!.EventCount.Should().Be(2);
        issue.Grouping.Should().BeNull("the issue was made by version 1, which did not record why");
    }

    [Fact]
    public async Task An_event_whose_legacy_fingerprint_names_an_existing_issue_joins_that_issue()
    {
        // Version 1 made the issue; version 2 gives the same failure another fingerprint and the old one as legacy.
        var v1 = TestEvents.Create(Project, "fp-v1", T0, TestEvents.User("alice"), title: "DbUpdateException: An error occurred");
        var v2 = Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(1), TestEvents.User("bob"), title: "SqliteException: FOREIGN KEY constraint failed"), legacy: "fp-v1");
        await Store.Events.InsertEventsAsync([v1]);
        await Store.Events.InsertEventsAsync([v2]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp-v1");
        issue!.EventCount.Should().Be(2);
        issue.UserCount.Should().Be(2);
        issue.Title.Should().Be("DbUpdateException: An error occurred", "the issue keeps its name");
        (await Store.Issues.GetIssueAsync(Project, "fp-v2")).Should().BeNull("no issue splits off");
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).TotalCount.Should().Be(1);
        (await Store.Issues.GetEventsAsync(Project, "fp-v1", 10)).Select(e => e.EventId).Should().Equal(v2.EventId, v1.EventId);
        var stored = await Store.Issues.GetEventAsync(Project, v2.EventId);
        stored.Should().BeEquivalentTo(v2 with { Fingerprint = "fp-v1" }, "filed under the legacy issue, otherwise as sent");
    }

    [Fact]
    public async Task An_event_whose_legacy_issue_does_not_exist_opens_its_own_and_later_events_follow_it()
    {
        var first = Regrouped(TestEvents.Create(Project, "fp-v2", T0), legacy: "fp-v1");
        var second = Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddMinutes(1)), legacy: "fp-v1");
        await Store.Events.InsertEventsAsync([first]);
        await Store.Events.InsertEventsAsync([second]);

        (await Store.Issues.GetIssueAsync(Project, "fp-v2"))!.EventCount.Should().Be(2);
        (await Store.Issues.GetIssueAsync(Project, "fp-v1")).Should().BeNull();
        (await Store.Issues.GetEventAsync(Project, first.EventId))!.Fingerprint.Should().Be("fp-v2");
    }

    [Fact]
    public async Task Each_event_follows_its_own_legacy_issue_when_version_2_merges_what_version_1_split()
    {
        // Version 1 split one bug over two issues (one app frame more); version 2 gives both one fingerprint.
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp-v1-a", T0), TestEvents.Create(Project, "fp-v1-b", T0)]);

        await Store.Events.InsertEventsAsync(
        [
            Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(1)), legacy: "fp-v1-a"),
            Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(2)), legacy: "fp-v1-b"),
            Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(3)), legacy: "fp-v1-b"),
        ]);

        (await Store.Issues.GetIssueAsync(Project, "fp-v1-a"))!.EventCount.Should().Be(2);
        (await Store.Issues.GetIssueAsync(Project, "fp-v1-b"))!.EventCount.Should().Be(3);
        (await Store.Issues.GetIssueAsync(Project, "fp-v2")).Should().BeNull();
    }

    [Fact]
    public async Task A_legacy_issue_of_another_project_is_not_joined_and_a_mapped_event_stored_twice_counts_once()
    {
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp-v1", T0)]);
        var elsewhere = Regrouped(TestEvents.Create(Project + 1, "fp-v2", T0.AddHours(1)), legacy: "fp-v1");
        var here = Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(1)), legacy: "fp-v1");

        await Store.Events.InsertEventsAsync([elsewhere, here]);
        await Store.Events.InsertEventsAsync([here]);

        (await Store.Issues.GetIssueAsync(Project + 1, "fp-v2"))!.EventCount.Should().Be(1);
        (await Store.Issues.GetIssueAsync(Project + 1, "fp-v1")).Should().BeNull();
        (await Store.Issues.GetIssueAsync(Project, "fp-v1"))!.EventCount.Should().Be(2);
    }

    [Fact]
    public async Task An_issue_made_two_grouping_versions_ago_keeps_receiving_its_failure()
    {
        // Version 1 made the issue; version 2 filed its events there under version 1's fingerprint, so no issue
        // has version 2's. Version 3 groups the failure otherwise again: it sends version 2's as legacy, version 1's after it.
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp-v1", T0)]);
        await Store.Events.InsertEventsAsync([Regrouped(TestEvents.Create(Project, "fp-v2", T0.AddHours(1)), legacy: "fp-v1")]);
        var v3 = Regrouped(TestEvents.Create(Project, "fp-v3", T0.AddHours(2)), legacy: "fp-v2") with { GroupingVersion = 3, EarlierLegacyFingerprints = ["fp-v1"] };

        await Store.Events.InsertEventsAsync([v3]);

        (await Store.Issues.GetIssueAsync(Project, "fp-v1"))!.EventCount.Should().Be(3, "the version-1 issue keeps the failure through two grouping changes");
        (await Store.Issues.GetIssueAsync(Project, "fp-v2")).Should().BeNull();
        (await Store.Issues.GetIssueAsync(Project, "fp-v3")).Should().BeNull();
    }

    [Fact]
    public async Task The_newest_legacy_issue_wins_over_an_older_one()
    {
        // Both an issue made by version 2 and one made by version 1 exist (say, from two releases of the app that
        // version 1 told apart): the event joins the one the version just before the current would have chosen.
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp-v1", T0), TestEvents.Create(Project, "fp-v2", T0)]);
        var v3 = Regrouped(TestEvents.Create(Project, "fp-v3", T0.AddHours(1)), legacy: "fp-v2") with { GroupingVersion = 3, EarlierLegacyFingerprints = ["fp-v1"] };

        await Store.Events.InsertEventsAsync([v3]);

        (await Store.Issues.GetIssueAsync(Project, "fp-v2"))!.EventCount.Should().Be(2);
        (await Store.Issues.GetIssueAsync(Project, "fp-v1"))!.EventCount.Should().Be(1);
        (await Store.Issues.GetIssueAsync(Project, "fp-v3")).Should().BeNull();
    }

    /// <summary>The event as grouping version 2 sends it: its own fingerprint, and version 1's as legacy.</summary>
    private static ErrorEvent Regrouped(ErrorEvent e, string legacy) => e with
    {
        GroupingVersion = 2,
        LegacyFingerprint = legacy,
        GroupingComponents = [new GroupingComponent(GroupingComponent.Type, "SqliteException"), new GroupingComponent(GroupingComponent.Wrapper, "DbUpdateException", Counts: false)],
        TitleWrapper = "DbUpdateException",
    };

    [Fact]
    public async Task A_missing_issue_is_null()
    {
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "fp", T0)]);

        (await Store.Issues.GetIssueAsync(Project, "no-such-fingerprint")).Should().BeNull();
        (await Store.Issues.GetIssueAsync(Project + 1, "fp")).Should().BeNull();
    }

    [Fact]
    public async Task GetIssue_agrees_with_the_issue_list()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0, TestEvents.User("u1")),
            TestEvents.Create(Project, "fp", T0.AddMinutes(90), TestEvents.User("u2"), title: "latest"),
        ]);

        var fromList = (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).Items.Single();
        var single = await Store.Issues.GetIssueAsync(Project, "fp");

        single.Should().Be(fromList);
        single!.Title.Should().Be(TestEvents.Create(Project, "fp", T0).Title, "the first event's");
    }

    public static TheoryData<IssueSort, bool, string[]> SortCases => new()
    {
        // x: 4 events, 0 users, first 10:00, last 10:30
        // y: 2 events, 1 user,  first 09:00, last 12:00
        // z: 3 events, 2 users, first 11:00, last 11:30
        { IssueSort.LastSeen, true, ["y", "z", "x"] },
        { IssueSort.LastSeen, false, ["x", "z", "y"] },
        { IssueSort.FirstSeen, true, ["z", "x", "y"] },
        { IssueSort.FirstSeen, false, ["y", "x", "z"] },
        { IssueSort.Events, true, ["x", "z", "y"] },
        { IssueSort.Events, false, ["y", "z", "x"] },
        { IssueSort.Users, true, ["z", "y", "x"] },
        { IssueSort.Users, false, ["x", "y", "z"] },
    };

    [Theory]
    [MemberData(nameof(SortCases))]
    public async Task Issues_sort_by_each_key_in_both_directions(IssueSort sort, bool descending, string[] expected)
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "x", At(10, 0)),
            TestEvents.Create(Project, "x", At(10, 10)),
            TestEvents.Create(Project, "x", At(10, 20)),
            TestEvents.Create(Project, "x", At(10, 30)),
            TestEvents.Create(Project, "y", At(12, 0), TestEvents.User("u1")),
            TestEvents.Create(Project, "y", At(9, 0), TestEvents.User("u1")),
            TestEvents.Create(Project, "z", At(11, 0), TestEvents.User("u1")),
            TestEvents.Create(Project, "z", At(11, 15), TestEvents.User("u2")),
            TestEvents.Create(Project, "z", At(11, 30), TestEvents.User("u2")),
        ]);

        var page = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Sort = sort, Descending = descending });

        page.Items.Select(i => i.Fingerprint).Should().Equal(expected);

        static DateTimeOffset At(int hour, int minute) => new(T0.Year, T0.Month, T0.Day, hour, minute, 0, TimeSpan.Zero);
    }

    [Fact]
    public async Task Pages_of_issues_carry_the_total_count()
    {
        var events = Enumerable.Range(0, 5)
            .Select(i => TestEvents.Create(Project, $"fp-{i}", T0.AddMinutes(i)))
            .ToList();
        await Store.Events.InsertEventsAsync(events);

        var first = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Limit = 2 });
        var second = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Offset = 2, Limit = 2 });
        var last = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Offset = 4, Limit = 2 });
        var beyond = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Offset = 10, Limit = 2 });

        first.Items.Select(i => i.Fingerprint).Should().Equal("fp-4", "fp-3");
        second.Items.Select(i => i.Fingerprint).Should().Equal("fp-2", "fp-1");
        last.Items.Select(i => i.Fingerprint).Should().Equal("fp-0");
        beyond.Items.Should().BeEmpty();
        new[] { first, second, last, beyond }.Should().OnlyContain(p => p.TotalCount == 5);
    }

    [Fact]
    public async Task Events_of_an_issue_come_newest_first_up_to_the_limit()
    {
        var times = new[] { 3, 0, 4, 1, 2 }.Select(h => T0.AddHours(h)).ToArray();
        await Store.Events.InsertEventsAsync(times.Select(t => TestEvents.Create(Project, "fp", t)).ToList());
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "other", T0.AddHours(9))]);

        var newest = await Store.Issues.GetEventsAsync(Project, "fp", 3);

        newest.Select(e => e.Timestamp).Should().Equal(T0.AddHours(4), T0.AddHours(3), T0.AddHours(2));
        (await Store.Issues.GetEventsAsync(Project, "fp", 100)).Should().HaveCount(5);
        (await Store.Issues.GetEventsAsync(Project, "no-such-fingerprint", 10)).Should().BeEmpty();
    }

    [Fact]
    public async Task An_event_id_stored_twice_counts_once()
    {
        var first = TestEvents.Create(Project, "fp", T0, TestEvents.User("alice"));
        var second = TestEvents.Create(Project, "fp", T0.AddMinutes(1), TestEvents.User("bob"));

        // A retried batch (the second write of a write-ahead log replay), and a duplicate inside one batch.
        await Store.Events.InsertEventsAsync([first, second]);
        await Store.Events.InsertEventsAsync([first, second]);
        await Store.Events.InsertEventsAsync([second, second]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp");
        issue!.EventCount.Should().Be(2);
        issue.UserCount.Should().Be(2);
        (await Store.Issues.GetEventsAsync(Project, "fp", 10)).Select(e => e.EventId).Should().BeEquivalentTo([first.EventId, second.EventId]);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).TotalCount.Should().Be(1);
    }

    [Fact]
    public async Task Batches_looked_up_apart_and_written_together_count_an_event_they_share_once()
    {
        var stored = TestEvents.Create(Project, "fp", T0, TestEvents.User("alice"));
        var shared = TestEvents.Create(Project, "fp", T0.AddMinutes(1), TestEvents.User("bob"));
        var other = TestEvents.Create(Project, "fp", T0.AddMinutes(2), TestEvents.User("carol"));
        await Store.Events.InsertEventsAsync([stored]);

        // Ingest looks requests up while an earlier insert runs, then writes what several look-ups returned in one insert.
        var first = await Store.Events.PrepareInsertAsync([stored, shared]);
        var second = await Store.Events.PrepareInsertAsync([shared, other]);
        await Store.Events.InsertPreparedAsync([.. first, .. second]);

        var issue = await Store.Issues.GetIssueAsync(Project, "fp");
        issue!.EventCount.Should().Be(3);
        issue.UserCount.Should().Be(3);
        (await Store.Issues.GetEventsAsync(Project, "fp", 10)).Select(e => e.EventId).Should().BeEquivalentTo([stored.EventId, shared.EventId, other.EventId]);
    }

    [Fact]
    public async Task A_retried_event_counts_once_whether_its_time_came_from_the_client_from_its_receipt_or_lies_outside_what_the_store_holds()
    {
        var received = T0.AddMinutes(5).AddMilliseconds(345);
        var events = new[]
        {
            TestEvents.Create(Project, "fp-a", T0.AddMilliseconds(700)),
            TestEvents.Create(Project, "fp-a", received) with { ReceivedAt = received },
            TestEvents.Create(Project, "fp-b", new DateTimeOffset(1960, 1, 1, 0, 0, 0, TimeSpan.Zero)),
            TestEvents.Create(Project, "fp-b", new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero)),
        };

        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync(events.Reverse().ToArray());

        (await Store.Issues.GetIssueAsync(Project, "fp-a"))!.EventCount.Should().Be(2);
        (await Store.Issues.GetIssueAsync(Project, "fp-b"))!.EventCount.Should().Be(2);
    }

    [Fact]
    public async Task Fingerprints_with_tabs_quotes_backslashes_line_breaks_and_non_ascii_still_find_their_duplicates_and_legacy_issues()
    {
        // An SDK-set fingerprint is whatever the app chose; ClickHouse looks these up as a table of keys sent beside the query
        // (TabSeparated), where each of these characters must be escaped to be read back as stored.
        string[] fingerprints = ["tab\there", "quote'and\"double", "back\\slash\\n", "line\nbreak\r\nand\0nul", "ünïcødé 🦀 \b\f", "\\t"];
        var events = fingerprints.Select((fingerprint, i) => TestEvents.Create(Project, fingerprint, T0.AddMinutes(i))).ToList();
        var legacyFollowers = fingerprints.Select((fingerprint, i) => Regrouped(TestEvents.Create(Project, "regrouped-" + i, T0.AddHours(1).AddMinutes(i)), legacy: fingerprint)).ToList();

        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync(legacyFollowers);
        await Store.Events.InsertEventsAsync([.. legacyFollowers, .. events]);

        foreach (var fingerprint in fingerprints)
        {
            (await Store.Issues.GetIssueAsync(Project, fingerprint))!.EventCount.Should().Be(2, $"one event of {fingerprint} and one that its legacy fingerprint names, each counted once");
        }

        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).TotalCount.Should().Be(fingerprints.Length, "no regrouped event opened an issue of its own");
    }

    [Fact]
    public async Task A_retried_batch_of_thousands_of_events_over_many_issues_counts_each_once()
    {
        // More than one look-up query's worth on ClickHouse (10,000 keys each).
        var events = Enumerable.Range(0, 12_000)
            .Select(i => TestEvents.Create(Project, "fp-" + (i % 40), T0.AddSeconds(i)))
            .ToList();

        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync([.. events.Take(1_200), TestEvents.Create(Project, "fp-new", T0)]);
        await Store.Events.InsertEventsAsync(events);

        var issues = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Limit = 100 });
        issues.Items.Sum(issue => issue.EventCount).Should().Be(12_001);
        issues.TotalCount.Should().Be(41);
    }

    [Fact]
    public async Task A_duplicate_inside_one_batch_counts_once()
    {
        var e = TestEvents.Create(Project, "fp", T0);

        await Store.Events.InsertEventsAsync([e, e, e]);

        (await Store.Issues.GetIssueAsync(Project, "fp"))!.EventCount.Should().Be(1);
        (await Store.Issues.GetEventsAsync(Project, "fp", 10)).Should().ContainSingle();
    }

    [Fact]
    public async Task The_same_event_id_in_two_projects_is_two_events()
    {
        var id = Guid.NewGuid();
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0, eventId: id),
            TestEvents.Create(Project + 1, "fp", T0, eventId: id),
        ]);

        (await Store.Issues.GetEventAsync(Project, id))!.ProjectId.Should().Be(Project);
        (await Store.Issues.GetEventAsync(Project + 1, id))!.ProjectId.Should().Be(Project + 1);
    }

    [Fact]
    public async Task Projects_never_see_each_others_issues_or_events()
    {
        var mine = TestEvents.Create(1, "shared-fingerprint", T0, TestEvents.User("alice"));
        await Store.Events.InsertEventsAsync([mine, TestEvents.Create(1, "only-in-1", T0)]);
        await Store.Events.InsertEventsAsync([TestEvents.Create(2, "shared-fingerprint", T0.AddHours(1))]);

        var projectTwo = await Store.Issues.GetIssuesAsync(new IssueQuery(2));

        projectTwo.TotalCount.Should().Be(1);
        projectTwo.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new { ProjectId = 2, EventCount = 1L, UserCount = 0L, FirstSeen = T0.AddHours(1) });
        (await Store.Issues.GetIssueAsync(2, "only-in-1")).Should().BeNull();
        (await Store.Issues.GetEventsAsync(2, "shared-fingerprint", 10)).Should().OnlyContain(e => e.ProjectId == 2);
        (await Store.Issues.GetEventAsync(2, mine.EventId)).Should().BeNull();
        (await Store.Issues.GetIssuesAsync(new IssueQuery(3))).Should().BeEquivalentTo(new { Items = Array.Empty<IssueSummary>(), TotalCount = 0L });
    }

    [Fact]
    public async Task A_batch_of_thousands_of_events_is_stored_in_one_call_and_its_retry_counts_once()
    {
        const int count = 5000;
        var events = Enumerable.Range(0, count)
            .Select(i => TestEvents.CreateComplete(Project, $"fp-{i % 25}", T0.AddSeconds(i)) with { User = TestEvents.User($"user-{i % 100}") })
            .ToList();

        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync(events);

        // The second call is a retry of the whole batch: nothing may count twice.
        var page = await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Limit = 100 });
        page.TotalCount.Should().Be(25);
        page.Items.Sum(i => i.EventCount).Should().Be(count);
        page.Items.Should().OnlyContain(i => i.EventCount == 200 && i.UserCount == 4);
        (await Store.Issues.GetEventAsync(Project, events[count - 1].EventId)).Should().BeEquivalentTo(events[count - 1]);
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_lose_nothing()
    {
        var batches = Enumerable.Range(0, 6)
            .Select(b => Enumerable.Range(0, 200).Select(i => TestEvents.Create(Project, $"fp-{i % 4}", T0.AddSeconds((b * 200) + i))).ToList())
            .ToList();

        var writes = batches.Select(batch => Task.Run(() => Store.Events.InsertEventsAsync(batch)));
        var reads = Enumerable.Range(0, 6).Select(_ => Task.Run(() => Store.Issues.GetIssuesAsync(new IssueQuery(Project))));
        await Task.WhenAll(writes.Concat<Task>(reads));

        var page = await Store.Issues.GetIssuesAsync(new IssueQuery(Project));
        page.Items.Sum(i => i.EventCount).Should().Be(1200);
        page.TotalCount.Should().Be(4);
    }

    [Fact]
    public async Task An_empty_batch_changes_nothing()
    {
        await Store.Events.InsertEventsAsync([]);

        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project))).TotalCount.Should().Be(0);
    }

    [Fact]
    public async Task Creating_the_schema_again_keeps_the_data()
    {
        var e = TestEvents.Create(Project, "fp", T0);
        await Store.Events.InsertEventsAsync([e]);
        await Store.Projects.UpsertProjectAsync(new Project(Project, "Shop", "key", T0));

        await Store.Schema.EnsureSchemaAsync();
        await Task.WhenAll(Store.Schema.EnsureSchemaAsync(), Store.Schema.EnsureSchemaAsync());

        (await Store.Issues.GetEventAsync(Project, e.EventId)).Should().NotBeNull();
        (await Store.Issues.GetIssueAsync(Project, "fp"))!.EventCount.Should().Be(1);
        (await Store.Projects.GetProjectAsync(Project))!.Name.Should().Be("Shop");
    }

    [Fact]
    public async Task Several_stores_creating_one_fresh_schema_at_once_all_succeed()
    {
        var stores = await CreateStoresSharingAFreshDatabaseAsync(4);

        await Task.WhenAll(stores.Select(store => Task.Run(() => store.Schema.EnsureSchemaAsync())));

        var e = TestEvents.Create(Project, "fp", T0);
        await stores[0].Events.InsertEventsAsync([e]);
        (await stores[3].Issues.GetIssueAsync(Project, "fp"))!.EventCount.Should().Be(1);
        (await stores[2].Issues.GetEventAsync(Project, e.EventId)).Should().NotBeNull();
    }

    [Fact]
    public async Task Projects_are_created_replaced_and_listed()
    {
        await Store.Projects.UpsertProjectAsync(new Project(2, "Worker", "key-2", T0.AddDays(1)));
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop", "key-1", T0));
        await Store.Projects.UpsertProjectAsync(new Project(1, "Shop (renamed) 'quoted' 🎉", "key-1-rotated", T0.AddDays(30)));

        var projects = await Store.Projects.GetProjectsAsync();

        projects.Should().Equal(
            new Project(1, "Shop (renamed) 'quoted' 🎉", "key-1-rotated", T0),
            new Project(2, "Worker", "key-2", T0.AddDays(1)));
        (await Store.Projects.GetProjectAsync(2)).Should().Be(new Project(2, "Worker", "key-2", T0.AddDays(1)));
        (await Store.Projects.GetProjectAsync(3)).Should().BeNull();
    }

    [Fact]
    public async Task A_project_replaced_many_times_is_listed_once_with_its_last_name()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.Projects.UpsertProjectAsync(new Project(1, $"name-{i}", $"key-{i}", T0));
        }

        (await Store.Projects.GetProjectsAsync()).Should().ContainSingle().Which.Should().Be(new Project(1, "name-4", "key-4", T0));
    }

    [Theory]
    [InlineData(-1, 10)]
    [InlineData(0, 0)]
    [InlineData(0, 100_000)]
    public async Task Nonsense_paging_is_refused(int offset, int limit)
    {
        var query = () => Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Offset = offset, Limit = limit });

        await query.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
