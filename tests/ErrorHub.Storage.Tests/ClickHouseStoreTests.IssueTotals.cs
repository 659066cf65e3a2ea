using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// The list's default order chosen from <c>issue_totals</c> (one row per issue) answers exactly what grouping
/// <c>issue_days</c> answered: every tab, sort, filter and page, after retention (rows deleted or whole partitions dropped,
/// with issues that lost their old days) and after the upgrade that fills it.
/// </summary>
public sealed partial class ClickHouseStoreTests
{
    private const int TotalsProject = 9;

    [Fact]
    public async Task The_list_read_from_issue_totals_answers_as_the_grouped_days_for_every_tab_sort_filter_and_page()
    {
        await SeedTriagedProjectAsync();

        var pairs = await BothWaysAsync(TotalsQueries());

        foreach (var (query, fromTotals, fromDays) in pairs)
        {
            fromTotals.Should().BeEquivalentTo(fromDays, o => o.WithStrictOrdering(), $"the same list for {Describe(query)}");
        }

        var unresolved = pairs.First(pair => pair.Query.Sort == IssueSort.LastSeen && pair.Query.Filter.Statuses is { } statuses
            && statuses.SequenceEqual([IssueStatus.Unresolved]) && pair.Query.Filter.StatusExceptions is null && pair.Query.Filter.Environment is null
            && pair.Query.Filter.Since is null && pair.Query.Offset == 0 && pair.Query.Descending);
        unresolved.FromTotals.Items.Should().NotBeEmpty();
        unresolved.FromTotals.Items.Select(i => i.Fingerprint).Should().NotContain(["merged-a", "merged-b"], "a merged issue is listed as its target");
        unresolved.FromTotals.Items.Select(i => i.Fingerprint).Should().NotContain("resolved-0", "a resolved issue is not on the unresolved tab");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_retention_the_list_counts_issues_that_lost_days_by_what_is_left_and_leaves_out_those_whose_events_all_expired_in_every_order(bool cutoffOnAMonday)
    {
        var now = TestEvents.BaseTime;
        var cutoff = new DateTimeOffset(now.UtcDateTime.Date.AddDays(-10), TimeSpan.Zero);
        if (cutoffOnAMonday)
        {
            // Weekly partitions: a Monday cutoff drops whole partitions and leaves nothing for a row-deleting mutation.
            cutoff = cutoff.AddDays(-(((int)cutoff.DayOfWeek + 6) % 7));
        }

        var events = new List<ErrorEvent>();
        for (var i = 0; i < 12; i++)
        {
            // Old only (gone after retention), old and recent (stays, its oldest days gone), recent only.
            var kind = i % 3;
            if (kind != 2)
            {
                events.AddRange(Enumerable.Range(0, 3).Select(n => TestEvents.Create(TotalsProject, $"kept-{kind}-{i}", now.AddDays(-20 - n - i), TestEvents.User($"old-{n}"))));
            }

            if (kind != 0)
            {
                // Fewer recent events and users for the issues that lose their old ones than for the recent only: a list
                // that still counted the expired events would order them the other way round.
                events.AddRange(Enumerable.Range(0, kind == 1 ? 2 : 3).Select(n => TestEvents.Create(TotalsProject, $"kept-{kind}-{i}", now.AddDays(-1 - n).AddHours(-i), TestEvents.User($"new-{n}"))));
            }
        }

        await Store.Events.InsertEventsAsync(events);
        var before = await Store.Issues.GetIssuesAsync(new IssueQuery(TotalsProject) { Limit = 100 });
        before.TotalCount.Should().Be(12);

        (await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?> { [TotalsProject] = cutoff }, null))).Should().BeGreaterThan(0);

        var pairs = await BothWaysAsync([.. Enum.GetValues<IssueSort>().SelectMany(sort => new[]
        {
            new IssueQuery(TotalsProject) { Sort = sort, Limit = 100 },
            new IssueQuery(TotalsProject) { Sort = sort, Limit = 3, Offset = 3 },
            new IssueQuery(TotalsProject) { Sort = sort, Limit = 100, Descending = false },
            new IssueQuery(TotalsProject) { Sort = sort, Limit = 100, Filter = new() { Statuses = [IssueStatus.Unresolved] } },
        })]);
        foreach (var (query, fromTotals, fromDays) in pairs)
        {
            fromTotals.Should().BeEquivalentTo(fromDays, o => o.WithStrictOrdering(), $"the same list after retention for {Describe(query)}");
        }

