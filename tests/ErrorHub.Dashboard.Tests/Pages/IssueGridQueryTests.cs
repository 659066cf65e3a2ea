using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Storage;
using Radzen;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>What the grid asks for, as the store is asked for it.</summary>
public sealed class IssueGridQueryTests
{
    private static LoadDataArgs Args(string? property = null, SortOrder? order = null, int? skip = null, int? top = null) => new()
    {
        Skip = skip,
        Top = top,
        Sorts = property is null ? [] : [new SortDescriptor { Property = property, SortOrder = order }],
    };

    [Fact]
    public void Unsorted_the_first_page_shows_the_newest_activity_first()
    {
        var query = IssueGridQuery.From(4, new LoadDataArgs());

        query.Should().Be(new IssueQuery(4) { Sort = IssueSort.LastSeen, Descending = true, Offset = 0, Limit = IssueGridQuery.DefaultPageSize });
    }

    [Theory]
    [InlineData(nameof(IssueSummary.EventCount), SortOrder.Descending, IssueSort.Events, true)]
    [InlineData(nameof(IssueSummary.EventCount), SortOrder.Ascending, IssueSort.Events, false)]
    [InlineData(nameof(IssueSummary.UserCount), SortOrder.Descending, IssueSort.Users, true)]
    [InlineData(nameof(IssueSummary.UserCount), SortOrder.Ascending, IssueSort.Users, false)]
    [InlineData(nameof(IssueSummary.FirstSeen), SortOrder.Descending, IssueSort.FirstSeen, true)]
    [InlineData(nameof(IssueSummary.FirstSeen), SortOrder.Ascending, IssueSort.FirstSeen, false)]
    [InlineData(nameof(IssueSummary.LastSeen), SortOrder.Descending, IssueSort.LastSeen, true)]
    [InlineData(nameof(IssueSummary.LastSeen), SortOrder.Ascending, IssueSort.LastSeen, false)]
    public void A_sorted_column_becomes_the_stores_sort(string property, SortOrder order, IssueSort sort, bool descending)
    {
        var query = IssueGridQuery.From(1, Args(property, order));

        query.Sort.Should().Be(sort);
        query.Descending.Should().Be(descending);
    }

    [Theory]
    [InlineData(nameof(IssueSummary.Title), SortOrder.Ascending)]
    [InlineData(nameof(IssueSummary.Culprit), SortOrder.Descending)]
    [InlineData("'; DROP TABLE issues; --", SortOrder.Ascending)]
    [InlineData(nameof(IssueSummary.EventCount), null)]
    public void A_column_the_store_cannot_sort_or_a_cleared_sort_falls_back_to_newest_activity_first(string property, SortOrder? order)
    {
        var query = IssueGridQuery.From(1, Args(property, order));

        query.Sort.Should().Be(IssueSort.LastSeen);
        query.Descending.Should().BeTrue();
    }

    [Fact]
    public void The_first_column_with_a_sort_order_wins()
    {
        var args = new LoadDataArgs
        {
            Sorts =
            [
                new SortDescriptor { Property = nameof(IssueSummary.LastSeen), SortOrder = null },
                new SortDescriptor { Property = nameof(IssueSummary.UserCount), SortOrder = SortOrder.Ascending },
                new SortDescriptor { Property = nameof(IssueSummary.EventCount), SortOrder = SortOrder.Descending },
            ],
        };

        var query = IssueGridQuery.From(1, args);

        query.Sort.Should().Be(IssueSort.Users);
        query.Descending.Should().BeFalse();
    }

    [Theory]
    [InlineData(25, 25, 25, 25)]
    [InlineData(50, 50, 50, 50)]
    [InlineData(null, null, 0, IssueGridQuery.DefaultPageSize)]
    [InlineData(-10, 0, 0, 1)]
    [InlineData(0, 100_000, 0, IssueGridQuery.MaxPageSize)]
    public void The_page_becomes_offset_and_limit_within_bounds_the_store_accepts(int? skip, int? top, int offset, int limit)
    {
        var query = IssueGridQuery.From(1, Args(skip: skip, top: top));

        query.Offset.Should().Be(offset);
        query.Limit.Should().Be(limit);
    }
}
