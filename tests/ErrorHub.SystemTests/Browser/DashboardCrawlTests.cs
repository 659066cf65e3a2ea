using System.Net;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.Browser;

/// <summary>Every page and file the dashboard links to, fetched over plain HTTP (as a prerendering server answers it).</summary>
[Collection(DashboardTestGroup.Name)]
public sealed partial class DashboardCrawlTests(DashboardFixture dashboard)
{
    private const int MaxUrls = 300;

    [Fact]
    public async Task Every_linked_page_and_asset_answers_without_errors()
    {
        using var http = new HttpClient { BaseAddress = dashboard.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        var toVisit = new Queue<Uri>([dashboard.BaseUrl]);
        var seen = new HashSet<Uri>([dashboard.BaseUrl]);
        var failures = new List<string>();

        while (toVisit.Count > 0 && seen.Count <= MaxUrls)
        {
            var url = toVisit.Dequeue();
            using var response = await http.GetAsync(url);
            if (!response.IsSuccessStatusCode)
            {
                failures.Add($"{(int)response.StatusCode} {url}");
                continue;
            }

            if (response.Content.Headers.ContentType?.MediaType != "text/html")
            {
                continue;
            }

            foreach (var link in Links(await response.Content.ReadAsStringAsync()))
            {
                if (seen.Add(link))
                {
                    toVisit.Enqueue(link);
                }
            }
        }

        failures.Should().BeEmpty($"every link should work (the dashboard said:\n{dashboard.Process.Output})");
        var paths = seen.Select(url => url.PathAndQuery).ToList();
        paths.Should().Contain(
        [
            "/",
            "/projects/1/issues",
            "/projects/2/issues",
            $"/projects/1/issues/{DashboardSeed.CheckoutFingerprint}",
            $"/projects/1/issues/{DashboardSeed.CheckoutFingerprint}?event={dashboard.Seed.OlderCheckoutEventId:N}",
        ]);
        paths.Should().Contain(path => path.StartsWith("/_framework/blazor.web.", StringComparison.Ordinal), "the pages load the Blazor script");
    }

    [Theory]
    [InlineData("projects/1/issues/0123456789abcdef0123456789abcdef")]
    [InlineData("projects/999/issues")]
    [InlineData("projects/999/issues/0123456789abcdef0123456789abcdef")]
    [InlineData("projects/1/issues/{checkout}?event=00000000000000000000000000000001")]
    [InlineData("no/such/page")]
    public async Task Unknown_things_answer_a_not_found_page(string relative)
    {
        using var http = new HttpClient { BaseAddress = dashboard.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };

        using var response = await http.GetAsync(relative.Replace("{checkout}", DashboardSeed.CheckoutFingerprint, StringComparison.Ordinal));

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.Content.ReadAsStringAsync()).Should().Contain("Not found").And.Contain("See all projects");
    }

    [Fact]
    public async Task A_project_without_events_tells_how_to_send_the_first_one()
    {
        using var http = new HttpClient { BaseAddress = dashboard.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };

        var html = WebUtility.HtmlDecode(await http.GetStringAsync("projects/2/issues"));

        html.Should().Contain("No events yet");
        html.Should().Contain($"http://{DashboardSeed.Worker.PublicKey}@127.0.0.1:{dashboard.BaseUrl.Port}/{DashboardSeed.Worker.Id}");
    }

    private IEnumerable<Uri> Links(string html)
    {
        foreach (Match match in LinkAttribute().Matches(html))
        {
            var value = WebUtility.HtmlDecode(match.Groups["url"].Value);
            if (value.StartsWith('#') || value.StartsWith("data:", StringComparison.Ordinal) || value.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            // Every page has <base href="/">: relative links resolve against the site root.
            var url = new Uri(dashboard.BaseUrl, value);
            if (url.Authority == dashboard.BaseUrl.Authority && !url.AbsolutePath.StartsWith("/_blazor", StringComparison.Ordinal))
            {
                yield return new Uri(url.GetLeftPart(UriPartial.Query));
            }
        }
    }

    [GeneratedRegex("""(?:href|src)="(?<url>[^"]*)"|(?:href|src)='(?<url>[^']*)'""")]
    private static partial Regex LinkAttribute();
}
