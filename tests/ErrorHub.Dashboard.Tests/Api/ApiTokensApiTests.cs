using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Dashboard;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// One's own API tokens through the JSON API over real HTTP: created from a signed-in session with its antiforgery
/// token (the secret answered once), listed without secrets, revoked by a session or a token of the same account and
/// refused at once afterwards; other accounts' tokens are not found; hostile bodies and callers are refused.
/// </summary>
public sealed class ApiTokensApiTests : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task A_session_creates_a_token_shown_once_that_works_is_listed_without_its_secret_and_fails_once_revoked()
    {
        using var session = await _api.Server.SignedInClientAsync();

        using var created = await SendAsync(session, HttpMethod.Post, "/api/tokens", JsonContent.Create(new { name = "  nightly export 📈  " }));

        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var answer = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var secret = answer.GetProperty("token").GetString()!;
        var id = answer.GetProperty("id").GetGuid();
        secret.Should().StartWith("eh_");
        answer.GetProperty("name").GetString().Should().Be("nightly export 📈", "trimmed, and kept as typed");

        using var bearer = _api.BearerClient(secret);
        (await _api.GetJsonAsync("/api/projects", bearer)).GetProperty("items")[0].GetProperty("name").GetString().Should().Be("Web shop");

        using var listed = await session.GetAsync("/api/tokens");
        var listText = await listed.Content.ReadAsStringAsync();
        listText.Should().NotContain(secret, "a secret is answered once, when created").And.NotContain("\"token\"");
        var mine = JsonDocument.Parse(listText).RootElement.GetProperty("items").EnumerateArray().Single(t => t.GetProperty("id").GetGuid() == id);
        mine.GetProperty("name").GetString().Should().Be("nightly export 📈");
        mine.GetProperty("lastUsedAt").ValueKind.Should().Be(JsonValueKind.String, "its use was recorded");
        mine.GetProperty("revokedAt").ValueKind.Should().Be(JsonValueKind.Null);
        mine.GetProperty("createdAt").GetString().Should().Be(answer.GetProperty("createdAt").GetString(),
            "the answer that tells the secret and the list show the same creation time (whole seconds, as stored)");
        (await _api.GetJsonAsync($"/api/tokens/{id}", bearer)).GetProperty("name").GetString().Should().Be("nightly export 📈");
        WebUtility.HtmlDecode(await session.GetStringAsync("/account")).Should().Contain("nightly export 📈", "the account page lists the same tokens").And.NotContain(secret);

        using var revoked = await SendAsync(session, HttpMethod.Delete, $"/api/tokens/{id}");

        revoked.StatusCode.Should().Be(HttpStatusCode.NoContent);
        using var refused = await bearer.GetAsync("/api/projects");
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a revoked token fails on the very next request");
        (await _api.GetJsonAsync($"/api/tokens/{id}", _api.Admin)).GetProperty("revokedAt").ValueKind.Should().Be(JsonValueKind.String);
        using var again = await SendAsync(session, HttpMethod.Delete, $"/api/tokens/{id}");
        again.StatusCode.Should().Be(HttpStatusCode.NoContent, "revoking a revoked token of one's own changes nothing and says so plainly");
    }

    [Fact]
    public async Task A_token_lists_and_revokes_its_own_accounts_tokens_itself_included_but_cannot_create_one()
    {
        var admin = await _api.AdminAccountAsync();
        var spare = (await _api.Server.Accounts.CreateApiTokenAsync(admin.Id, "spare")).Value;
        var before = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").GetArrayLength();

        using var create = await _api.Admin.PostAsJsonAsync("/api/tokens", new { name = "minted by a token" });

        create.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ApiHost.ErrorAsync(create)).Should().Contain("signed-in session");
        var items = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items");
        items.GetArrayLength().Should().Be(before, "nothing was created");
        items.EnumerateArray().Select(t => t.GetProperty("name").GetString()).Should().Contain(["spare", "tests"]);

        using var spareClient = _api.BearerClient(spare.Secret);
        (await _api.Admin.DeleteAsync($"/api/tokens/{spare.Token.Id}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await spareClient.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        var self = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").EnumerateArray()
            .Single(t => t.GetProperty("name").GetString() == "tests").GetProperty("id").GetGuid();
        (await _api.Admin.DeleteAsync($"/api/tokens/{self}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await _api.Admin.GetAsync("/api/tokens")).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "a token that revoked itself is done");
    }

    [Fact]
    public async Task Another_accounts_token_id_is_not_found_as_if_it_did_not_exist_and_the_token_keeps_working()
    {
        var (_, _, outsiderClient) = await _api.OutsiderAsync();
        using var client = outsiderClient;
        var adminToken = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items")[0].GetProperty("id").GetGuid();

        using var foreignDelete = await outsiderClient.DeleteAsync($"/api/tokens/{adminToken}");
        using var unknownDelete = await outsiderClient.DeleteAsync($"/api/tokens/{Guid.NewGuid()}");
        using var foreignRead = await outsiderClient.GetAsync($"/api/tokens/{adminToken}");

        foreignDelete.StatusCode.Should().Be(HttpStatusCode.NotFound, "not 403: a 403 would tell that the id exists");
        unknownDelete.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await ApiHost.ErrorAsync(foreignDelete)).Should().Be(await ApiHost.ErrorAsync(unknownDelete), "the two answers are the same");
        foreignRead.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await _api.Admin.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.OK, "the admin's token was not revoked");
        var theirs = (await _api.GetJsonAsync("/api/tokens", outsiderClient)).GetProperty("items");
        theirs.EnumerateArray().Should().ContainSingle("a member lists their own tokens only").Which.GetProperty("id").GetGuid().Should().NotBe(adminToken);
    }

    [Fact]
    public async Task Hostile_bodies_are_refused_with_a_reason_and_create_nothing()
    {
        using var session = await _api.Server.SignedInClientAsync();
        var cases = new (string Body, HttpStatusCode Status, string Error)[]
        {
            ("{\"name\": \"x\"", HttpStatusCode.BadRequest, "not JSON"),
            ("", HttpStatusCode.BadRequest, "not JSON"),
            ("[]", HttpStatusCode.BadRequest, "not JSON"),
            ("\"name\"", HttpStatusCode.BadRequest, "not JSON"),
            ("{\"name\": 5}", HttpStatusCode.BadRequest, "not JSON"),
            (new string('[', 5_000), HttpStatusCode.BadRequest, "not JSON"),
            ("null", HttpStatusCode.BadRequest, "name is required"),
            ("{}", HttpStatusCode.BadRequest, "Name the token"),
            ("{\"Name\": \"wrong case\"}", HttpStatusCode.BadRequest, "Name the token"),
            ("{\"name\": \"\"}", HttpStatusCode.BadRequest, "Name the token"),
            ("{\"name\": \" \\t \\u3000 \"}", HttpStatusCode.BadRequest, "Name the token"),
            ($"{{\"name\": \"{new string('x', 101)}\"}}", HttpStatusCode.BadRequest, "up to 100 characters"),
            ($"{{\"name\": \"{string.Concat(Enumerable.Repeat("📈", 51))}\"}}", HttpStatusCode.BadRequest, "up to 100 characters"),
            ("{\"name\": \"two\\nlines\"}", HttpStatusCode.BadRequest, "control characters"),
            ("{\"name\": \"nul\\u0000byte\"}", HttpStatusCode.BadRequest, "control characters"),
            ("{\"name\": \"lone \\ud800 surrogate\"}", HttpStatusCode.BadRequest, "not JSON"),
            ($"{{\"name\": \"{new string('x', 20_000)}\"}}", HttpStatusCode.RequestEntityTooLarge, "larger than 16384 bytes"),
        };

        foreach (var (body, status, error) in cases)
        {
            using var response = await SendAsync(session, HttpMethod.Post, "/api/tokens", new StringContent(body, Encoding.UTF8, "application/json"));
            response.StatusCode.Should().Be(status, body[..Math.Min(body.Length, 60)]);
            (await ApiHost.ErrorAsync(response)).Should().Contain(error);
        }

        using (var invalidUtf8 = await SendAsync(session, HttpMethod.Post, "/api/tokens", Bytes([.. "{\"name\": \"a"u8, 0xFF, 0xFE, .. "\"}"u8], "application/json")))
        {
            invalidUtf8.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        using (var chunked = await SendAsync(session, HttpMethod.Post, "/api/tokens", new ChunkedContent(Encoding.UTF8.GetBytes($"{{\"name\": \"{new string('y', 100_000)}\"}}"))))
        {
            chunked.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge, "a body without a length is cut off at the limit too");
        }

        using (var form = await SendAsync(session, HttpMethod.Post, "/api/tokens", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "form" })))
        {
            form.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
            (await ApiHost.ErrorAsync(form)).Should().Contain("application/json");
        }

        (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").GetArrayLength().Should().Be(1, "only the fixture's token exists");

        var hostile = new[] { "'; DROP TABLE api_tokens; --", "<script>alert(1)</script>", "Ünïcødé 名前 🚀", new string('z', 100) };
        foreach (var name in hostile)
        {
            using var accepted = await SendAsync(session, HttpMethod.Post, "/api/tokens", JsonContent.Create(new { name }));
            accepted.StatusCode.Should().Be(HttpStatusCode.Created, name);
        }

        var names = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("name").GetString());
        names.Should().BeEquivalentTo([.. hostile, "tests"], "stored and answered exactly as given");
        var page = await session.GetStringAsync("/account");
        page.Should().Contain("&lt;script&gt;alert(1)&lt;/script&gt;", "the account page shows such a name as text").And.NotContain("<script>alert(1)</script>");
    }

    [Fact]
    public async Task The_list_pages_by_cursor_newest_first_through_tokens_made_in_the_same_second_and_refuses_bad_paging()
    {
        var admin = await _api.AdminAccountAsync();
        var revoked = (await _api.Server.Accounts.CreateApiTokenAsync(admin.Id, "revoked")).Value.Token;
        await _api.Server.Accounts.RevokeApiTokenAsync(admin.Id, revoked.Id);
        for (var i = 0; i < 6; i++)
        {
            (await _api.Server.Accounts.CreateApiTokenAsync(admin.Id, $"script {i}")).Succeeded.Should().BeTrue();
        }

        var all = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList();
        all.Should().HaveCount(8, "the tests' token, the revoked one and six scripts").And.OnlyHaveUniqueItems();

        var paged = new List<string?>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _api.GetJsonAsync("/api/tokens?limit=3" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            var items = page.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()).ToList();
            items.Count.Should().BeInRange(1, 3);
            paged.AddRange(items);
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        pages.Should().Be(3);
        paged.Should().Equal(all, "the pages together are the whole list, in its order, each token once");

        foreach (var bad in new[] { "limit=0", "limit=1001", "limit=-1", "limit=abc", "cursor=garbage", "cursor=t1_not-a-guid", "cursor=" + new string('t', 5000), "cursor=%00" })
        {
            using var refused = await _api.Admin.GetAsync("/api/tokens?" + bad);
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, bad);
            (await ApiHost.ErrorAsync(refused)).Should().MatchRegex("limit|cursor", bad);
        }
    }

    [Fact]
    public async Task Callers_without_a_session_or_token_sessions_without_the_antiforgery_token_and_wrong_methods_are_refused()
    {
        using var anonymous = _api.Server.NewClient();
        (await anonymous.GetAsync("/api/tokens")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await anonymous.PostAsJsonAsync("/api/tokens", new { name = "anonymous" })).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var adminToken = (await _api.GetJsonAsync("/api/tokens")).GetProperty("items")[0].GetProperty("id").GetGuid();
        (await anonymous.DeleteAsync($"/api/tokens/{adminToken}")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        using var unknownToken = _api.BearerClient("eh_no-such-token-0123456789abcdef");
        (await unknownToken.GetAsync("/api/tokens")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        using var session = await _api.Server.SignedInClientAsync();
        using var withoutAntiforgery = await session.PostAsJsonAsync("/api/tokens", new { name = "forged" });
        withoutAntiforgery.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ApiHost.ErrorAsync(withoutAntiforgery)).Should().Contain("RequestVerificationToken");
        using var forged = new HttpRequestMessage(HttpMethod.Post, "/api/tokens") { Content = JsonContent.Create(new { name = "forged" }) };
        forged.Headers.Add("RequestVerificationToken", "CfDJ8-not-a-real-antiforgery-token");
        (await session.SendAsync(forged)).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await session.DeleteAsync($"/api/tokens/{adminToken}")).StatusCode.Should().Be(HttpStatusCode.BadRequest, "a session revokes with the antiforgery token too");
        (await _api.Admin.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.OK, "the token was not revoked");
        (await _api.GetJsonAsync("/api/tokens")).GetProperty("items").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Should().Equal("tests");

        using var otherMember = await MemberSessionAsync();
        var memberAntiforgery = await DashboardForms.AntiforgeryTokenAsync(otherMember, "/account");
        using var stolen = new HttpRequestMessage(HttpMethod.Post, "/api/tokens") { Content = JsonContent.Create(new { name = "stolen" }) };
        stolen.Headers.Add("RequestVerificationToken", memberAntiforgery);
        (await session.SendAsync(stolen)).StatusCode.Should().Be(HttpStatusCode.BadRequest, "another account's antiforgery token is no good for this session");

        foreach (var (method, path) in new[] { (HttpMethod.Put, "/api/tokens"), (HttpMethod.Patch, $"/api/tokens/{adminToken}"), (HttpMethod.Post, $"/api/tokens/{adminToken}"), (HttpMethod.Delete, "/api/tokens") })
        {
            using var wrong = await _api.Admin.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(new { name = "x" }) });
            wrong.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, $"{method} {path}");
            (await ApiHost.ErrorAsync(wrong)).Should().Contain($"does not take {method}");
        }

        foreach (var id in new[] { "not-a-guid", "' OR 1=1 --", new string('f', 2_000) })
        {
            (await _api.Admin.GetAsync($"/api/tokens/{Uri.EscapeDataString(id)}")).StatusCode.Should().Be(HttpStatusCode.NotFound, id);
            (await _api.Admin.DeleteAsync($"/api/tokens/{Uri.EscapeDataString(id)}")).StatusCode.Should().Be(HttpStatusCode.NotFound, id);
        }

        (await _api.Admin.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private async Task<HttpClient> MemberSessionAsync()
    {
        await _api.Server.CreateMemberAsync("member@example.com", "member password 1", 1);
        return await _api.Server.SignedInClientAsync("member@example.com", "member password 1");
    }

    /// <summary>A request from a signed-in browser session: with the antiforgery token any dashboard page carries.</summary>
    private static async Task<HttpResponseMessage> SendAsync(HttpClient session, HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("RequestVerificationToken", await DashboardForms.AntiforgeryTokenAsync(session, "/account"));
        return await session.SendAsync(request);
    }

    private static ByteArrayContent Bytes(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        return content;
    }

    /// <summary>A JSON body sent without Content-Length (chunked), as a stream of unknown size is.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
