using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Storage;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// Every page and file the dashboard links to, signed in as the admin and as a member: first over plain HTTP
/// (as a prerendering server answers it), then every page in the browser (the live circuit, scripts).
/// </summary>
[Collection(DashboardTestGroup.Name)]
public sealed partial class DashboardCrawlTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private const int MaxUrls = 300;

    /// <summary>The pages docs/dashboard.md shows, besides the issue list and page (taken where their tests open them).</summary>
    private static readonly Dictionary<string, string> ScreenshotNames = new(StringComparer.Ordinal)
    {
        ["/"] = "projects",
        ["/projects/1/releases"] = "releases",
        ["/projects/1/alerts"] = "alerts",
        ["/projects/1/settings"] = "project-settings",
        ["/users"] = "users",
    };

    [Fact]
    public async Task As_admin_every_linked_page_and_asset_answers_without_errors_over_http_and_in_the_browser()
    {
        var pages = await CrawlAsync(admin: true);

        pages.Select(url => url.PathAndQuery).Should().Contain(
        [
            "/",
            "/projects/1/issues",
            "/projects/2/issues",
            "/projects/1/settings",
            "/projects/2/settings",
            "/projects/1/releases",
            "/projects/1/alerts",
            "/users",
            "/account",
            $"/projects/1/issues/{DashboardSeed.CheckoutFingerprint}",
            $"/projects/1/issues/{DashboardSeed.CheckoutFingerprint}?event={dashboard.Seed.OlderCheckoutEventId:N}",
            "/projects/1/issues?status=resolved",
            "/projects/1/issues?status=new",
            "/projects/1/issues?sort=events",
            "/projects/1/issues?page=2",
        ]);
        await VisitInBrowserAsync(pages, admin: true);
    }

    [Fact]
    public async Task As_member_every_linked_page_answers_without_errors_and_only_their_project_is_reachable()
    {
        var pages = await CrawlAsync(admin: false);

        var paths = pages.Select(url => url.AbsolutePath).ToList();
        paths.Should().Contain(["/", "/projects/2/issues", "/account"]);
        paths.Should().NotContain(path => path.StartsWith("/projects/1", StringComparison.Ordinal), "the member is not in the web shop project");
        paths.Should().NotContain(["/users", "/projects/2/settings"], "managing is for admins");
        await VisitInBrowserAsync(pages, admin: false);
    }

    [Fact]
    public async Task Every_page_is_readable_in_light_and_dark_mode_names_its_controls_and_fits_a_390_px_phone()
    {
        // One page of each kind: the look of an issue page does not change with the issue.
        var pages = (await CrawlAsync(admin: true)).OrderBy(url => ScreenshotNames.ContainsKey(url.PathAndQuery) ? 0 : 1).DistinctBy(PageKind).ToList();
        pages.Should().HaveCountGreaterThan(8);

        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        var unreadable = new List<string>();
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            foreach (var url in pages)
            {
                await page.SetViewportSizeAsync(1440, 900);
                await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });
                await OpenAsync(page, url);

                unreadable.AddRange((await PageReadability.LowContrastTextAsync(page)).Select(problem => $"{url.PathAndQuery} light: {problem}"));
                unreadable.AddRange((await PageReadability.UnnamedControlsAsync(page)).Select(control => $"{url.PathAndQuery}: {control} has no accessible name"));
                var screenshot = ScreenshotNames.GetValueOrDefault(url.PathAndQuery);
                if (screenshot is not null)
                {
                    await Screenshots.SaveAsync(page, screenshot + ".png");
                }

                await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
                unreadable.AddRange((await PageReadability.LowContrastTextAsync(page)).Select(problem => $"{url.PathAndQuery} dark: {problem}"));

                // Opened afresh at phone width, as a phone opens it: the sidebar decides to fold on load.
                await page.SetViewportSizeAsync(390, 844);
                await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });
                await OpenAsync(page, url);

                unreadable.AddRange((await PageReadability.WiderThanWindowAsync(page)).Select(problem => $"{url.PathAndQuery} at 390 px: {problem}"));
                unreadable.AddRange((await PageReadability.SqueezedTextAfterResizeAsync(page)).Select(problem => $"{url.PathAndQuery} at 390 px: {problem}"));

                if (screenshot is not null)
                {
                    await Screenshots.SaveAsync(page, screenshot + "-390.png");
                }
            }
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        unreadable.Should().BeEmpty("every page's text should stand out from its background in both colour schemes, every box and choice should have a name a screen reader announces, and on a phone no page should scroll sideways or squeeze its text");
        problems.All.Should().BeEmpty();
    }

    [Theory]
    [InlineData("projects/1/issues/0123456789abcdef0123456789abcdef")]
    [InlineData("projects/999/issues")]
    [InlineData("projects/999/issues/0123456789abcdef0123456789abcdef")]
    [InlineData("projects/1/issues/{checkout}?event=00000000000000000000000000000001")]
    [InlineData("no/such/page")]
    public async Task Unknown_things_answer_a_not_found_page(string relative)
    {
        using var http = await dashboard.SignedInClientAsync();

        using var response = await http.GetAsync(relative.Replace("{checkout}", DashboardSeed.CheckoutFingerprint, StringComparison.Ordinal));

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.Content.ReadAsStringAsync()).Should().Contain("Not found").And.Contain("See all projects");
    }

    [Fact]
    public async Task A_project_without_events_tells_how_to_send_the_first_one()
    {
        // A project of its own: the seed's projects get events from other tests of this collection, in an order xUnit chooses.
        var publicKey = "empty-" + Guid.NewGuid().ToString("N");
        Project? empty = null;
        await dashboard.WriteAsync(async services => empty = await services.GetRequiredService<IProjectStore>().CreateProjectAsync("Nothing sent yet", publicKey, DateTimeOffset.UtcNow));
        using var http = await dashboard.SignedInClientAsync();

        var html = WebUtility.HtmlDecode(await http.GetStringAsync($"projects/{empty!.Id}/issues"));

        html.Should().Contain("No events yet");
        html.Should().Contain($"http://{publicKey}@127.0.0.1:{dashboard.BaseUrl.Port}/{empty.Id}");
    }

    /// <summary>Follows every same-site link from the home page; fails on any answer that is not a success. Returns the HTML pages.</summary>
    private async Task<List<Uri>> CrawlAsync(bool admin)
    {
        using var http = await dashboard.SignedInClientAsync(admin);
        var toVisit = new Queue<Uri>([dashboard.BaseUrl]);
        var seen = new HashSet<Uri>([dashboard.BaseUrl]);
        var pages = new List<Uri>();
        var failures = new List<string>();

        while (toVisit.Count > 0 && seen.Count <= MaxUrls)
        {
            var url = toVisit.Dequeue();
            using var response = await http.GetAsync(url);
            if (!response.IsSuccessStatusCode)
            {
                failures.Add($"{(int)response.StatusCode} {url} {response.Headers.Location}");
                continue;
            }

            if (response.Content.Headers.ContentType?.MediaType != "text/html")
            {
                continue;
            }

            pages.Add(url);
            foreach (var link in Links(await response.Content.ReadAsStringAsync()))
            {
                if (seen.Add(link))
                {
                    toVisit.Enqueue(link);
                }
            }
        }

        failures.Should().BeEmpty($"every link should work (the dashboard said:\n{dashboard.Process.Output})");
        seen.Select(url => url.AbsolutePath).Should().Contain(path => path.StartsWith("/_framework/blazor.web.", StringComparison.Ordinal), "the pages load the Blazor script");
        return pages;
    }

    /// <summary>Opens each page in the browser, waits for its circuit, and fails on a server error, a script or console error, or Blazor's error bar.</summary>
    private async Task VisitInBrowserAsync(IReadOnlyList<Uri> pages, bool admin)
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            if (admin)
            {
                await BrowserSignIn.SignInAsAdminAsync(page, dashboard);
            }
            else
            {
                await BrowserSignIn.SignInAsMemberAsync(page, dashboard);
            }

            foreach (var url in pages)
            {
                var response = await page.GotoAsync(url.ToString());
                response!.Status.Should().BeLessThan(400, $"{url} opens");

                await WaitUntilReadyAsync(page, url);

                await Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
                // A page that fails once interactive shows the dashboard's own failure card instead of the bar.
                await Expect(page.Locator(".store-error")).ToHaveCountAsync(0);
            }
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty($"no page may log a console error or fail (the dashboard said:\n{dashboard.Process.Output})");
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
            // The issue list links to itself with every tab, sort and page: one parameter at a time covers
            // each of them without crawling their combinations.
            var listVariant = url.AbsolutePath.EndsWith("/issues", StringComparison.Ordinal) && url.Query.Contains('&', StringComparison.Ordinal);
            if (url.Authority == dashboard.BaseUrl.Authority && !url.AbsolutePath.StartsWith("/_blazor", StringComparison.Ordinal) && !listVariant)
            {
                yield return new Uri(url.GetLeftPart(UriPartial.Query));
            }
        }
    }

    private static async Task OpenAsync(IPage page, Uri url)
    {
        await page.GotoAsync(url.ToString());
        await WaitUntilReadyAsync(page, url);
    }

    /// <summary>The account page is a plain form page; every other page starts a circuit.</summary>
    private static async Task WaitUntilReadyAsync(IPage page, Uri url)
    {
        if (url.AbsolutePath != "/account")
        {
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
        }
    }

    /// <summary>The page's route with ids left out and only the names of its query parameters, e.g. /projects/{}/issues/{}?event.</summary>
    private static string PageKind(Uri url)
    {
        var path = Identifier().Replace(url.AbsolutePath, "{}");
        var names = url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Select(pair => pair.Split('=')[0]).Order(StringComparer.Ordinal);
        return path + "?" + string.Join('&', names);
    }

    [GeneratedRegex("(?<=/)(?:[0-9]+|[0-9a-f]{16,})(?=/|$)")]
    private static partial Regex Identifier();

    // An attribute follows white space: Blazor's prerender markers carry base64 descriptors, and one that ends in "src=" or
    // "href=" (padding) before its closing quote read as a link to the rest of the page's markup.
    [GeneratedRegex("""(?<=\s)(?:href|src)="(?<url>[^"]*)"|(?<=\s)(?:href|src)='(?<url>[^']*)'""")]
    private static partial Regex LinkAttribute();
}
