using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class RequestViewTests : DashboardTestContext
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    [Fact]
    public void Shows_method_url_query_and_headers_sorted_by_name()
    {
        var request = new RequestRecord("POST", "https://shop.example/checkout", "coupon=SUMMER&currency=EUR", new Dictionary<string, string>
        {
            ["User-Agent"] = "Mozilla/5.0",
            ["accept"] = "text/html",
            ["Referer"] = "https://shop.example/cart",
        });

        var cut = Render<RequestView>(parameters => parameters.Add(component => component.Request, request));

        cut.Find(".request-method").TextContent.Should().Be("POST");
        cut.Find(".request-url").TextContent.Should().Be("https://shop.example/checkout");
        cut.Find(".request-query").TextContent.Should().Be("coupon=SUMMER&currency=EUR");
        cut.FindAll(".headers-table tr").Select(row => (row.QuerySelector("th")!.TextContent, row.QuerySelector("td")!.TextContent)).Should().Equal(
            ("accept", "text/html"),
            ("Referer", "https://shop.example/cart"),
            ("User-Agent", "Mozilla/5.0"));
    }

    [Fact]
    public void What_was_not_reported_gets_no_heading()
    {
        var cut = Render<RequestView>(parameters => parameters.Add(component => component.Request, new RequestRecord(null, "https://shop.example/", null, NoHeaders)));

        cut.FindAll(".request-method").Should().BeEmpty();
        cut.Find(".request-url").TextContent.Should().Be("https://shop.example/");
        cut.FindAll("h4").Should().BeEmpty("there is neither a query nor a header to show");
    }

    [Fact]
    public void Markup_in_the_url_query_and_headers_is_shown_as_text()
    {
        const string hostile = "<img src=x onerror=alert(1)>";
        var request = new RequestRecord("GET", "https://shop.example/" + hostile, "q=" + hostile, new Dictionary<string, string> { [hostile] = hostile });

        var cut = Render<RequestView>(parameters => parameters.Add(component => component.Request, request));

        cut.Find(".request-url").TextContent.Should().Be("https://shop.example/" + hostile);
        cut.Find(".request-query").TextContent.Should().Be("q=" + hostile);
        cut.Find(".headers-table th").TextContent.Should().Be(hostile);
        cut.Find(".headers-table td").TextContent.Should().Be(hostile);
        cut.FindAll("img").Should().BeEmpty();
    }

    [Fact]
    public void A_javascript_url_in_the_request_or_its_headers_is_text_and_never_a_link()
    {
        const string script = "javascript:alert(document.cookie)";
        var request = new RequestRecord("GET", script, "next=" + script, new Dictionary<string, string> { ["Referer"] = script, ["Location"] = "JaVaScRiPt:alert(2)" });

        var cut = Render<RequestView>(parameters => parameters.Add(component => component.Request, request));

        cut.Find(".request-url").TextContent.Should().Be(script);
        cut.FindAll("a").Should().BeEmpty("an address an event gives is shown, never followed from the page");
        cut.FindAll("[href], [src], [action], [formaction]").Should().BeEmpty();
    }

    [Fact]
    public void A_NUL_control_or_zero_width_character_in_a_form_field_or_header_name_is_written_out()
    {
        var request = new RequestRecord("POST", "https://shop.example/signup", null, new Dictionary<string, string> { ["X-Trace\u200B"] = "1" })
        {
            Form = new Dictionary<string, string>
            {
                ["nick\0name"] = "janey",
                ["\u200Bplan"] = "pro",
                ["plan"] = "basic",
                ["line\nbreak"] = "x",
            },
        };

        var cut = Render<RequestView>(parameters => parameters.Add(component => component.Request, request));

        cut.FindAll(".form-table tr").Select(row => (row.QuerySelector("th")!.TextContent, row.QuerySelector("td")!.TextContent)).Should().BeEquivalentTo(
        [
            ("nick\\u0000name", "janey"),
            ("\\u200Bplan", "pro"),
            ("plan", "basic"),
            ("line\\u000Abreak", "x"),
        ], "two names that look alike are told apart, and nothing hides in one");
        cut.FindAll(".headers-table:not(.form-table) th").Select(th => th.TextContent).Should().Equal("X-Trace\\u200B");
    }
}
