using ErrorHub.Internal;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Capture;

/// <summary>
/// A Blazor WebAssembly event's page, as <see cref="BrowserPage"/> turns <c>location.href</c> and <c>navigator.userAgent</c>
/// into the event's request (reading them needs a browser: the system tests' BlazorWebAssemblyTests do).
/// </summary>
public sealed class BrowserPageTests
{
    private const string Chrome =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    [Fact]
    public void The_page_is_the_url_without_query_and_fragment_its_query_scrubbed_as_a_servers()
    {
        var request = BrowserPage.Describe("https://shop.example.com/app/checkout?bundle=7&token=s3cret&code=x#state=abc", Chrome)!;

        request.Url.Should().Be("https://shop.example.com/app/checkout");
        request.QueryString.Should().Be("bundle=7&token=[Filtered]&code=[Filtered]");
        request.Method.Should().BeNull("a page is not a request: no method is made up");
        request.Headers.Should().Equal(new Dictionary<string, string> { ["User-Agent"] = Chrome });
    }

    [Theory]
    [InlineData("https://user:password@shop.example.com:8443/cart", "https://shop.example.com:8443/cart")]
    [InlineData("http://127.0.0.1:5000/", "http://127.0.0.1:5000/")]
    [InlineData("https://shop.example.com/search?", "https://shop.example.com/search")]
    [InlineData("https://shop.example.com/#/orders?access_token=abc", "https://shop.example.com/")]
    public void Credentials_and_fragments_never_leave_the_page(string href, string url)
    {
        var request = BrowserPage.Describe(href, Chrome)!;

        request.Url.Should().Be(url);
        request.QueryString.Should().BeNull();
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a url")]
    [InlineData("/relative/path?token=abc")]
    [InlineData("file:///home/me/app/index.html")]
    public void What_is_not_a_page_url_is_not_sent_but_the_user_agent_still_is(string href)
    {
        var request = BrowserPage.Describe(href, Chrome)!;

        request.Url.Should().BeNull();
        request.QueryString.Should().BeNull();
        request.Headers["User-Agent"].Should().Be(Chrome);
    }

    [Fact]
    public void Nothing_read_means_no_request()
    {
        BrowserPage.Describe(null, null).Should().BeNull();
        BrowserPage.Describe("", "").Should().BeNull();
    }

    [Fact]
    public void Huge_values_are_cut_as_a_servers()
    {
        var href = "https://shop.example.com/" + new string('a', 100_000) + "?q=" + new string('b', 100_000);
        var userAgent = new string('x', 100_000);

        var request = BrowserPage.Describe(href, userAgent)!;

        request.Url!.Length.Should().Be(4096);
        request.QueryString!.Length.Should().Be(4096);
        request.Headers["User-Agent"].Length.Should().Be(4096);
    }
}
