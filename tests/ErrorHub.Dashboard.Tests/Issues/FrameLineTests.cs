using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class FrameLineTests : DashboardTestContext
{
    private AngleSharp.Dom.IElement RenderLine(FrameRecord frame) =>
        Render<FrameLine>(parameters => parameters.Add(component => component.Frame, frame)).Find("li");

    [Fact]
    public void An_app_frame_is_emphasized_and_reads_type_method_in_file_line_column()
    {
        var line = RenderLine(new FrameRecord("PlaceOrderAsync", "Shop.Checkout.CheckoutService", "Shop", "src/Shop/Checkout/CheckoutService.cs", 42, 17, InApp: true));

        line.ClassList.Should().Contain("in-app");
        line.TextContent.Should().Be("Shop.Checkout.CheckoutService.PlaceOrderAsync in src/Shop/Checkout/CheckoutService.cs:42:17");
        line.QuerySelector(".frame-file")!.TextContent.Should().Be("src/Shop/Checkout/CheckoutService.cs:42:17");
    }

    [Fact]
    public void A_framework_frame_without_symbols_names_its_module_instead_of_a_file()
    {
        var line = RenderLine(new FrameRecord("Invoke", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Microsoft.AspNetCore.Routing", null, null, null, InApp: false));

        line.ClassList.Should().NotContain("in-app");
        line.TextContent.Should().Be("Microsoft.AspNetCore.Routing.EndpointMiddleware.Invoke in Microsoft.AspNetCore.Routing");
        line.QuerySelectorAll(".frame-file").Should().BeEmpty();
    }

    [Fact]
    public void A_frame_with_neither_file_nor_module_shows_the_function_alone()
    {
        var line = RenderLine(new FrameRecord("lambda_method12", null, null, null, null, null, InApp: false));

        line.TextContent.Should().Be("lambda_method12");
    }

    [Fact]
    public void Markup_in_names_and_paths_is_shown_as_text()
    {
        var line = RenderLine(new FrameRecord("<b>Run</b>", "Shop.<script>alert(1)</script>", "Shop", "src/<img src=x>.cs", 1, null, InApp: true));

        line.TextContent.Should().Be("Shop.<script>alert(1)</script>.<b>Run</b> in src/<img src=x>.cs:1");
        line.QuerySelectorAll("b, script, img").Should().BeEmpty();
    }
}
