using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Ingest;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// A signed-in browser session changes nothing through the JSON API without the dashboard's antiforgery token, on every
/// endpoint that changes something: what a page on a sibling sub-domain could make a visitor's browser send (the
/// session cookie is SameSite=Lax, which is sent there). With the token, or with an API token, the same calls work.
/// </summary>
public sealed class SessionAntiforgeryTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Profile = Fingerprint("profile");
    private ApiHost _api = null!;

    public async Task InitializeAsync() =>
        _api = await ApiHost.StartAsync(
        [
            Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-2), title: "InvalidOperationException: checkout"),
            Create(1, Profile, DateTimeOffset.UtcNow.AddMinutes(-3), title: "NullReferenceException: profile"),
        ]);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Every_change_from_a_session_without_the_antiforgery_token_is_refused_and_changes_nothing()
    {
        var admin = await _api.AdminAccountAsync();
        using var session = await _api.Server.SignedInClientAsync();
        var issue = $"/api/projects/1/issues/{Checkout}";
        var commented = await CommentAsync(_api.Admin, "kept");

        var changes = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Post, issue + "/state", new { status = "resolved" }),
            (HttpMethod.Post, issue + "/assignee", new { assigneeId = admin.Id }),
            (HttpMethod.Post, issue + "/comments", new { text = "forged" }),
            (HttpMethod.Delete, $"{issue}/comments/{commented}", null),
            (HttpMethod.Post, issue + "/merge", new { sources = new[] { Profile } }),
            (HttpMethod.Post, issue + "/unmerge", null),
            (HttpMethod.Post, "/api/tokens", new { name = "forged" }),
        };
        foreach (var (method, path, body) in changes)
        {
            foreach (var antiforgery in new[] { null, "CfDJ8-not-a-real-antiforgery-token" })
            {
                using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
                if (antiforgery is not null)
                {
                    request.Headers.Add("RequestVerificationToken", antiforgery);
                }

                using var refused = await session.SendAsync(request);
                refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{method} {path} with antiforgery token {antiforgery ?? "(none)"}");
                (await ApiHost.ErrorAsync(refused)).Should().Contain("RequestVerificationToken");
            }
        }

        var detail = await _api.GetJsonAsync(issue);
        detail.GetProperty("status").GetString().Should().Be("unresolved");
        detail.GetProperty("assigneeId").ValueKind.Should().Be(JsonValueKind.Null);
        var activity = (await _api.GetJsonAsync(issue + "/activity")).GetProperty("items").EnumerateArray().ToList();
        activity.Select(item => item.GetProperty("text").GetString()).Should().Equal(["kept"], "the forged comment was not added and the kept one not deleted");
        (await _api.GetJsonAsync($"/api/projects/1/issues/{Profile}")).GetProperty("fingerprint").GetString().Should().Be(Profile, "not merged");
        (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").GetArrayLength().Should().Be(1, "only the tests' token");
    }

    [Fact]
    public async Task A_session_with_its_antiforgery_token_and_a_caller_with_an_api_token_change_the_issue_and_ingest_needs_neither()
    {
        using var session = await _api.Server.SignedInClientAsync();
        var issue = $"/api/projects/1/issues/{Checkout}";

        using (var resolved = await SendAsync(session, HttpMethod.Post, issue + "/state", JsonContent.Create(new { status = "resolved" })))
        {
            resolved.StatusCode.Should().Be(HttpStatusCode.OK, await resolved.Content.ReadAsStringAsync());
        }

        var fromSession = await CommentAsync(session, "from the session", withAntiforgery: true);
        using (var deleted = await SendAsync(session, HttpMethod.Delete, $"{issue}/comments/{fromSession}"))
        {
            deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        using (var merged = await SendAsync(session, HttpMethod.Post, issue + "/merge", JsonContent.Create(new { sources = new[] { Profile } })))
        {
            merged.StatusCode.Should().Be(HttpStatusCode.OK, await merged.Content.ReadAsStringAsync());
        }

        using (var unmerged = await _api.Admin.PostAsync($"/api/projects/1/issues/{Profile}/unmerge", null))
        {
            unmerged.StatusCode.Should().Be(HttpStatusCode.NoContent, "an API token needs no antiforgery token");
        }

        using (var ingest = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = IngestHost.MessagePack(Wire.Encode(SampleBatch.Batch(SampleBatch.MessageEvent()))) })
        {
            ingest.Headers.Add("X-ErrorHub-Key", DashboardServer.ProjectKey);
            (await session.SendAsync(ingest)).StatusCode.Should().Be(HttpStatusCode.Accepted, "ingest checks its key, not a session's antiforgery token, even when a browser's cookies come along");
        }

        (await _api.GetJsonAsync(issue)).GetProperty("status").GetString().Should().Be("resolved");
        (await _api.GetJsonAsync($"/api/projects/1/issues/{Profile}")).GetProperty("fingerprint").GetString().Should().Be(Profile, "unmerged again");
    }

    private async Task<string> CommentAsync(HttpClient client, string text, bool withAntiforgery = false)
    {
        using var response = withAntiforgery
            ? await SendAsync(client, HttpMethod.Post, $"/api/projects/1/issues/{Checkout}/comments", JsonContent.Create(new { text }))
            : await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/comments", new { text });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient session, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("RequestVerificationToken", await DashboardForms.AntiforgeryTokenAsync(session, "/"));
        return await session.SendAsync(request);
    }
}
