using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 11 (version 12 gives the same for these events), and what its events carry as legacy fingerprints: a named handler method the
/// JIT inlined into its endpoint's request delegate is keyed by the method the endpoint's metadata names (the SDK's <c>handler</c> tag), as its
/// frame keys it where the frame is kept. Issues are keyed by these values: if one of these tests fails, a rule changed and existing issues
/// would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV11Tests
{
    private const string Route = "GET /static/stock";

    [Fact]
    public void Grouping_version_11_follows_version_10()
    {
        GroupingRules.V11.Version.Should().Be(11);
        GroupingRules.V11.Previous.Should().BeSameAs(GroupingRules.V10);
    }

    [Fact]
    public void An_inlined_method_handler_is_keyed_by_its_method_as_its_kept_frame_is_and_carries_version_10s_fingerprint()
    {
        var inlined = Stock(handlerFrame: false);
        var kept = Stock(handlerFrame: true);

        var grouped = Grouper.Group(inlined);

        Grouper.Counted(grouped.Components).Should().Equal("type:InvalidOperationException", "app:Handlers.Stock");
        grouped.Components.Should().Contain(new GroupingComponent(GroupingComponent.Endpoint, Route, Counts: false));
        grouped.Fingerprint.Should().Be("37f67618911bf964a8793c6d63349c7a");
        Grouper.Group(kept).Fingerprint.Should().Be(grouped.Fingerprint, "the same method with and without its frame (Debug and Release, runtime settings)");
        grouped.Culprit.Should().Be("Handlers.Stock");

        // Version 10 keyed the inlined handler by its route: that issue keeps receiving its events.
        GroupingRules.V11.MayDifferFromPrevious(inlined).Should().BeTrue();
        Grouper.Counted(Grouper.Group(inlined, GroupingRules.V10).Components).Should().Equal("type:InvalidOperationException", "endpoint:GET /static/stock");
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(inlined, GroupingRules.V10).Fingerprint);
        Grouper.Group(kept).Fingerprint.Should().Be(Grouper.Group(kept, GroupingRules.V10).Fingerprint, "a kept frame was the key in version 10 too");
    }

    [Fact]
    public void An_inlined_razor_page_handler_is_keyed_by_the_handler_the_request_ran_as_its_kept_frame_is()
    {
        // MVC's page executor calls a page's handler through a compiled lambda, as it calls an action: the JIT may inline a small handler
        // into it. A page's endpoint holds all its handlers; the SDK sends the one the request ran.
        var inlined = PageHandler("OnGet", handlerFrame: false);
        var kept = PageHandler("OnGet", handlerFrame: true);

        var grouped = Grouper.Group(inlined);

        Grouper.Counted(grouped.Components).Should().Equal("type:InvalidOperationException", "app:Shop.Pages.ProfileModel.OnGet");
        Grouper.Group(kept).Fingerprint.Should().Be(grouped.Fingerprint, "one handler with and without its frame");
        grouped.Culprit.Should().Be("Shop.Pages.ProfileModel.OnGet");
        Grouper.Group(PageHandler("OnPostDelete", handlerFrame: false)).Fingerprint.Should().NotBe(grouped.Fingerprint,
            "another handler of the same page (its route is the same) is another issue");
        Grouper.Group(PageHandler("OnGet", handlerFrame: false, tagged: false)).Fingerprint.Should().NotBe(grouped.Fingerprint,
            "without the tag (an SDK before it) the inlined handler is keyed by the page's route, as version 10 keyed it");
    }

    [Fact]
    public void The_handler_method_called_by_another_endpoints_handler_is_the_same_issue()
    {
        // Another endpoint's lambda calls the same method: its frame is kept (the lambda was not inlined away around it) and is the key.
        var fromAnother = Event(Exception("System.InvalidOperationException", "The stock is closed.",
            InApp("Handlers", "Stock"), InApp("Program+<>c", "<<Main>$>b__0_7"), Delegate(),
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = "GET /lambda/restock", ["endpoint"] = "HTTP: GET /lambda/restock" },
        };

        Grouper.Group(fromAnother).Fingerprint.Should().Be(Grouper.Group(Stock(handlerFrame: false)).Fingerprint, "one method, one issue whoever called it");
    }

    [Fact]
    public void A_library_that_threw_below_the_inlined_handler_counts_beside_the_method()
    {
        FrameRecord[] below =
        [
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "ThrowIdentityConflict"),
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "Add"),
            Framework("Microsoft.EntityFrameworkCore.DbContext", "Attach"),
        ];
        var inlined = Handler("PUT /orders/{id}", "Shop.Api.OrderHandlers.Save", "System.InvalidOperationException", [.. below]);
        var kept = Handler("PUT /orders/{id}", "Shop.Api.OrderHandlers.Save", "System.InvalidOperationException", [.. below, InApp("Shop.Api.OrderHandlers", "Save")]);

        var grouped = Grouper.Group(inlined);

        Grouper.Counted(grouped.Components).Should().Equal("type:InvalidOperationException", "throw:IdentityMap", "app:Shop.Api.OrderHandlers.Save");
        grouped.Fingerprint.Should().Be("ca3ca31654c581067d940578bd667946");
        Grouper.Group(kept).Fingerprint.Should().Be(grouped.Fingerprint);
    }

    [Fact]
    public void Without_the_handler_tag_an_inlined_handler_groups_as_version_10_and_computes_no_older_version()
    {
        var olderSdk = Stock(handlerFrame: false, handlerTag: null);

        GroupingRules.V11.MayDifferFromPrevious(olderSdk).Should().BeFalse();
        Grouper.Group(olderSdk).Fingerprint.Should().Be(Grouper.Group(olderSdk, GroupingRules.V10).Fingerprint);
        Grouper.Counted(Grouper.Group(olderSdk).Components).Should().Equal("type:InvalidOperationException", "endpoint:GET /static/stock");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Stock")]
    [InlineData(".Stock")]
    [InlineData("Handlers.")]
    [InlineData("Program.<<Main>$>b__0_3")]
    [InlineData("Program+<>c.<Main>b__0_1")]
    [InlineData("Handlers.Stock; DROP TABLE issues")]
    [InlineData("Handlers.Sto\nck")]
    [InlineData("[Filtered]")]
    public void A_handler_tag_that_names_no_method_of_a_type_is_not_read(string tag)
    {
        var odd = Stock(handlerFrame: false, handlerTag: tag);

        Grouper.Group(odd).Fingerprint.Should().Be(Grouper.Group(odd, GroupingRules.V10).Fingerprint, "the route keys it, as version 10 did");
        Grouper.Group(odd).Culprit.Should().Be(Route);
    }

    [Fact]
    public void An_oversized_handler_tag_is_read_as_any_name_and_keys_alike_each_time()
    {
        var name = "Shop." + new string('A', 5000) + ".Stock";
        var first = Grouper.Group(Stock(handlerFrame: false, handlerTag: name));

        first.Fingerprint.Should().Be(Grouper.Group(Stock(handlerFrame: false, handlerTag: name)).Fingerprint);
        first.Fingerprint.Should().NotBe(Grouper.Group(Stock(handlerFrame: false)).Fingerprint);
    }

    [Fact]
    public void A_kept_frame_wins_over_the_handler_tag()
    {
        // A handler tag that disagrees with the kept frame (a filter's method, say) changes nothing: the tag only stands in for a missing frame.
        var kept = Stock(handlerFrame: true, handlerTag: "Handlers.Other");

        Grouper.Group(kept).Fingerprint.Should().Be(Grouper.Group(Stock(handlerFrame: true)).Fingerprint);
    }

    [Fact]
    public void Lambdas_of_a_route_groups_mapping_method_are_each_their_endpoints_issue_and_carry_version_10s_fingerprint()
    {
        // A route group mapped in a method of its own (TodoApi's MapTodos): every endpoint's lambda reads TodoApi.TodoApi.MapTodos.<lambda>,
        // so version 10 made one issue of a null in GET /todos/{id} and one in POST /todos/.
        var get = GroupLambda("GET /todos/{id}", "<MapTodos>b__0_1");
        var post = GroupLambda("POST /todos/", "<MapTodos>b__0_3");

        var grouped = Grouper.Group(get);

        Grouper.Counted(grouped.Components).Should().Equal("type:NullReferenceException", "endpoint:GET /todos/{id}");
        grouped.Fingerprint.Should().Be("687a31a74be89431fa5e26b600c68e9e");
        Grouper.Group(post).Fingerprint.Should().NotBe(grouped.Fingerprint, "two endpoints' handlers are two bugs");
        Grouper.Group(GroupLambda("GET /todos/{id}", "<MapTodos>b__0_2")).Fingerprint.Should().Be(grouped.Fingerprint, "a lambda added above shifts the ordinal");
        Grouper.Group(GroupLambda("GET /todos/{id}", "<MapTodos>b__0_1", inlined: true)).Fingerprint.Should().Be(grouped.Fingerprint, "inlined into the request delegate");

        Grouper.Group(get, GroupingRules.V10).Fingerprint.Should().Be(Grouper.Group(post, GroupingRules.V10).Fingerprint, "version 10's one issue");
        GroupingRules.V11.MayDifferFromPrevious(get).Should().BeTrue();
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(get, GroupingRules.V10).Fingerprint, "version 10's issue keeps receiving its events");
    }

    [Fact]
    public void An_async_lambda_handler_after_its_await_is_its_endpoints_as_before_it()
    {
        var before = GroupLambda("POST /todos/", "<MapTodos>b__0_3");
        var after = Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
            InApp("TodoApi.TodoApi+<>c+<<MapTodos>b__0_3>d", "MoveNext"),
            Framework("Microsoft.AspNetCore.Http.RequestDelegateFactory+<ExecuteTaskResult>d__150`1", "MoveNext"),
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware+<<Invoke>g__AwaitRequestTask|7_0>d", "MoveNext"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = "POST /todos/", ["endpoint"] = "HTTP: POST /todos/" },
        };

        Grouper.Group(after).Fingerprint.Should().Be(Grouper.Group(before).Fingerprint);
    }

    [Fact]
    public void A_lambda_the_apps_own_code_calls_counts_as_itself_whichever_endpoint_reached_it()
    {
        // A LINQ selector in a service that two endpoints' handlers call: the selector is the app frame, and its caller is LINQ, not an endpoint.
        IncomingEvent Through(string route, string handler) => Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
            InApp("TodoApi.TodoService+<>c", "<Total>b__2_0"), Framework("System.Linq.Enumerable", "Sum"), InApp("TodoApi.TodoService", "Total"),
            InApp("TodoApi.TodoApi+<>c", handler), Delegate(), Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = $"HTTP: {route}" },
        };

        var fromGet = Grouper.Group(Through("GET /todos/", "<MapTodos>b__0_0"));

        fromGet.Fingerprint.Should().Be(Grouper.Group(Through("GET /todos/{id}", "<MapTodos>b__0_1")).Fingerprint);
        Grouper.Counted(fromGet.Components).Should().NotContain(component => component.StartsWith("endpoint:", StringComparison.Ordinal));
    }

    /// <summary>A null dereference in a lambda of TodoApi's <c>MapTodos</c> that the endpoint's request delegate called (or, inlined, into which it was).</summary>
    private static IncomingEvent GroupLambda(string route, string lambda, bool inlined = false) =>
        Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
            [.. inlined ? Array.Empty<FrameRecord>() : [InApp("TodoApi.TodoApi+<>c", lambda)], Delegate(), Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke")])) with
        {
            Tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = $"HTTP: {route}" },
        };

    private static FrameRecord Delegate() => new("lambda_method9", null, "Anonymously Hosted DynamicMethods Assembly", null, null, null, InApp: false);

    /// <summary>A Razor page's handler refusing a profile, as a Release build sends it: inlined into MVC's compiled executor or its frame kept.</summary>
    private static IncomingEvent PageHandler(string handler, bool handlerFrame, bool tagged = true)
    {
        const string route = "GET /profile/{handle}";
        var tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = "/Profile", ["http.method"] = "GET" };
        if (tagged)
        {
            tags["handler"] = "Shop.Pages.ProfileModel." + handler;
        }

        return Event(Exception("System.InvalidOperationException", "Profile carol could not be loaded",
            [.. handlerFrame ? [InApp("Shop.Pages.ProfileModel", handler)] : Array.Empty<FrameRecord>(), Delegate(),
                Framework("Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure.ExecutorFactory+VoidHandlerMethod", "Execute"),
                Framework("Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure.PageActionInvoker", "InvokeHandlerMethodAsync")])) with
        {
            Tags = tags,
        };
    }

    /// <summary>GET /static/stock's <c>Handlers.Stock</c> refusing a closed stock, as a Release build sends it: inlined (the delegate threw) or its frame kept.</summary>
    private static IncomingEvent Stock(bool handlerFrame, string? handlerTag = "Handlers.Stock") =>
        Handler(Route, handlerTag, "System.InvalidOperationException", handlerFrame ? [InApp("Handlers", "Stock")] : []);

    private static IncomingEvent Handler(string route, string? handlerTag, string type, FrameRecord[] aboveDelegate)
    {
        var tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = $"HTTP: {route}", ["http.method"] = "GET" };
        if (handlerTag is not null)
        {
            tags["handler"] = handlerTag;
        }

        return Event(Exception(type, "The stock is closed.",
            [.. aboveDelegate, Delegate(), Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"), Framework("ErrorHub.AspNetCore.ErrorHubMiddleware", "AwaitAsync")])) with
        {
            Tags = tags,
        };
    }
}
