using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The walking skeleton, end to end with real processes on loopback: the all-in-one server (dashboard +
/// ingest + embedded store) and the sample shop using the SDK. The shop crashes over HTTP; the issue, with
/// the user and the URL, must show up on the dashboard's pages within seconds.
/// </summary>
public sealed partial class CrashTravelsToDashboardTests : IAsyncLifetime
{
    private const string ProjectKey = "systemtest-4f1c2b3a4d5e6f70";
    private const string AdminEmail = "maintainer@example.com";
    private const string AdminPassword = "maintainer password 1";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(15);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-system-").FullName;
    private readonly Uri _serverUrl = FreePort.NextHttpUrl();
    private readonly Uri _shopUrl = FreePort.NextHttpUrl();
    private TestProcess? _server;
    private TestProcess? _shop;
    private HttpClient _customer = null!;
    private HttpClient _maintainer = null!;

    public async Task InitializeAsync()
    {
        _server = TestProcess.StartDotnet(
            "errorhub",
            RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard"),
            ["--urls", Authority(_serverUrl)],
            CleanEnvironment(new()
            {
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Project__Id"] = "1",
                ["ErrorHub__Project__Name"] = "Web shop",
                ["ErrorHub__Project__PublicKey"] = ProjectKey,
                ["ErrorHub__Admin__Email"] = AdminEmail,
                ["ErrorHub__Admin__Password"] = AdminPassword,
            }));
        await _server.WaitForHttpAsync(_serverUrl, StartTimeout);

        _shop = TestProcess.StartDotnet(
            "shop",
            RepositoryPaths.BuiltAssembly("samples/ErrorHub.Samples.Shop"),
            ["--urls", Authority(_shopUrl)],
            CleanEnvironment(new() { ["ErrorHub__Dsn"] = $"http://{ProjectKey}@{_serverUrl.Authority}/1" }));
        await _shop.WaitForHttpAsync(_shopUrl, StartTimeout);

        _customer = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = _shopUrl };
        // The maintainer signs in as a browser would; the shop sends without signing in (its DSN's key).
        _maintainer = DashboardForms.NewClient(_serverUrl);
        await DashboardForms.SignInAsync(_maintainer, AdminEmail, AdminPassword);
    }

    public async Task DisposeAsync()
    {
        _customer?.Dispose();
        _maintainer?.Dispose();
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_checkout_crash_shows_up_on_the_dashboard_with_the_user_and_the_url()
    {
        (await _customer.GetAsync("/account/login?name=alice")).EnsureSuccessStatusCode();

        using var crash = await _customer.GetAsync("/checkout?bundle=holiday-bundle");

        crash.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await crash.Content.ReadAsStringAsync()).Should().Contain("We have been notified", "the shop's own error page still answers");

        var issuePath = await WaitForIssueLinkAsync("Sequence contains more than one matching element");
        var issuePage = WebUtility.HtmlDecode(await _maintainer.GetStringAsync(issuePath));
        issuePage.Should().Contain("System.InvalidOperationException");
        issuePage.Should().Contain("alice@shop.example", "the affected user's email is on the issue page");
        issuePage.Should().Contain($"{_shopUrl.GetLeftPart(UriPartial.Authority)}/checkout", "the URL the user called is on the issue page");
        issuePage.Should().Contain("bundle=holiday-bundle");
        issuePage.Should().Contain("ErrorHub.Samples.Shop.Catalog.PriceBundle", "the in-app frame that threw is shown");
        issuePage.Should().Contain("[Filtered]", "the session cookie's value never leaves the shop");
        issuePage.Should().Contain("Why grouped").And.Contain("Root cause type").And.Contain("First app frame",
            "the issue says what it was grouped by");
    }

    [Fact]
    public async Task Each_kind_of_crash_becomes_its_own_issue_and_repeats_are_counted_on_one()
    {
        (await _customer.GetAsync("/account/login?name=bob")).EnsureSuccessStatusCode();

        for (var i = 0; i < 3; i++)
        {
            (await _customer.GetAsync("/account/profile")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        (await _customer.GetAsync("/orders/1042/shipping")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await _customer.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK);

        await WaitForIssueLinkAsync("NullReferenceException");
        await WaitForIssueLinkAsync("Shipping provider did not answer for order 1042");
        var list = await WaitForListAsync(html => IssueLinks(html).Count == 2, "two issues");
        IssueLinks(list).Should().HaveCount(2, "three profile crashes are one issue, the timeout another, and the good request none");
    }

    private async Task<string> WaitForIssueLinkAsync(string titleText)
    {
        var list = await WaitForListAsync(html => html.Contains(titleText, StringComparison.Ordinal), $"an issue titled '{titleText}'");
        // A row names its issue first in its selection box's label, then links it.
        var row = list[list.IndexOf(titleText, StringComparison.Ordinal)..];
        return IssueLinks(row).First();
    }

    private async Task<string> WaitForListAsync(Func<string, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + ArrivalTimeout;
        string html;
        do
        {
            html = WebUtility.HtmlDecode(await _maintainer.GetStringAsync("/projects/1/issues"));
            if (condition(html))
            {
                return html;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        throw new Xunit.Sdk.XunitException(
            $"The dashboard did not show {what} within {ArrivalTimeout.TotalSeconds} s.\n" +
            $"shop output:\n{_shop!.Output}\nerrorhub output:\n{_server!.Output}");
    }

    private static List<string> IssueLinks(string html) =>
        IssueLink().Matches(html).Select(m => "/" + m.Groups[1].Value).Distinct().ToList();

    private static string Authority(Uri url) => url.GetLeftPart(UriPartial.Authority);

    private static Dictionary<string, string?> CleanEnvironment(Dictionary<string, string?> settings)
    {
        foreach (var inherited in new[] { "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "ErrorHub__Dsn" })
        {
            settings.TryAdd(inherited, null);
        }

        settings["ASPNETCORE_ENVIRONMENT"] = "Production";
        return settings;
    }

    [GeneratedRegex("href=\"/?(projects/1/issues/[0-9a-f]{32})\"")]
    private static partial Regex IssueLink();
}
