using System.Net.Http.Headers;
using ErrorHub.Storage;
using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Processes;

namespace ErrorHub.Benchmarks.Queries;

/// <summary>
/// What <see cref="TabsAtScale"/> and <see cref="StatesAtScale"/> both do around their measures: open a store (a SQLite file in
/// a folder, or a database of a ClickHouse server), give issue i of project 1 its one event, and start a dashboard build on it
/// with an API token.
/// </summary>
internal static class IssuesAtScale
{
    /// <summary>The SQLite store in <paramref name="directory"/>, or the ClickHouse <paramref name="database"/> when a client is given.</summary>
    public static ErrorHubStore Open(string directory, ClickHouseClient? clickHouse, string? database) =>
        clickHouse is not null
            ? ClickHouseDatabase.Open(clickHouse, database ?? throw new ArgumentNullException(nameof(database)))
            : SqliteDatabase.Open(Path.Combine(directory, SqliteStoreOptions.DefaultFileName));

    /// <summary>
    /// Stores one event for each of issues 0 to <paramref name="issues"/> − 1 (fingerprint <c>issue-NNNNNN</c>), issue i's
    /// i × 20 s after the first, 30 days ago (within 29 days); answers when issue i's event happened.
    /// </summary>
    public static async Task<Func<int, DateTimeOffset>> InsertOneEventPerIssueAsync(ErrorHubStore hub, int issues)
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(-30).ToUnixTimeSeconds());
        DateTimeOffset At(int i) => start.AddSeconds(i * 20L % (29L * 86_400));
        const int Batch = 10_000;
        for (var from = 0; from < issues; from += Batch)
        {
            await hub.Events.InsertEventsAsync([.. Enumerable.Range(from, Math.Min(Batch, issues - from)).Select(i => TestEvents.Create(1, Fingerprint(i), At(i)))]);
        }

        return At;
    }

    public static string Fingerprint(int issue) => $"issue-{issue:D6}";

    /// <summary>
    /// The dashboard at <paramref name="path"/> on the store in <paramref name="directory"/> (or the ClickHouse
    /// <paramref name="database"/>), ready, with a client that signs its requests with <paramref name="token"/>.
    /// </summary>
    public static async Task<Dashboard> StartDashboardAsync(
        string label, string path, string directory, ClickHouseServerFixture? clickHouse, string? database, string token, TimeSpan timeout)
    {
        var url = FreePort.NextHttpUrl();
        var environment = new Dictionary<string, string?>
        {
            ["ErrorHub__DataDirectory"] = directory,
            ["ErrorHub__Admin__Email"] = "scale@example.com",
            ["ErrorHub__Admin__Password"] = "issues at scale password 1",
            ["ErrorHub__Admin__ApiToken"] = token,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
        };
        if (clickHouse is not null)
        {
            environment["ErrorHub__Store__Kind"] = "clickhouse";
            environment["ErrorHub__Store__ClickHouse__Url"] = clickHouse.Url.ToString();
            environment["ErrorHub__Store__ClickHouse__Database"] = database;
        }

        var process = TestProcess.StartDotnet(label, path, ["--urls", url.GetLeftPart(UriPartial.Authority)], environment);
        try
        {
            await process.WaitForHttpAsync(new Uri(url, "/readyz"), timeout);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        var http = new HttpClient { BaseAddress = url, Timeout = timeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new Dashboard(process, http);
    }

    public static double Median(IReadOnlyCollection<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>A started dashboard and its signed-in client; disposing stops it.</summary>
    public sealed class Dashboard(TestProcess process, HttpClient http) : IAsyncDisposable
    {
        public HttpClient Http => http;

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            await process.DisposeAsync();
        }
    }
}
