using System.Net;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// A minimal API app's handlers as the .NET SDK sends them, posted over real HTTP into a real SQLite store: lambdas of top-level statements
/// (<c>Program</c>, <c>Main.&lt;lambda&gt;</c>, the <c>route</c> tag), each endpoint's crash its own issue (grouping version 9); and the same
/// handlers as a Release build sends them when the JIT inlined them into the endpoint's request delegate (no frame of the app's code, the
/// generated <c>lambda_method</c> frame first: the frames recorded from a real app in Grouping/MinimalApi/release-handlers.json), each
/// endpoint still its own issue, and one issue with the handler's frame and without it (grouping version 10).
/// </summary>
public sealed class MinimalApiHandlerIngestTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private IngestHost Host => fixture.Host;

    [Fact]
    public async Task A_crash_in_two_handlers_is_two_issues_each_explained_by_its_route()
    {
        var run = Guid.NewGuid().ToString("N");
        // The routes are the run's own too: since version 10 the route, not the lambda's frame, is what counts.
        var profile = HandlerCrash(run, $"GET /account/profile/{run}");
        var order = HandlerCrash(run, $"GET /orders/{{id}}/{run}");

        using var response = await Host.PostAsync(Encode(Batch(profile.Event, order.Event)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var first = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, profile.Id))!;
        var second = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, order.Id))!;
        first.Fingerprint.Should().NotBe(second.Fingerprint, "two endpoints are two issues, though both frames read Program.Main.<lambda>");
        first.Culprit.Should().Be($"GET /account/profile/{run}");
        first.GroupingComponents.Should().ContainInOrder(
            new GroupingComponent(GroupingComponent.AppFrame, $"Shop{run}.Program.Main.<lambda>", Counts: false),
            new GroupingComponent(GroupingComponent.Endpoint, $"GET /account/profile/{run}"));
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, first.Fingerprint))!.EventCount.Should().Be(1);
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, second.Fingerprint))!.EventCount.Should().Be(1);
    }

    [Fact]
    public async Task Handlers_inlined_away_are_one_issue_per_endpoint_before_and_after_the_runtime_promotes_the_endpoint_middleware_and_with_their_frame()
    {
        // The run's own routes, so that no other test's issue is involved.
        var run = Guid.NewGuid().ToString("N")[..8];
        var profileFirstCall = Inlined(run, "GET /lambda/profile", "AuthorizationMiddleware");
        var profileLaterCall = Inlined(run, "GET /lambda/profile", "EndpointMiddleware", "AuthorizationMiddleware");
        var profileWithFrame = Inlined(run, "GET /lambda/profile", "AuthorizationMiddleware", handlerFrame: true);
        var orderFirstCall = Inlined(run, "GET /lambda/orders/{id}", "AuthorizationMiddleware");

        using var response = await Host.PostAsync(Encode(Batch(profileFirstCall.Event, profileLaterCall.Event, profileWithFrame.Event, orderFirstCall.Event)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var first = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, profileFirstCall.Id))!;
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, profileLaterCall.Id))!.Fingerprint.Should().Be(first.Fingerprint,
            "the same handler's failure, once the endpoint middleware is promoted to optimized code and shows in the stack");
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, profileWithFrame.Id))!.Fingerprint.Should().Be(first.Fingerprint,
            "the same handler's failure where its frame was not inlined (a Debug build, other runtime settings)");
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, orderFirstCall.Id))!.Fingerprint.Should().NotBe(first.Fingerprint,
            "another handler's null dereference is another issue, though both stacks hold only ASP.NET Core's frames");
        first.Culprit.Should().Be($"GET /lambda/profile/{run}");
        first.GroupingComponents.Where(c => c.Counts).Should().Equal(
            new GroupingComponent(GroupingComponent.Type, "NullReferenceException"),
            new GroupingComponent(GroupingComponent.Endpoint, $"GET /lambda/profile/{run}"));
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, first.Fingerprint))!.EventCount.Should().Be(3);
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

    private sealed record InlinedCrash(WireMap Event, Guid Id);

    /// <summary>
    /// A handler's NullReferenceException as the SDK sent it from a Release build (Grouping/MinimalApi/release-handlers.json): the request
    /// delegate's generated frame, then the middleware frames <paramref name="first"/> and <paramref name="second"/> (the endpoint middleware's only once the runtime
    /// promoted it: before, it tail-called the delegate), then the SDK's own; the route is the run's own. With <paramref name="handlerFrame"/>,
    /// the handler's own frame above the delegate, as where the JIT did not inline it.
    /// </summary>
    private static InlinedCrash Inlined(string run, string route, string first, string? second = null, bool handlerFrame = false)
    {
        var frames = new List<object?>();
        if (handlerFrame)
        {
            frames.Add(Map(("function", "Main.<lambda>"), ("type", "Program"), ("module", "Repro"), ("in_app", true)));
        }

        frames.Add(Map(("function", "lambda_method9"), ("module", "Anonymously Hosted DynamicMethods Assembly"), ("in_app", false)));
        string[] middleware = second is null ? [first] : [first, second];
        foreach (var name in middleware)
        {
            var type = name == "EndpointMiddleware" ? "Microsoft.AspNetCore.Routing.EndpointMiddleware" : "Microsoft.AspNetCore.Authorization.AuthorizationMiddleware";
            frames.Add(Map(("function", "Invoke"), ("type", type), ("module", "Microsoft.AspNetCore"), ("in_app", false)));
        }

        frames.Add(Map(("function", "AwaitAsync"), ("type", "ErrorHub.AspNetCore.ErrorHubMiddleware"), ("module", "ErrorHub.AspNetCore"), ("in_app", false)));
        return Build(run, route, frames);
    }

    private static InlinedCrash Build(string run, string route, List<object?> frames)
    {
        var id = Guid.NewGuid();
        var routed = $"{route}/{run}";
        var e = CheckoutEvent().With("event_id", id.ToString("N")).With("tags", Map(("route", routed), ("endpoint", $"HTTP: {routed}"))).With("exceptions", Array(
            Map(("type", "System.NullReferenceException"), ("value", "Object reference not set to an instance of an object."), ("module", "System.Private.CoreLib"),
                ("frames", frames.ToArray()))));
        return new InlinedCrash(e, id);
    }
}
