using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>The issues API over real HTTP with an API token: lists, one issue, its events and users, state changes, and bad input.</summary>
public sealed class IssuesApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Profile = Fingerprint("profile");

    private ApiHost _api = null!;

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow;
        _api = await ApiHost.StartAsync(
        [
            .. Enumerable.Range(0, 30).Select(i => Create(1, Checkout, now.AddMinutes(-i - 1), new UserRecord($"u{i}", null, $"user{i}@example.com", null), "InvalidOperationException: checkout") with { Release = "shop@2.4.1" }),
            Create(1, Profile, now.AddHours(-1), title: "NullReferenceException: profile", level: "warning") with { Environment = "staging" },
        ]);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private Task<JsonElement> JsonAsync(HttpClient client, string path) => _api.GetJsonAsync(path, client);

    [Fact]
    public async Task Issues_are_listed_with_the_dashboards_filters_and_paged_by_cursor()
    {
        var client = _api.Admin;

        var all = await JsonAsync(client, "/api/projects/1/issues");
        all.GetProperty("totalCount").GetInt64().Should().Be(2);
        var first = all.GetProperty("items")[0];
        first.GetProperty("fingerprint").GetString().Should().Be(Checkout);
        first.GetProperty("status").GetString().Should().Be("unresolved");
        first.GetProperty("events").GetInt64().Should().Be(30);

        (await JsonAsync(client, "/api/projects/1/issues?environment=staging")).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("fingerprint").GetString()).Should().Equal(Profile);
        (await JsonAsync(client, "/api/projects/1/issues?q=" + Uri.EscapeDataString("user7@EXAMPLE"))).GetProperty("totalCount").GetInt64().Should().Be(1);
        (await JsonAsync(client, "/api/projects/1/issues?q=" + Uri.EscapeDataString("'; DROP TABLE events; --"))).GetProperty("totalCount").GetInt64().Should().Be(0);
        (await JsonAsync(client, "/api/projects/1/issues?q=" + Uri.EscapeDataString("release:\"shop@2.4.1 profile"))).GetProperty("items").EnumerateArray()
            .Select(i => i.GetProperty("fingerprint").GetString()).Should().Equal([Profile], "a quote never closed ends at the next space: release shop@2.4.1, then the text profile");

        var page1 = await JsonAsync(client, "/api/projects/1/issues?limit=1");
        var cursor = page1.GetProperty("nextCursor").GetString();
        var page2 = await JsonAsync(client, $"/api/projects/1/issues?limit=1&cursor={cursor}");
        page2.GetProperty("items")[0].GetProperty("fingerprint").GetString().Should().Be(Profile);
        page2.GetProperty("nextCursor").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task Every_tab_answers_with_more_resolved_and_ignored_issues_than_a_list_may_name()
    {
        // More than a list could name until December 2026 (5,000).
        const int Resolved = 5_001;
        const int Ignored = 5_002;
        var now = DateTimeOffset.UtcNow;
        var changed = DateTimeOffset.FromUnixTimeSeconds(now.AddHours(-1).ToUnixTimeSeconds());
        ErrorEvent At(string fingerprint, DateTimeOffset at) => Create(1, fingerprint, at, User("u-" + at.ToUnixTimeMilliseconds()));
        await _api.InsertAsync(
        [
            .. Enumerable.Range(0, Resolved).Select(i => At($"r-{i}", changed.AddHours(-1).AddSeconds(-i))),
            .. Enumerable.Range(0, Ignored).Select(i => At($"g-{i}", changed.AddHours(-1).AddSeconds(-i))),
            At("regressed", changed.AddHours(-1)), At("regressed", now.AddMinutes(-5)),
            At("ignore-ended-by-events", changed.AddHours(-1)), At("ignore-ended-by-events", now.AddMinutes(-4)), At("ignore-ended-by-events", now.AddMinutes(-3)),
            At("ignore-ended-by-time", changed.AddHours(-1)),
            At("ignore-holding", changed.AddHours(-1)), At("ignore-holding", now.AddMinutes(-2)),
        ]);
        await _api.Server.Services.GetRequiredService<IIssueStates>().SetStatesAsync(
        [
            .. Enumerable.Range(0, Resolved).Select(i => new IssueState(1, $"r-{i}", IssueStatus.Resolved, changed)),
            .. Enumerable.Range(0, Ignored).Select(i => new IssueState(1, $"g-{i}", IssueStatus.Ignored, changed) { IgnoredUntilEvents = 100 }),
            new IssueState(1, "regressed", IssueStatus.Resolved, changed),
            new IssueState(1, "ignore-ended-by-events", IssueStatus.Ignored, changed) { IgnoredUntilEvents = 2 },
            new IssueState(1, "ignore-ended-by-time", IssueStatus.Ignored, changed) { IgnoredUntil = now.AddMinutes(-10) },
            new IssueState(1, "ignore-holding", IssueStatus.Ignored, changed) { IgnoredUntilEvents = 2 },
        ]);

        async Task<(long Total, List<(string Fingerprint, string Status)> Items)> TabAsync(string query, int limit = 1000)
        {
            var items = new List<(string, string)>();
            long total = -1;
            string? cursor = null;
            do
            {
                var page = await JsonAsync(_api.Admin, $"/api/projects/1/issues?limit={limit}{query}" + (cursor is null ? "" : "&cursor=" + cursor));
                total = total < 0 ? page.GetProperty("totalCount").GetInt64() : total;
                page.GetProperty("totalCount").GetInt64().Should().Be(total, "every page of a tab counts the same");
                items.AddRange(page.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("fingerprint").GetString()!, i.GetProperty("status").GetString()!)));
                cursor = page.GetProperty("nextCursor").GetString();
            }
            while (cursor is not null);
            return (total, items);
        }

        string[] back = [Checkout, "ignore-ended-by-events", "regressed", Profile, "ignore-ended-by-time"];
        var unresolved = await TabAsync("", limit: 2);
        unresolved.Total.Should().Be(5, "the default tab works, without the resolved and ignored thousands");
        unresolved.Items.Select(i => i.Fingerprint).Should().Equal(back, "newest first, paged");
        unresolved.Items.Should().Contain(("regressed", "regressed")).And.Contain(("ignore-ended-by-events", "unresolved")).And.Contain(("ignore-ended-by-time", "unresolved"));
        (await TabAsync("&status=unresolved")).Items.Select(i => i.Fingerprint).Should().Equal(back);
        (await TabAsync("&status=new")).Items.Select(i => i.Fingerprint).Should().BeEquivalentTo(back, "for review: new and regressed");
        (await TabAsync("&status=regressed")).Items.Should().Equal(("regressed", "regressed"));

        var resolved = await TabAsync("&status=resolved");
        resolved.Total.Should().Be(Resolved);
        resolved.Items.Select(i => i.Fingerprint).Should().Equal(Enumerable.Range(0, Resolved).Select(i => $"r-{i}"), "every resolved issue, newest first, the regressed one not among them");
        resolved.Items.Should().OnlyContain(i => i.Status == "resolved");

        var ignored = await TabAsync("&status=ignored");
        ignored.Total.Should().Be(Ignored + 1);
        ignored.Items.Select(i => i.Fingerprint).Should().Equal(["ignore-holding", .. Enumerable.Range(0, Ignored).Select(i => $"g-{i}")], "ignores that ended are not among them");

        (await TabAsync("&status=all&sort=events")).Total.Should().Be(Resolved + Ignored + 1 + back.Length);
    }

    [Fact]
    public async Task Six_thousand_regressed_issues_are_all_listed_in_the_unresolved_regressed_and_for_review_tabs_and_not_as_resolved()
    {
        // Regressed issues are named to the store: until December 2026 at most 5,000, and more failed every tab but All.
        const int Regressed = 6_000;
        const int Quiet = 3;
        var now = DateTimeOffset.UtcNow;
        var changed = DateTimeOffset.FromUnixTimeSeconds(now.AddHours(-4).ToUnixTimeSeconds());
        await _api.InsertAsync(
        [
            .. Enumerable.Range(0, Regressed).SelectMany(i => new[] { Create(1, $"x-{i:D4}", changed.AddDays(-8)), Create(1, $"x-{i:D4}", changed.AddSeconds(Regressed - i)) }),
            .. Enumerable.Range(0, Quiet).Select(i => Create(1, $"q-{i}", changed.AddMinutes(-i - 1))),
        ]);
        await _api.Server.Services.GetRequiredService<IIssueStates>().SetStatesAsync(
            [.. Enumerable.Range(0, Regressed).Select(i => $"x-{i:D4}").Concat(Enumerable.Range(0, Quiet).Select(i => $"q-{i}")).Select(fingerprint => new IssueState(1, fingerprint, IssueStatus.Resolved, changed))]);
        string[] regressed = [.. Enumerable.Range(0, Regressed).Select(i => $"x-{i:D4}")];

        var unresolved = await ListTabAsync("");
        unresolved.Total.Should().Be(Regressed + 2);
        unresolved.Items.Select(i => i.Fingerprint).Should().Equal([Checkout, Profile, .. regressed], "newest first: every regressed issue among the unresolved ones");
        unresolved.Items.Where(i => i.Fingerprint.StartsWith("x-", StringComparison.Ordinal)).Should().OnlyContain(i => i.Status == "regressed");

        var regressedTab = await ListTabAsync("&status=regressed");
        regressedTab.Items.Select(i => i.Fingerprint).Should().Equal(regressed);
        regressedTab.Total.Should().Be(Regressed);
        (await ListTabAsync("&status=new")).Total.Should().Be(Regressed + 2, "for review: the new issues and every regressed one");

        var resolved = await ListTabAsync("&status=resolved");
        resolved.Items.Should().Equal(Enumerable.Range(0, Quiet).Select(i => ($"q-{i}", "resolved")), "only the resolved issues without events since");
        resolved.Total.Should().Be(Quiet);
    }

    private async Task<(long Total, List<(string Fingerprint, string Status)> Items)> ListTabAsync(string query)
    {
        var items = new List<(string, string)>();
        long total = -1;
        string? cursor = null;
        do
        {
            var page = await JsonAsync(_api.Admin, "/api/projects/1/issues?limit=1000" + query + (cursor is null ? "" : "&cursor=" + cursor));
            total = total < 0 ? page.GetProperty("totalCount").GetInt64() : total;
            items.AddRange(page.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("fingerprint").GetString()!, i.GetProperty("status").GetString()!)));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return (total, items);
    }

    [Fact]
    public async Task Every_event_and_user_of_an_issue_is_reachable_by_cursor()
    {
        var client = _api.Admin;

        var events = new List<string>();
        string? cursor = null;
        do
        {
            var page = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/events?limit=7" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            events.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("userEmail").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        events.Should().Equal(Enumerable.Range(0, 30).Select(i => $"user{i}@example.com"));

        var users = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/users?limit=20");
        users.GetProperty("totalCount").GetInt64().Should().Be(30);
        var rest = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/users?limit=20&cursor={users.GetProperty("nextCursor").GetString()}");
        rest.GetProperty("items").GetArrayLength().Should().Be(10);

        var issue = await JsonAsync(client, $"/api/projects/1/issues/{Checkout}");
        issue.GetProperty("lastRelease").GetString().Should().Be("shop@2.4.1");
        issue.GetProperty("users").GetInt64().Should().Be(30);
    }

    [Fact]
    public async Task State_changes_resolve_ignore_and_reopen_and_the_list_tabs_follow()
    {
        var client = _api.Admin;

        using (var resolved = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/state", new { status = "resolved", afterRelease = "shop@2.4.1" }))
        {
            resolved.StatusCode.Should().Be(HttpStatusCode.OK);
            var body = JsonDocument.Parse(await resolved.Content.ReadAsStringAsync()).RootElement;
            body.GetProperty("status").GetString().Should().Be("resolved");
            body.GetProperty("resolvedAfterRelease").GetString().Should().Be("shop@2.4.1");
        }

        (await JsonAsync(client, "/api/projects/1/issues")).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("fingerprint").GetString()).Should().Equal(Profile);
        (await JsonAsync(client, "/api/projects/1/issues?status=resolved")).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("fingerprint").GetString()).Should().Equal(Checkout);

        using (var ignored = await client.PostAsJsonAsync($"/api/projects/1/issues/{Profile}/state", new { status = "ignored", ignoreEvents = 5 }))
        {
            JsonDocument.Parse(await ignored.Content.ReadAsStringAsync()).RootElement.GetProperty("ignoredUntilEvents").GetInt64().Should().Be(5);
        }

        using (var reopened = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/state", new { status = "unresolved" }))
        {
            JsonDocument.Parse(await reopened.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString().Should().Be("unresolved");
        }
    }

    [Fact]
    public async Task The_list_says_whom_each_issue_is_assigned_to_and_filters_by_assignee()
    {
        var client = _api.Admin;
        var admin = await _api.AdminAccountAsync();
        using (var assigned = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/assignee", new { assigneeId = admin.Id }))
        {
            assigned.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        async Task<List<string?>> ListedAsync(string query) =>
            [.. (await JsonAsync(client, "/api/projects/1/issues" + query)).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("fingerprint").GetString())];

        var all = await JsonAsync(client, "/api/projects/1/issues");
        all.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("fingerprint").GetString() == Checkout)
            .GetProperty("assigneeId").GetGuid().Should().Be(admin.Id, "an unresolved issue's assignee is listed, not only a resolved one's");
        (await ListedAsync("?assigned=me")).Should().Equal(Checkout);
        (await ListedAsync("?assigned=none")).Should().Equal(Profile);
        (await ListedAsync("?q=" + Uri.EscapeDataString("is:unassigned"))).Should().Equal(Profile);
        (await ListedAsync("?q=" + Uri.EscapeDataString("assigned:" + admin.Email.ToUpperInvariant()))).Should().Equal(Checkout);
        (await ListedAsync($"?assigned={admin.Id}")).Should().Equal(Checkout);
        (await ListedAsync("?assigned=nobody@example.com")).Should().BeEmpty("no account has that address");
        (await ListedAsync("?assigned=" + Uri.EscapeDataString("' OR 1=1 --"))).Should().BeEmpty();
        (await ListedAsync("?assigned=any&status=resolved")).Should().BeEmpty("the filter narrows the tab");

        using (var resolved = await client.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/state", new { status = "resolved" }))
        {
            resolved.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await ListedAsync("?assigned=me")).Should().BeEmpty("a resolved issue is not on the Unresolved tab");
        (await ListedAsync("?assigned=me&status=resolved")).Should().Equal([Checkout], "resolving an issue keeps its assignee");
    }

    [Fact]
    public async Task Each_issue_says_whether_the_tokens_account_bookmarked_it_and_the_list_filters_by_bookmarks()
    {
        var admin = await _api.AdminAccountAsync();
        var member = await _api.Server.CreateMemberAsync("dev@example.com", "member password 1", 1);
        using var memberClient = await _api.TokenClientAsync(member.Id);
        var bookmarks = _api.Server.Services.GetRequiredService<IIssueBookmarks>();
        await bookmarks.SetBookmarksAsync(1, admin.Id, [Checkout], bookmarked: true, DateTimeOffset.UtcNow);

        async Task<Dictionary<string, bool>> BookmarkedAsync(HttpClient client, string query = "") =>
            (await JsonAsync(client, "/api/projects/1/issues" + query)).GetProperty("items").EnumerateArray()
                .ToDictionary(i => i.GetProperty("fingerprint").GetString()!, i => i.GetProperty("isBookmarked").GetBoolean());

        (await BookmarkedAsync(_api.Admin)).Should().Equal(new Dictionary<string, bool> { [Checkout] = true, [Profile] = false });
        (await BookmarkedAsync(memberClient)).Should().Equal(new Dictionary<string, bool> { [Checkout] = false, [Profile] = false }, "a bookmark is its owner's alone");
        (await JsonAsync(_api.Admin, $"/api/projects/1/issues/{Checkout}")).GetProperty("isBookmarked").GetBoolean().Should().BeTrue();
        (await JsonAsync(memberClient, $"/api/projects/1/issues/{Checkout}")).GetProperty("isBookmarked").GetBoolean().Should().BeFalse();

        (await BookmarkedAsync(_api.Admin, "?bookmarked=me")).Keys.Should().Equal(Checkout);
        (await BookmarkedAsync(_api.Admin, "?q=" + Uri.EscapeDataString("is:bookmarked"))).Keys.Should().Equal(Checkout);
        (await BookmarkedAsync(_api.Admin, "?q=" + Uri.EscapeDataString("bookmarks:me level:warning"))).Should().BeEmpty("the terms narrow each other");
        (await BookmarkedAsync(memberClient, "?bookmarked=me")).Should().BeEmpty();
        (await BookmarkedAsync(_api.Admin, "?bookmarked=" + Uri.EscapeDataString("<script>' OR 1=1"))).Should().HaveCount(2, "an unknown value is no filter");
    }

    [Theory]
    [InlineData("/api/projects/1/issues?limit=0")]
    [InlineData("/api/projects/1/issues?limit=1001")]
    [InlineData("/api/projects/1/issues?limit=abc")]
    [InlineData("/api/projects/1/issues?cursor=x12")]
    [InlineData("/api/projects/1/issues?cursor=o-5")]
    [InlineData("/api/projects/1/issues?cursor=o99999999999999")]
    [InlineData("/api/projects/1/issues/{checkout}/events?cursor=not-a-cursor")]
    [InlineData("/api/projects/1/issues/{checkout}/events?cursor=1-2-3")]
    [InlineData("/api/projects/1/issues/{checkout}/users?limit=-1")]
    public async Task Malformed_paging_is_400_with_a_reason(string path)
    {
        var client = _api.Admin;

        using var response = await client.GetAsync(path.Replace("{checkout}", Checkout, StringComparison.Ordinal));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"error\"");
    }

    [Fact]
    public async Task Hostile_state_changes_are_refused_and_change_nothing()
    {
        var client = _api.Admin;
        var path = $"/api/projects/1/issues/{Checkout}/state";

        var longRelease = new string('x', 20_000); // longer than any release ingest keeps, and than the timeline's words for the change
        foreach (var body in new object[]
        {
            new { status = "deleted" }, new { status = "ignored", ignoreMinutes = -5 }, new { status = "ignored", ignoreEvents = 0 }, new { status = (string?)null },
            new { status = "resolved", inRelease = longRelease }, new { status = "resolved", afterRelease = longRelease },
        })
        {
            using var response = await client.PostAsJsonAsync(path, body);
            var sent = JsonSerializer.Serialize(body);
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, sent.Length > 200 ? sent[..200] + "..." : sent);
        }

        using (var malformed = await client.PostAsync(path, new StringContent("{\"status\": \"resolved\"", Encoding.UTF8, "application/json")))
        {
            malformed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await ApiHost.ErrorAsync(malformed)).Should().Contain("not JSON of the form", "a refusal of the API is JSON, not the HTML not-found page");
        }

        using (var notJson = await client.PostAsync(path, new StringContent("status=resolved", Encoding.UTF8, "application/x-www-form-urlencoded")))
        {
            notJson.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
            (await ApiHost.ErrorAsync(notJson)).Should().Contain("application/json");
        }

        using (var wrongMethod = await client.PutAsJsonAsync(path, new { status = "resolved" }))
        {
            wrongMethod.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
            (await ApiHost.ErrorAsync(wrongMethod)).Should().Contain("does not take PUT; it takes ").And.Contain("POST");
        }

        using (var noEndpoint = await client.GetAsync("/api/projects/1/no-such-thing"))
        {
            noEndpoint.StatusCode.Should().Be(HttpStatusCode.NotFound);
            (await ApiHost.ErrorAsync(noEndpoint)).Should().Contain("no such API endpoint");
        }

        (await JsonAsync(client, $"/api/projects/1/issues/{Checkout}")).GetProperty("status").GetString().Should().Be("unresolved");
        (await JsonAsync(client, $"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items").GetArrayLength().Should().Be(0, "a refused change leaves no trace in the timeline either");
        using var unknown = await client.PostAsJsonAsync($"/api/projects/1/issues/{Fingerprint("never")}/state", new { status = "resolved" });
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_member_of_another_project_finds_no_issue_event_or_user()
    {
        var client = _api.Admin;
        var (other, _, memberClient) = await _api.OutsiderAsync();
        using var outsider = memberClient;

        foreach (var path in new[] { "/api/projects/1/issues", $"/api/projects/1/issues/{Checkout}", $"/api/projects/1/issues/{Checkout}/events", $"/api/projects/1/issues/{Checkout}/users" })
        {
            using var response = await memberClient.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.NotFound, path);
            (await response.Content.ReadAsStringAsync()).Should().NotContain("user1@example.com").And.NotContain("checkout");
        }

        using var change = await memberClient.PostAsJsonAsync($"/api/projects/1/issues/{Checkout}/state", new { status = "resolved" });
        change.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await JsonAsync(memberClient, $"/api/projects/{other.Id}/issues")).GetProperty("totalCount").GetInt64().Should().Be(0);
    }
}
