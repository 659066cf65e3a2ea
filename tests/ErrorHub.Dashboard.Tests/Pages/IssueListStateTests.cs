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
            Assigned = "ana@example.com",
        };

        var query = QueryHelpers.ParseQuery(new Uri("http://localhost/" + state.ToUrl(5)).Query);
        var back = IssueListState.From(query["q"], query["environment"], query["release"], query["level"], query["range"], query["sort"], query["order"], query["page"], query["status"], query["assigned"]);

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

    private static IssueListState Searched(string q, string? status = null, string? release = null) =>
        IssueListState.From(q, null, release, null, null, null, null, null, status);

    [Fact]
    public void Sentrys_search_terms_become_the_tab_and_filters_and_the_rest_is_searched_as_typed()
    {
        var state = Searched("is:resolved release:shop@2.4.1 timeout   in sync env:production level:Error");

        state.Status.Should().Be("resolved");
        state.Release.Should().Be("shop@2.4.1");
        state.Environment.Should().Be("production");
        state.Level.Should().Be("error");
        state.Search.Should().Be("timeout   in sync", "the text between the terms is searched as written");

        Searched("is:for_review").Status.Should().Be("new");
        Searched("is:archived").Status.Should().Be("ignored");
        Searched("user.email:ada@example.com").Search.Should().Be("ada@example.com", "the search covers the user's id, e-mail and name");
        Searched("release:\"shop 2.4\" crash").Should().Match<IssueListState>(s => s.Release == "shop 2.4" && s.Search == "crash");
        Searched("is:resolved", status: "ignored").Status.Should().Be("resolved", "the term typed last wins over the tab the form was on");
        Searched("release:b", release: "a").Release.Should().Be("b");
    }

    [Theory]
    [InlineData("release:\"shop 2.4 crash", "shop", null, "2.4 crash")]
    [InlineData("timeout release:\"shop", "shop", null, "timeout")]
    [InlineData("env:\"prod eu crash", null, "prod", "eu crash")]
    [InlineData("release:\" crash", null, null, "release:\" crash")]
    public void A_quote_never_closed_ends_at_the_next_space_instead_of_swallowing_the_rest_of_the_search(string q, string? release, string? environment, string text)
    {
        var state = Searched(q);

        state.Release.Should().Be(release);
        state.Environment.Should().Be(environment);
        state.Search.Should().Be(text, "what follows the unclosed value is searched as text");
    }

    [Theory]
    [InlineData("assigned:me", "me")]
    [InlineData("assigned:none", "none")]
    [InlineData("is:unassigned", "none")]
    [InlineData("is:assigned", "any")]
    [InlineData("assigned:Ana@Example.com", "ana@example.com")]
    [InlineData("assigned:\"ana@example.com\"", "ana@example.com")]
    [InlineData("assigned:0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e")]
    public void Sentrys_assignee_terms_become_the_assigned_filter_over_any_tab(string q, string assigned)
    {
        var state = Searched(q + " checkout", status: "resolved");

        state.Assigned.Should().Be(assigned);
        state.Status.Should().Be("resolved", "is:assigned names whose issues, not a tab");
        state.Search.Should().Be("checkout");
        QueryHelpers.ParseQuery(new Uri("http://localhost/" + state.ToUrl(5)).Query)["assigned"].ToString().Should().Be(assigned);
    }

    [Fact]
    public void An_assignee_too_long_to_be_an_address_is_no_filter()
    {
        IssueListState.From(null, null, null, null, null, null, null, null, null, new string('a', 300) + "@example.com").Assigned.Should().BeNull();
        IssueListState.From(null, null, null, null, null, null, null, null, null, "  ").Assigned.Should().BeNull();
    }

    [Theory]
    [InlineData("https://shop.example/checkout?bundle=x")]
    [InlineData("InvalidOperationException: Sequence contains no elements")]
    [InlineData(@"C:\src\Shop\Cart.cs:line 12")]
    [InlineData("is:sleeping")]
    [InlineData("!is:resolved")]
    [InlineData("level:loud")]
    [InlineData("bookmarks:ana@example.com")]
    [InlineData("is:bookmarked:")]
    [InlineData("assigned:")]
    [InlineData("release:")]
    [InlineData("key: value")]
    public void Anything_else_with_a_colon_is_searched_as_typed(string q)
    {
        var state = Searched(q);

        state.Search.Should().Be(q);
        state.Should().Match<IssueListState>(s => s.Status == "unresolved" && s.Release == null && s.Environment == null && s.Level == null && s.Assigned == null && !s.Bookmarked);
    }

    [Fact]
    public void A_search_with_terms_reads_back_the_same_from_the_address_it_makes()
    {
        var state = Searched("is:regressed environment:staging NullReference");

        var query = QueryHelpers.ParseQuery(new Uri("http://localhost/" + state.ToUrl(5)).Query);
        query["q"].ToString().Should().Be("NullReference");
        string? Get(string key) => query.TryGetValue(key, out var value) ? value.ToString() : null;
        IssueListState.From(Get("q"), Get("environment"), Get("release"), Get("level"), Get("range"), Get("sort"), Get("order"), Get("page"), Get("status"))
            .Should().Be(state);
    }

    [Theory]
    [InlineData("is:bookmarked crash")]
    [InlineData("crash bookmarks:ME")]
    public void My_bookmarks_terms_become_the_bookmarked_filter_and_read_back_from_the_address(string q)
    {
        var state = Searched(q);
        state.Should().Match<IssueListState>(s => s.Bookmarked && s.Search == "crash");

        var url = state.ToUrl(5);
        url.Should().Contain("bookmarked=me");
        var query = QueryHelpers.ParseQuery(new Uri("http://localhost/" + url).Query);
        string? Get(string key) => query.TryGetValue(key, out var value) ? value.ToString() : null;
        IssueListState.From(Get("q"), Get("environment"), Get("release"), Get("level"), Get("range"), Get("sort"), Get("order"), Get("page"), Get("status"), Get("assigned"), Get("bookmarked"))
            .Should().Be(state);
        IssueListState.From(null, null, null, null, null, null, null, null, bookmarked: "<script>").Bookmarked.Should().BeFalse("an unknown value is no filter");
    }

    [Theory]
    [InlineData("bookmarks:ana@example.com", true)]
    [InlineData("bookmarks:me", false)]
    [InlineData("assigned:me", false)]
    [InlineData("!is:resolved", true)]
    [InlineData("is:sleeping crash", true)]
    [InlineData("is:resolved crash", false)]
    [InlineData("https://shop.example/cart", false)]
    [InlineData(@"C:\shop\cart.cs", false)]
    [InlineData("Timeout: 30 s", false)]
    public void What_is_left_of_a_search_holds_a_term_only_when_it_is_shaped_like_one_the_list_does_not_read(string q, bool hasTerm) =>
        Searched(q).SearchHasTerms.Should().Be(hasTerm);
}
