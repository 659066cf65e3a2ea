using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Storage;
using Microsoft.AspNetCore.WebUtilities;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>The issue list's address: what a shared link or Back brings back is exactly the list that was shown.</summary>
public sealed class IssueListStateTests
{
    public static TheoryData<string> Texts => [.. HostileStrings.Where(s => s.Trim().Length > 0 && !s.Contains('\0', StringComparison.Ordinal)).Select(s => s.Trim()), "a&b=c?d#e", "100% + more"];

    [Theory]
    [MemberData(nameof(Texts))]
    public void Every_filter_survives_the_round_trip_through_the_address(string text)
    {
        var state = new IssueListState
        {
            Search = text,
            Environment = text,
            Release = text,
            Level = "warning",
            Range = IssueTimeRange.From("7d"),
            Sort = IssueSort.Users,
            Descending = false,
            Page = 3,
            Status = "resolved",
        };

        var query = QueryHelpers.ParseQuery(new Uri("http://localhost/" + state.ToUrl(5)).Query);
        var back = IssueListState.From(query["q"], query["environment"], query["release"], query["level"], query["range"], query["sort"], query["order"], query["page"], query["status"]);

        back.Should().Be(state);
    }

    [Fact]
    public void The_plain_list_has_a_plain_address_and_asks_the_store_for_everything()
    {
        var state = IssueListState.From(null, null, null, null, null, null, null, null);

        state.ToUrl(5).Should().Be("projects/5/issues");
        var query = state.ToQuery(5, DateTimeOffset.UnixEpoch);
        query.Should().BeEquivalentTo(new { ProjectId = 5, Sort = IssueSort.LastSeen, Descending = true, Offset = 0, Limit = IssueListState.PageSize });
        query.Filter.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_range_counts_back_from_now_and_a_page_becomes_an_offset()
    {
        var now = new DateTimeOffset(2025, 6, 2, 12, 30, 0, TimeSpan.Zero);

        var query = IssueListState.From("  joe  ", "", null, "nonsense", "30d", "events", "asc", "4").ToQuery(1, now);

        query.Filter.Should().BeEquivalentTo(new IssueFilter { Search = "joe", Since = now.AddDays(-30) });
        query.Should().BeEquivalentTo(new { Sort = IssueSort.Events, Descending = false, Offset = 75 }, options => options.ExcludingMissingMembers());
    }

    [Fact]
    public void Sorting_by_a_new_column_starts_descending_and_the_same_column_flips_and_both_go_to_the_first_page()
    {
        var state = new IssueListState { Page = 4 };

        var byEvents = state.SortedBy(IssueSort.Events);
        byEvents.Should().Be(new IssueListState { Sort = IssueSort.Events, Descending = true, Page = 1 });
        byEvents.SortedBy(IssueSort.Events).Descending.Should().BeFalse();
        state.SortedBy(IssueSort.LastSeen).Descending.Should().BeFalse("the list is sorted by last seen, newest first, already");
    }
}
