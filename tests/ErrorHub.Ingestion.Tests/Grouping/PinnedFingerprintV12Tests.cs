using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 12 (version 13 gives the same for these events), and what its events carry as legacy fingerprints: a framework type's own throw
/// helper names the component that threw, whichever frame the JIT left after it (the throw site's own, a caller of another type it was inlined
/// into, or the app's code). The frames are those the real app of <see cref="JitInliningTests"/> reported for an <c>HttpContext</c> read after
/// its response (the defect found in davidfowl's AspNetCoreDiagnosticScenarios). Issues are keyed by these values: if one of these tests fails,
/// a rule changed and existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV12Tests
{
    private const string Disposed = "IFeatureCollection has been disposed.\nObject name: 'Collection'.";

    [Fact]
    public void Grouping_version_12_follows_version_11()
    {
        GroupingRules.V12.Version.Should().Be(12);
        GroupingRules.V12.Previous.Should().BeSameAs(GroupingRules.V11);
    }

    [Fact]
    public void An_httpcontext_read_after_the_response_is_one_issue_whatever_the_jit_inlined_and_carries_version_11s_fingerprint()
    {
        var kept = AfterResponse(Feature("ThrowContextDisposed"), Feature("ContextDisposed"), Feature("Fetch"), Feature("Fetch"),
            Response("get_HttpResponseFeature"), Response("get_HasStarted"));
        var inlinedIntoResponse = AfterResponse(Feature("ThrowContextDisposed"), Response("get_HasStarted"));
        var inlinedIntoApp = AfterResponse(Feature("ThrowContextDisposed"));

        var grouped = Grouper.Group(kept);

        Grouper.Counted(grouped.Components).Should().Equal("type:ObjectDisposedException", "throw:FeatureReferences", "app:Shop.Requests.LogAfterResponse");
        grouped.Fingerprint.Should().Be("1e9ef90be93840a5e8e5f8cb5c55d7e4");
        Grouper.Group(inlinedIntoResponse).Fingerprint.Should().Be(grouped.Fingerprint, "Fetch inlined into DefaultHttpResponse.get_HasStarted (tier 1)");
        Grouper.Group(inlinedIntoApp).Fingerprint.Should().Be(grouped.Fingerprint, "the whole getter inlined into the app's method (tiering off)");

        // Version 11 keyed each by the frame after the helper: three issues, which keep receiving their events.
        Grouper.Counted(Grouper.Group(inlinedIntoResponse, GroupingRules.V11).Components).Should().Equal(
            "type:ObjectDisposedException", "throw:DefaultHttpResponse", "app:Shop.Requests.LogAfterResponse");
        Grouper.Counted(Grouper.Group(inlinedIntoApp, GroupingRules.V11).Components).Should().Equal(
            "type:ObjectDisposedException", "app:Shop.Requests.LogAfterResponse");
        Grouper.Group(kept, GroupingRules.V11).Fingerprint.Should().Be(grouped.Fingerprint, "where the frames were kept, version 11 keyed it alike");
        GroupingRules.V12.MayDifferFromPrevious(inlinedIntoResponse).Should().BeTrue();
        Grouper.Group(inlinedIntoResponse).LegacyFingerprint.Should().Be(Grouper.Group(inlinedIntoResponse, GroupingRules.V11).Fingerprint);
        Grouper.Group(inlinedIntoApp).LegacyFingerprint.Should().Be(Grouper.Group(inlinedIntoApp, GroupingRules.V11).Fingerprint);
    }

    [Fact]
    public void Helpers_that_throw_for_every_caller_are_not_read_as_the_component_that_threw()
    {
        // SQLite's exception type throws for the whole library; the runtime's ThrowHelper and Guard classes for every caller; a task awaiter
        // and ExceptionDispatchInfo rethrow what another frame threw: the frame after them stays the throw site, as in version 11.
        var sqlite = Event(Exception("Microsoft.Data.Sqlite.SqliteException", "SQLite Error 19: 'FOREIGN KEY constraint failed'.",
            Framework("Microsoft.Data.Sqlite.SqliteException", "ThrowExceptionForRC"), Framework("Microsoft.Data.Sqlite.SqliteDataReader", "NextResult"),
            InApp("Shop.Orders.OrderService", "PlaceAsync")));
        var awaited = Event(Exception("Grpc.Core.RpcException", "Status(StatusCode=\"Unavailable\")",
            Framework("System.Runtime.CompilerServices.TaskAwaiter", "ThrowForNonSuccess"), Framework("Grpc.Core.Internal.AsyncCall`2", "UnaryCall"),
            InApp("Shop.Stock.StockClient", "Reserve")));

        Grouper.Counted(Grouper.Group(sqlite).Components).Should().Equal("type:SqliteException", "throw:SqliteDataReader", "app:Shop.Orders.OrderService.PlaceAsync");
        Grouper.Counted(Grouper.Group(awaited).Components).Should().Equal("type:RpcException", "throw:AsyncCall", "app:Shop.Stock.StockClient.Reserve");
        Grouper.Group(sqlite).Fingerprint.Should().Be(Grouper.Group(sqlite, GroupingRules.V11).Fingerprint);
        Grouper.Group(awaited).Fingerprint.Should().Be(Grouper.Group(awaited, GroupingRules.V11).Fingerprint);
    }

    [Fact]
    public void A_guard_reached_through_its_types_own_helper_is_still_keyed_by_the_apps_frame()
    {
        // An argument refused is the caller's bug wherever it is thrown: the helper's type is shown, as the guard, not counted.
        var refused = Event(Exception("System.ArgumentOutOfRangeException", "Specified argument was out of the range of valid values. (Parameter 'count')",
            Framework("Shop.Vendor.Pager", "ThrowCountOutOfRange") with { InApp = false, Module = "Vendor" }, InApp("Shop.Catalog.CatalogPage", "Load")));

        Grouper.Counted(Grouper.Group(refused).Components).Should().Equal("type:ArgumentOutOfRangeException", "app:Shop.Catalog.CatalogPage.Load");
    }

    [Fact]
    public void The_issues_look_alikes_stay_two_issues()
    {
        var tracked = Event(Exception("System.InvalidOperationException", "The instance of entity type 'Order' cannot be tracked because another instance with the key value '{Id: 7}' is already being tracked.",
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "ThrowIdentityConflict"),
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "Add"), InApp("Shop.Orders.OrderHandler", "Handle")));
        var trackedInlined = Event(Exception(tracked.Exceptions[0].Type, tracked.Exceptions[0].Value,
            tracked.Exceptions[0].Frames[0], Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.StateManager", "StartTracking"),
            InApp("Shop.Orders.OrderHandler", "Handle")));
        var empty = Event(Exception("System.InvalidOperationException", "Sequence contains no elements",
            Framework("System.Linq.ThrowHelper", "ThrowNoElementsException"), Framework("System.Linq.Enumerable", "First"), InApp("Shop.Orders.OrderHandler", "Handle")));

        Grouper.Counted(Grouper.Group(tracked).Components).Should().Equal("type:InvalidOperationException", "throw:IdentityMap", "app:Shop.Orders.OrderHandler.Handle");
        Grouper.Group(trackedInlined).Fingerprint.Should().Be(Grouper.Group(tracked).Fingerprint, "IdentityMap.Add inlined into StateManager's caller");
        Grouper.Counted(Grouper.Group(empty).Components).Should().Equal("type:InvalidOperationException", "app:Shop.Orders.OrderHandler.Handle");
        Grouper.Group(empty).Fingerprint.Should().NotBe(Grouper.Group(tracked).Fingerprint);
    }

    private static IncomingEvent AfterResponse(params FrameRecord[] framework) => Event(Exception("System.ObjectDisposedException", Disposed,
        [.. framework, InApp("Shop.Requests", "LogAfterResponse"), InApp("Shop.Failures+<>c", "<Sync>b__2_0")]));

    private static FrameRecord Feature(string function) => Framework("Microsoft.AspNetCore.Http.Features.FeatureReferences`1", function) with { Module = "Microsoft.AspNetCore.Http.Features" };

    private static FrameRecord Response(string function) => Framework("Microsoft.AspNetCore.Http.DefaultHttpResponse", function) with { Module = "Microsoft.AspNetCore.Http" };
}
