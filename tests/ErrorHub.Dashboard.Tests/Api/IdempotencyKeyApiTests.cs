using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ErrorHub.Dashboard.Api;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.ClickHouse;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// The <c>Idempotency-Key</c> header of the issue POSTs (state, assignee, comments) over real HTTP with an API token: the same
/// key and body again make nothing twice and answer as the first did, another body with the key is refused (422), and keys
/// that cannot be one are refused (400) with nothing changed. Until December 2026 a client that sent a comment again after
/// its answer was lost stored it twice.
/// </summary>
public sealed class IdempotencyKeyApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");

    private ApiHost _api = null!;

    public async Task InitializeAsync() =>
        _api = await ApiHost.StartAsync([Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-1), title: "InvalidOperationException: checkout")]);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task The_same_key_and_body_sent_again_changes_and_comments_once_and_answers_the_same()
    {
        var admin = await _api.AdminAccountAsync();
        using var resolved1 = await PostAsync("state", new { status = "resolved" }, "resolve-7f3a");
        using var resolved2 = await PostAsync("state", new { status = "resolved" }, "resolve-7f3a");
        (await ApiHost.JsonAsync(resolved2)).GetProperty("status").GetString().Should().Be("resolved");
        resolved1.StatusCode.Should().Be(HttpStatusCode.OK);

        using var assigned1 = await PostAsync("assignee", new { assigneeId = admin.Id }, "assign-7f3a");
        using var assigned2 = await PostAsync("assignee", new { assigneeId = admin.Id }, "assign-7f3a");
        (await ApiHost.JsonAsync(assigned2)).GetProperty("assigneeId").GetGuid().Should().Be(admin.Id);

        using var commented1 = await PostAsync("comments", new { text = "Joe wrote in: the coupon field" }, "comment-7f3a");
        using var commented2 = await PostAsync("comments", new { text = "Joe wrote in: the coupon field" }, "comment-7f3a");
        commented1.StatusCode.Should().Be(HttpStatusCode.Created);
        commented2.StatusCode.Should().Be(HttpStatusCode.Created);
        var first = JsonDocument.Parse(await commented1.Content.ReadAsStringAsync()).RootElement;
        var again = JsonDocument.Parse(await commented2.Content.ReadAsStringAsync()).RootElement;
        again.GetProperty("id").GetString().Should().Be(first.GetProperty("id").GetString(), "the same comment answered again");
        again.GetProperty("at").GetString().Should().Be(first.GetProperty("at").GetString());

        (await ActivityAsync()).Should().Equal(["comment", "assignment", "status"], "each request is made once");
    }

    [Fact]
    public async Task A_key_sent_with_another_body_issue_or_endpoint_is_refused_with_422_and_changes_nothing()
    {
        (await PostAsync("state", new { status = "resolved" }, "k-1")).StatusCode.Should().Be(HttpStatusCode.OK);

        foreach (var (path, body) in new (string, object)[] { ("state", new { status = "ignored" }), ("comments", new { text = "hello" }) })
        {
            using var reused = await PostAsync(path, body, "k-1");
            reused.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, path);
            (await ApiHost.ErrorAsync(reused)).Should().Contain("Idempotency-Key was sent with another request");
        }

        using var otherIssue = await _api.Admin.SendAsync(Request($"/api/projects/1/issues/{Fingerprint("cart")}/state", new { status = "resolved" }, "k-1"));
        otherIssue.StatusCode.Should().Be(HttpStatusCode.NotFound, "no such issue: refused before the key is looked at");

        (await _api.GetJsonAsync($"/api/projects/1/issues/{Checkout}")).GetProperty("status").GetString().Should().Be("resolved", "the refused request changed nothing");
        (await ActivityAsync()).Should().Equal(["status"]);
    }

    [Fact]
    public async Task Keys_that_cannot_be_one_are_refused_with_400_and_nothing_is_stored()
    {
        foreach (var key in new[] { "", new string('k', ApiIdempotency.MaxKeyLength + 1), "with space", "with\ttab" })
        {
            using var refused = await PostAsync("comments", new { text = "not stored" }, key);
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"key of {key.Length} characters: {await refused.Content.ReadAsStringAsync()}");
            (await ApiHost.ErrorAsync(refused)).Should().Contain("Idempotency-Key");
        }

        using var twice = Request($"/api/projects/1/issues/{Checkout}/comments", new { text = "not stored" }, "one");
        twice.Headers.TryAddWithoutValidation(ApiIdempotency.Header, "two");
        using var answer = await _api.Admin.SendAsync(twice);
        answer.StatusCode.Should().Be(HttpStatusCode.BadRequest, "a key sent twice is not one key");

        using var longest = await PostAsync("comments", new { text = "stored" }, new string('k', ApiIdempotency.MaxKeyLength));
        longest.StatusCode.Should().Be(HttpStatusCode.Created);
        (await ActivityAsync()).Should().Equal(["comment"], "only the request with a key that is one was made");
    }

    private async Task<HttpResponseMessage> PostAsync(string path, object body, string key) =>
        await _api.Admin.SendAsync(Request($"/api/projects/1/issues/{Checkout}/{path}", body, key));

    private static HttpRequestMessage Request(string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation(ApiIdempotency.Header, key);
        return request;
    }

    private async Task<IReadOnlyList<string?>> ActivityAsync() =>
        [.. (await _api.GetJsonAsync($"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items").EnumerateArray().Select(item => item.GetProperty("kind").GetString())];
}

