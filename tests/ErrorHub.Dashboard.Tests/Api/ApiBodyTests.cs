using System.Net;
using System.Text;
using System.Text.Json;
using ErrorHub.Dashboard.Api;
using ErrorHub.Dashboard.Tests.Infrastructure;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// Every endpoint of the JSON API that takes a body reads it one way (docs/api.md, "Bodies"): a field given twice is a 400
/// naming it that changes nothing, whichever value a proxy or a log would have taken; a body past its endpoint's size is
/// a 413 read no further.
/// </summary>
public sealed class ApiBodyTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Profile = Fingerprint("profile");

    private ApiHost _api = null!;

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow;
        _api = await ApiHost.StartAsync([Create(1, Checkout, now.AddMinutes(-1)), Create(1, Profile, now.AddMinutes(-2))]);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public static TheoryData<string, string, string, string> FieldsGivenTwice() => new()
    {
        { "POST", "/api/projects/1/issues/{checkout}/state", """{"status": "resolved", "status": "ignored"}""", "status" },
        { "POST", "/api/projects/1/issues/{checkout}/state", """{"status": "unresolved", "Status": "resolved"}""", "status" },
        { "POST", "/api/projects/1/issues/{checkout}/state", """{"status": "resolved", "inRelease": "1.0", "inRelease": "2.0"}""", "inrelease" },
        { "POST", "/api/projects/1/issues/{checkout}/comments", """{"text": "fine", "text": "<script>"}""", "text" },
        { "POST", "/api/projects/1/issues/{checkout}/assignee", """{"assigneeId": null, "assigneeId": null}""", "assigneeid" },
        { "POST", "/api/projects/1/issues/{checkout}/merge", """{"sources": [], "sources": ["{profile}"]}""", "sources" },
        { "POST", "/api/projects/1/saved-searches", """{"name": "Mine", "query": "", "name": "Theirs"}""", "name" },
        { "PUT", "/api/projects/1/pinned-search", """{"id": "recommended:assigned_to_me", "id": "recommended:unassigned"}""", "id" },
    };

    [Theory]
    [MemberData(nameof(FieldsGivenTwice))]
    public async Task A_field_given_twice_is_a_400_that_names_it_and_changes_nothing(string method, string path, string body, string field)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), Fill(path))
        {
            Content = new StringContent(Fill(body), Encoding.UTF8, "application/json"),
        };

        using var response = await _api.Admin.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, body);
        var error = await ApiHost.ErrorAsync(response);
        error.Should().Contain("more than once", body);
        error!.ToLowerInvariant().Should().Contain($"\"{field}\"", "the answer names the field");

        var issue = await _api.GetJsonAsync($"/api/projects/1/issues/{Checkout}");
        issue.GetProperty("status").GetString().Should().Be("unresolved");
        issue.GetProperty("assigneeId").ValueKind.Should().Be(JsonValueKind.Null);
        (await _api.GetJsonAsync($"/api/projects/1/issues/{Checkout}/activity")).GetProperty("items").GetArrayLength().Should().Be(0, "nothing was changed, merged or commented");
        var searches = await _api.GetJsonAsync("/api/projects/1/saved-searches");
        searches.GetProperty("pinnedId").ValueKind.Should().Be(JsonValueKind.Null);
        searches.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("visibility").GetString()).Should().OnlyContain(visibility => visibility == "recommended");
    }

    [Fact]
    public async Task The_same_bodies_with_each_field_once_are_taken_and_names_match_in_any_case()
    {
        using (var resolved = await PostAsync($"/api/projects/1/issues/{Checkout}/state", """{"Status": "ignored", "ignoreMinutes": "60"}"""))
        {
            resolved.StatusCode.Should().Be(HttpStatusCode.OK, "as the API bound bodies before: names in any case, numbers also as strings");
            (await ApiHost.JsonAsync(resolved)).GetProperty("status").GetString().Should().Be("ignored");
        }

        using var comment = await PostAsync($"/api/projects/1/issues/{Checkout}/comments", """{"text": "fine", "unknown": 1, "unknown": 2}""");
        comment.StatusCode.Should().Be(HttpStatusCode.Created, "an unknown field is ignored, given twice or not");
    }

    [Theory]
    [InlineData("/api/projects/1/issues/{checkout}/state", "status")]
    [InlineData("/api/projects/1/issues/{checkout}/comments", "text")]
    [InlineData("/api/projects/1/issues/{checkout}/assignee", "assigneeId")]
    [InlineData("/api/projects/1/issues/{checkout}/merge", "sources")]
    public async Task A_body_past_the_issue_endpoints_size_is_a_413_read_no_further(string path, string field)
    {
        var flood = $$"""{"{{field}}": "{{new string('x', ApiJsonBody.IssueBodyBytes)}}"}""";

        using var response = await PostAsync(Fill(path), flood);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge, "a body the endpoint cannot need is not read into memory");
        (await ApiHost.ErrorAsync(response)).Should().Contain($"larger than {ApiJsonBody.IssueBodyBytes} bytes");
    }

    [Theory]
    [InlineData("""{"sources": "{profile}"}""")]
    [InlineData("""{"sources": [1, 2]}""")]
    [InlineData("""{"sources": {"0": "{profile}"}}""")]
    [InlineData("""{"sources": null}""")]
    [InlineData("""{"sources": ["{profile}", null]}""")]
    [InlineData("""{"sources": ["\u0000\u001b[31m", "\ud83d\udca5 \u202e"]}""")]
    [InlineData("""{"sources": ["99999999999999999999999999999999999999999999999999999999999999999999"]}""")]
    public async Task A_merge_of_wrong_types_or_made_up_ids_is_a_400_and_changes_nothing(string body)
    {
        using var response = await PostAsync($"/api/projects/1/issues/{Checkout}/merge", Fill(body));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, body);
        (await _api.GetJsonAsync("/api/projects/1/issues")).GetProperty("totalCount").GetInt64().Should().Be(2, "nothing was merged");
    }

    [Fact]
    public async Task A_merge_of_another_projects_issue_or_of_more_than_a_merge_takes_is_refused()
    {
        var (other, _, outsiderClient) = await _api.OutsiderAsync();
        using var outsider = outsiderClient;
        var theirs = Fingerprint("theirs");
        await _api.InsertAsync(Create(other.Id, theirs, DateTimeOffset.UtcNow.AddMinutes(-3)));

        using (var crossProject = await PostAsync($"/api/projects/1/issues/{Checkout}/merge", $$"""{"sources": ["{{theirs}}"]}"""))
        {
            crossProject.StatusCode.Should().Be(HttpStatusCode.BadRequest, "an issue of another project is no issue of this one");
        }

        var many = string.Join(", ", Enumerable.Range(0, 101).Select(i => $"\"{Fingerprint("many" + i)}\""));
        using (var tooMany = await PostAsync($"/api/projects/1/issues/{Checkout}/merge", $$"""{"sources": [{{many}}]}"""))
        {
            tooMany.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await ApiHost.ErrorAsync(tooMany)).Should().Contain("At most 100");
        }

        (await _api.GetJsonAsync($"/api/projects/{other.Id}/issues/{theirs}", _api.Admin)).GetProperty("events").GetInt64().Should().Be(1, "their issue is untouched");
        (await _api.GetJsonAsync("/api/projects/1/issues")).GetProperty("totalCount").GetInt64().Should().Be(2);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string body) =>
        _api.Admin.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    private static string Fill(string text) => text.Replace("{checkout}", Checkout, StringComparison.Ordinal).Replace("{profile}", Profile, StringComparison.Ordinal);
}
