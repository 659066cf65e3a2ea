using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class ExceptionChainTests : DashboardTestContext
{
    private static readonly FrameRecord[] CheckoutFrames =
    [
        new("PlaceOrderAsync", "Shop.Checkout.CheckoutService", "Shop", "src/Shop/Checkout/CheckoutService.cs", 42, 17, InApp: true),
    ];

    private static readonly FrameRecord[] DictionaryFrames =
    [
        new("get_Item", "System.Collections.Generic.Dictionary`2", "System.Private.CoreLib", null, null, null, InApp: false),
        new("PriceOf", "Shop.Catalog.BundlePrices", "Shop", "src/Shop/Catalog/BundlePrices.cs", 18, 13, InApp: true),
    ];

    private IRenderedComponent<ExceptionChain> RenderChain(params ExceptionRecord[] exceptions) =>
        Render<ExceptionChain>(parameters => parameters.Add(component => component.Exceptions, exceptions));

    [Fact]
    public void Shows_the_outermost_exception_first_and_each_inner_one_as_its_cause()
    {
        var cut = RenderChain(
            new ExceptionRecord("System.InvalidOperationException", "Bundle 'summer-kit' cannot be checked out", "Shop", CheckoutFrames),
            new ExceptionRecord("System.Collections.Generic.KeyNotFoundException", "The given key 'summer-kit' was not present in the dictionary.", "System.Private.CoreLib", DictionaryFrames));

        var cards = cut.FindAll(".exception");
        cards.Should().HaveCount(2);

        cards[0].QuerySelector(".exception-type")!.TextContent.Should().Be("System.InvalidOperationException");
        cards[0].QuerySelector(".exception-message")!.TextContent.Should().Be("Bundle 'summer-kit' cannot be checked out");
        cards[0].TextContent.Should().NotContain("Caused by");
        cards[0].QuerySelector(".frame.in-app")!.TextContent.Should().Contain("Shop.Checkout.CheckoutService.PlaceOrderAsync");

        cards[1].TextContent.Should().Contain("Caused by");
        cards[1].QuerySelector(".exception-type")!.TextContent.Should().Be("System.Collections.Generic.KeyNotFoundException");
        cards[1].QuerySelector("summary")!.TextContent.Should().Be("1 framework frame");
        cards[1].QuerySelector(".frame.in-app")!.TextContent.Should().Contain("Shop.Catalog.BundlePrices.PriceOf in src/Shop/Catalog/BundlePrices.cs:18:13");
    }

    [Fact]
    public void An_exception_without_a_message_shows_no_empty_message_box()
    {
        var cut = RenderChain(new ExceptionRecord("System.OperationCanceledException", "", null, CheckoutFrames));

        cut.FindAll(".exception-message").Should().BeEmpty();
        cut.Find(".exception-type").TextContent.Should().Be("System.OperationCanceledException");
    }

    [Fact]
    public void Markup_in_a_message_is_shown_as_text_not_rendered()
    {
        const string message = "Invalid input <img src=x onerror=alert(1)> near <b>line 3</b> & <a href=\"javascript:alert(2)\">here</a>";

        var cut = RenderChain(new ExceptionRecord("System.FormatException", message, "Shop", []));

        cut.Find(".exception-message").TextContent.Should().Be(message);
        cut.FindAll(".exception img, .exception b, .exception a").Should().BeEmpty();
    }

    [Fact]
    public void A_multi_line_message_keeps_its_lines()
    {
        const string message = "Validation failed:\n - Email is required\n - Quantity must be positive";

        var cut = RenderChain(new ExceptionRecord("FluentValidation.ValidationException", message, "Shop", []));

        var shown = cut.Find(".exception-message");
        shown.TagName.Should().Be("PRE", "a <pre> keeps the line breaks the user needs to read the list");
        shown.TextContent.Should().Be(message);
    }
}
