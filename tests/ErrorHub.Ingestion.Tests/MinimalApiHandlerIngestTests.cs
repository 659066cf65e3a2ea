using System.Net;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// A minimal API app's handlers, lambdas of its top-level statements, as the .NET SDK sends them (<c>Program</c>, <c>Main.&lt;lambda&gt;</c>,
/// the <c>route</c> tag), posted over real HTTP into a real SQLite store: each endpoint's crash is its own issue (grouping version 9).
/// </summary>
public sealed class MinimalApiHandlerIngestTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private IngestHost Host => fixture.Host;

    [Fact]
    public async Task A_crash_in_two_handlers_is_two_issues_each_explained_by_its_route()
    {
        var run = Guid.NewGuid().ToString("N");
        var profile = HandlerCrash(run, "GET /account/profile");
        var order = HandlerCrash(run, "GET /orders/{id}");

        using var response = await Host.PostAsync(Encode(Batch(profile.Event, order.Event)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var first = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, profile.Id))!;
        var second = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, order.Id))!;
        first.Fingerprint.Should().NotBe(second.Fingerprint, "two endpoints are two issues, though both frames read Program.Main.<lambda>");
        first.Culprit.Should().Be("GET /account/profile");
        first.GroupingComponents.Should().ContainInOrder(
            new GroupingComponent(GroupingComponent.AppFrame, $"Shop{run}.Program.Main.<lambda>"),
            new GroupingComponent(GroupingComponent.Endpoint, "GET /account/profile"));
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, first.Fingerprint))!.EventCount.Should().Be(1);
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, second.Fingerprint))!.EventCount.Should().Be(1);
    }

    /// <summary>A NullReferenceException thrown in a handler lambda; the app's namespace is the run's own, so no other test's issue is involved.</summary>
    private static (WireMap Event, Guid Id) HandlerCrash(string run, string route)
    {
        var id = Guid.NewGuid();
        var e = CheckoutEvent().With("event_id", id.ToString("N")).With("tags", Map(("route", route), ("endpoint", $"HTTP: {route}"))).With("exceptions", Array(
            Map(("type", "System.NullReferenceException"), ("value", "Object reference not set to an instance of an object."), ("module", "System.Private.CoreLib"),
                ("frames", Array(
                    Map(("function", "Main.<lambda>"), ("type", $"Shop{run}.Program"), ("module", "Shop"), ("in_app", true)),
                    Map(("function", "ExecuteWriteStringResponseAsync"), ("type", "Microsoft.AspNetCore.Http.RequestDelegateFactory"), ("module", "Microsoft.AspNetCore.Http.Extensions"), ("in_app", false)))))));
        return (e, id);
    }
}
