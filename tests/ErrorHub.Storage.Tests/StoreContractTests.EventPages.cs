using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Every event of an issue is reachable, and its affected users are listed: the same answers from every store.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Cursor_pages_reach_every_event_of_a_long_issue_newest_first_and_oldest_first()
    {
        // 130 events over 65 days, two in the same second, plus another issue's and another project's.
        var events = Enumerable.Range(0, 130)
            .Select(i => TestEvents.Create(Project, "long-issue", T0.AddHours(-12 * (i / 2)), TestEvents.User($"u{i}")))
            .ToList();
        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "other", T0), TestEvents.Create(Project + 1, "long-issue", T0)]);

        async Task<List<EventRow>> AllAsync(bool oldestFirst)
        {
            var seen = new List<EventRow>();
            EventCursor? after = null;
            for (var pages = 0; pages < 10; pages++)
            {
                var page = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "long-issue") { OldestFirst = oldestFirst, After = after, Limit = 50 });
                seen.AddRange(page.Items);
                if (page.Next is null)
                {
                    return seen;
                }

                page.Items.Should().HaveCount(50);
                after = page.Next;
            }

            throw new InvalidOperationException("The pages never ended.");
        }

        var newest = await AllAsync(oldestFirst: false);
        var oldest = await AllAsync(oldestFirst: true);

        newest.Select(e => e.EventId).Should().BeEquivalentTo(events.Select(e => e.EventId), "every event is reached exactly once");
        newest.Select(e => e.EventId).Should().OnlyHaveUniqueItems();
        newest.Select(e => e.Timestamp).Should().BeInDescendingOrder();
        newest[0].Timestamp.Should().Be(T0);
        newest[^1].Timestamp.Should().Be(T0.AddHours(-12 * 64));
        oldest.Select(e => e.EventId).Should().BeEquivalentTo(events.Select(e => e.EventId));
        oldest.Select(e => e.Timestamp).Should().BeInAscendingOrder();
        oldest[0].Timestamp.Should().Be(T0.AddHours(-12 * 64));
    }

    [Fact]
    public async Task One_event_pages_step_through_a_merged_issue_with_same_second_ties_and_end_with_no_next_page()
    {
        // The issue page steps one event at a time (latest, oldest, previous, next): each step must be the next event of
        // the whole order, ties in one second included, events of an issue merged into this one included, and the last
        // step must say that nothing follows.
        var events = Enumerable.Range(0, 24)
            .Select(i => TestEvents.Create(Project, i % 3 == 0 ? "merged-in" : "stepped", T0.AddMinutes(-7 * (i / 3)).AddMilliseconds(i % 3 * 100)))
            .ToList();
        await Store.Events.InsertEventsAsync(events);
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "other", T0.AddSeconds(1)), TestEvents.Create(Project + 1, "stepped", T0.AddSeconds(1))]);
        await Store.Merges.MergeAsync(Project, "stepped", ["merged-in"], T0);

        async Task<List<EventRow>> StepAllAsync(bool oldestFirst)
        {
            var seen = new List<EventRow>();
            EventCursor? after = null;
            for (var steps = 0; steps <= events.Count; steps++)
            {
                var page = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "stepped") { OldestFirst = oldestFirst, After = after, Limit = 1 });
                seen.AddRange(page.Items);
                if (page.Next is null)
                {
                    return seen;
                }

                page.Items.Should().ContainSingle();
                after = page.Next;
            }

            throw new InvalidOperationException("The steps never ended.");
        }

        foreach (var oldestFirst in new[] { false, true })
        {
            var stepped = await StepAllAsync(oldestFirst);
            var paged = (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "stepped") { OldestFirst = oldestFirst, Limit = 100 })).Items;
            stepped.Select(e => e.EventId).Should().Equal(paged.Select(e => e.EventId), "one step at a time reaches the same events in the same order as one page");
            stepped.Select(e => e.EventId).Should().BeEquivalentTo(events.Select(e => e.EventId));

            var beyondTheEnd = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "stepped") { OldestFirst = oldestFirst, After = paged[^1].Cursor, Limit = 1 });
            beyondTheEnd.Items.Should().BeEmpty("nothing follows the last event");
            beyondTheEnd.Next.Should().BeNull();
        }

        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "no-such-issue") { Limit = 1 })).Items.Should().BeEmpty();
    }

    [Fact]
    public async Task An_issue_shows_its_own_events_and_those_of_issues_merged_into_it_and_no_other()
    {
        var own = TestEvents.Create(Project, "shown", T0);
        var mergedIn = TestEvents.Create(Project, "merged-in", T0.AddDays(-3));
        var elsewhere = TestEvents.Create(Project, "elsewhere", T0.AddSeconds(2));
        var otherProject = TestEvents.Create(Project + 1, "shown", T0.AddSeconds(3));
        await Store.Events.InsertEventsAsync([own, mergedIn, elsewhere, otherProject]);
        await Store.Merges.MergeAsync(Project, "shown", ["merged-in"], T0);

        (await Store.Issues.GetIssueEventAsync(Project, "shown", own.EventId))!.EventId.Should().Be(own.EventId);
        (await Store.Issues.GetIssueEventAsync(Project, "shown", own.EventId))!.Message.Should().Be(own.Message, "the whole event, as stored");
        (await Store.Issues.GetIssueEventAsync(Project, "shown", mergedIn.EventId))!.Fingerprint.Should().Be("merged-in", "an event of an issue merged into this one is this issue's too");
        (await Store.Issues.GetIssueEventAsync(Project, "shown", elsewhere.EventId)).Should().BeNull("another issue's event");
        (await Store.Issues.GetIssueEventAsync(Project, "merged-in", mergedIn.EventId)).Should().BeNull("a merged issue is no issue of its own");
        (await Store.Issues.GetIssueEventAsync(Project, "shown", otherProject.EventId)).Should().BeNull("another project's event");
        (await Store.Issues.GetIssueEventAsync(Project + 1, "shown", otherProject.EventId))!.EventId.Should().Be(otherProject.EventId);
        (await Store.Issues.GetIssueEventAsync(Project, "shown", Guid.NewGuid())).Should().BeNull();
        (await Store.Issues.GetIssueEventAsync(Project, "it's ' OR 1=1 --", own.EventId)).Should().BeNull();

        await Store.Merges.UnmergeAsync(Project, "merged-in");
        (await Store.Issues.GetIssueEventAsync(Project, "shown", mergedIn.EventId)).Should().BeNull("unmerged, it is its own issue's again");
        (await Store.Issues.GetIssueEventAsync(Project, "merged-in", mergedIn.EventId)).Should().NotBeNull();
    }

    [Fact]
    public async Task Small_pages_of_a_dense_issue_with_a_long_quiet_gap_reach_every_event_in_order()
    {
        // Two events a minute for 90 minutes (pairs in the same second), then nothing for 40 days before a few old ones:
        // pages that start inside the busy hour and pages that must cross the gap.
        var events = Enumerable.Range(0, 180).Select(i => TestEvents.Create(Project, "dense", T0.AddMinutes(-(i / 2))))
            .Concat(Enumerable.Range(0, 5).Select(i => TestEvents.Create(Project, "dense", T0.AddDays(-40).AddHours(-i))))
            .ToList();
        await Store.Events.InsertEventsAsync(events);

        foreach (var oldestFirst in new[] { false, true })
        {
            var seen = new List<EventRow>();
            EventCursor? after = null;
            do
            {
                var page = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "dense") { OldestFirst = oldestFirst, After = after, Limit = 7 });
                seen.AddRange(page.Items);
                after = page.Next;
            }
            while (after is not null && seen.Count <= events.Count);

            seen.Select(e => e.EventId).Should().BeEquivalentTo(events.Select(e => e.EventId), "every event is reached exactly once");
            seen.Select(e => e.EventId).Should().OnlyHaveUniqueItems();
            if (oldestFirst)
            {
                seen.Select(e => e.Timestamp).Should().BeInAscendingOrder();
            }
            else
            {
                seen.Select(e => e.Timestamp).Should().BeInDescendingOrder();
            }
        }
    }

    [Fact]
    public async Task Pages_of_a_large_issue_are_its_newest_and_oldest_events_in_order_across_quiet_gaps()
    {
        // Large enough that ClickHouse reads its pages through time windows around the starting point (hour, day, month)
        // instead of all of its rows: 10 events in the last hour, 10 more that day, then 20,000 after a 3-day gap.
        var times = Enumerable.Range(0, 10).Select(i => T0.AddMinutes(-5 * i))
            .Concat(Enumerable.Range(0, 10).Select(i => T0.AddHours(-2 - i)))
            .Concat(Enumerable.Range(0, 20_000).Select(i => T0.AddDays(-3).AddMinutes(-i)))
            .ToList();
        var events = times.Select(time => TestEvents.Create(Project, "large", time, user: null)).ToList();
        await Store.Events.InsertEventsAsync(events);

        foreach (var oldestFirst in new[] { false, true })
        {
            var expected = (oldestFirst ? events.OrderBy(e => e.Timestamp) : events.OrderByDescending(e => e.Timestamp)).Select(e => e.EventId).ToList();
            var seen = new List<Guid>();
            EventCursor? after = null;
            for (var page = 0; page < 3; page++)
            {
                var read = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "large") { OldestFirst = oldestFirst, After = after, Limit = 25 });
                read.Items.Should().HaveCount(25);
                seen.AddRange(read.Items.Select(e => e.EventId));
                after = read.Next;
            }

            seen.Should().Equal(expected.Take(75), oldestFirst ? "the oldest first" : "the newest first, across the gaps after the 10th and 20th");
        }
    }

    [Fact]
    public async Task An_event_row_carries_what_the_events_table_shows_and_the_next_event_is_one_step_away()
    {
        var complete = TestEvents.CreateComplete(Project, "fp", T0);
        var older = TestEvents.Create(Project, "fp", T0.AddMinutes(-5), user: null) with { Release = null, Environment = null };
        await Store.Events.InsertEventsAsync([complete, older]);

        var first = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { Limit = 1 });

        first.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new
        {
            complete.EventId,
            Timestamp = T0,
            Level = "fatal",
            UserId = "user-42",
            UserEmail = "jdoe@example.com",
            UserName = "jdoe",
            Url = "https://shop.example/checkout?bundle='x'",
            Release = "shop@1.4.2+sha.9f3c",
            Environment = "production",
        });
        var second = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { After = first.Next, Limit = 1 });
        second.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new
        {
            older.EventId,
            UserId = (string?)null,
            UserEmail = (string?)null,
            Url = (string?)null,
            Release = (string?)null,
            Environment = (string?)null,
        });
        second.Next.Should().BeNull();
        var newer = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { OldestFirst = true, After = second.Items[0].Cursor, Limit = 1 });
        newer.Items.Should().ContainSingle().Which.EventId.Should().Be(complete.EventId, "the next newer event of the older one");
    }

    [Fact]
    public async Task Events_are_searched_by_user_url_release_and_environment_and_hostile_searches_are_text()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0, new UserRecord("cust-1", "Joe Smith", "joe@example.com", null)) with { Request = new RequestRecord("GET", "https://shop.example/checkout?bundle=holiday", null, new Dictionary<string, string>()) },
            TestEvents.Create(Project, "fp", T0.AddMinutes(1), new UserRecord("cust-2", null, "ann@example.com", null)) with { Release = "shop@3.0-beta" },
            TestEvents.Create(Project, "fp", T0.AddMinutes(2), new UserRecord("it's \"odd\" \\ %_", null, null, null)) with { Environment = "staging" },
        ]);

        async Task<string?[]> SearchAsync(string text) =>
            [.. (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { Search = text })).Items.Select(e => e.UserId)];

        (await SearchAsync("JOE SMITH")).Should().Equal("cust-1");
        (await SearchAsync("ann@")).Should().Equal("cust-2");
        (await SearchAsync("bundle=HOLIDAY")).Should().Equal("cust-1");
        (await SearchAsync("3.0-beta")).Should().Equal("cust-2");
        (await SearchAsync("stag")).Should().Equal("it's \"odd\" \\ %_");
        (await SearchAsync("\"odd\" \\ %_")).Should().Equal("it's \"odd\" \\ %_");
        (await SearchAsync("%")).Should().Equal("it's \"odd\" \\ %_");
        (await SearchAsync("'; DROP TABLE events; --")).Should().BeEmpty();
        (await SearchAsync(new string('x', IssueFilter.MaxSearchLength + 1))).Should().BeEmpty();
        (await SearchAsync("")).Should().HaveCount(3);
    }

    [Fact]
    public async Task Affected_users_list_each_user_once_with_events_first_and_last_time_and_latest_identity_and_url()
    {
        static RequestRecord Url(string url) => new("GET", url, null, new Dictionary<string, string>());
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0, new UserRecord("42", "joe", "old@example.com", "10.0.0.1")) with { Request = Url("https://shop.example/cart") },
            TestEvents.Create(Project, "fp", T0.AddHours(2), new UserRecord("42", "Joe Smith", "joe@example.com", "10.0.0.2")) with { Request = Url("https://shop.example/checkout?bundle=x") },
            TestEvents.Create(Project, "fp", T0.AddHours(1), new UserRecord(null, null, "ann@example.com", null)),
            TestEvents.Create(Project, "fp", T0.AddHours(3), user: null),
            TestEvents.Create(Project, "other", T0.AddHours(4), new UserRecord("77", null, null, null)),
            TestEvents.Create(Project + 1, "fp", T0.AddHours(4), new UserRecord("88", null, null, null)),
        ]);

        var page = await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp"));

        page.TotalCount.Should().Be(2, "events without a user affect no one");
        page.Items.Should().HaveCount(2);
        page.Items[0].Should().BeEquivalentTo(new AffectedUser("42", "joe@example.com", "Joe Smith", "10.0.0.2", 2, T0, T0.AddHours(2), "https://shop.example/checkout?bundle=x"));
        page.Items[1].Should().BeEquivalentTo(new AffectedUser(null, "ann@example.com", null, null, 1, T0.AddHours(1), T0.AddHours(1), null));
    }

    [Fact]
    public async Task Affected_users_are_searched_and_paged_and_hostile_searches_are_text()
    {
        var users = Enumerable.Range(0, 7).Select(i => new UserRecord($"id-{i}", $"name {i}", $"user{i}@example.com", null)).ToList();
        users.Add(new UserRecord("it's \\ \"%_\"", "O'Brien", "o'brien@example.com", null));
        await Store.Events.InsertEventsAsync([.. users.Select((user, i) => TestEvents.Create(Project, "fp", T0.AddMinutes(i), user))]);

        var first = await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Limit = 3 });
        var third = await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Offset = 6, Limit = 3 });

        first.Items.Select(u => u.Id).Should().Equal("it's \\ \"%_\"", "id-6", "id-5");
        third.Items.Select(u => u.Id).Should().Equal("id-1", "id-0");
        var beyond = await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Offset = 20, Limit = 3 });
        beyond.Items.Should().BeEmpty("a page past the last user is empty");
        new[] { first, third, beyond }.Should().OnlyContain(p => p.TotalCount == 8);

        async Task<string?[]> SearchAsync(string text) =>
            [.. (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Search = text })).Items.Select(u => u.Id)];

        (await SearchAsync("USER3@")).Should().Equal("id-3");
        (await SearchAsync("name 4")).Should().Equal("id-4");
        (await SearchAsync("O'BRIEN")).Should().Equal("it's \\ \"%_\"");
        (await SearchAsync("\\ \"%_")).Should().Equal("it's \\ \"%_\"");
        (await SearchAsync("%")).Should().Equal("it's \\ \"%_\"");
        (await SearchAsync("' OR '1'='1")).Should().BeEmpty();
        (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Search = "example.com", Limit = 2 })).TotalCount.Should().Be(8);
        (await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Search = new string('x', IssueFilter.MaxSearchLength + 1) })).TotalCount.Should().Be(0);
    }

    [Fact]
    public async Task An_export_reads_every_affected_user_once_in_the_order_of_the_pages()
    {
        // More users than a page of 1,000, two of them in each second (the order's tie-break), one with an older event too.
        var events = Enumerable.Range(0, 2500)
            .Select(i => TestEvents.Create(Project, "fp", T0.AddSeconds(-(i / 2)), new UserRecord($"id-{i}", $"name {i}", $"user{i}@example.com", null)))
            .Append(TestEvents.Create(Project, "fp", T0.AddDays(-3), new UserRecord("id-7", "old name", "old@example.com", null)))
            .Append(TestEvents.Create(Project, "other", T0, new UserRecord("elsewhere", null, null, null)))
            .ToList();
        await Store.Events.InsertEventsAsync(events);

        async Task<List<AffectedUser>> ExportAsync(string? search)
        {
            var users = new List<AffectedUser>();
            await foreach (var user in Store.Issues.ReadAllAffectedUsersAsync(Project, "fp", search))
            {
                users.Add(user);
            }

            return users;
        }

        var paged = new List<AffectedUser>();
        for (var offset = 0; offset < 3000; offset += AffectedUserQuery.MaxLimit)
        {
            paged.AddRange((await Store.Issues.GetAffectedUsersAsync(new AffectedUserQuery(Project, "fp") { Offset = offset, Limit = AffectedUserQuery.MaxLimit })).Items);
        }

        var exported = await ExportAsync(search: null);

        exported.Should().HaveCount(2500);
        exported.Select(u => u.Id).Should().OnlyHaveUniqueItems();
        exported.Select(u => u.LastSeen).Should().BeInDescendingOrder();
        exported.Should().Equal(paged, "the export lists what the pages list, in their order");
        exported.Single(u => u.Id == "id-7").Should().BeEquivalentTo(new AffectedUser("id-7", "user7@example.com", "name 7", null, 2, T0.AddDays(-3), T0.AddSeconds(-3), null));
        (await ExportAsync("USER12")).Should().Equal(paged.Where(u => u.Email!.Contains("user12", StringComparison.Ordinal)), "user12, user120-129 and user1200-1299");
        (await ExportAsync(new string('x', IssueFilter.MaxSearchLength + 1))).Should().BeEmpty();
    }

    [Fact]
    public async Task A_cancelled_export_stops_with_the_rows_read_so_far()
    {
        await Store.Events.InsertEventsAsync(
            [.. Enumerable.Range(0, 2500).Select(i => TestEvents.Create(Project, "fp", T0.AddSeconds(-i), new UserRecord($"id-{i}", null, null, null)))]);
        using var cancellation = new CancellationTokenSource();
        var read = new List<string?>();

        var export = async () =>
        {
            await foreach (var user in Store.Issues.ReadAllAffectedUsersAsync(Project, "fp", search: null, cancellation.Token))
            {
                read.Add(user.Id);
                if (read.Count == 10)
                {
                    await cancellation.CancelAsync();
                }
            }
        };

        await export.Should().ThrowAsync<OperationCanceledException>();
        read.Should().Equal(Enumerable.Range(0, 10).Select(i => $"id-{i}"));
    }

    [Fact]
    public async Task From_any_event_its_newer_and_older_neighbours_are_one_step_away()
    {
        var oldest = TestEvents.Create(Project, "fp", T0.AddMilliseconds(900));
        var middle = TestEvents.Create(Project, "fp", T0.AddSeconds(5).AddMilliseconds(123));
        var newest = TestEvents.Create(Project, "fp", T0.AddSeconds(9).AddMilliseconds(1));
        await Store.Events.InsertEventsAsync([oldest, middle, newest, TestEvents.Create(Project, "other", T0.AddSeconds(7))]);

        async Task<Guid?> StepAsync(ErrorEvent from, bool towardsOlder) =>
            (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { After = EventCursor.Of(from), OldestFirst = !towardsOlder, Limit = 1 }))
                .Items.SingleOrDefault()?.EventId;

        (await StepAsync(middle, towardsOlder: true)).Should().Be(oldest.EventId);
        (await StepAsync(middle, towardsOlder: false)).Should().Be(newest.EventId);
        (await StepAsync(newest, towardsOlder: false)).Should().BeNull("the latest event has no newer one");
        (await StepAsync(oldest, towardsOlder: true)).Should().BeNull("the first event has no older one");
        (await StepAsync(oldest, towardsOlder: false)).Should().Be(middle.EventId);
    }

    [Fact]
    public async Task Events_stored_just_after_the_issue_was_read_are_on_its_pages_at_once()
    {
        // The issue page reads the issue, then its events pages; a store may remember what it read of the issue's rows
        // for those pages (ClickHouse keeps their count and ends for a few seconds), but a page never misses an event
        // stored meanwhile: a newer one is the latest, an older one (sent late) the first, and both are counted in.
        var first = TestEvents.Create(Project, "fp", T0.AddHours(-2));
        var second = TestEvents.Create(Project, "fp", T0.AddHours(-1));
        await Store.Events.InsertEventsAsync([first, second]);
        (await Store.Issues.GetIssueAsync(Project, "fp"))!.EventCount.Should().Be(2);
        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { Limit = 1 })).Items.Single().EventId.Should().Be(second.EventId);

        var newer = TestEvents.Create(Project, "fp", T0);
        var older = TestEvents.Create(Project, "fp", T0.AddHours(-3));
        await Store.Events.InsertEventsAsync([newer, older]);

        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { Limit = 1 })).Items.Single().EventId.Should().Be(newer.EventId);
        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { Limit = 1, OldestFirst = true })).Items.Single().EventId.Should().Be(older.EventId);
        var table = await Store.Issues.GetEventPageAsync(new EventQuery(Project, "fp") { Limit = 25 });
        table.Items.Select(e => e.EventId).Should().Equal(newer.EventId, second.EventId, first.EventId, older.EventId);
        table.Next.Should().BeNull();
        (await Store.Issues.GetIssueAsync(Project, "fp"))!.EventCount.Should().Be(4);

        // An issue read while it had no events yet: its first event shows at once.
        (await Store.Issues.GetIssueAsync(Project, "new-issue")).Should().BeNull();
        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "new-issue") { Limit = 1 })).Items.Should().BeEmpty();
        var brandNew = TestEvents.Create(Project, "new-issue", T0);
        await Store.Events.InsertEventsAsync([brandNew]);
        (await Store.Issues.GetEventPageAsync(new EventQuery(Project, "new-issue") { Limit = 1 })).Items.Single().EventId.Should().Be(brandNew.EventId);
    }

    [Fact]
    public async Task Event_cursors_survive_a_trip_through_text_and_malformed_ones_are_refused()
    {
        var cursor = new EventCursor(1_741_942_800_123, Guid.NewGuid());

        EventCursor.TryParse(cursor.ToString(), out var parsed).Should().BeTrue();
        parsed.Should().Be(cursor);
        foreach (var bad in new[] { null, "", "-", "12-", "-" + Guid.NewGuid().ToString("N"), "x-" + Guid.NewGuid().ToString("N"), "1-not-a-guid", "1-" + Guid.NewGuid().ToString("D"), new string('9', 100) + "-" + Guid.NewGuid().ToString("N") })
        {
            EventCursor.TryParse(bad, out _).Should().BeFalse($"'{bad}' is no cursor");
        }

        await Task.CompletedTask;
    }
}
