using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>An issue's activity over real HTTP with API tokens: state changes with who and when, comments, deleting them, and bad input.</summary>
public sealed class IssueActivityApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");

    private ApiHost _api = null!;

    public async Task InitializeAsync() =>
        _api = await ApiHost.StartAsync(
            Enumerable.Range(0, 3).Select(i => Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-i - 1), title: "InvalidOperationException: checkout")));

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private Task<JsonElement> JsonAsync(HttpClient client, string path) => _api.GetJsonAsync(path, client);

    [Fact]
    public async Task State_changes_and_comments_are_listed_newest_first_with_who_and_paged_by_cursor()
    {
        var client = _api.Admin;

        (await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/state", new { status = "resolved", afterRelease = "shop@2.4.1" })).EnsureSuccessStatusCode();
        using (var commented = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/comments", new { text = "  <b>Joe</b> says it's the coupon\n'; DROP TABLE issue_history; --  " }))
        {
            commented.StatusCode.Should().Be(HttpStatusCode.Created);
            var body = JsonDocument.Parse(await commented.Content.ReadAsStringAsync()).RootElement;
            body.GetProperty("kind").GetString().Should().Be("comment");
            body.GetProperty("text").GetString().Should().Be("<b>Joe</b> says it's the coupon\n'; DROP TABLE issue_history; --", "kept as typed, only trimmed");
        }

        (await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/state", new { status = "unresolved" })).EnsureSuccessStatusCode();

        var all = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/activity");
        var items = all.GetProperty("items").EnumerateArray().ToList();
        items.Select(i => (i.GetProperty("kind").GetString(), i.GetProperty("value").GetString())).Should().Equal(("status", "unresolved"), ("comment", ""), ("status", "resolved"));
        items[2].GetProperty("text").GetString().Should().Be("Resolved in the next release (after shop@2.4.1)");
        items.Should().OnlyContain(i => i.GetProperty("actorName").GetString()!.Length > 0 && i.GetProperty("actorId").GetString()!.Length > 0, "each says who");
        all.GetProperty("nextCursor").ValueKind.Should().Be(JsonValueKind.Null);

        var first = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/activity?limit=2");
        first.GetProperty("items").GetArrayLength().Should().Be(2);
        var rest = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/activity?limit=2&cursor={Uri.EscapeDataString(first.GetProperty("nextCursor").GetString()!)}");
        rest.GetProperty("items").EnumerateArray().Single().GetProperty("value").GetString().Should().Be("resolved");
        rest.GetProperty("nextCursor").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task A_member_deletes_their_own_comment_but_not_someone_elses_and_an_admin_deletes_any()
    {
        var admin = _api.Admin;
        var member = await _api.Server.CreateMemberAsync("member@example.com", "member password 1", 1);
        using var memberClient = await _api.TokenClientAsync(member.Id);

        async Task<string> CommentAsync(HttpClient client, string text)
        {
            using var response = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/comments", new { text });
            response.StatusCode.Should().Be(HttpStatusCode.Created);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }

        var adminComment = await CommentAsync(admin, "admin's note");
        var memberComment = await CommentAsync(memberClient, "member's note");
        var memberOther = await CommentAsync(memberClient, "another note");

        (await memberClient.DeleteAsync($"/api/projects/1/issues/{Checkout}/comments/{adminComment}")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await memberClient.DeleteAsync($"/api/projects/1/issues/{Checkout}/comments/{memberComment}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await admin.DeleteAsync($"/api/projects/1/issues/{Checkout}/comments/{memberOther}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await admin.DeleteAsync($"/api/projects/1/issues/{Checkout}/comments/{memberOther}")).StatusCode.Should().Be(HttpStatusCode.NotFound, "it is gone");

        var left = await JsonAsync(admin, $"/api/projects/1/issues/{Checkout}/activity");
        left.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("text").GetString()).Should().Equal("admin's note");
    }

    [Fact]
    public async Task Empty_oversized_and_malformed_comments_and_cursors_are_refused_and_other_projects_are_not_found()
    {
        var client = _api.Admin;
        var path = $"/api/projects/1/issues/{Checkout}/comments";

        foreach (var body in new object[] { new { text = "" }, new { text = "   \n\t " }, new { text = new string('x', 5_001) }, new { other = "x" } })
        {
            using var response = await client.PostAsJsonAsync(path, body);
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, JsonSerializer.Serialize(body));
            (await response.Content.ReadAsStringAsync()).Should().Contain("error");
        }

        using (var malformed = await client.PostAsync(path, new StringContent("{\"text\": \"x\"", Encoding.UTF8, "application/json")))
        {
            malformed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        using (var exactlyAtLimit = await client.PostAsJsonAsync(path, new { text = new string('y', 5_000) }))
        {
            exactlyAtLimit.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        foreach (var query in new[] { "limit=0", "limit=1001", "limit=-1", "limit=abc", "cursor=nope", "cursor=" + new string('1', 100), "cursor=1-" + Guid.NewGuid().ToString("D") })
        {
            using var response = await client.GetAsync($"/api/projects/1/issues/{Checkout}/activity?{query}");
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, query);
        }

        (await client.DeleteAsync($"/api/projects/1/issues/{Checkout}/comments/not-a-guid")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await client.DeleteAsync($"/api/projects/1/issues/{Checkout}/comments/{Guid.NewGuid()}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await client.GetAsync($"/api/projects/1/issues/{Fingerprint("never")}/activity")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        var (_, _, outsiderClient) = await _api.OutsiderAsync();
        using var outsider = outsiderClient;
        (await outsiderClient.GetAsync($"/api/projects/1/issues/{Checkout}/activity")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await outsiderClient.PostAsJsonAsync(path, new { text = "sneaky" })).StatusCode.Should().Be(HttpStatusCode.NotFound);
        var activity = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/activity");
        activity.GetProperty("items").EnumerateArray().Should().ContainSingle("only the comment at the limit was stored");
    }

    [Fact]
    public async Task Issues_merge_and_unmerge_through_the_api_and_bad_merges_are_refused()
    {
        var client = _api.Admin;
        var profile = Fingerprint("profile");
        await _api.InsertAsync(Create(1, profile, DateTimeOffset.UtcNow.AddMinutes(-30), title: "NullReferenceException: profile"));

        foreach (var body in new object[] { new { sources = Array.Empty<string>() }, new { sources = new[] { "" } }, new { sources = new[] { Checkout } }, new { sources = new[] { Fingerprint("never") } }, new { other = 1 } })
        {
            using var refused = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/merge", body);
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, JsonSerializer.Serialize(body));
        }

        using (var merged = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/merge", new { sources = new[] { profile } }))
        {
            merged.StatusCode.Should().Be(HttpStatusCode.OK);
            JsonDocument.Parse(await merged.Content.ReadAsStringAsync()).RootElement.GetProperty("merged").EnumerateArray().Select(e => e.GetString()).Should().Equal(profile);
        }

        (await JsonAsync(client, $"/api/projects/1/issues/{Checkout}")).GetProperty("events").GetInt64().Should().Be(4);
        (await client.GetAsync($"/api/projects/1/issues/{profile}")).StatusCode.Should().Be(HttpStatusCode.NotFound, "its events are the checkout issue's now");
        (await JsonAsync(client, "/api/projects/1/issues")).GetProperty("totalCount").GetInt64().Should().Be(1);
        (await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items")[0].GetProperty("kind").GetString().Should().Be("merge");

        (await client.PostAsync($"/api/projects/1/issues/{Checkout}/unmerge", null)).StatusCode.Should().Be(HttpStatusCode.NotFound, "it was never merged");
        (await client.PostAsync($"/api/projects/1/issues/{profile}/unmerge", null)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await JsonAsync(client, $"/api/projects/1/issues/{profile}")).GetProperty("events").GetInt64().Should().Be(1);
        (await JsonAsync(client, $"/api/projects/1/issues/{Checkout}")).GetProperty("events").GetInt64().Should().Be(3);

        var (_, _, outsiderClient) = await _api.OutsiderAsync();
        using var outsider = outsiderClient;
        (await outsiderClient.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/merge", new { sources = new[] { profile } })).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await JsonAsync(client, "/api/projects/1/issues")).GetProperty("totalCount").GetInt64().Should().Be(2);
    }
}
