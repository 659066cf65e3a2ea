using System.Diagnostics;
using System.Net;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// A server on the embedded SQLite store (the stand-alone ingest process, and the all-in-one process that also serves
/// the dashboard) killed with SIGKILL while senders keep posting, so writes are under way at the kill, then started
/// again on the same data directory: every batch it answered 202 is stored, each event exactly once and counted once on
/// its issue, the file passes SQLite's integrity check, and the restarted all-in-one process serves its pages.
/// </summary>
public sealed class SqliteKillTests : IAsyncLifetime
{
    private const string ProjectKey = "sqlitekill-4f1c2b3a4d5e6f70";
    private const int Senders = 4;

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-sqlitekill-").FullName;
    private TestProcess? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await TestProcess.EndAllAsync(_server);
        SqliteConnection.ClearAllPools();
        TestDirectory.DeleteQuietly(_directory);
    }

    [Theory]
    [InlineData("ingest/ErrorHub.Ingest")]
    [InlineData("dashboard/ErrorHub.Dashboard")] // the all-in-one process: dashboard, ingest and the store's writer in one
    public async Task Every_batch_answered_202_before_a_kill_9_mid_write_is_stored_exactly_once_after_the_restart(string host)
    {
        var url = FreePort.NextHttpUrl();
        _server = await StartAsync(host, url);
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        var server = _server;
        var senders = AcknowledgingSenders.Start(client, ProjectKey, Senders, () => server.HasExited);
        await senders.WaitForAsync(2_000, TimeSpan.FromSeconds(60));

        Process.GetProcessById(_server.Id).Kill(); // SIGKILL while the senders keep posting: no graceful stop
        await _server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var ids = await senders.StopAsync();
        _server = null;
        await server.DisposeAsync();
        ids.Should().NotBeEmpty();

        // Restarted on the same file: whatever SQLite rolls back or forward at open, nothing answered 202 is missing.
        _server = await StartAsync(host, url);
        var file = Path.Combine(_directory, "errorhub.db");
        var (stored, counted) = await StoredAsync(file, ids);
        stored.Distinct().Count().Should().Be(ids.Count, $"every event answered 202 before the kill is stored after the restart\n{_server.Output}");
        stored.Should().HaveCount(ids.Count, "and each exactly once");
        counted.Should().Be(await EventRowsAsync(file), "the issues count each stored event once, none twice and none lost");
        (await ServerHostEnvironment.SqliteScalarAsync(file, "PRAGMA integrity_check")).Should().Be("ok", "the kill damaged nothing");

        // The restarted process takes batches again.
        var (after, afterIds) = AcknowledgingSenders.FreshBatch(3);
        using (var response = await AcknowledgingSenders.PostAsync(client, ProjectKey, after, CancellationToken.None))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        }

        (await StoredAsync(file, afterIds.ToHashSet())).Stored.Should().HaveCount(3);
        if (host.StartsWith("dashboard", StringComparison.Ordinal))
        {
            using var maintainer = DashboardForms.NewClient(url);
            await DashboardForms.SignInAsync(maintainer, ServerHostEnvironment.AdminEmail, ServerHostEnvironment.AdminPassword);
            using var issues = await maintainer.GetAsync("/projects/1/issues");
            var html = WebUtility.HtmlDecode(await issues.Content.ReadAsStringAsync());
            issues.StatusCode.Should().Be(HttpStatusCode.OK, html);
            var link = System.Text.RegularExpressions.Regex.Match(html, "href=\"/?(projects/1/issues/[0-9a-f]{32})\"");
            link.Success.Should().BeTrue("the issue the killed process stored is listed after the restart");
            using var issue = await maintainer.GetAsync(link.Groups[1].Value);
            issue.StatusCode.Should().Be(HttpStatusCode.OK, "and its page opens");
        }

        _server.Output.Contains("Unhandled exception").Should().BeFalse(_server.Output.ToString());
    }

    private Task<TestProcess> StartAsync(string host, Uri url) => ServerHostEnvironment.StartSqliteServerAsync(host, _directory, url, ProjectKey);

    /// <summary>
    /// Reads, outside the server, which of <paramref name="ids"/> the events table holds (one entry per row) and how many
    /// events the issues count in all; polls (bounded) until every id is there.
    /// </summary>
    private static async Task<(List<Guid> Stored, long Counted)> StoredAsync(string file, HashSet<Guid> ids)
    {
        var polling = Stopwatch.StartNew();
        while (true)
        {
            await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
            await connection.OpenAsync();
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT event_id FROM events";
            var stored = new List<Guid>();
            await using (var reader = await read.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    var id = reader.GetGuid(0);
                    if (ids.Contains(id))
                    {
                        stored.Add(id);
                    }
                }
            }

            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT COALESCE(SUM(event_count), 0) FROM issues";
            var counted = (long)(await count.ExecuteScalarAsync())!;
            if (stored.Distinct().Count() >= ids.Count || polling.Elapsed > TimeSpan.FromSeconds(60))
            {
                return (stored, counted);
            }

            await Task.Delay(200);
        }
    }

    private static async Task<long> EventRowsAsync(string file) =>
        (long)(await ServerHostEnvironment.SqliteScalarAsync(file, "SELECT COUNT(*) FROM events"))!;
}
