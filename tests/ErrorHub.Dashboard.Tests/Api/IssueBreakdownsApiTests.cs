using System.Net;
using System.Text.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.ClickHouse;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Api;

/// <summary>
/// An issue's breakdowns through the JSON API over real HTTP with an API token, as its page shows them: by range, by
/// times, limited, and refused clearly for parameters it does not take; on each store.
/// </summary>
public abstract class IssueBreakdownsApiTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private ApiHost _api = null!;
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    /// <summary>The store's settings (none: the server's SQLite file).</summary>
    private protected abstract Dictionary<string, string?> StoreSettings { get; }

    private ErrorEvent Crash(DateTimeOffset at, string? release, string environment, string? browser, string server) =>
        Create(1, Checkout, at, title: "InvalidOperationException: checkout") with
        {
            Release = release,
            Environment = environment,
            ServerName = server,
            Tags = browser is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["browser"] = browser, ["client_os"] = "Windows 10" },
        };

    public async Task InitializeAsync() =>
        _api = await ApiHost.StartAsync(
        [
            Crash(_now.AddHours(-1), "shop@2.5.0", "production", "Chrome 120", "web-1"),
            Crash(_now.AddHours(-1).AddMinutes(-5), "shop@2.5.0", "production", "Chrome 120", "web-2"),
            Crash(_now.AddHours(-2), "shop@2.5.0", "staging", "Firefox 120", "web-1"),
            Crash(_now.AddHours(-2).AddMinutes(-5), null, "production", "Chrome 120", "web-1"),
            Crash(_now.AddDays(-3), "shop@2.4.1", "production", null, "web-1"),
            Crash(_now.AddDays(-3).AddMinutes(-5), "shop@2.4.1", "production", null, "web-1"),
        ],
        StoreSettings);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private string Path(string query = "") => $"/api/projects/1/issues/{Uri.EscapeDataString(Checkout)}/breakdowns{query}";

    private Task<JsonElement> JsonAsync(string path) => _api.GetJsonAsync(path);

    private static JsonElement Dimension(JsonElement breakdowns, string name) =>
        breakdowns.GetProperty("dimensions").EnumerateArray().Single(d => d.GetProperty("dimension").GetString() == name);

    private static (string?, long)[] Values(JsonElement dimension) =>
        [.. dimension.GetProperty("values").EnumerateArray().Select(v => (v.GetProperty("value").GetString(), v.GetProperty("events").GetInt64()))];

    [Fact]
    public async Task Every_dimension_of_the_page_is_there_with_its_top_values_the_rest_and_the_events_without_a_value()
    {
        var all = await JsonAsync(Path());

        all.GetProperty("events").GetInt64().Should().Be(6);
        all.GetProperty("since").ValueKind.Should().Be(JsonValueKind.Null, "without a range: every event");
        all.GetProperty("dimensions").EnumerateArray().Select(d => d.GetProperty("dimension").GetString())
            .Should().Equal("release", "environment", "browser", "os", "server");
        var release = Dimension(all, "release");
        Values(release).Should().Equal(("shop@2.5.0", 3L), ("shop@2.4.1", 2L));
        release.GetProperty("withValue").GetInt64().Should().Be(5);
        release.GetProperty("none").GetInt64().Should().Be(1, "one crash had no release");
        Values(Dimension(all, "environment")).Should().Equal(("production", 5L), ("staging", 1L));
        Values(Dimension(all, "browser")).Should().Equal(("Chrome 120", 3L), ("Firefox 120", 1L));
        Values(Dimension(all, "os")).Should().Equal(("Windows 10", 4L));
        Values(Dimension(all, "server")).Should().Equal(("web-1", 5L), ("web-2", 1L));

        var top = Dimension(await JsonAsync(Path("?limit=1")), "release");
        Values(top).Should().Equal(("shop@2.5.0", 3L));
        top.GetProperty("other").GetInt64().Should().Be(2, "the values beyond the top one");
    }

    [Fact]
    public async Task The_pages_ranges_and_times_narrow_the_events_to_whole_hours()
    {
        var day = await JsonAsync(Path("?range=24h"));
        day.GetProperty("events").GetInt64().Should().Be(4);
        Values(Dimension(day, "release")).Should().Equal(("shop@2.5.0", 3L));
        day.GetProperty("since").GetDateTimeOffset().Should().BeOnOrBefore(_now.AddDays(-1)).And.BeAfter(_now.AddDays(-1).AddHours(-1));

        var since = _now.AddDays(-4).ToString("yyyy-MM-ddTHH:mm:ssK", System.Globalization.CultureInfo.InvariantCulture);
        var until = _now.AddDays(-2).ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
        var old = await JsonAsync(Path($"?since={Uri.EscapeDataString(since)}&until={Uri.EscapeDataString(until)}"));
        old.GetProperty("events").GetInt64().Should().Be(2);
        Values(Dimension(old, "release")).Should().Equal(("shop@2.4.1", 2L));
        Values(Dimension(old, "browser")).Should().BeEmpty();
        Dimension(old, "browser").GetProperty("none").GetInt64().Should().Be(2);
        var from = old.GetProperty("since").GetDateTimeOffset();
        (from.Minute, from.Second).Should().Be((0, 0), "counted from the start of the hour, and the answer says so");

        (await JsonAsync(Path($"?since={Uri.EscapeDataString(_now.AddDays(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture))}"))).GetProperty("events").GetInt64().Should().Be(0);
    }

    [Theory]
    [InlineData("?range=forever", "range is one of 24h, 7d, 14d, 30d, 90d")]
    [InlineData("?range=24h&range=7d", "range may be given once")]
    [InlineData("?range=%27%20OR%201%3D1%20--", "range is one of")]
    [InlineData("?limit=0", "limit (values per dimension) is 1 to 100")]
    [InlineData("?limit=101", "limit")]
    [InlineData("?limit=-1", "limit")]
    [InlineData("?limit=1e3", "limit")]
    [InlineData("?limit=99999999999999999999", "limit")]
    [InlineData("?since=yesterday", "since is a time in ISO 8601")]
    [InlineData("?since=2026-12-01T00:00:00", "since is a time in ISO 8601")]
    [InlineData("?since=2026-12-01", "since is a time in ISO 8601")]
    [InlineData("?since=9999-01-01T00:00:00Z", "since is a time in ISO 8601")]
    [InlineData("?since=0001-01-01T00:00:00Z", "since is a time in ISO 8601")]
    [InlineData("?until=2026-13-45T99:00:00Z", "until is a time in ISO 8601")]
    [InlineData("?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "until must be after since")]
    [InlineData("?range=24h&since=2026-12-01T00:00:00Z", "give range, or since and/or until, not both")]
    public async Task Parameters_it_does_not_take_are_refused_with_what_it_takes(string query, string problem)
    {
        using var response = await _api.Admin.GetAsync(Path(query));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        error.Should().Contain(problem);
    }

    [Fact]
    public async Task A_very_long_time_an_unknown_issue_or_project_and_a_caller_without_a_token_are_refused()
    {
        using var longTime = await _api.Admin.GetAsync(Path("?since=" + new string('9', 4_000)));
        longTime.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var overTheLineLimit = await _api.Admin.GetAsync(Path("?since=" + new string('9', 9_000)));
        overTheLineLimit.StatusCode.Should().Be(HttpStatusCode.RequestUriTooLong, "the HTTP server refuses a request line over 8 KB before ErrorHub sees it (docs/api.md, errors)");

        foreach (var path in new[]
        {
            $"/api/projects/1/issues/{Uri.EscapeDataString("' OR 1=1 --")}/breakdowns",
            $"/api/projects/1/issues/{Uri.EscapeDataString(new string('a', 5000))}/breakdowns",
            $"/api/projects/99/issues/{Uri.EscapeDataString(Checkout)}/breakdowns",
        })
        {
            using var missing = await _api.Admin.GetAsync(path);
            missing.StatusCode.Should().Be(HttpStatusCode.NotFound, path);
        }

        using var anonymous = _api.Server.NewClient();
        using var refused = await anonymous.GetAsync(Path());
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        var other = await _api.Server.Projects.CreateProjectAsync("Other", "other-project-key-0123456789", _now);
        await _api.Server.CreateMemberAsync("member@example.com", "member password 1", other.Id);
        using var member = await _api.Server.SignedInClientAsync("member@example.com", "member password 1");
        using var foreign = await member.GetAsync(Path());
        foreign.StatusCode.Should().Be(HttpStatusCode.NotFound, "a member of another project reads nothing of this one");
    }
}

public sealed class SqliteIssueBreakdownsApiTests : IssueBreakdownsApiTests
{
    private protected override Dictionary<string, string?> StoreSettings => [];
}

[Collection(ClickHouseServerCollectionDefinition.Name)]
public sealed class ClickHouseIssueBreakdownsApiTests(ClickHouseServerFixture clickHouse) : IssueBreakdownsApiTests
{
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName(nameof(ClickHouseIssueBreakdownsApiTests));

    private protected override Dictionary<string, string?> StoreSettings => new()
    {
        ["ErrorHub:Store:Kind"] = "clickhouse",
        ["ErrorHub:Store:ClickHouse:Url"] = clickHouse.Url.ToString(),
        ["ErrorHub:Store:ClickHouse:Database"] = _database,
    };
}

/// <summary>Dashboard tests on ClickHouse share one server.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseServerCollectionDefinition : ICollectionFixture<ClickHouseServerFixture>
{
    public const string Name = "ClickHouse";
}
