using System.Net;
using ErrorHub.Testing.Processes;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// Real processes on loopback: the all-in-one server with SMTP settings, the sample shop, and a real SMTP
/// server. The shop crashes for a signed-in customer; the admin's mailbox gets the new-issue mail with the
/// customer, the URL and a link to the issue built from the server's public URL.
/// </summary>
public sealed class CrashMailArrivesTests : IAsyncLifetime
{
    private const string ProjectKey = "systemtest-mail-5a6b7c8d9e0f1a2b";
    private const string AdminEmail = "maintainer@example.com";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(30);

    private readonly SmtpServerFixture _smtp = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-mail-").FullName;
    private readonly Uri _serverUrl = FreePort.NextHttpUrl();
    private readonly Uri _shopUrl = FreePort.NextHttpUrl();
    private TestProcess? _server;
    private TestProcess? _shop;

    public async Task InitializeAsync()
    {
        await _smtp.InitializeAsync();
        _server = TestProcess.StartDotnet(
            "errorhub",
            RepositoryPaths.BuiltAssembly("dashboard/ErrorHub.Dashboard"),
            ["--urls", Authority(_serverUrl)],
            Environment(new()
            {
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__PublicUrl"] = Authority(_serverUrl),
                ["ErrorHub__Project__Id"] = "1",
                ["ErrorHub__Project__Name"] = "shop",
                ["ErrorHub__Project__PublicKey"] = ProjectKey,
                ["ErrorHub__Admin__Email"] = AdminEmail,
                ["ErrorHub__Admin__Password"] = "maintainer password 1",
                ["ErrorHub__Notifications__Smtp__Host"] = "127.0.0.1",
                ["ErrorHub__Notifications__Smtp__Port"] = _smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ErrorHub__Notifications__Smtp__Security"] = "None",
                ["ErrorHub__Notifications__Smtp__From"] = "ErrorHub <errors@example.com>",
                ["ErrorHub__Notifications__PollInterval"] = "00:00:01",
            }));
        await _server.WaitForHttpAsync(_serverUrl, StartTimeout);

        _shop = TestProcess.StartDotnet(
            "shop",
            RepositoryPaths.BuiltAssembly("samples/ErrorHub.Samples.Shop"),
            ["--urls", Authority(_shopUrl)],
            Environment(new() { ["ErrorHub__Dsn"] = $"http://{ProjectKey}@{_serverUrl.Authority}/1", ["ErrorHub__Environment"] = "production" }));
        await _shop.WaitForHttpAsync(_shopUrl, StartTimeout);
    }

    public async Task DisposeAsync()
    {
        if (_shop is not null)
        {
            await _shop.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        await _smtp.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_checkout_crash_mails_the_maintainer_with_the_customer_the_url_and_a_link_to_the_issue()
    {
        using var customer = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = _shopUrl };
        (await customer.GetAsync("/account/login?name=alice")).EnsureSuccessStatusCode();

        (await customer.GetAsync("/checkout?bundle=holiday-bundle")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var deadline = DateTime.UtcNow + ArrivalTimeout;
        while (_smtp.Messages().Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        var mail = _smtp.Messages().Should().ContainSingle($"the new issue's mail arrives.\nerrorhub output:\n{_server!.Output}").Subject;
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal(AdminEmail);
        mail.Subject.Should().StartWith("[shop").And.Contain("] InvalidOperationException in");
        (mail.TextBody ?? "").Should().StartWith("New issue").And.Contain(": InvalidOperationException in");
        var text = mail.TextBody ?? "";
        text.Should().Contain("alice@shop.example", "who had the crash, so the maintainer can write to them")
            .And.Contain($"{Authority(_shopUrl)}/checkout?bundle=holiday-bundle")
            .And.Contain("ErrorHub.Samples.Shop.Catalog.PriceBundle")
            .And.MatchRegex($@"{Regex(Authority(_serverUrl))}/projects/1/issues/[0-9a-f]{{32}}");
        (mail.HtmlBody ?? "").Should().Contain("alice@shop.example").And.Contain($"{Authority(_serverUrl)}/projects/1/issues/");
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    private static string Authority(Uri url) => url.GetLeftPart(UriPartial.Authority);

    private static Dictionary<string, string?> Environment(Dictionary<string, string?> settings)
    {
        foreach (var inherited in new[] { "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "ErrorHub__Dsn" })
        {
            settings.TryAdd(inherited, null);
        }

        settings["ASPNETCORE_ENVIRONMENT"] = "Production";
        return settings;
    }
}
