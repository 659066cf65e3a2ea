using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// Saved searches and the pinned default through the JSON API over real HTTP with API tokens: who may change which,
/// hostile input; on each store.
/// </summary>
public abstract class SavedSearchesApiTests : IAsyncLifetime
{
    private const string Searches = "/api/projects/1/saved-searches";
    private const string Pin = "/api/projects/1/pinned-search";
    private ApiHost _api = null!;
    private UserAccount _member = null!;
    private HttpClient _memberClient = null!;
    private HttpClient _otherMemberClient = null!;

    /// <summary>The store's settings (none: the server's SQLite file).</summary>
    private protected abstract Dictionary<string, string?> StoreSettings { get; }

    public async Task InitializeAsync()
    {
        _api = await ApiHost.StartAsync(settings: StoreSettings);
        _member = await _api.Server.CreateMemberAsync("mia@example.com", "member password 1", 1);
        _memberClient = await _api.TokenClientAsync(_member.Id);
        var other = await _api.Server.CreateMemberAsync("otto@example.com", "member password 2", 1);
        _otherMemberClient = await _api.TokenClientAsync(other.Id);
    }

    public async Task DisposeAsync()
    {
        _memberClient.Dispose();
        _otherMemberClient.Dispose();
        await _api.DisposeAsync();
    }

