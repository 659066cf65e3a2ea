using System.Globalization;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>
/// Retention that drops whole weekly partitions (every project has a cutoff) keeps the per-issue table
/// <c>issue_totals</c> (which has no partitions) in step: the issues whose events were all in dropped weeks leave the
/// list, the others stay with the counts of their kept events, also when an earlier run stopped after its drops.
/// </summary>
public sealed partial class ClickHouseStoreTests
{
    private const int DroppedWeeksProject = 11;

    [Fact]
    public async Task Retention_that_drops_whole_weeks_removes_the_issues_whose_events_were_all_in_them_and_keeps_the_others_with_their_counts()
    {
        var cutoff = await SeedOldAndRecentIssuesAsync();

        (await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?>(), cutoff))).Should().Be(24, "eight issues had three events each in the dropped weeks");

        (await PartitionsBeforeAsync(cutoff)).Should().BeEmpty("every week before the cutoff was dropped whole");
        await ShouldListOnlyTheKeptIssuesAsync();
    }

    [Fact]
    public async Task Retention_after_a_run_that_stopped_once_its_weeks_were_dropped_still_removes_the_issues_whose_events_are_gone()
    {
        var cutoff = await SeedOldAndRecentIssuesAsync();

        // A run that dropped the old weeks and stopped there (the process ended, ClickHouse timed out): no event before the
        // cutoff is left, but issue_totals, which has no weeks to drop, still holds every issue.
        foreach (var (table, partition) in await PartitionsBeforeAsync(cutoff))
        {
            await ClickHouseExecuteAsync(client => client.ExecuteAsync($"ALTER TABLE {ClickHouseSql.QuoteIdentifier(_database)}.{ClickHouseSql.QuoteIdentifier(table)} DROP PARTITION {ClickHouseSql.Quote(partition)}", CancellationToken.None));
        }

        await Store.Retention.DeleteExpiredAsync(new RetentionPlan(new Dictionary<int, DateTimeOffset?>(), cutoff));

        await ShouldListOnlyTheKeptIssuesAsync();
    }

    /// <summary>
    /// Twelve issues: four with events only in weeks wholly before the cutoff (three each), four with such events and two
    /// recent ones, four with two recent ones only. The cutoff, ten days before the newest events.
    /// </summary>
    private async Task<DateTimeOffset> SeedOldAndRecentIssuesAsync()
    {
        var now = TestEvents.BaseTime;
        var cutoff = new DateTimeOffset(now.UtcDateTime.Date.AddDays(-10), TimeSpan.Zero);
        var events = new List<ErrorEvent>();
        for (var i = 0; i < 12; i++)
        {
            var kind = i % 3;
            if (kind != 2)
            {
                // 20 to 33 days before: weeks that end before the cutoff, dropped whole.
                events.AddRange(Enumerable.Range(0, 3).Select(n => TestEvents.Create(DroppedWeeksProject, $"issue-{kind}-{i:D2}", now.AddDays(-20 - n - i), TestEvents.User($"old-{n}"))));
            }

            if (kind != 0)
            {
                events.AddRange(Enumerable.Range(0, 2).Select(n => TestEvents.Create(DroppedWeeksProject, $"issue-{kind}-{i:D2}", now.AddDays(-1 - n).AddHours(-i), TestEvents.User($"new-{n}"))));
            }
        }

        await Store.Events.InsertEventsAsync(events);
        (await Store.Issues.GetIssuesAsync(new IssueQuery(DroppedWeeksProject) { Limit = 100 })).TotalCount.Should().Be(12);
        (await PartitionsBeforeAsync(cutoff)).Should().NotBeEmpty("the old events are in weeks before the cutoff");
        return cutoff;
    }

    private async Task ShouldListOnlyTheKeptIssuesAsync()
    {
        var pairs = await BothWaysAsync(
        [
            new IssueQuery(DroppedWeeksProject) { Limit = 100 },
            new IssueQuery(DroppedWeeksProject) { Limit = 3, Offset = 3 },
            new IssueQuery(DroppedWeeksProject) { Limit = 100, Descending = false },
            new IssueQuery(DroppedWeeksProject) { Limit = 100, Filter = new() { Statuses = [IssueStatus.Unresolved] } },
        ]);
        foreach (var (query, fromTotals, fromDays) in pairs)
        {
            fromTotals.Should().BeEquivalentTo(fromDays, o => o.WithStrictOrdering(), $"the same list after retention for {Describe(query)}");
        }

        var list = pairs[0].FromTotals;
        list.TotalCount.Should().Be(8, "the four issues whose events were all in dropped weeks are gone");
        list.Items.Select(i => i.Fingerprint).Should().NotContain(f => f.StartsWith("issue-0-", StringComparison.Ordinal));
        list.Items.Should().HaveCount(8).And.OnlyContain(i => i.EventCount == 2 && i.UserCount == 2, "only the two recent events of each are left");
        list.Items.Should().OnlyContain(i => i.FirstSeen > TestEvents.BaseTime.AddDays(-3), "the first seen of what is left");
    }

    /// <summary>Each table's weekly partitions (by Monday) of this test's database that end before <paramref name="cutoff"/>.</summary>
    private async Task<List<(string Table, string Partition)>> PartitionsBeforeAsync(DateTimeOffset cutoff)
    {
        var parts = await ClickHouseQueryAsync(client => client.QueryAsync(
            $"SELECT DISTINCT table, partition FROM system.parts WHERE database = {ClickHouseSql.Quote(_database)} AND active",
            row => (Table: row.GetProperty("table").GetString() ?? "", Partition: (row.GetProperty("partition").GetString() ?? "").Trim('\'')),
            CancellationToken.None));
        return [.. parts.Where(p => DateOnly.TryParseExact(p.Partition, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var monday)
            && new DateTimeOffset(monday.AddDays(7).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) <= cutoff)];
    }

    private async Task<T> ClickHouseQueryAsync<T>(Func<ClickHouseClient, Task<T>> run)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        return await run(new ClickHouseClient(http, new ClickHouseConnection(server.Url)));
    }

    private async Task ClickHouseExecuteAsync(Func<ClickHouseClient, Task> run)
    {
        using var http = new HttpClient(ClickHouseClient.CreateHandler());
        await run(new ClickHouseClient(http, new ClickHouseConnection(server.Url)));
    }
}
