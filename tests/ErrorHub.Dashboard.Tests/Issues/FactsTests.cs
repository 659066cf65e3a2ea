using ErrorHub.Dashboard.Components.Issues;
using ErrorHub.Dashboard.Tests.Infrastructure;

namespace ErrorHub.Dashboard.Tests.Issues;

public sealed class FactsTests : DashboardTestContext
{
    [Fact]
    public void Shows_each_reported_value_under_its_label_in_the_given_order()
    {
        var cut = Render<Facts>(parameters => parameters.Add(component => component.Items,
        [
            ("Release", "shop@2.4.1"),
            ("Environment", "production"),
            ("Server", "shop-web-02"),
        ]));

        cut.FindAll("dt").Select(element => element.TextContent).Should().Equal("Release", "Environment", "Server");
        cut.FindAll("dd").Select(element => element.TextContent).Should().Equal("shop@2.4.1", "production", "shop-web-02");
    }

    [Fact]
    public void Values_that_were_not_reported_are_left_out_rather_than_shown_blank()
    {
        var cut = Render<Facts>(parameters => parameters.Add(component => component.Items,
        [
            ("ID", "u-1001"),
            ("Username", null),
            ("Email", ""),
            ("IP address", "203.0.113.24"),
        ]));

        cut.FindAll("dt").Select(element => element.TextContent).Should().Equal("ID", "IP address");
        cut.FindAll("dd").Select(element => element.TextContent).Should().Equal("u-1001", "203.0.113.24");
    }

    [Fact]
    public void Nothing_reported_says_so()
    {
        var cut = Render<Facts>(parameters => parameters.Add(component => component.Items, [("Release", null), ("Environment", "")]));

        cut.FindAll("dl").Should().BeEmpty();
        cut.Find("p").TextContent.Should().Be("Nothing reported.");
    }

    [Fact]
    public void Markup_in_a_value_is_shown_as_text()
    {
        const string hostile = "<script>alert('x')</script><b>bold</b>";

        var cut = Render<Facts>(parameters => parameters.Add(component => component.Items, [("Username", hostile)]));

        cut.Find("dd").TextContent.Should().Be(hostile);
        cut.FindAll("script, b").Should().BeEmpty();
    }
}
