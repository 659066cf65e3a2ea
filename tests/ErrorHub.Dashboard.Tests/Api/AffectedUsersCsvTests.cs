using System.Net;
using ErrorHub.Dashboard.Api;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>The affected users' CSV over real HTTP: what a spreadsheet or a mail merge reads, and who may read it.</summary>
public sealed class AffectedUsersCsvTests
{
    private static readonly string Issue = Fingerprint("checkout");

    private static async Task SeedAsync(DashboardServer server, IEnumerable<ErrorEvent> events) =>
        await server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync([.. events]);

    [Fact]
    public async Task Every_user_is_exported_quoted_so_that_hostile_values_stay_text()
    {
        using var server = DashboardServer.Start();
        var now = DateTimeOffset.UtcNow;
        await SeedAsync(server,
        [
            Create(1, Issue, now.AddMinutes(-10), new UserRecord("42", "Joe \"JJ\" Smith", "joe@example.com", "10.0.0.1")) with
            {
                Request = new RequestRecord("GET", "https://shop.example/checkout?bundle=a,b", null, new Dictionary<string, string>()),
            },
            Create(1, Issue, now.AddMinutes(-20), new UserRecord("=HYPERLINK(\"http://evil\")", "+cmd|' /C calc'!A0", "@evil.example", null)),
            Create(1, Issue, now.AddMinutes(-30), new UserRecord("line\nbreak", "-2+3", null, null)),
            .. Enumerable.Range(0, 1_200).Select(i => Create(1, Issue, now.AddHours(-1).AddSeconds(-i), User($"bulk-{i}"))),
        ]);
        using var client = await server.SignedInClientAsync();

        using var response = await client.GetAsync($"/projects/1/issues/{Issue}/users.csv");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be("text/csv; charset=utf-8");
        response.Content.Headers.ContentDisposition!.FileName.Should().Contain($"issue-{Issue}-users.csv");
        var csv = await response.Content.ReadAsStringAsync();
        var lines = csv.Split("\r\n");
        lines[0].Should().Be("email,name,id,ip_address,events,first_seen,last_seen,latest_url");
        lines[1].Should().StartWith("\"joe@example.com\",\"Joe \"\"JJ\"\" Smith\",\"42\",\"10.0.0.1\",1,").And.EndWith(",\"https://shop.example/checkout?bundle=a,b\"");
        lines[2].Should().StartWith("\"'@evil.example\",\"'+cmd|' /C calc'!A0\",\"'=HYPERLINK(\"\"http://evil\"\")\",,1,", "a formula becomes text");
        lines[3].Should().StartWith(",\"'-2+3\",\"line\nbreak\",,1,", "a line break stays inside its quoted field");
        lines.Count(line => line.StartsWith(",,\"bulk-", StringComparison.Ordinal)).Should().Be(1_200, "every user, beyond the first thousand too");
        lines[^1].Should().BeEmpty("the file ends with a line break");
    }

    [Fact]
    public async Task The_export_keeps_the_search_and_a_member_of_another_project_gets_404()
    {
        using var server = DashboardServer.Start();
        var now = DateTimeOffset.UtcNow;
        await SeedAsync(server,
        [
            Create(1, Issue, now.AddMinutes(-1), new UserRecord("1", null, "ann@example.com", null)),
            Create(1, Issue, now.AddMinutes(-2), new UserRecord("2", null, "bob@example.com", null)),
        ]);
        using var admin = await server.SignedInClientAsync();

        var searched = await admin.GetStringAsync($"/projects/1/issues/{Issue}/users.csv?q=BOB");

        searched.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(2).And.Contain(line => line.StartsWith("\"bob@example.com\"", StringComparison.Ordinal));
        (await admin.GetAsync($"/projects/1/issues/{Fingerprint("never")}/users.csv")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        var other = await server.Projects.CreateProjectAsync("Other", "other-key-0123456789", now);
        await server.CreateMemberAsync("member@example.com", "member password 1", other.Id);
        using var member = await server.SignedInClientAsync("member@example.com", "member password 1");
        using var denied = await member.GetAsync($"/projects/1/issues/{Issue}/users.csv");
        denied.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await denied.Content.ReadAsStringAsync()).Should().NotContain("ann@example.com");

        using var anonymous = server.NewClient();
        using var redirected = await anonymous.GetAsync($"/projects/1/issues/{Issue}/users.csv");
        redirected.StatusCode.Should().NotBe(HttpStatusCode.OK);
        (await redirected.Content.ReadAsStringAsync()).Should().NotContain("ann@example.com");
    }

    [Fact]
    public void Fields_are_quoted_and_formulas_neutralised()
    {
        AffectedUsersCsv.Field(null).Should().BeEmpty();
        AffectedUsersCsv.Field("plain").Should().Be("\"plain\"");
        AffectedUsersCsv.Field("a\"b").Should().Be("\"a\"\"b\"");
        AffectedUsersCsv.Field("=1+1").Should().Be("\"'=1+1\"");
        AffectedUsersCsv.Field("\tx").Should().Be("\"'\tx\"");
    }
}
