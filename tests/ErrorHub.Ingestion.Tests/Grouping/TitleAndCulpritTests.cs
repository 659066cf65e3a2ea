using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Decoding;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

public sealed class TitleAndCulpritTests
{
    [Fact]
    public void The_title_is_the_root_causes_short_type_and_the_first_line_of_its_message_with_the_wrapper_beside_it()
    {
        var errorEvent = Event(
            Exception("Microsoft.EntityFrameworkCore.DbUpdateException", "An error occurred while saving the entity changes. See the inner exception for details."),
            Exception("Microsoft.Data.Sqlite.SqliteException", "SQLite Error 19: 'FOREIGN KEY constraint failed'.\nwhile inserting into Orders"));

        var grouped = Grouper.Group(errorEvent);

        grouped.Title.Should().Be("SqliteException: SQLite Error 19: 'FOREIGN KEY constraint failed'.");
        grouped.TitleWrapper.Should().Be("DbUpdateException");
    }

    [Fact]
    public void An_exception_thrown_as_it_is_has_no_wrapper_and_several_wrappers_show_the_outermost()
    {
        Grouper.Group(Event(Exception("System.InvalidOperationException", "Checkout failed"))).TitleWrapper.Should().BeNull();
        Grouper.Group(Event(
            Exception("System.Reflection.TargetInvocationException", "Exception has been thrown by the target of an invocation."),
            Exception("System.AggregateException", "One or more errors occurred. (boom)"),
            Exception("System.InvalidOperationException", "boom"))).TitleWrapper.Should().Be("TargetInvocationException");
    }

    [Theory]
    [InlineData("System.NullReferenceException", "", "NullReferenceException")]
    [InlineData("System.NullReferenceException", "  \n  ", "NullReferenceException")]
    [InlineData("TopLevelException", "boom", "TopLevelException: boom")]
    [InlineData("Shop.Cart+CheckoutException", "boom", "CheckoutException: boom")]
    [InlineData("Shop.ValidationException`1[[System.String, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]", "bad", "ValidationException: bad")]
    [InlineData("System.Exception", "\r\n\r\n  second line is the first with text  \r\nthird", "Exception: second line is the first with text")]
    public void The_short_type_has_no_namespace_nesting_or_generic_arguments_and_blank_lines_are_skipped(string type, string message, string title)
    {
        Grouper.Group(Event(Exception(type, message))).Title.Should().Be(title);
    }

    [Theory]
    [InlineData("System.", "System: boom")]
    [InlineData("Outer+", "Outer: boom")]
    [InlineData(".", ".: boom")]
    [InlineData("<>", "<>: boom")]
    public void A_type_name_without_a_last_segment_still_gives_a_title(string type, string title)
    {
        Grouper.Group(Event(Exception(type, "boom"))).Title.Should().Be(title);
    }

    [Theory]
    [InlineData("\u200B\u200B\u200B", "(no message)")]
    [InlineData("\uFEFF\u2060\u200D", "(no message)")]
    [InlineData("\u2800\u3164", "(no message)")]
    [InlineData("\u200B\nthe real first line", "the real first line")]
    public void A_message_made_only_of_invisible_characters_does_not_make_an_invisible_title(string message, string title)
    {
        Grouper.Group(Message(message)).Title.Should().Be(title);
        Grouper.Group(Event(Exception("System.InvalidOperationException", message))).Title.Should().Be(
            title == "(no message)" ? "InvalidOperationException" : "InvalidOperationException: " + title);
    }

    [Fact]
    public void A_message_event_is_titled_by_its_first_line()
    {
        Grouper.Group(Message("\nPayment provider answered 502\nbody: <html>")).Title.Should().Be("Payment provider answered 502");
    }

    [Fact]
    public void A_long_title_is_cut_to_200_characters_with_an_ellipsis()
    {
        var title = Grouper.Group(Event(Exception("System.Exception", new string('m', 500)))).Title;

        title.Should().HaveLength(200).And.StartWith("Exception: mmm").And.EndWith("m…");
    }

    [Fact]
    public void A_long_type_name_still_gives_a_title_of_at_most_200_characters()
    {
        var title = Grouper.Group(Event(Exception("Shop." + new string('T', 256), "message"))).Title;

        title.Length.Should().BeLessThanOrEqualTo(200);
        title.Should().EndWith("…");
    }

    [Fact]
    public void A_long_message_title_is_cut_to_200_characters()
    {
        Grouper.Group(Message(new string('x', 1000))).Title.Should().HaveLength(200);
    }

    [Theory]
    [InlineData(187)]
    [InlineData(188)]
    [InlineData(189)]
    public void Cutting_the_title_never_splits_a_surrogate_pair(int padding)
    {
        var message = new string('a', padding) + string.Concat(Enumerable.Repeat("😀", 20));

        var title = Grouper.Group(Event(Exception("System.Exception", message))).Title;

        title.Length.Should().BeLessThanOrEqualTo(200);
        var withoutEllipsis = title[..^1];
        char.IsHighSurrogate(withoutEllipsis[^1]).Should().BeFalse("the last kept character must not be half a pair: {0}", title);
    }

    [Fact]
    public void The_culprit_is_the_root_causes_first_app_frame_normalized()
    {
        var errorEvent = Event(Exception("System.InvalidOperationException", "x",
            Framework("System.Linq.Enumerable", "First"),
            InApp("Shop.Cart.CartService+<CheckoutAsync>d__4", "MoveNext"),
            InApp("Shop.Api.CheckoutEndpoints", "Post")));

        Grouper.Group(errorEvent).Culprit.Should().Be("Shop.Cart.CartService.CheckoutAsync");
    }

