using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// One event whole, assigning an issue, starring it and subscribing to it, through the JSON API over real HTTP with an API token, hostile input
/// included; on each store.
/// </summary>
public abstract class IssueDetailApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Profile = Fingerprint("profile");
    private static readonly string Search = Fingerprint("search");
    private ApiHost _api = null!;
    private ErrorEvent _complete = null!;
    private ErrorEvent _merged = null!;
    private ErrorEvent _elsewhere = null!;

    /// <summary>The store's settings (none: the server's SQLite file).</summary>
    private protected abstract Dictionary<string, string?> StoreSettings { get; }

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow;
        _complete = CreateComplete(1, Checkout, now.AddHours(-1));
        _merged = Create(1, Profile, now.AddHours(-2), User("ann"), "NullReferenceException: profile");
        _elsewhere = Create(1, Search, now.AddHours(-3), title: "TimeoutException: search");
        _api = await ApiHost.StartAsync([_complete, _merged, _elsewhere], StoreSettings);
        await _api.Server.Services.GetRequiredService<IIssueMerges>().MergeAsync(1, Checkout, [Profile], now);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string EventPath(string fingerprint, string eventId) =>
        $"/api/projects/1/issues/{Uri.EscapeDataString(fingerprint)}/events/{Uri.EscapeDataString(eventId)}";

    private static Task<JsonElement> JsonAsync(HttpResponseMessage response) => ApiHost.JsonAsync(response);

    [Fact]
    public async Task An_event_reads_whole_by_its_id_also_one_of_an_issue_merged_into_it()
    {
        using var response = await _api.Admin.GetAsync(EventPath(Checkout, _complete.EventId.ToString("N")));
        var json = await JsonAsync(response);

        json.GetProperty("eventId").GetGuid().Should().Be(_complete.EventId);
        json.GetProperty("title").GetString().Should().Be(_complete.Title, "hostile strings come back as they were stored");
        json.GetProperty("message").GetString().Should().Be(_complete.Message);
        json.GetProperty("exceptions").EnumerateArray().Select(e => e.GetProperty("type").GetString())
            .Should().Equal("System.AggregateException", "System.NullReferenceException");
        json.GetProperty("exceptions")[1].GetProperty("frames")[0].GetProperty("line").GetInt32().Should().Be(87);
        json.GetProperty("user").GetProperty("email").GetString().Should().Be("jdoe@example.com");
        json.GetProperty("request").GetProperty("url").GetString().Should().Be("https://shop.example/checkout?bundle='x'");
        json.GetProperty("tags").GetProperty("region").GetString().Should().Be("eu-west");

        using var merged = await _api.Admin.GetAsync(EventPath(Checkout, _merged.EventId.ToString("D")));
        (await JsonAsync(merged)).GetProperty("title").GetString().Should().Be("NullReferenceException: profile");
        using var mergedAway = await _api.Admin.GetAsync(EventPath(Profile, _merged.EventId.ToString("N")));
        mergedAway.StatusCode.Should().Be(HttpStatusCode.NotFound, "a merged issue is no issue of its own");
        using var otherIssue = await _api.Admin.GetAsync(EventPath(Checkout, _elsewhere.EventId.ToString("N")));
        otherIssue.StatusCode.Should().Be(HttpStatusCode.NotFound, "that event is another issue's");
        using var unknown = await _api.Admin.GetAsync(EventPath(Checkout, Guid.NewGuid().ToString("N")));
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Every_field_of_an_event_is_named_where_docs_api_md_describes_the_endpoint()
    {
        using var response = await _api.Admin.GetAsync(EventPath(Checkout, _complete.EventId.ToString("N")));
        var json = await JsonAsync(response);
        var docs = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "docs", "api.md"));
        var start = docs.IndexOf("/events/{eventId}` — one event whole", StringComparison.Ordinal);
        start.Should().BePositive("docs/api.md describes the endpoint");
        var paragraph = docs[start..docs.IndexOf("\n\n", start, StringComparison.Ordinal)];

        // A script reads these by name: each one the endpoint answers must be on the page, or the reader cannot know it.
        var exception = json.GetProperty("exceptions")[0];
        var fields = new[] { json, json.GetProperty("user"), json.GetProperty("request"), exception, exception.GetProperty("frames")[0] }
            .SelectMany(element => element.EnumerateObject().Select(property => property.Name))
            .Distinct();

        fields.Where(name => !paragraph.Contains($"`{name}`", StringComparison.Ordinal))
            .Should().BeEmpty("docs/api.md names every field the event endpoint answers");
    }

    [Theory]
    [InlineData("not-an-id")]
    [InlineData("' OR 1=1 --")]
    [InlineData("0123456789abcdef0123456789abcdefff")]
    [InlineData("\\u0000")]
    public async Task An_event_id_that_is_no_id_is_400(string eventId)
    {
        using var response = await _api.Admin.GetAsync(EventPath(Checkout, eventId));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Be("eventId is the id of an event: 32 hexadecimal digits");
        using var longId = await _api.Admin.GetAsync(EventPath(Checkout, new string('f', 4000)));
        longId.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task An_issue_is_assigned_and_unassigned_and_the_activity_says_so_but_not_to_someone_who_may_not_see_it()
    {
        var admin = await _api.Server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var path = $"/api/projects/1/issues/{Uri.EscapeDataString(Checkout)}/assignee";

        using (var assigned = await _api.Admin.PostAsJsonAsync(path, new { assigneeId = admin!.Id }))
        {
            (await JsonAsync(assigned)).GetProperty("assigneeId").GetGuid().Should().Be(admin.Id);
        }

        using (var activity = await _api.Admin.GetAsync($"/api/projects/1/issues/{Uri.EscapeDataString(Checkout)}/activity"))
        {
            var newest = (await JsonAsync(activity)).GetProperty("items")[0];
            newest.GetProperty("kind").GetString().Should().Be("assignment");
            newest.GetProperty("value").GetString().Should().Be(admin.Id.ToString("D"));
        }

        var (_, outsider, outsiderClient) = await _api.OutsiderAsync();
        using var outsiderHttp = outsiderClient;
        foreach (var body in new object[] { new { assigneeId = outsider.Id }, new { assigneeId = Guid.NewGuid() } })
        {
            using var refused = await _api.Admin.PostAsJsonAsync(path, body);
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, JsonSerializer.Serialize(body));
        }

        // A body without assigneeId (a misspelt key, an empty object) is refused, not read as "nobody".
        var misspelt = $"{{\"assignee\": \"{admin.Id}\"}}";
        foreach (var malformed in new[] { "{\"assigneeId\": \"' OR 1=1 --\"}", "{\"assigneeId\": ", "[]", new string('[', 5000), "{}", misspelt })
        {
            using var refused = await _api.Admin.PostAsync(path, new StringContent(malformed, Encoding.UTF8, "application/json"));
            refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, malformed[..Math.Min(40, malformed.Length)]);
        }

        using (var unchanged = await _api.Admin.GetAsync($"/api/projects/1/issues/{Uri.EscapeDataString(Checkout)}"))
        {
            (await JsonAsync(unchanged)).GetProperty("assigneeId").GetGuid().Should().Be(admin.Id, "a refused body changes nothing");
        }

        using (var unassigned = await _api.Admin.PostAsJsonAsync(path, new { assigneeId = (Guid?)null }))
        {
            (await JsonAsync(unassigned)).GetProperty("assigneeId").ValueKind.Should().Be(JsonValueKind.Null);
        }

        using var foreign = await outsiderClient.PostAsJsonAsync(path, new { assigneeId = outsider.Id });
        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var foreignEvent = await outsiderClient.GetAsync(EventPath(Checkout, _complete.EventId.ToString("N")));
        foreignEvent.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await foreignEvent.Content.ReadAsStringAsync()).Should().NotContain("jdoe");
    }

    [Fact]
    public async Task An_issue_is_starred_and_unstarred_through_the_API_for_the_callers_account_only()
    {
        var bookmark = $"/api/projects/1/issues/{Uri.EscapeDataString(Checkout)}/bookmark";
        var issue = $"/api/projects/1/issues/{Uri.EscapeDataString(Checkout)}";
        var (_, _, outsiderClient) = await _api.OutsiderAsync();
        using var outsiderHttp = outsiderClient;

        using (var starred = await _api.Admin.PutAsync(bookmark, content: null))
        {
            starred.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        using (var read = await _api.Admin.GetAsync(issue))
        {
            (await JsonAsync(read)).GetProperty("isBookmarked").GetBoolean().Should().BeTrue();
        }

        using (var list = await _api.Admin.GetAsync("/api/projects/1/issues?bookmarked=me"))
        {
            (await JsonAsync(list)).GetProperty("items").EnumerateArray().Select(item => item.GetProperty("fingerprint").GetString())
                .Should().Equal(Checkout);
        }

        using (var foreign = await outsiderClient.PutAsync(bookmark, content: null))
        {
            foreign.StatusCode.Should().Be(HttpStatusCode.NotFound, "an issue of a project the caller may not read is not theirs to star");
        }

        using (var unknown = await _api.Admin.PutAsync($"/api/projects/1/issues/{Uri.EscapeDataString(new string('x', 3000))}/bookmark", content: null))
        {
            unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        using (var unstarred = await _api.Admin.DeleteAsync(bookmark))
        {
            unstarred.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        using var after = await _api.Admin.GetAsync(issue);
        (await JsonAsync(after)).GetProperty("isBookmarked").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task The_callers_subscription_to_an_issue_reads_why_and_an_unsubscribe_by_hand_outlasts_a_later_comment()
    {
        var issue = $"/api/projects/1/issues/{Uri.EscapeDataString(Search)}";
        var subscription = issue + "/subscription";
        var (_, _, outsiderClient) = await _api.OutsiderAsync();
        using var outsiderHttp = outsiderClient;

        async Task<(bool Subscribed, string? Reason)> ReadAsync(HttpResponseMessage response)
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var json = await JsonAsync(response);
            return (json.GetProperty("isSubscribed").GetBoolean(), json.TryGetProperty("reason", out var reason) ? reason.GetString() : null);
        }

        using (var before = await _api.Admin.GetAsync(subscription))
        {
            (await ReadAsync(before)).Should().Be((false, (string?)null));
        }

        using (var commented = await _api.Admin.PostAsJsonAsync(issue + "/comments", new { text = "Looking into it." }))
        {
            commented.IsSuccessStatusCode.Should().BeTrue();
        }

        using (var participant = await _api.Admin.GetAsync(subscription))
        {
            (await ReadAsync(participant)).Should().Be((true, "commented"));
        }

        using (var unsubscribed = await _api.Admin.DeleteAsync(subscription))
        {
            (await ReadAsync(unsubscribed)).Should().Be((false, (string?)null));
        }

        using (var again = await _api.Admin.PostAsJsonAsync(issue + "/comments", new { text = "Still on it." }))
        {
            again.IsSuccessStatusCode.Should().BeTrue();
        }

        using (var stillOff = await _api.Admin.GetAsync(subscription))
        {
            (await ReadAsync(stillOff)).Should().Be((false, (string?)null), "an unsubscribe by hand wins over a later comment");
        }

        using (var subscribed = await _api.Admin.PutAsync(subscription, content: null))
        {
            (await ReadAsync(subscribed)).Should().Be((true, "manual"));
        }

        using var foreign = await outsiderClient.PutAsync(subscription, content: null);
        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}

public sealed class SqliteIssueDetailApiTests : IssueDetailApiTests
{
    private protected override Dictionary<string, string?> StoreSettings => [];
}

[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseIssueDetailApiTests(ClickHouseServerFixture clickHouse) : IssueDetailApiTests
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseIssueDetailApiTests));

    private protected override Dictionary<string, string?> StoreSettings => new()
    {
        ["ErrorHub:Store:Kind"] = "clickhouse",
        ["ErrorHub:Store:ClickHouse:Url"] = clickHouse.Url.ToString(),
        ["ErrorHub:Store:ClickHouse:Database"] = _database,
    };
}
