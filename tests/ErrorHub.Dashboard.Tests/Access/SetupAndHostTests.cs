using Microsoft.Extensions.DependencyInjection;
using System.Net;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Ingest;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>The first admin through the setup page, host filtering, and ingest, which needs no sign-in.</summary>
public sealed class SetupAndHostTests
{
    private static Dictionary<string, string> Admin(string? token) => new()
    {
        ["Input.Token"] = token ?? "",
        ["Input.Email"] = "Owner@Example.com",
        ["Input.Name"] = "Olive Owner",
        ["Input.Password"] = "a long password",
        ["Input.ConfirmPassword"] = "a long password",
    };

    [Fact]
    public async Task The_setup_page_creates_the_first_admin_only_with_the_logged_link_and_only_while_no_account_exists()
    {
        using var server = DashboardServer.Start(withAdmin: false);
        var link = server.Services.GetRequiredService<SetupLink>();
        using var client = server.NewClient();
        server.Logs.Entries.Should().Contain(e => e.Message.Contains("/setup?token=" + link.Secret, StringComparison.Ordinal), "the log tells where to set up");

        var withoutLink = await client.GetStringAsync("/setup");
        using var wrongLink = await DashboardForms.PostAsync(client, "/setup?token=guessed", "setup", Admin("guessed"), tokenFrom: "/login");
        (await server.Access.GetUsersAsync()).Should().BeEmpty();
        using var created = await DashboardForms.PostAsync(client, link.RelativeUrl, "setup", Admin(link.Secret));

        withoutLink.Should().Contain("Open the setup link").And.NotContain("Create admin");
        wrongLink.StatusCode.Should().BeOneOf([HttpStatusCode.BadRequest, HttpStatusCode.Forbidden], "a guessed link creates nothing");
        created.StatusCode.Should().Be(HttpStatusCode.Redirect, DashboardForms.Problem(await created.Content.ReadAsStringAsync()));
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "the new admin is signed in");
        var admin = (await server.Access.GetUsersAsync()).Should().ContainSingle().Which;
        admin.Should().BeEquivalentTo(new { Email = "owner@example.com", Name = "Olive Owner", Role = UserRole.Admin });

        using var other = server.NewClient();
        using var again = await other.GetAsync(link.RelativeUrl);
        again.StatusCode.Should().Be(HttpStatusCode.NotFound, "there is no setup page once an account exists");
        (await server.Access.GetUsersAsync()).Should().ContainSingle();
    }

    [Fact]
    public async Task A_refused_setup_answers_without_the_typed_passwords_in_the_page_and_keeps_the_email()
    {
        using var server = DashboardServer.Start(withAdmin: false);
        var link = server.Services.GetRequiredService<SetupLink>();
        using var client = server.NewClient();
        var fields = Admin(link.Secret);
        fields["Input.Password"] = "typed-secret-Hunter2";
        fields["Input.ConfirmPassword"] = "typed-other-Hunter3";

        using var mismatch = await DashboardForms.PostAsync(client, link.RelativeUrl, "setup", fields);
        fields["Input.Password"] = fields["Input.ConfirmPassword"] = "Hunter7";
        using var tooShort = await DashboardForms.PostAsync(client, link.RelativeUrl, "setup", fields);

        var differ = await mismatch.Content.ReadAsStringAsync();
        DashboardForms.Problem(differ).Should().Be("The two passwords differ.");
        differ.Should().NotContain("typed-secret-Hunter2").And.NotContain("typed-other-Hunter3", "a page that echoes a password keeps it in caches, history and view-source");
        differ.Should().Contain("Owner@Example.com", "the email stays filled in, so only the passwords are typed again");
        var refused = await tooShort.Content.ReadAsStringAsync();
        DashboardForms.Problem(refused).Should().Contain("at least 8 characters");
        refused.Should().NotContain("Hunter7");
        (await server.Access.GetUsersAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task The_login_page_says_how_to_set_up_while_no_account_exists()
    {
        using var server = DashboardServer.Start(withAdmin: false);
        using var client = server.NewClient();

        (await client.GetStringAsync("/login")).Should().Contain("No account exists yet").And.Contain("ErrorHub__Admin__Email");
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("attacker.test:80")]
    public async Task A_foreign_host_header_is_refused_with_400(string host)
    {
        using var server = DashboardServer.Start();
        using var client = await server.SignedInClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        request.Headers.Host = host;

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().NotContain("Web shop");
    }

    [Theory]
    [InlineData("errors.example.com")]
    [InlineData("localhost")]
    public async Task The_public_urls_host_and_loopback_names_are_answered(string host)
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:PublicUrl"] = "https://errors.example.com/" });
        using var client = await server.SignedInClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        request.Headers.Host = host;

        using var response = await client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Configured_allowed_hosts_replace_the_defaults()
    {
        using var server = DashboardServer.Start(new() { ["AllowedHosts"] = "errors.internal" });
        using var client = server.NewClient();
        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { Host = "errors.internal" } };
        using var loopback = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { Host = "localhost" } };

        (await client.SendAsync(allowed)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(loopback)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Ingest_needs_no_sign_in_takes_every_active_key_and_refuses_a_revoked_one()
    {
        using var server = DashboardServer.Start();
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var projectAdmin = server.Services.GetRequiredService<ProjectAdmin>();
        (await projectAdmin.AddKeyAsync(admin!.Id, 1, "Worker")).Should().BeNull();
        var second = (await server.Projects.GetKeysAsync(1)).Single(k => k.Label == "Worker").PublicKey;
        using var client = server.NewClient();

        (await PostAsync(client, DashboardServer.ProjectKey)).Should().Be(HttpStatusCode.Accepted);
        (await PostAsync(client, second)).Should().Be(HttpStatusCode.Accepted);

        (await projectAdmin.RevokeKeyAsync(admin.Id, 1, second)).Should().BeNull();
        (await PostAsync(client, second)).Should().Be(HttpStatusCode.Unauthorized, "the dashboard's own ingest forgets the revoked key at once");
        (await PostAsync(client, DashboardServer.ProjectKey)).Should().Be(HttpStatusCode.Accepted);

        (await projectAdmin.DeleteAsync(admin.Id, 1)).Should().BeNull();
        (await PostAsync(client, DashboardServer.ProjectKey)).Should().Be(HttpStatusCode.Unauthorized, "a deleted project receives nothing");
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient client, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = IngestHost.MessagePack(ErrorHub.Testing.Batches.Wire.Encode(ErrorHub.Testing.Batches.SampleBatch.Batch(ErrorHub.Testing.Batches.SampleBatch.MessageEvent()))) };
        request.Headers.Add("X-ErrorHub-Key", key);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
