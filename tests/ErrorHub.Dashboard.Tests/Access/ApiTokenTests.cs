using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>The JSON API with <c>Authorization: Bearer</c>: created, configured, revoked, unknown tokens.</summary>
public sealed class ApiTokenTests
{
    private const string ConfiguredToken = "configured-token-0123456789abcdef0123456789";

    [Fact]
    public async Task A_token_works_until_it_is_revoked_and_then_answers_401()
    {
        using var server = DashboardServer.Start();
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var created = (await server.Accounts.CreateApiTokenAsync(admin!.Id, "export script")).Value;
        using var client = Bearer(server, created.Secret);

        using var before = await client.GetAsync("/api/projects");
        before.StatusCode.Should().Be(HttpStatusCode.OK);
        (await before.Content.ReadAsStringAsync()).Should().Contain("Web shop");
        created.Secret.Should().StartWith("eh_");
        (await server.Access.GetApiTokensAsync(admin.Id)).Single(t => t.Id == created.Token.Id).LastUsedAt.Should().NotBeNull("its use is recorded");

        (await server.Accounts.RevokeApiTokenAsync(admin.Id, created.Token.Id)).Should().Be(ApiTokenRevocation.Revoked);

        using var after = await client.GetAsync("/api/projects");
        after.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        after.Headers.WwwAuthenticate.ToString().Should().Be("Bearer");
        (await after.Content.ReadAsStringAsync()).Should().NotContain("Web shop");
    }

    [Theory]
    [InlineData("eh_not-a-token-that-exists-0123456789")]
    [InlineData("")]
    public async Task An_unknown_token_answers_401_also_for_pages(string token)
    {
        using var server = DashboardServer.Start();
        using var client = Bearer(server, token);

        using var api = await client.GetAsync("/api/projects");
        using var page = await client.GetAsync("/");

        api.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        page.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a request that brings a token is answered for the token, not redirected");
    }

    [Fact]
    public async Task The_configured_token_works_from_the_first_start()
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:Admin:ApiToken"] = ConfiguredToken });
        using var client = Bearer(server, ConfiguredToken);

        using var response = await client.GetAsync("/api/projects/1");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"name\":\"Web shop\"");
    }

    [Fact]
    public async Task A_token_of_a_disabled_account_answers_401()
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:Admin:ApiToken"] = ConfiguredToken });
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        await server.Access.UpdateUserAsync(admin! with { DisabledAt = DateTimeOffset.UtcNow });
        using var client = Bearer(server, ConfiguredToken);

        (await client.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("nightly export", null)]
    [InlineData("  Ünïcødé 名前 🚀  ", null)]
    [InlineData("", "Name the token")]
    [InlineData("two\nlines", "control characters")]
    [InlineData("tab\there", "control characters")]
    public void A_token_name_is_one_line_of_valid_text_for_the_page_and_the_api_alike(string name, string? problem)
    {
        var refused = Accounts.TokenNameProblem(name);

        if (problem is null)
        {
            refused.Should().BeNull();
        }
        else
        {
            refused.Should().Contain(problem);
        }
    }

    [Fact]
    public void A_token_name_with_broken_utf16_is_refused_but_a_whole_surrogate_pair_is_text()
    {
        // Built in code: a theory's data would reach the test with the lone surrogates already replaced.
        foreach (var broken in new[] { "broken \ud800 text", "broken \udc00", "ends broken \ud83d", "\udc00\ud83d reversed" })
        {
            Accounts.TokenNameProblem(broken).Should().Contain("valid Unicode", broken.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Accounts.TokenNameProblem("rocket \ud83d\ude80").Should().BeNull();
    }

    private static HttpClient Bearer(DashboardServer server, string token)
    {
        var client = server.NewClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return client;
    }
}
