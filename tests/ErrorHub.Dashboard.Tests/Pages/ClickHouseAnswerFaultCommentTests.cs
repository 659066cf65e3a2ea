using ErrorHub.Dashboard.Components.Layout;
using ErrorHub.Dashboard.Components.Pages;
using ErrorHub.Dashboard.Formatting;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// A comment on an open issue page whose insert ClickHouse took but whose answer broke on the way back (cut short or
/// reset, <see cref="ClickHouseFaultProxy"/> on the timeline's inserts only): the page says it was not saved and keeps the
/// text and its circuit, and the same click once ClickHouse answers properly leaves the comment on the timeline once.
/// Until December 2026 each click stored a comment of its own, so the comment showed twice.
/// </summary>
public sealed class ClickHouseAnswerFaultCommentTests : DashboardTestContext, IAsyncLifetime
{
    private const string Typed = "Sent while the answer broke";
    private static readonly string Checkout = Fingerprint("checkout");

    private readonly FaultedClickHouseStore _clickHouse = new();

    public static TheoryData<ClickHouseFault> AnswerBreaksAfterTheInsert => [ClickHouseFault.TruncatedBody, ClickHouseFault.ResetMidAnswer];

    private ClickHouseFaultProxy Proxy => _clickHouse.Proxy;

    private ErrorHubStore Store => _clickHouse.Store;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await _clickHouse.StartAsync("commentfault", [Event(Checkout, "InvalidOperationException: Sequence contains no elements", Now.AddMinutes(-5))]);
        TemporaryStore.AddStore(Services, Store);
    }

    async Task IAsyncLifetime.DisposeAsync() => await _clickHouse.DisposeAsync();

    [Theory]
    [MemberData(nameof(AnswerBreaksAfterTheInsert))]
    public async Task A_comment_whose_answer_broke_after_the_store_took_it_says_not_saved_and_is_stored_once_when_sent_again(ClickHouseFault fault)
    {
        // Set before the page opens, as changing the fault resets the proxy's open connections (a read under way would fail
        // the whole page); only the timeline's inserts meet it, everything else passes through.
        Proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
        Proxy.Fault = fault;
        Services.GetRequiredService<NavigationManager>().NavigateTo(DashboardPaths.Issue(1, Checkout));
        var cut = Render<StoreErrorBoundary>(parameters => parameters.AddChildContent<IssueDetails>(page => page.Add(p => p.ProjectId, 1).Add(p => p.Fingerprint, Checkout)));
        cut.WaitForAssertion(() => cut.Find(".timeline-empty").TextContent.Should().Be("Nothing happened to this issue yet."));
        WaitUntilIssuePageRead(cut);

        await cut.InvokeAsync(() => cut.Find("textarea.comment-text").Input(Typed));
        await cut.InvokeAsync(() => cut.Find("form.comment-form").Submit());
        cut.WaitForAssertion(
            () => cut.FindAll(".comment-actions .form-problem").Select(p => p.TextContent).Should().Equal(
                [StoreErrorBoundary.ChangeNotSaved],
                $"the insert's answer broke ({Proxy.FaultedRequests} faulted; page: {string.Join(" | ", cut.FindAll(".store-error, .timeline-comment").Select(e => e.TextContent.Trim()))})"),
            TimeSpan.FromSeconds(60));
        cut.FindAll(".store-error").Should().BeEmpty("the page stays, in the same circuit");
        cut.Find("textarea.comment-text").GetAttribute("value").Should().Be(Typed, "kept, to be sent again");
        Proxy.FaultedRequests.Should().BePositive();
        (await CommentsAsync()).Should().ContainSingle("ClickHouse took the insert before its answer broke");

        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest; // healed, without resetting the page's connections
        await cut.InvokeAsync(() => cut.Find("form.comment-form").Submit());
        cut.WaitForAssertion(() => cut.FindAll(".timeline-comment").Select(c => c.TextContent).Should().Equal([Typed]), TimeSpan.FromSeconds(60));
        cut.FindAll(".comment-actions .form-problem").Should().BeEmpty();
        (await CommentsAsync()).Should().ContainSingle("the comment sent twice is stored once");
    }

    private async Task<IReadOnlyList<IssueChange>> CommentsAsync() =>
        [.. (await Store.History.GetChangesAsync(new IssueChangeQuery(1, Checkout))).Items.Where(c => c.Kind == IssueChangeKind.Comment)];
}
