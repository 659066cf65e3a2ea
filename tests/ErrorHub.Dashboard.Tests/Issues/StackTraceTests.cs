using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class StackTraceTests : DashboardTestContext
{
    private static FrameRecord App(string method, int line) => new(method, "Shop.Checkout.CheckoutService", "Shop", "src/Shop/Checkout/CheckoutService.cs", line, 9, InApp: true);

    private static FrameRecord Framework(string type, string method) => new(method, type, "System.Private.CoreLib", null, null, null, InApp: false);

    private static List<AngleSharp.Dom.IElement> TopLevelItems(IRenderedComponent<StackTrace> cut) =>
        [.. cut.Find("ol.stack-trace").Children];

    private IRenderedComponent<StackTrace> RenderTrace(params FrameRecord[] frames) =>
        Render<StackTrace>(parameters => parameters.Add(component => component.Frames, frames));

    [Fact]
    public void App_frames_are_shown_and_framework_frames_between_them_are_folded_away()
    {
        var cut = RenderTrace(
            App("PlaceOrderAsync", 42),
            Framework("System.Runtime.CompilerServices.AsyncMethodBuilderCore", "MoveNext"),
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"),
            App("Post", 31));

        // The trace's own items are what the user sees without clicking: frames, and a closed fold.
        var visible = TopLevelItems(cut).Where(item => item.ClassList.Contains("frame")).Select(frame => frame.QuerySelector(".frame-function")!.TextContent);
        visible.Should().Equal("Shop.Checkout.CheckoutService.PlaceOrderAsync", "Shop.Checkout.CheckoutService.Post");

        var fold = cut.Find("details");
        fold.HasAttribute("open").Should().BeFalse("framework frames stay folded until asked for");
        fold.QuerySelector("summary")!.TextContent.Should().Be("2 framework frames");
        fold.QuerySelectorAll(".frame .frame-function").Select(frame => frame.TextContent).Should().Equal(
            "System.Runtime.CompilerServices.AsyncMethodBuilderCore.MoveNext",
            "Microsoft.AspNetCore.Routing.EndpointMiddleware.Invoke");
    }

    [Fact]
    public void Frames_keep_their_order_with_the_fold_where_the_framework_frames_were()
    {
        var cut = RenderTrace(
            Framework("System.Collections.Generic.Dictionary`2", "get_Item"),
            App("PriceOf", 18));

        var items = TopLevelItems(cut);
        items.Should().HaveCount(2);
        items[0].QuerySelector("summary")!.TextContent.Should().Be("1 framework frame");
        items[1].QuerySelector(".frame-function")!.TextContent.Should().Be("Shop.Checkout.CheckoutService.PriceOf");
    }

    [Fact]
    public void A_trace_of_framework_frames_only_is_shown_in_full()
    {
        var cut = RenderTrace(
            Framework("System.Threading.Tasks.Task", "Wait"),
            Framework("System.Threading.Thread", "StartCallback"));

        cut.FindAll("details").Should().BeEmpty();
        cut.FindAll(".frame").Should().HaveCount(2);
    }

    [Fact]
    public void No_frames_says_there_is_no_stack_trace()
    {
        var cut = RenderTrace();

        cut.FindAll("ol").Should().BeEmpty();
        cut.Find("p").TextContent.Should().Be("No stack trace.");
    }
}
