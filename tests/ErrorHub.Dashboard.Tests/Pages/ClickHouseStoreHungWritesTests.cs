using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Dashboard;
using static ErrorHub.Testing.Events.TestEvents;

namespace ErrorHub.Dashboard.Tests.Pages;

/// <summary>
/// The dashboard's changes and sign-in on a ClickHouse node that hangs (SIGSTOP of this test's own server: its kernel
/// accepts connections, it answers nothing): each answers 503 with Retry-After within the PageTimeout (not the two-minute
/// RequestTimeout), nothing answered 503 shows up as done once the node runs again, and the same changes work by themselves
/// after that.
/// </summary>
public sealed class ClickHouseStoreHungWritesTests : IAsyncLifetime
{
    private static readonly string Checkout = Fingerprint("checkout");
    private static readonly string Issue = $"/api/projects/1/issues/{Checkout}";
    private const string Searches = "/api/projects/1/saved-searches";

    private readonly ClickHouseServerFixture _clickHouse = ClickHouseServerFixture.Create(externalUrl: null, ClickHouseServerFixture.ConfiguredBinary);
    private bool _hung;

    public Task InitializeAsync() => _clickHouse.InitializeAsync();

    public async Task DisposeAsync()
    {
        if (_hung)
        {
            Hang(false);
        }

        await _clickHouse.DisposeAsync();
    }

    [Fact]
    public async Task Changes_and_sign_in_answer_503_within_the_page_timeout_change_nothing_and_work_again_once_the_node_runs()
    {
        await using var api = await ApiHost.StartAsync(
            [Create(1, Checkout, DateTimeOffset.UtcNow.AddMinutes(-1), title: "InvalidOperationException: checkout")],
            new()
            {
                ["ErrorHub:Store:Kind"] = "clickhouse",
                ["ErrorHub:Store:ClickHouse:Url"] = _clickHouse.Url.ToString(),
                ["ErrorHub:Store:ClickHouse:Database"] = ClickHouseServerFixture.NewDatabaseName("hungwrites"),
                // Short, so that the node hangs for seconds only; RequestTimeout stays at its two minutes.
                ["ErrorHub:Store:ClickHouse:PageTimeout"] = "00:00:02",
            });
        using var signingIn = api.Server.NewClient();
        (await api.GetJsonAsync($"{Issue}/activity")).GetProperty("items").GetArrayLength().Should().Be(0);
        // The sign-in form was open before the node hung (opening it now answers 503 too, the form saying the store is not answering).
        var loginToken = await DashboardForms.AntiforgeryTokenAsync(signingIn, "login");

        Func<Task<HttpResponseMessage>>[] changes =
        [
            () => api.Admin.PostAsJsonAsync($"{Issue}/state", new { status = "resolved" }),
            () => api.Admin.PostAsJsonAsync($"{Issue}/comments", new { text = "During the hang" }),
            () => api.Admin.PostAsJsonAsync($"{Issue}/assignee", new { assigneeId = (Guid?)null }),
            () => api.Admin.PutAsync($"{Issue}/bookmark", null),
            () => api.Admin.PostAsJsonAsync(Searches, new { name = "During the hang", query = "q=is:regressed" }),
            () => signingIn.PostAsync("login", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "login",
                ["__RequestVerificationToken"] = loginToken,
                ["Input.Email"] = DashboardServer.AdminEmail,
                ["Input.Password"] = DashboardServer.AdminPassword,
            })),
        ];
        Hang(true);
        try
        {
            foreach (var change in changes)
            {
                var answered = Stopwatch.StartNew();
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                using var hung = await change().WaitAsync(bound.Token);
                var body = await hung.Content.ReadAsStringAsync();
                hung.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{hung.RequestMessage!.RequestUri} meets a hung node: {body}");
                hung.Headers.RetryAfter!.Delta.Should().BePositive();
                // Well under the RequestTimeout's two minutes, with room for a busy machine over the PageTimeout's two seconds.
                answered.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(45), "a change waits for the PageTimeout, not the RequestTimeout");
            }
        }
        finally
        {
            Hang(false);
        }

        var activity = (await api.GetJsonAsync($"{Issue}/activity")).GetProperty("items");
        activity.GetArrayLength().Should().Be(0, $"a change answered 503 was not done: {activity}");
        (await api.GetJsonAsync(Searches)).GetProperty("items").EnumerateArray().Should().NotContain(item => item.GetProperty("name").GetString() == "During the hang");

        using (var resolved = await api.Admin.PostAsJsonAsync($"{Issue}/state", new { status = "resolved" }))
        {
            resolved.StatusCode.Should().Be(HttpStatusCode.OK, "the dashboard writes again by itself");
        }

        using (var commented = await api.Admin.PostAsJsonAsync($"{Issue}/comments", new { text = "After the hang" }))
        {
            commented.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        using var signedIn = await DashboardForms.PostLoginAsync(signingIn, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await api.GetJsonAsync($"{Issue}/activity")).GetProperty("items").GetArrayLength().Should().Be(2);
    }

    private void Hang(bool hung)
    {
        _clickHouse.Hang(hung);
        _hung = hung;
    }
}
