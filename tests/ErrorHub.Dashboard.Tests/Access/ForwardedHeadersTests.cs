using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Dashboard;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// The dashboard behind a reverse proxy that terminates HTTPS: with the proxy trusted, the request is what the proxy
/// saw (https); without, the forwarded headers are ignored. The test's requests come from 127.0.0.1, the "proxy".
/// </summary>
public sealed class ForwardedHeadersTests
{
    [Theory]
    [InlineData("127.0.0.1", null, "https")]
    [InlineData(null, "127.0.0.0/8", "https")]
    [InlineData(null, null, "http")]
    [InlineData("10.9.9.9", null, "http")]
    public async Task X_Forwarded_Proto_from_a_trusted_proxy_makes_the_request_https_so_links_and_the_session_cookie_are_https_only(
        string? knownProxy, string? knownNetwork, string expectedScheme)
    {
        using var server = DashboardServer.Start(new()
        {
            ["ErrorHub:ForwardedHeaders:KnownProxies"] = knownProxy,
            ["ErrorHub:ForwardedHeaders:KnownNetworks"] = knownNetwork,
        });
        using var client = server.NewClient();
        client.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");

        using var toLogin = await client.GetAsync("/projects/1/issues");
        using var signIn = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);

        toLogin.StatusCode.Should().Be(HttpStatusCode.Redirect);
        toLogin.Headers.Location!.Scheme.Should().Be(expectedScheme, "the sign-in redirect is built from the request's scheme");
        signIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var session = signIn.Headers.GetValues("Set-Cookie").Should().ContainSingle(c => c.StartsWith("ErrorHub.Session=", StringComparison.Ordinal)).Which;
        if (expectedScheme == "https")
        {
            session.Should().Contain("; secure", "a browser then never sends the session over plain http");
        }
        else
        {
            session.Should().NotContain("secure");
        }
    }
}