        pairs[0].FromTotals.TotalCount.Should().Be(8, "the four issues whose events all expired are gone");
        pairs[0].FromTotals.Items.Select(i => i.Fingerprint).Should().NotContain(f => f.StartsWith("kept-0-", StringComparison.Ordinal));
        var byEvents = pairs.First(pair => pair.Query.Sort == IssueSort.Events && pair.Query.Limit == 100 && pair.Query.Descending && pair.Query.Filter.Statuses is null);
        byEvents.FromTotals.Items.Select(i => i.Fingerprint).Take(4).Should().OnlyContain(f => f.StartsWith("kept-2-", StringComparison.Ordinal),
            "the issues that lost their old events have fewer events left than those with only recent ones");
    }

    [Fact]
    public async Task A_store_made_before_issue_totals_is_filled_at_the_upgrade_again_after_an_interrupted_one_and_lists_as_before()
    {
        await SeedTriagedProjectAsync();
        var queries = TotalsQueries();
        var before = (await BothWaysAsync(queries)).Select(pair => pair.FromDays).ToList();

        // The previous release's schema (version 1, no per-issue table); then an upgrade interrupted after making the table
        // and its view but before recording version 2, and events stored meanwhile: the next start fills it again.
        await ExecuteAsync("DROP TABLE {0}.issue_totals_mv", "DROP TABLE {0}.issue_totals", "DROP TABLE {0}.schema_versions");
        await Store.Schema.EnsureSchemaAsync();
        await ExecuteAsync("DROP TABLE {0}.schema_versions");
        await Store.Schema.EnsureSchemaAsync();
        await Store.Schema.EnsureSchemaAsync();
        (await ReadSchemaVersionAsync(Store)).Should().Be(ClickHouseSchema.Version);

        var after = await BothWaysAsync(queries);
        for (var i = 0; i < queries.Count; i++)
        {
            after[i].FromTotals.Should().BeEquivalentTo(before[i], o => o.WithStrictOrdering(), $"the upgrade fills issue_totals for {Describe(queries[i])}");
        }

        var late = TestEvents.Create(TotalsProject, "after-the-upgrade", TestEvents.BaseTime.AddMinutes(30));
        await Store.Events.InsertEventsAsync([late]);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(TotalsProject) { Limit = 1 })).Items.Single().Fingerprint.Should().Be("after-the-upgrade");
    }

    /// <summary>
    /// 30 issues over 40 days in two environments, three releases and two levels, a few with many events; resolved,
    /// ignored, regressed (resolved, then an event) and assigned issues, and two issues merged into a third.
    /// </summary>
    private async Task SeedTriagedProjectAsync()
    {
        var now = TestEvents.BaseTime;
        var events = new List<ErrorEvent>();
        string[] names = [.. Enumerable.Range(0, 24).Select(i => $"issue-{i:00}"), "resolved-0", "ignored-0", "regressed-0", "merged-a", "merged-b", "target"];
        for (var i = 0; i < names.Length; i++)
        {
            var count = 1 + (i * 7 % 9);
            for (var n = 0; n < count; n++)
            {
                events.Add(TestEvents.Create(TotalsProject, names[i], now.AddHours(-(i * 31 + n * 23) % (40 * 24)), n % 3 == 0 ? null : TestEvents.User($"u-{(i + n) % 7}"),
                    level: (i + n) % 4 == 0 ? "warning" : "error") with
                {
                    Release = $"shop@1.{(i + n) % 3}",
                    Environment = (i + n) % 2 == 0 ? "production" : "staging",
                });
            }
        }

        await Store.Events.InsertEventsAsync(events);
        var changed = now.AddDays(-2);
        await Store.Notifications.States.SetStatesAsync(
        [
            new IssueState(TotalsProject, "resolved-0", IssueStatus.Resolved, now.AddDays(1)),
            new IssueState(TotalsProject, "issue-03", IssueStatus.Resolved, now.AddDays(1)),
            new IssueState(TotalsProject, "ignored-0", IssueStatus.Ignored, changed),
            new IssueState(TotalsProject, "issue-04", IssueStatus.Ignored, changed),
            new IssueState(TotalsProject, "regressed-0", IssueStatus.Resolved, now.AddDays(-45)),
            new IssueState(TotalsProject, "issue-05", IssueStatus.Unresolved, changed) { AssigneeId = Guid.NewGuid() },
        ]);
        await Store.Merges.MergeAsync(TotalsProject, "target", ["merged-a", "merged-b"], changed);
    }

    private static List<IssueQuery> TotalsQueries()
    {
        IssueFilter[] filters =
        [
            IssueFilter.None,
            new() { Environment = "staging" },
            new() { Release = "shop@1.2", Level = "error" },
            new() { Since = TestEvents.BaseTime.AddDays(-12).AddHours(3) },
        ];
        IReadOnlyCollection<IssueStatus>?[] tabs = [null, [IssueStatus.Unresolved], [IssueStatus.Resolved], [IssueStatus.Ignored], [IssueStatus.Resolved, IssueStatus.Ignored]];
        var queries = new List<IssueQuery>();
        foreach (var filter in filters)
        {
            foreach (var tab in tabs)
            {
                var tabbed = filter with { Statuses = tab };
                queries.AddRange(Enum.GetValues<IssueSort>().Select(sort => new IssueQuery(TotalsProject) { Filter = tabbed, Sort = sort, Limit = 7 }));
                queries.Add(new IssueQuery(TotalsProject) { Filter = tabbed, Limit = 7, Offset = 7 });
                queries.Add(new IssueQuery(TotalsProject) { Filter = tabbed, Limit = 7, Offset = 35 });
                queries.Add(new IssueQuery(TotalsProject) { Filter = tabbed, Limit = 7, Descending = false });
            }

            queries.Add(new IssueQuery(TotalsProject) { Filter = filter with { Statuses = [IssueStatus.Unresolved], StatusExceptions = ["regressed-0"] }, Limit = 50 });
            queries.Add(new IssueQuery(TotalsProject) { Filter = filter with { Fingerprints = ["issue-01", "target", "issue-07"] }, Limit = 50 });
            queries.Add(new IssueQuery(TotalsProject) { Filter = filter with { ExcludedFingerprints = ["issue-01", "target"] }, Limit = 50 });
        }

        return queries;
    }

    /// <summary>Each query read from issue_totals, then by grouping issue_days (as until December 2026).</summary>
    private async Task<List<(IssueQuery Query, IssuePage FromTotals, IssuePage FromDays)>> BothWaysAsync(IReadOnlyList<IssueQuery> queries)
    {
        var reader = (ClickHouseIssueReader)Store.Issues;
        var pairs = new List<(IssueQuery, IssuePage, IssuePage)>();
        foreach (var query in queries)
        {
            reader.ReadsIssueTotals = true;
            var fromTotals = await reader.GetIssuesAsync(query);
            reader.ReadsIssueTotals = false;
            var fromDays = await reader.GetIssuesAsync(query);
            reader.ReadsIssueTotals = true;
            pairs.Add((query, fromTotals, fromDays));
        }

        return pairs;
    }

    private static string Describe(IssueQuery query) =>
        $"sort {query.Sort} {(query.Descending ? "desc" : "asc")}, offset {query.Offset}, statuses [{string.Join(",", query.Filter.Statuses ?? [])}], " +
        $"exceptions [{string.Join(",", query.Filter.StatusExceptions ?? [])}], environment {query.Filter.Environment}, release {query.Filter.Release}, " +
        $"level {query.Filter.Level}, since {query.Filter.Since}, only [{string.Join(",", query.Filter.Fingerprints ?? [])}], " +
        $"excluded [{string.Join(",", query.Filter.ExcludedFingerprints ?? [])}]";
}