    private static async Task<JsonElement> CreateAsync(HttpClient client, string name, string query, string? visibility = null)
    {
        using var response = await client.PostAsJsonAsync(Searches, new { name, query, visibility });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<List<(string Id, string Name, string Query, string Visibility, bool IsPinned, bool CanEdit)>> ListAsync(HttpClient client)
    {
        var json = await _api.GetJsonAsync(Searches, client);
        return [.. json.GetProperty("items").EnumerateArray().Select(item => (
            item.GetProperty("id").GetString()!, item.GetProperty("name").GetString()!, item.GetProperty("query").GetString()!,
            item.GetProperty("visibility").GetString()!, item.GetProperty("isPinned").GetBoolean(), item.GetProperty("canEdit").GetBoolean()))];
    }

    private static Task<HttpResponseMessage> PutJsonAsync(HttpClient client, string path, string json) =>
        client.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task The_list_is_recommended_then_shared_then_the_callers_own_with_queries_in_the_lists_own_form()
    {
        var shared = await CreateAsync(_api.Admin, "Team regressions", "q=is:regressed env:production", "shared");
        shared.GetProperty("query").GetString().Should().Be("status=regressed&environment=production", "Sentry's terms become the list's own address");
        shared.GetProperty("visibility").GetString().Should().Be("shared");
        var mine = await CreateAsync(_memberClient, "  My bookmarks, slowest first  ", "?bookmarked=me&sort=events&order=asc&page=4");
        mine.GetProperty("name").GetString().Should().Be("My bookmarks, slowest first", "names are trimmed");
        mine.GetProperty("query").GetString().Should().Be("bookmarked=me&sort=events&order=asc", "a page is no part of a search");
        await CreateAsync(_otherMemberClient, "Otto's", "assigned=me");

        var listed = (await _api.GetJsonAsync(Searches, _memberClient)).GetProperty("items").EnumerateArray()
            .Single(item => item.GetProperty("id").GetString() == mine.GetProperty("id").GetString());
        listed.GetProperty("createdAt").GetString().Should().Be(mine.GetProperty("createdAt").GetString(),
            "the answer to the save and the list show the same creation time");

        var list = await ListAsync(_memberClient);
        list.Select(item => item.Visibility).Distinct().Should().Equal("recommended", "shared", "personal");
        list.Where(item => item.Visibility == "recommended").Select(item => item.Name).Should().StartWith(["Unresolved issues", "For review", "Regressed", "Assigned to me"]);
        list.Single(item => item.Id == "recommended:unresolved").Query.Should().BeEmpty("the plain list");
        list.Where(item => item.Visibility != "recommended").Select(item => (item.Name, item.CanEdit)).Should().Equal(("Team regressions", false), ("My bookmarks, slowest first", true));
        list.Should().NotContain(item => item.Name == "Otto's", "another member's own search is never shown");
        (await ListAsync(_api.Admin)).Where(item => item.Visibility != "recommended").Select(item => (item.Name, item.CanEdit)).Should().Equal([("Team regressions", true)], "nor to an admin");
    }

    [Fact]
    public async Task A_member_changes_only_their_own_searches_an_admin_also_the_shared_ones_and_nobody_another_persons()
    {
        var shared = (await CreateAsync(_api.Admin, "Shared", "status=ignored", "shared")).GetProperty("id").GetString()!;
        var mine = (await CreateAsync(_memberClient, "Mine", "assigned=none")).GetProperty("id").GetString()!;

        using (var refused = await _memberClient.PostAsJsonAsync(Searches, new { name = "For everyone", query = "", visibility = "shared" }))
        {
            refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
            (await ApiHost.ErrorAsync(refused)).Should().Contain("only admins");
        }

        using (var renameShared = await PutJsonAsync(_memberClient, $"{Searches}/{shared}", "{\"name\": \"Hijacked\"}"))
        {
            renameShared.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        using (var deleteShared = await _memberClient.DeleteAsync($"{Searches}/{shared}"))
        {
            deleteShared.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        foreach (var stranger in new[] { _otherMemberClient, _api.Admin })
        {
            using var rename = await PutJsonAsync(stranger, $"{Searches}/{mine}", "{\"name\": \"Hijacked\"}");
            rename.StatusCode.Should().Be(HttpStatusCode.NotFound, "another person's search is as good as none");
            using var delete = await stranger.DeleteAsync($"{Searches}/{mine}");
            delete.StatusCode.Should().Be(HttpStatusCode.NotFound);
            using var pin = await PutJsonAsync(stranger, Pin, $"{{\"id\": \"{mine}\"}}");
            pin.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        var (_, _, outsider) = await _api.OutsiderAsync();
        using (var list = await outsider.GetAsync(Searches))
        {
            list.StatusCode.Should().Be(HttpStatusCode.NotFound, "a project the caller may not read");
        }

        using (var create = await outsider.PostAsJsonAsync(Searches, new { name = "x", query = "" }))
        {
            create.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        using (var recommended = await PutJsonAsync(_api.Admin, $"{Searches}/recommended:unresolved", "{\"name\": \"Mine now\"}"))
        {
            recommended.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        }

        using (var renamed = await PutJsonAsync(_memberClient, $"{Searches}/{mine}", "{\"name\": \"Mine, renamed\", \"query\": \"assigned=me\"}"))
        {
            var json = await ApiHost.JsonAsync(renamed);
            (json.GetProperty("name").GetString(), json.GetProperty("query").GetString()).Should().Be(("Mine, renamed", "assigned=me"));
        }

        using (var adminRename = await PutJsonAsync(_api.Admin, $"{Searches}/{shared}", "{\"query\": \"status=resolved\"}"))
        {
            (await ApiHost.JsonAsync(adminRename)).GetProperty("name").GetString().Should().Be("Shared", "a change of query only keeps the name");
        }

        (await _memberClient.DeleteAsync($"{Searches}/{mine}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await _api.Admin.DeleteAsync($"{Searches}/{shared}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await ListAsync(_memberClient)).Should().OnlyContain(item => item.Visibility == "recommended");
    }

    [Fact]
    public async Task Hostile_and_malformed_input_gets_a_clear_error_and_stores_nothing()
    {
        await CreateAsync(_memberClient, "Taken", "");
        var cases = new (string Body, HttpStatusCode Status, string Error)[]
        {
            ("{\"name\": \"x\"", HttpStatusCode.BadRequest, "not JSON"),
            ("[]", HttpStatusCode.BadRequest, "not JSON"),
            ("null", HttpStatusCode.BadRequest, "name and query are required"),
            ("{\"name\": \"lone \\ud800 surrogate\", \"query\": \"\"}", HttpStatusCode.BadRequest, "not JSON"),
            ("{\"query\": \"\"}", HttpStatusCode.BadRequest, "name is required"),
            ("{\"name\": \" \\t \", \"query\": \"\"}", HttpStatusCode.BadRequest, "name is required"),
            ("{\"name\": \"no query\"}", HttpStatusCode.BadRequest, "query is required"),
            ($"{{\"name\": \"{new string('n', 101)}\", \"query\": \"\"}}", HttpStatusCode.BadRequest, "at most 100 characters"),
            ("{\"name\": \"two\\nlines\", \"query\": \"\"}", HttpStatusCode.BadRequest, "control character"),
            ("{\"name\": \"nul\\u0000\", \"query\": \"\"}", HttpStatusCode.BadRequest, "control character"),
            ("{\"name\": \"bell\", \"query\": \"q=\\u0007\"}", HttpStatusCode.BadRequest, "control character"),
            ($"{{\"name\": \"long\", \"query\": \"q={new string('q', ISavedSearches.MaxQueryLength)}\"}}", HttpStatusCode.BadRequest, "at most 16384 characters"),
            ($"{{\"name\": \"escaped\", \"query\": \"q={string.Concat(Enumerable.Repeat("%3C", 6000))}\"}}", HttpStatusCode.BadRequest, "at most 16384 characters"),
            ("{\"name\": \"TAKEN\", \"query\": \"status=all\"}", HttpStatusCode.Conflict, "named “TAKEN” already"),
            ("{\"name\": \"x\", \"query\": \"\", \"visibility\": \"everyone\"}", HttpStatusCode.BadRequest, "visibility is personal"),
            ($"{{\"name\": \"{new string('x', 200_000)}\"}}", HttpStatusCode.RequestEntityTooLarge, "larger than"),
        };

        foreach (var (body, status, error) in cases)
        {
            using var response = await _memberClient.PostAsync(Searches, new StringContent(body, Encoding.UTF8, "application/json"));
            response.StatusCode.Should().Be(status, body[..Math.Min(body.Length, 60)]);
            (await ApiHost.ErrorAsync(response)).Should().Contain(error, body[..Math.Min(body.Length, 60)]);
        }

        using (var notJson = await _memberClient.PostAsync(Searches, new StringContent("name=x", Encoding.UTF8, "application/x-www-form-urlencoded")))
        {
            notJson.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        }

        foreach (var id in new[] { Guid.NewGuid().ToString(), "not-an-id", "' OR 1=1 --", "recommended:nonsense", new string('9', 5000) })
        {
            using var update = await PutJsonAsync(_memberClient, $"{Searches}/{Uri.EscapeDataString(id)}", "{\"name\": \"y\"}");
            update.StatusCode.Should().Be(HttpStatusCode.NotFound, id[..Math.Min(id.Length, 40)]);
            using var delete = await _memberClient.DeleteAsync($"{Searches}/{Uri.EscapeDataString(id)}");
            delete.StatusCode.Should().Be(HttpStatusCode.NotFound);
            using var pin = await PutJsonAsync(_memberClient, Pin, JsonSerializer.Serialize(new { id }));
            pin.StatusCode.Should().Be(HttpStatusCode.NotFound);
        }

        (await ListAsync(_memberClient)).Where(item => item.Visibility != "recommended").Select(item => item.Name).Should().Equal("Taken");
    }

    [Fact]
    public async Task A_pin_is_the_callers_own_and_deleting_the_pinned_search_unpins_it()
    {
        var shared = (await CreateAsync(_api.Admin, "Shared", "status=regressed", "shared")).GetProperty("id").GetString()!;
        using (var pinned = await PutJsonAsync(_memberClient, Pin, $"{{\"id\": \"{shared}\"}}"))
        {
            (await ApiHost.JsonAsync(pinned)).GetProperty("isPinned").GetBoolean().Should().BeTrue();
        }

        (await _api.GetJsonAsync(Searches, _memberClient)).GetProperty("pinnedId").GetString().Should().Be(shared);
        (await ListAsync(_memberClient)).Single(item => item.Id == shared).IsPinned.Should().BeTrue();
        (await _api.GetJsonAsync(Searches)).GetProperty("pinnedId").ValueKind.Should().Be(JsonValueKind.Null, "the admin pinned nothing");

        (await PutJsonAsync(_otherMemberClient, Pin, "{\"id\": \"recommended:assigned_to_me\"}")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await _api.GetJsonAsync(Searches, _otherMemberClient)).GetProperty("pinnedId").GetString().Should().Be("recommended:assigned_to_me");

        (await _api.Admin.DeleteAsync($"{Searches}/{shared}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await _api.GetJsonAsync(Searches, _memberClient)).GetProperty("pinnedId").ValueKind.Should().Be(JsonValueKind.Null, "deleting a pinned search unpins it");

        (await _otherMemberClient.DeleteAsync(Pin)).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await _api.GetJsonAsync(Searches, _otherMemberClient)).GetProperty("pinnedId").ValueKind.Should().Be(JsonValueKind.Null);
        using var empty = await PutJsonAsync(_memberClient, Pin, "{\"id\": \"\"}");
        empty.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_disabled_accounts_own_searches_stay_unseen_and_come_back_when_it_is_enabled_again()
    {
        await CreateAsync(_memberClient, "Kept", "assigned=me");
        var store = _api.Server.Access;
        var member = await store.GetUserAsync(_member.Id);
        await store.UpdateUserAsync(member! with { DisabledAt = DateTimeOffset.UtcNow });
        (await _memberClient.GetAsync(Searches)).StatusCode.Should().NotBe(HttpStatusCode.OK, "a disabled account reads nothing");
        (await ListAsync(_api.Admin)).Should().NotContain(item => item.Name == "Kept");

        await store.UpdateUserAsync(member! with { DisabledAt = null });
        (await ListAsync(_memberClient)).Should().Contain(item => item.Name == "Kept");
    }

    [Fact]
    public async Task Deleting_a_project_deletes_its_saved_searches_and_pins()
    {
        var mine = (await CreateAsync(_memberClient, "Mine", "assigned=me")).GetProperty("id").GetString()!;
        (await PutJsonAsync(_memberClient, Pin, $"{{\"id\": \"{mine}\"}}")).StatusCode.Should().Be(HttpStatusCode.OK);
        var admin = await _api.AdminAccountAsync();

        (await _api.Server.Services.GetRequiredService<ProjectAdmin>().DeleteAsync(admin.Id, 1)).Should().BeNull();

        var store = _api.Server.Services.GetRequiredService<ISavedSearches>();
        (await store.GetSearchesAsync(1, _member.Id)).Should().BeEmpty();
        (await store.GetPinAsync(1, _member.Id)).Should().BeNull();
    }
}

public sealed class SqliteSavedSearchesApiTests : SavedSearchesApiTests
{
    private protected override Dictionary<string, string?> StoreSettings => [];
}

[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseSavedSearchesApiTests(ClickHouseServerFixture clickHouse) : SavedSearchesApiTests
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseSavedSearchesApiTests));

    private protected override Dictionary<string, string?> StoreSettings => new()
    {
        ["ErrorHub:Store:Kind"] = "clickhouse",
        ["ErrorHub:Store:ClickHouse:Url"] = clickHouse.Url.ToString(),
        ["ErrorHub:Store:ClickHouse:Database"] = _database,
    };
}