/// <summary>What this server remembers of keys stays bounded however many a client sends, and a key stays its caller's.</summary>
public sealed class ApiIdempotencyMemoryTests
{
    [Fact]
    public void A_flood_of_keys_keeps_at_most_the_limit_and_a_key_is_its_callers_own()
    {
        using var keys = new ApiIdempotency();
        var ada = Caller(Guid.NewGuid());
        var bo = Caller(Guid.NewGuid());
        keys.Use(ada, "shared", "state\n1\nabc\nresolved").Should().Be(KeyUse.New);
        keys.Answered(ada, "shared");
        keys.Use(ada, "shared", "state\n1\nabc\nresolved").Should().Be(KeyUse.Answered);
        keys.Use(ada, "shared", "state\n1\nabc\nignored").Should().Be(KeyUse.Reused);
        keys.Use(bo, "shared", "state\n1\nabc\nignored").Should().Be(KeyUse.New, "another account's key of the same name is another key");

        for (var i = 0; i < ApiIdempotency.MaxRemembered + 20_000; i++)
        {
            keys.Use(ada, "flood-" + i, "comments\n1\nabc\nx");
        }

        keys.Remembered.Should().BeLessThanOrEqualTo(ApiIdempotency.MaxRemembered);
        keys.Use(ada, "after-the-flood", "comments\n1\nabc\nx").Should().Be(KeyUse.New, "a new key is still taken");
    }

    [Fact]
    public void Two_requests_racing_with_one_key_are_made_once_whatever_their_bodies()
    {
        using var keys = new ApiIdempotency();
        var ada = Caller(Guid.NewGuid());
        const int Rounds = 3000;
        var uses = new KeyUse[Rounds, 2];
        using var together = new Barrier(2);
        var racers = Enumerable.Range(0, 2).Select(racer => new Thread(() =>
        {
            for (var round = 0; round < Rounds; round++)
            {
                together.SignalAndWait();
                uses[round, racer] = keys.Use(ada, "race-" + round, racer == 0 || round % 2 == 0 ? "state\n1\nabc\nresolved" : "state\n1\nabc\nignored");
            }
        })).ToList();
        racers.ForEach(racer => racer.Start());
        racers.ForEach(racer => racer.Join());

        var bothMade = Enumerable.Range(0, Rounds).Count(round => uses[round, 0] == KeyUse.New && uses[round, 1] == KeyUse.New);
        bothMade.Should().Be(0, "of two requests sent at once with one key, one is made and the other hears 409 (the same body) or 422 (another)");
    }

    private static System.Security.Claims.ClaimsPrincipal Caller(Guid id) =>
        new(new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, id.ToString())], "test"));
}

/// <summary>
/// The same keys in front of a ClickHouse that took the write and lost its answer (<see cref="ClickHouseFaultProxy"/> on the
/// timeline's inserts only): the request fails, and the same request with the same key once ClickHouse answers is stored once.
/// </summary>
public sealed class ClickHouseIdempotencyKeyApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(externalUrl: null, ClickHouseServerFixture.ConfiguredBinary);

    public Task InitializeAsync() => _clickHouse.InitializeAsync();

    public Task DisposeAsync() => _clickHouse.DisposeAsync();

    [Fact]
    public async Task A_state_change_and_a_comment_whose_answers_broke_are_stored_once_when_sent_again_with_their_key()
    {
        await using var proxy = ClickHouseFaultProxy.Start(_clickHouse.Url);
        proxy.Arm(ClickHouseFault.ResetMidAnswer);
        await using var api = await ApiHost.StartAsync(
            [Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-1), title: "InvalidOperationException: checkout")],
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = proxy.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName("apikeyfault"),
                ["ErrorHub:Store:ClickHouse:RequestTimeout"] = "00:00:10",
            });

        foreach (var (path, body, key) in new (string, object, string)[] { ("state", new { status = "resolved" }, "resolve-1"), ("comments", new { text = "the coupon field" }, "comment-1") })
        {
            proxy.FaultOnly = ClickHouseFaultProxy.InsertsInto("issue_history");
            using (var lost = await api.Admin.SendAsync(Request(path, body, key)))
            {
                lost.IsSuccessStatusCode.Should().BeFalse($"the {path} entry's answer broke: {await lost.Content.ReadAsStringAsync()}");
            }

            proxy.FaultOnly = ClickHouseFaultProxy.NoRequest;
            using var retried = await api.Admin.SendAsync(Request(path, body, key));
            retried.IsSuccessStatusCode.Should().BeTrue(await retried.Content.ReadAsStringAsync());
        }

        proxy.FaultedRequests.Should().Be(2);
        var kinds = (await api.GetJsonAsync($"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items").EnumerateArray().Select(item => item.GetProperty("kind").GetString());
        kinds.Should().Equal(["comment", "status"], "each was stored once, though sent twice");
    }

    private static HttpRequestMessage Request(string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/projects/1/issues/{Checkout}/{path}") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation(ApiIdempotency.Header, key);
        return request;
    }
}
