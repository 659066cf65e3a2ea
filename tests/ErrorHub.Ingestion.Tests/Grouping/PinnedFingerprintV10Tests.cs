using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 10 (which version 11 keeps for every event without a handler tag) and what its events carry as legacy
/// fingerprints. Issues are keyed by these values: if one of these tests fails, a rule changed and existing issues would silently split or merge
/// (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV10Tests
{
    [Fact]
    public void Grouping_version_10_follows_version_9()
    {
        GroupingRules.V10.Version.Should().Be(10);
        GroupingRules.V10.Previous.Should().BeSameAs(GroupingRules.V9);
    }

    [Fact]
    public void An_inlined_handlers_failure_is_keyed_by_its_route_and_carries_version_9s_fingerprint()
    {
        var inlined = Inlined("GET /lambda/profile", Framework("Microsoft.AspNetCore.Authorization.AuthorizationMiddleware", "Invoke"));

        var grouped = Grouper.Group(inlined);

        Grouper.Counted(grouped.Components).Should().Equal("type:NullReferenceException", "endpoint:GET /lambda/profile");
        grouped.Fingerprint.Should().Be("04395c730d9bb6523538aa0125ebb4c5");
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(inlined, GroupingRules.V9).Fingerprint);
        Grouper.Counted(Grouper.Group(inlined, GroupingRules.V9).Components).Should().Equal("type:NullReferenceException", "throw:AuthorizationMiddleware.Invoke");
    }

    [Fact]
    public void The_same_handler_with_its_frame_is_the_same_issue_and_its_frame_is_not_counted()
    {
        var kept = Inlined("GET /lambda/profile", InApp("Program+<>c", "<<Main>$>b__0_0", 12, "/src/Repro/Program.cs", 9),
            Framework("Microsoft.AspNetCore.Authorization.AuthorizationMiddleware", "Invoke"));

        var grouped = Grouper.Group(kept);

        grouped.Fingerprint.Should().Be("04395c730d9bb6523538aa0125ebb4c5");
        grouped.Components.Should().Contain(new GroupingComponent(GroupingComponent.AppFrame, "Program.Main.<lambda>", Counts: false));
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(kept, GroupingRules.V9).Fingerprint, "version 9's issue of this handler keeps its events");
    }

    [Fact]
    public void An_exception_thrown_below_the_delegate_counts_its_throw_site_beside_the_route()
    {
        var inlined = Event(Exception("System.InvalidOperationException", "The instance of entity type 'Order' cannot be tracked",
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "ThrowIdentityConflict"),
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "Add"),
            Framework("Microsoft.EntityFrameworkCore.DbContext", "Attach"),
            new FrameRecord("lambda_method12", null, "Anonymously Hosted DynamicMethods Assembly", null, null, null, InApp: false),
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = "PUT /orders/{id}", ["endpoint"] = "HTTP: PUT /orders/{id}" },
        };

        var grouped = Grouper.Group(inlined);

        Grouper.Counted(grouped.Components).Should().Equal("type:InvalidOperationException", "throw:IdentityMap", "endpoint:PUT /orders/{id}");
        grouped.Fingerprint.Should().Be("1f7be2d7d2a66d51299d520c7fadd446");
        grouped.Culprit.Should().Be("PUT /orders/{id}");
    }

    /// <summary>A handler's NullReferenceException as a Release build sends it: the given frames, then the request delegate's, then <paramref name="beyond"/>.</summary>
    private static IncomingEvent Inlined(string route, FrameRecord beyond) => Inlined(route, null, beyond);

    private static IncomingEvent Inlined(string route, FrameRecord? handler, FrameRecord beyond) => Event(Exception(
        "System.NullReferenceException", "Object reference not set to an instance of an object.",
        [
            .. handler is null ? Array.Empty<FrameRecord>() : [handler],
            new FrameRecord("lambda_method9", null, "Anonymously Hosted DynamicMethods Assembly", null, null, null, InApp: false),
            beyond,
            Framework("ErrorHub.AspNetCore.ErrorHubMiddleware", "AwaitAsync"),
        ])) with
    {
        Tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = $"HTTP: {route}" },
    };
}