    [Fact]
    public void The_culprit_comes_from_an_inner_exception_when_the_outer_one_has_no_in_app_frame()
    {
        var errorEvent = Event(
            Exception("System.AggregateException", "One or more errors occurred.", Framework("System.Threading.Tasks.Task", "Wait")),
            Exception("System.InvalidOperationException", "x", InApp("Shop.Worker", "Run")));

        Grouper.Group(errorEvent).Culprit.Should().Be("Shop.Worker.Run");
    }

    [Fact]
    public void The_culprit_skips_the_apps_own_throw_helpers_and_library_frames_the_client_marked_in_app()
    {
        var errorEvent = Event(Exception("System.InvalidOperationException", "x",
            InApp("Shop.Common.ThrowHelper", "ThrowNotFound"),
            InApp("Newtonsoft.Json.JsonConvert", "DeserializeObject"),
            InApp("Shop.Orders.OrderService", "Load")));

        Grouper.Group(errorEvent).Culprit.Should().Be("Shop.Orders.OrderService.Load");
    }

    [Fact]
    public void Without_in_app_frames_the_culprit_is_the_throw_site_and_without_frames_the_logger()
    {
        Grouper.Group(Event(Exception("E", "x", Framework("System.Net.Http.HttpClient", "SendAsync")))).Culprit
            .Should().Be("System.Net.Http.HttpClient.SendAsync");
        Grouper.Group(Message("hello", logger: "Shop.Payments")).Culprit.Should().Be("Shop.Payments");
        Grouper.Group(Message("hello", logger: null)).Culprit.Should().BeEmpty();
    }

    /// <summary>A minimal API handler in top-level statements, as the runtime names it: Program+&lt;&gt;c.&lt;&lt;Main&gt;$&gt;b__0_3.</summary>
    private static IncomingEvent MinimalApiCrash(IReadOnlyDictionary<string, string> tags, params FrameRecord[] appFrames) => Event(
        Exception("System.InvalidOperationException", "Bundle 'summer-kit' cannot be checked out",
        [
            Framework("System.Linq.ThrowHelper", "ThrowNoElementsException"),
            .. appFrames,
            InApp("Program+<>c", "<<Main>$>b__0_3", 41, "/src/Shop/Program.cs", 9),
            Framework("Microsoft.AspNetCore.Http.RequestDelegateFactory", "ExecuteTaskResult"),
        ])) with { Tags = tags };

    [Fact]
    public void A_minimal_api_lambda_is_named_by_its_route()
    {
        var withRoute = MinimalApiCrash(new Dictionary<string, string> { ["route"] = "POST /checkout/{bundle}", ["endpoint"] = "HTTP: POST /checkout/{bundle}" });
        var without = MinimalApiCrash(new Dictionary<string, string>());

        Grouper.Group(withRoute).Culprit.Should().Be("POST /checkout/{bundle}");
        Grouper.Group(without).Culprit.Should().Be("Program.Main.<lambda>", "without a route there is nothing better to show");
        Grouper.Group(withRoute, GroupingRules.V8).Fingerprint.Should().Be(Grouper.Group(without, GroupingRules.V8).Fingerprint,
            "until version 9 the culprit was only a name; since version 9 the route counts too (PinnedFingerprintV9Tests)");
    }

    [Fact]
    public void The_endpoints_display_name_serves_when_no_route_was_sent()
    {
        var crash = MinimalApiCrash(new Dictionary<string, string> { ["endpoint"] = "HTTP: GET /health", ["route"] = "  " });

        Grouper.Group(crash).Culprit.Should().Be("HTTP: GET /health");
        Grouper.Group(MinimalApiCrash(new Dictionary<string, string> { ["route"] = "[Filtered]" })).Culprit.Should().Be("Program.Main.<lambda>");
    }

    [Fact]
    public void A_lambda_inside_the_apps_own_methods_or_a_named_method_keeps_its_name()
    {
        var tags = new Dictionary<string, string> { ["route"] = "POST /checkout/{bundle}" };

        // The lambda is called by the app's own CheckoutService, so it is not the endpoint's handler.
        Grouper.Group(MinimalApiCrash(tags, InApp("Shop.Checkout.CheckoutService+<>c", "<PlaceOrder>b__2_0", 12), InApp("Shop.Checkout.CheckoutService", "PlaceOrder", 30)))
            .Culprit.Should().Be("Shop.Checkout.CheckoutService.PlaceOrder.<lambda>");

        // A named method called by the handler says more than the route.
        Grouper.Group(MinimalApiCrash(tags, InApp("Shop.Checkout.CheckoutService", "PlaceOrder", 30)))
            .Culprit.Should().Be("Shop.Checkout.CheckoutService.PlaceOrder");
    }

    [Fact]
    public void An_async_minimal_api_lambda_is_named_by_its_route_too()
    {
        var crash = Event(Exception("System.InvalidOperationException", "boom",
            InApp("Program+<>c+<<<Main>$>b__0_4>d", "MoveNext", 55, "/src/Shop/Program.cs"),
            Framework("Microsoft.AspNetCore.Http.RequestDelegateFactory", "ExecuteTaskResult"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = "GET /orders/{id:int}" },
        };

        Grouper.Group(crash).Culprit.Should().Be("GET /orders/{id:int}");
    }
}
