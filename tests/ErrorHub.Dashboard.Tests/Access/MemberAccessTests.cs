using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Headers;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Events;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>A member sees their projects and nothing of the others, through the pages and the API; an admin sees all.</summary>
public sealed class MemberAccessTests : IDisposable
{
    private const string MemberPassword = "member password 1";
    private static readonly string ShopFingerprint = TestEvents.Fingerprint("shop-crash");
    private readonly DashboardServer _server = DashboardServer.Start();

    public void Dispose() => _server.Dispose();

    private async Task<Project> SeedAsync()
    {
        var worker = await _server.Projects.CreateProjectAsync("Billing worker", "worker-key-0123456789abcdef", DateTimeOffset.UtcNow);
        await _server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync(
        [
            TestEvents.Create(1, ShopFingerprint, DateTimeOffset.UtcNow.AddMinutes(-5), TestEvents.User("alice"), title: "Shop secret crash"),
            TestEvents.Create(worker.Id, TestEvents.Fingerprint("worker-crash"), DateTimeOffset.UtcNow.AddMinutes(-3), title: "Worker crash"),
        ]);
        await _server.CreateMemberAsync("dev@example.com", MemberPassword, worker.Id);
        return worker;
    }

    [Fact]
    public async Task A_member_sees_only_their_project_on_the_pages()
    {
        var worker = await SeedAsync();
        using var member = await _server.SignedInClientAsync("dev@example.com", MemberPassword);

        var home = await member.GetStringAsync("/");
        using var own = await member.GetAsync($"/projects/{worker.Id}/issues");
        using var other = await member.GetAsync("/projects/1/issues");
        using var otherIssue = await member.GetAsync($"/projects/1/issues/{ShopFingerprint}");
        using var users = await member.GetAsync("/users");

        home.Should().Contain("Billing worker").And.NotContain("Web shop");
        own.StatusCode.Should().Be(HttpStatusCode.OK);
        (await own.Content.ReadAsStringAsync()).Should().Contain("Worker crash");
        other.StatusCode.Should().Be(HttpStatusCode.NotFound, "another project looks like no project");
        (await other.Content.ReadAsStringAsync()).Should().NotContain("Shop secret crash").And.NotContain("Web shop");
        otherIssue.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await otherIssue.Content.ReadAsStringAsync()).Should().NotContain("Shop secret crash").And.NotContain("alice");
        users.StatusCode.Should().Be(HttpStatusCode.Redirect);
        users.Headers.Location!.AbsolutePath.Should().Be("/access-denied", "users are for admins");
    }

    [Fact]
    public async Task A_member_sees_only_their_project_through_the_api_with_the_cookie_and_with_a_token()
    {
        var worker = await SeedAsync();
        using var member = await _server.SignedInClientAsync("dev@example.com", MemberPassword);
        var user = await _server.Access.FindUserByEmailAsync("dev@example.com");
        var token = (await _server.Accounts.CreateApiTokenAsync(user!.Id, "script")).Value.Secret;
        using var bearer = _server.NewClient();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        foreach (var client in new[] { member, bearer })
        {
            var list = await client.GetStringAsync("/api/projects");
            using var own = await client.GetAsync($"/api/projects/{worker.Id}");
            using var other = await client.GetAsync("/api/projects/1");

            list.Should().Contain("Billing worker").And.NotContain("Web shop").And.NotContain(DashboardServer.ProjectKey);
            own.StatusCode.Should().Be(HttpStatusCode.OK);
            (await own.Content.ReadAsStringAsync()).Should().Contain($"\"dsn\":\"http://worker-key-0123456789abcdef@{_server.BaseAddress.Authority}/{worker.Id}\"");
            other.StatusCode.Should().Be(HttpStatusCode.NotFound);
            (await other.Content.ReadAsStringAsync()).Should().NotContain("Web shop");
        }
    }

    [Fact]
    public async Task An_admin_sees_every_project_through_the_pages_and_the_api()
    {
        var worker = await SeedAsync();
        using var admin = await _server.SignedInClientAsync();

        (await admin.GetStringAsync("/")).Should().Contain("Billing worker").And.Contain("Web shop");
        (await admin.GetStringAsync("/projects/1/issues")).Should().Contain("Shop secret crash");
        var list = await admin.GetStringAsync("/api/projects");
        list.Should().Contain("\"id\":1,").And.Contain($"\"id\":{worker.Id},");
    }

    [Fact]
    public async Task A_disabled_member_is_signed_out_at_their_next_request()
    {
        await SeedAsync();
        using var member = await _server.SignedInClientAsync("dev@example.com", MemberPassword);
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var user = await _server.Access.FindUserByEmailAsync("dev@example.com");

        (await _server.Accounts.SetDisabledAsync(admin!.Id, user!.Id, disabled: true)).Succeeded.Should().BeTrue();

        (await member.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await member.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        using var again = await ErrorHub.Testing.Dashboard.DashboardForms.PostLoginAsync(member, "dev@example.com", MemberPassword);
        ErrorHub.Testing.Dashboard.DashboardForms.Problem(await again.Content.ReadAsStringAsync()).Should().Contain("disabled");
    }
}
