using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;

namespace ErrorHub.Dashboard.Tests.Issues;

/// <summary>On a narrow screen the culprit's namespace may be cut; what names the place (type and method, or a route) never is.</summary>
public sealed class CulpritTextTests : DashboardTestContext
{
    [Theory]
    [InlineData("Shop.Checkout.CheckoutService.PlaceOrderAsync", "Shop.Checkout.", "CheckoutService.PlaceOrderAsync")]
    [InlineData("Program.Main.<lambda>", "Program.", "Main.<lambda>")]
    [InlineData("Run", "", "Run")]
    [InlineData("POST /checkout/{bundle}", "", "POST /checkout/{bundle}")]
    [InlineData("GET /files/{name}.txt", "", "GET /files/{name}.txt")]
    [InlineData("HTTP: GET /health.json", "", "HTTP: GET /health.json")]
    [InlineData("/v1/orders.csv", "", "/v1/orders.csv")]
    public void The_type_and_method_or_the_whole_route_stay_together(string culprit, string scope, string method)
    {
        var cut = Render<CulpritText>(parameters => parameters.Add(c => c.Value, culprit));

        cut.FindAll(".culprit-scope").Select(e => e.TextContent).DefaultIfEmpty("").Single().Should().Be(scope);
        cut.Find(".culprit-method").TextContent.Should().Be(method);
        cut.Find(".culprit").GetAttribute("title").Should().Be(culprit);
    }
}
