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
/// An issue page's *Merge into…* whose merge ClickHouse took but whose answer broke on the way back (cut short,
/// <see cref="ClickHouseFaultProxy"/> on the merges' inserts only): the page says it was not saved, and the same click once
/// ClickHouse answers properly takes the page to the issue merged into, with the merge entered once in each timeline.
/// Until December 2026 that click answered "One of the issues does not exist (any more) or was merged already." and
/// neither timeline had an entry of the merge.
/// </summary>
public sealed class ClickHouseAnswerFaultMergeTests : DashboardTestContext, IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Cart = Fingerprint("cart");

    private readonly FaultedClickHouseStore _clickHouse = new();

    private ClickHouseFaultProxy Proxy => _clickHouse.Proxy;

    private ErrorHubStore Store => _clickHouse.Store;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await _clickHouse.StartAsync(
            "mergefault",
            [
                Event(Checkout, "InvalidOperationException: Sequence contains no elements", Now.AddMinutes(-6)),
                Event(Checkout, "InvalidOperationException: Sequence contains no elements", Now.AddMinutes(-5)),
                Event(Cart, "NullReferenceException: cart", Now.AddMinutes(-4)),
            ]);
        TemporaryStore.AddStore(Services, Store);
    }

    async Task IAsyncLifetime.DisposeAsync() => await _clickHouse.DisposeAsync();

    [Fact]
    public async Task A_merge_whose_answer_broke_after_the_store_took_it_says_not_saved_and_the_same_click_finishes_it_entered_once()
    {
        var cut = await MergeCartIntoCheckoutMeetingAsync(ClickHouseFault.TruncatedBody, "the merge's answer broke");
        cut.FindAll(".store-error").Should().BeEmpty("the page stays, in the same circuit");
        (await Store.Merges.GetMergesAsync(1)).Should().ContainKey(Cart, "ClickHouse took the merge before its answer broke");

        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest; // healed, without resetting the page's connections
        var navigation = Services.GetRequiredService<NavigationManager>();
        await cut.InvokeAsync(() => cut.Find("form.merge-form").Submit());
        cut.WaitForAssertion(() => navigation.Uri.Should().EndWith(DashboardPaths.Issue(1, Checkout), "merged: the page shows the issue merged into"), TimeSpan.FromSeconds(60));
        cut.FindAll("form.merge-form .form-problem").Should().BeEmpty();
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Merge], "entered once in the issue merged into");
        (await KindsAsync(Cart)).Should().Equal([IssueChangeKind.Merge], "and once in the merged issue");
        (await Store.Issues.GetIssueAsync(1, Checkout))!.EventCount.Should().Be(3);
    }

    [Fact]
    public async Task A_merge_ClickHouse_refused_says_not_saved_and_no_page_tells_of_it()
    {
        // Until December 2026 the merge's entries were written before it: the page said "Not saved", and both issues'
        // activity said "Merged" for good, though ClickHouse had refused the merge and no one made it again.
        await Services.GetRequiredService<ErrorHub.Dashboard.Triage.IssueTriage>().ResolveAsync(1, Checkout);
        await MergeCartIntoCheckoutMeetingAsync(ClickHouseFault.ErrorAnswer, "ClickHouse refused the merge");
        (await Store.Merges.GetMergesAsync(1)).Should().BeEmpty("ClickHouse refused the merge");
        Proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;

        // No one makes it again: each issue's page, opened now, tells what happened and nothing else.
        var target = OpenIssuePage(Checkout);
        target.WaitForAssertion(() => target.FindAll(".timeline-entry.timeline-kind-status").Should().ContainSingle(), TimeSpan.FromSeconds(60));
        target.FindAll(".timeline-entry").Should().ContainSingle("the resolve, and no merge");
        var source = OpenIssuePage(Cart);
        source.WaitForAssertion(() => source.Find(".timeline-empty").TextContent.Should().Be("Nothing happened to this issue yet."), TimeSpan.FromSeconds(60));
        (await KindsAsync(Checkout)).Should().Equal([IssueChangeKind.Status]);
        (await KindsAsync(Cart)).Should().BeEmpty();
    }

    /// <summary>
    /// Cart's issue page, its *Merge into…* Checkout submitted while the merges' inserts meet <paramref name="fault"/>: the page,
    /// once it says the change was not saved.
    /// </summary>
    private async Task<IRenderedComponent<StoreErrorBoundary>> MergeCartIntoCheckoutMeetingAsync(ClickHouseFault fault, string because)
    {
        // Set before the page opens, as changing the fault resets the proxy's open connections (a read under way would fail
        // the whole page); only the merges' inserts meet it, everything else passes through.
        Proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_merges");
        Proxy.Fault = fault;
        var cut = OpenIssuePage(Cart);
        cut.WaitForAssertion(() => cut.Find("select.merge-target").QuerySelectorAll("option").Length.Should().Be(2), TimeSpan.FromSeconds(60));

        await cut.InvokeAsync(() => cut.Find("select.merge-target").Change(Checkout));
        await cut.InvokeAsync(() => cut.Find("form.merge-form").Submit());
        cut.WaitForAssertion(
            () => cut.FindAll("form.merge-form .form-problem").Select(p => p.TextContent).Should().Equal([StoreErrorBoundary.ChangeNotSaved], $"{because} ({Proxy.FaultedRequests} faulted)"),
            TimeSpan.FromSeconds(60));
        return cut;
    }

    private IRenderedComponent<StoreErrorBoundary> OpenIssuePage(string issue)
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo(DashboardPaths.Issue(1, issue));
        return Render<StoreErrorBoundary>(parameters => parameters.AddChildContent<IssueDetails>(page => page.Add(p => p.ProjectId, 1).Add(p => p.Fingerprint, issue)));
    }

    private async Task<IReadOnlyList<IssueChangeKind>> KindsAsync(string issue) =>
        [.. (await Store.History.GetChangesAsync(new IssueChangeQuery(1, issue))).Items.Select(entry => entry.Kind)];
}
