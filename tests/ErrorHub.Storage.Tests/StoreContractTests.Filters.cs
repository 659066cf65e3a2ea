using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>The issue list's filters, search and trends: the same answers from every store.</summary>
public abstract partial class StoreContractTests
{
    private async Task<IssuePage> FilteredAsync(IssueFilter filter, IssueSort sort = IssueSort.LastSeen, int offset = 0, int limit = 50) =>
        await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = filter, Sort = sort, Offset = offset, Limit = limit });

    [Fact]
    public async Task Environment_release_and_level_filters_list_issues_with_matching_events_and_count_only_those()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "checkout", T0, TestEvents.User("alice")) with { Environment = "production", Release = "shop@2.0" },
            TestEvents.Create(Project, "checkout", T0.AddMinutes(5), TestEvents.User("bob")) with { Environment = "production", Release = "shop@2.1" },
            TestEvents.Create(Project, "checkout", T0.AddMinutes(9), TestEvents.User("carol")) with { Environment = "staging", Release = "shop@2.1" },
            TestEvents.Create(Project, "profile", T0.AddMinutes(2), level: "warning") with { Environment = "staging", Release = null },
            TestEvents.Create(Project, "no-environment", T0.AddMinutes(3)) with { Environment = null },
            TestEvents.Create(Project + 1, "checkout", T0) with { Environment = "production" },
        ]);

        var production = await FilteredAsync(new IssueFilter { Environment = "production" });
        production.TotalCount.Should().Be(1);
        production.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new
        {
            ProjectId = Project,
            Fingerprint = "checkout",
            EventCount = 2L,
            UserCount = 2L,
            FirstSeen = T0,
            LastSeen = T0.AddMinutes(5),
        });

        (await FilteredAsync(new IssueFilter { Environment = "staging" })).Items.Select(i => i.Fingerprint).Should().Equal("checkout", "profile");
        (await FilteredAsync(new IssueFilter { Environment = "Production" })).TotalCount.Should().Be(0, "environments are exact");
        (await FilteredAsync(new IssueFilter { Environment = "" })).Items.Select(i => i.Fingerprint).Should().Equal(["no-environment"], "an empty value finds events without one");

        var release = await FilteredAsync(new IssueFilter { Release = "shop@2.1" });
        release.Items.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Fingerprint = "checkout", EventCount = 2L, FirstSeen = T0.AddMinutes(5), LastSeen = T0.AddMinutes(9) });
        (await FilteredAsync(new IssueFilter { Release = "shop@2.1", Environment = "staging" })).Items.Should().ContainSingle().Which.EventCount.Should().Be(1);

        (await FilteredAsync(new IssueFilter { Level = "warning" })).Items.Select(i => i.Fingerprint).Should().Equal("profile");
        (await FilteredAsync(new IssueFilter { Level = "fatal" })).Should().BeEquivalentTo(new { Items = Array.Empty<IssueSummary>(), TotalCount = 0L });
    }

    [Fact]
    public async Task A_filtered_issue_keeps_its_own_title_culprit_and_level()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fp", T0, title: "Old title", culprit: "Shop.Old.Run", level: "error") with { Environment = "staging" },
            TestEvents.Create(Project, "fp", T0.AddHours(1), title: "New title", culprit: "Shop.New.Run", level: "fatal") with { Environment = "production" },
        ]);
        var unfiltered = await Store.Issues.GetIssueAsync(Project, "fp");

        var staging = (await FilteredAsync(new IssueFilter { Environment = "staging" })).Items.Single();

        staging.Should().BeEquivalentTo(new { unfiltered!.Title, unfiltered.Culprit, unfiltered.Level, EventCount = 1L });
    }

    [Fact]
    public async Task A_time_range_lists_issues_with_events_inside_it_in_whole_hours_and_counts_only_those()
    {
        var day = new DateTimeOffset(2025, 3, 14, 0, 0, 0, TimeSpan.Zero);
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "old", day.AddHours(1), TestEvents.User("a")),
            TestEvents.Create(Project, "both", day.AddHours(2), TestEvents.User("a")),
            TestEvents.Create(Project, "both", day.AddHours(10).AddMinutes(30), TestEvents.User("b")),
            TestEvents.Create(Project, "both", day.AddHours(11), TestEvents.User("c")),
            TestEvents.Create(Project, "new", day.AddHours(12).AddMinutes(59), TestEvents.User("d")),
            TestEvents.Create(Project, "later", day.AddHours(13)),
        ]);

        // 10:45 to 12:10 is taken as 10:00 to 13:00.
        var range = new IssueFilter { Since = day.AddHours(10).AddMinutes(45), Until = day.AddHours(12).AddMinutes(10) };
        var page = await FilteredAsync(range);

        page.TotalCount.Should().Be(2);
        page.Items.Select(i => i.Fingerprint).Should().Equal("new", "both");
        page.Items.Single(i => i.Fingerprint == "both").Should().BeEquivalentTo(new
        {
            EventCount = 2L,
            UserCount = 2L,
            FirstSeen = day.AddHours(10).AddMinutes(30),
            LastSeen = day.AddHours(11),
        });

        (await FilteredAsync(new IssueFilter { Since = day.AddHours(12) })).Items.Select(i => i.Fingerprint).Should().Equal("later", "new");
        (await FilteredAsync(new IssueFilter { Until = day.AddHours(2) })).Items.Select(i => i.Fingerprint).Should().Equal("old");
        (await FilteredAsync(new IssueFilter { Since = day.AddHours(5), Until = day.AddHours(4) })).TotalCount.Should().Be(0, "an empty range holds nothing");

        var rangeAndEnvironment = await FilteredAsync(range with { Environment = "production" });
        rangeAndEnvironment.Items.Select(i => i.Fingerprint).Should().Equal("new", "both");
        rangeAndEnvironment.Items.Single(i => i.Fingerprint == "both").EventCount.Should().Be(2, "the hourly and the per-event paths agree");
    }

    [Fact]
    public async Task Ranges_that_cut_days_count_exactly_the_events_of_their_hours_with_and_without_other_filters()
    {
        // Four days of events at uneven hours: a range's whole days and the hours it cuts from its first and last day
        // must add up to exactly the events inside it, whichever way a store keeps its per-issue counts.
        var day = new DateTimeOffset(2025, 3, 14, 0, 0, 0, TimeSpan.Zero);
        var events = Enumerable.Range(0, 96).Select(i => TestEvents.Create(
            Project,
            $"fp-{i % 5}",
            day.AddHours(i * 37 % 96).AddMinutes(i * 7 % 60),
            i % 4 == 0 ? null : TestEvents.User($"u{i % 7}"),
            level: i % 3 == 0 ? "warning" : "error") with
        {
            Environment = i % 2 == 0 ? "production" : "staging",
            Release = i % 5 == 1 ? "shop@1.0" : "shop@2.0",
        }).ToList();
        await Store.Events.InsertEventsAsync(events);

        (DateTimeOffset? Since, DateTimeOffset? Until)[] ranges =
        [
            (day.AddHours(5).AddMinutes(20), day.AddHours(77)),
            (day.AddDays(1), day.AddDays(3)),
            (day.AddHours(30), day.AddHours(40).AddMinutes(1)),
            (day.AddHours(47), day.AddHours(49)),
            (day.AddHours(20), null),
            (null, day.AddHours(50)),
            (day.AddDays(-30), null),
            (day.AddDays(-30), day.AddDays(30)),
        ];
        IssueFilter[] filters =
        [
            new(),
            new() { Environment = "production" },
            new() { Level = "warning" },
            new() { Environment = "staging", Release = "shop@2.0" },
        ];
        foreach (var (since, until) in ranges)
        {
            foreach (var other in filters)
            {
                var filter = other with { Since = since, Until = until };
                var from = since is { } s ? new DateTimeOffset(s.Year, s.Month, s.Day, s.Hour, 0, 0, TimeSpan.Zero) : DateTimeOffset.MinValue;
                var to = until is { } u ? new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero).AddHours(u.Minute > 0 ? 1 : 0) : DateTimeOffset.MaxValue;
                var expected = events
                    .Where(e => e.Timestamp >= from && e.Timestamp < to
                        && (other.Environment is null || e.Environment == other.Environment)
                        && (other.Release is null || e.Release == other.Release)
                        && (other.Level is null || e.Level == other.Level))
                    .GroupBy(e => e.Fingerprint)
                    .Select(g => new
                    {
                        Fingerprint = g.Key,
                        EventCount = (long)g.Count(),
                        UserCount = (long)g.Where(e => e.User is not null).Select(e => e.User!.Id).Distinct().Count(),
                        FirstSeen = g.Min(e => e.Timestamp),
                        LastSeen = g.Max(e => e.Timestamp),
                    })
                    .OrderByDescending(i => i.EventCount).ThenBy(i => i.Fingerprint, StringComparer.Ordinal)
                    .ToList();

                var page = await FilteredAsync(filter, IssueSort.Events);

                page.Items.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"the events from {since:u} to {until:u} with {other}");
                page.TotalCount.Should().Be(expected.Count);
            }
        }
    }

    [Fact]
    public async Task Search_finds_title_culprit_message_any_exception_type_and_user_fields_ignoring_case()
    {
        var inner = TestEvents.Create(Project, "inner-type", T0) with
        {
            Exceptions =
            [
                new ExceptionRecord("System.AggregateException", "One or more errors", null, [TestEvents.InAppFrame(TestEvents.DefaultCulprit)]),
                new ExceptionRecord("Npgsql.PostgresException", "duplicate key", null, []),
            ],
        };
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "title", T0, title: "Payment declined for Grüße order"),
            TestEvents.Create(Project, "culprit", T0, culprit: "Shop.Basket.MergeBasketsAsync"),
            TestEvents.Create(Project, "message", T0) with { Message = "Timeout after 30 s talking to inventory" },
            TestEvents.Create(Project, "exception-message", T0, message: "Stock for SKU-991 is negative"),
            inner,
            TestEvents.Create(Project, "user-id", T0, new UserRecord("cust-7731", null, null, null)),
            TestEvents.Create(Project, "user-email", T0, new UserRecord(null, null, "joe.smith@example.com", null)),
            TestEvents.Create(Project, "user-name", T0, new UserRecord(null, "JoeSmith", null, "10.1.1.1")),
            TestEvents.Create(Project + 1, "other-project", T0, title: "payment declined elsewhere"),
        ]);

        async Task<string[]> SearchAsync(string text) =>
            [.. (await FilteredAsync(new IssueFilter { Search = text }, IssueSort.FirstSeen)).Items.Select(i => i.Fingerprint).Order(StringComparer.Ordinal)];

        (await SearchAsync("PAYMENT DECLINED")).Should().Equal("title");
        (await SearchAsync("GRÜ")).Should().Equal("title");
        (await SearchAsync("mergebaskets")).Should().Equal("culprit");
        (await SearchAsync("inventory")).Should().Equal("message");
        (await SearchAsync("postgresexception")).Should().Equal(["inner-type"], "inner exceptions' types are searched too");
        (await SearchAsync("DUPLICATE KEY")).Should().Equal(["inner-type"], "and their messages");
        (await SearchAsync("sku-991")).Should().Equal("exception-message");
        (await SearchAsync("cust-77")).Should().Equal("user-id");
        (await SearchAsync("joe.SMITH@")).Should().Equal("user-email");
        (await SearchAsync("joesmith")).Should().Equal("user-name");
        (await SearchAsync("10.1.1.1")).Should().BeEmpty("IP addresses are not searched");
        (await SearchAsync("nothing like this")).Should().BeEmpty();
        (await SearchAsync("")).Should().HaveCount(8, "an empty search filters nothing");
    }

    [Fact]
    public async Task Hostile_searches_find_exactly_what_contains_them_and_never_fail()
    {
        var titles = TestEvents.HostileStrings.Where(s => s.Length > 0).Select((s, i) => (Text: s, Fingerprint: $"hostile-{i}")).ToList();
        await Store.Events.InsertEventsAsync(
            [.. titles.Select(t => TestEvents.Create(Project, t.Fingerprint, T0, title: "Error: " + t.Text, message: "m"))]);
        await Store.Events.InsertEventsAsync([TestEvents.Create(Project, "plain", T0, title: "Plain old error 100% of _the_ time", message: "m")]);

        string[] searches =
        [
            .. titles.Select(t => t.Text),
            "%", "_", "\\", "'", "\"", "' OR '1'='1", "') OR 1=1 --", "*", "[a-z]", "\\%", "%_%", "$search", "search_text",
        ];
        var everything = titles.Append(("Plain old error 100% of _the_ time", "plain")).ToList();
        foreach (var search in searches)
        {
            var expected = everything.Where(t => ("Error: " + t.Item1).Contains(search, StringComparison.OrdinalIgnoreCase) || t.Item1.Contains(search, StringComparison.OrdinalIgnoreCase))
                .Select(t => t.Item2).Order(StringComparer.Ordinal);

            var page = await FilteredAsync(new IssueFilter { Search = search });

            page.Items.Select(i => i.Fingerprint).Order(StringComparer.Ordinal).Should().Equal(expected, $"searching for {search} finds what contains it");
            page.TotalCount.Should().Be(page.Items.Count);
        }
    }

    [Fact]
    public async Task A_search_never_matches_across_two_fields_and_control_characters_are_matched_literally()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "fields", T0, TestEvents.User("cust-1"), title: "Checkout failed", culprit: "Shop.Basket", message: "stock"),
            TestEvents.Create(Project, "control", T0, title: "Import failed", message: "column a\u001Fb\u0001d"),
        ]);

        async Task<string[]> SearchAsync(string text) =>
            [.. (await FilteredAsync(new IssueFilter { Search = text })).Items.Select(i => i.Fingerprint).Order(StringComparer.Ordinal)];

        (await SearchAsync("failed")).Should().Equal("control", "fields");
        (await SearchAsync("failedShop")).Should().BeEmpty("title and culprit are separate fields");
        (await SearchAsync("failed\u001FShop")).Should().BeEmpty("no field holds both");
        (await SearchAsync("stock\u001Fcust")).Should().BeEmpty();
        (await SearchAsync("A\u001FB")).Should().Equal("control");
        (await SearchAsync("\u001F")).Should().Equal("control");
        (await SearchAsync("\u0001D")).Should().Equal("control");
    }

    [Fact]
    public async Task A_very_long_search_finds_the_long_message_that_contains_it_and_a_longer_one_finds_nothing()
    {
        var longText = string.Concat(Enumerable.Range(0, 800).Select(i => $"'\\{i}\"")); // about 5,000 characters of quotes and backslashes
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "long", T0) with { Message = "prefix " + longText + " suffix" },
            TestEvents.Create(Project, "short", T0, message: "short"),
        ]);

        (await FilteredAsync(new IssueFilter { Search = longText })).Items.Select(i => i.Fingerprint).Should().Equal("long");
        (await FilteredAsync(new IssueFilter { Search = longText + "x" })).TotalCount.Should().Be(0);
        (await FilteredAsync(new IssueFilter { Search = new string('\'', 12_000) })).TotalCount.Should().Be(0);
        (await FilteredAsync(new IssueFilter { Search = new string('a', IssueFilter.MaxSearchLength + 1) })).Should().BeEquivalentTo(new { Items = Array.Empty<IssueSummary>(), TotalCount = 0L });
    }

    [Fact]
    public async Task Filtered_lists_sort_and_page_like_unfiltered_ones()
    {
        await Store.Events.InsertEventsAsync(
        [
            .. Enumerable.Range(0, 5).SelectMany(i => Enumerable.Range(0, i + 1).Select(n =>
                TestEvents.Create(Project, $"fp-{i}", T0.AddHours(i).AddMinutes(n), TestEvents.User($"u{n}")) with { Environment = "production" })),
            TestEvents.Create(Project, "fp-staging", T0.AddDays(1)) with { Environment = "staging" },
        ]);
        var filter = new IssueFilter { Environment = "production" };

        (await FilteredAsync(filter, IssueSort.Events, 0, 2)).Items.Select(i => i.Fingerprint).Should().Equal("fp-4", "fp-3");
        var second = await FilteredAsync(filter, IssueSort.Events, 2, 2);
        second.Items.Select(i => i.Fingerprint).Should().Equal("fp-2", "fp-1");
        second.TotalCount.Should().Be(5);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(Project) { Filter = filter, Sort = IssueSort.FirstSeen, Descending = false, Limit = 2 }))
            .Items.Select(i => i.Fingerprint).Should().Equal("fp-0", "fp-1");
        (await FilteredAsync(filter, IssueSort.Users, 0, 1)).Items.Single().UserCount.Should().Be(5);
    }

    [Fact]
    public async Task Filter_values_are_the_environments_and_releases_seen_most_recently_first()
    {
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "a", T0) with { Environment = "staging", Release = "shop@1.0" },
            TestEvents.Create(Project, "b", T0.AddHours(2)) with { Environment = "production", Release = "shop@1.1" },
            TestEvents.Create(Project, "c", T0.AddHours(1)) with { Environment = "staging", Release = "it's \"odd\"\\" },
            TestEvents.Create(Project, "d", T0.AddHours(3)) with { Environment = null, Release = null },
            TestEvents.Create(Project + 1, "e", T0.AddHours(4)) with { Environment = "other-project", Release = "other@9" },
        ]);

        var values = await Store.Issues.GetFilterValuesAsync(Project);

        values.Environments.Should().Equal("production", "staging");
        values.Releases.Should().Equal("shop@1.1", "it's \"odd\"\\", "shop@1.0");
        (await Store.Issues.GetFilterValuesAsync(Project + 2)).Should().BeEquivalentTo(new { Environments = Array.Empty<string>(), Releases = Array.Empty<string>() });
    }

    [Fact]
    public async Task Event_counts_fill_hour_buckets_for_each_asked_issue()
    {
        var day = new DateTimeOffset(2025, 3, 14, 0, 0, 0, TimeSpan.Zero);
        await Store.Events.InsertEventsAsync(
        [
            TestEvents.Create(Project, "a", day.AddHours(-1)),
            TestEvents.Create(Project, "a", day.AddMinutes(10)),
            TestEvents.Create(Project, "a", day.AddMinutes(50)),
            TestEvents.Create(Project, "a", day.AddHours(7).AddMinutes(59)),
            TestEvents.Create(Project, "a", day.AddHours(8)),
            TestEvents.Create(Project, "b", day.AddHours(5)),
            TestEvents.Create(Project + 1, "b", day.AddHours(5)),
            TestEvents.Create(Project, "not-asked", day.AddHours(1)),
        ]);

        var counts = await Store.Issues.GetEventCountsAsync(
            new EventCountQuery(Project, ["a", "b", "it's \\ none"], day.AddMinutes(30), TimeSpan.FromHours(2), 4));

        counts.Keys.Should().BeEquivalentTo("a", "b", "it's \\ none");
        counts["a"].Should().Equal(2, 0, 0, 1);
        counts["b"].Should().Equal(0, 0, 1, 0);
        counts["it's \\ none"].Should().Equal(0, 0, 0, 0);
        (await Store.Issues.GetEventCountsAsync(new EventCountQuery(Project, [], day, TimeSpan.FromHours(1), 1))).Should().BeEmpty();
    }

    [Fact]
    public async Task Event_count_queries_out_of_bounds_are_refused()
    {
        var day = new DateTimeOffset(2025, 3, 14, 0, 0, 0, TimeSpan.Zero);
        Func<Task> halfHour = () => Store.Issues.GetEventCountsAsync(new EventCountQuery(Project, ["a"], day, TimeSpan.FromMinutes(30), 4));
        Func<Task> tooMany = () => Store.Issues.GetEventCountsAsync(new EventCountQuery(Project, ["a"], day, TimeSpan.FromHours(1), EventCountQuery.MaxBuckets + 1));
        Func<Task> tooManyIssues = () => Store.Issues.GetEventCountsAsync(
            new EventCountQuery(Project, [.. Enumerable.Range(0, EventCountQuery.MaxFingerprints + 1).Select(i => $"fp-{i}")], day, TimeSpan.FromHours(1), 1));

        await halfHour.Should().ThrowAsync<ArgumentOutOfRangeException>();
        await tooMany.Should().ThrowAsync<ArgumentOutOfRangeException>();
        await tooManyIssues.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
