using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// Several server processes started at the same moment on a store that does not exist yet (a deployment's first start,
/// every container at once) all create the schema together: each becomes ready, none fails, and the store records one
/// schema version.
/// </summary>
public sealed class ConcurrentFirstStartTests(ClickHouseServerFixture clickHouse) : IClassFixture<ClickHouseServerFixture>, IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-concurrent-start-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Three_processes_started_together_on_a_fresh_sqlite_file_all_become_ready()
    {
        await StartTogetherUntilReadyAsync([]);

        ((long)(await ServerHostEnvironment.SqliteScalarAsync(Path.Combine(_directory, "errorhub.db"), "PRAGMA user_version"))!)
            .Should().BePositive("the schema's version is recorded");
    }

    [Fact]
    public async Task Three_processes_started_together_on_a_fresh_clickhouse_database_all_become_ready()
    {
        var database = ClickHouseServerFixture.NewDatabaseName("concurrentstart");
        using var http = new HttpClient();
        try
        {
            await StartTogetherUntilReadyAsync(new()
            {
                ["ErrorHub__Store__Kind"] = "clickhouse",
                ["ErrorHub__Store__ClickHouse__Url"] = clickHouse.Url.ToString(),
                ["ErrorHub__Store__ClickHouse__Database"] = database,
            });

            using var versions = await http.PostAsync(clickHouse.Url, new StringContent($"SELECT DISTINCT version FROM {database}.schema_versions"));
            (await versions.Content.ReadAsStringAsync()).Trim().Should().MatchRegex("^[1-9][0-9]*$", "one version, recorded once or by each");
        }
        finally
        {
            using var _ = await http.PostAsync(clickHouse.Url, new StringContent($"DROP DATABASE IF EXISTS {database}"));
        }
    }

    /// <summary>The dashboard and two ingest processes, started without waiting for each other; waits until each answers <c>/readyz</c> 200.</summary>
    private async Task StartTogetherUntilReadyAsync(Dictionary<string, string?> settings)
    {
        var environment = ServerHostEnvironment.Production(_directory, settings);
        var processes = new List<(TestProcess Process, Uri Url)>();
        try
        {
            foreach (var host in new[] { "dashboard/ErrorHub.Dashboard", "ingest/ErrorHub.Ingest", "ingest/ErrorHub.Ingest" })
            {
                var url = FreePort.NextHttpUrl();
                processes.Add((TestProcess.StartDotnet(Path.GetFileName(host), RepositoryPaths.BuiltAssembly(host), ["--urls", url.GetLeftPart(UriPartial.Authority)], environment), url));
            }

            // Below 500 only once ready: /readyz answers 503 while the store's tables are being made.
            await Task.WhenAll(processes.Select(p => p.Process.WaitForHttpAsync(new Uri(p.Url, "/readyz"), ReadyTimeout)));
            foreach (var (process, _) in processes)
            {
                process.Output.Contains("Unhandled exception").Should().BeFalse(process.Output.ToString());
                process.Output.Contains("did not start").Should().BeFalse(process.Output.ToString());
            }
        }
        finally
        {
            foreach (var (process, _) in processes)
            {
                await process.DisposeAsync();
            }
        }
    }
}
