using System.Diagnostics;
using System.Net;
using ErrorHub.Testing.ClickHouse;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The stand-alone ingest process with its durable journal on, over a real ClickHouse, killed with SIGKILL while
/// senders keep posting, then started again on the same journal: every batch it answered 202 is in the store, each
/// event exactly once. Inserts are held back (a minimum time between them), so many acknowledged batches are only in
/// the journal when the process dies.
/// </summary>
public sealed class JournalKillTests : IClassFixture<ClickHouseServerFixture>, IAsyncLifetime
{
    private const string ProjectKey = "journalkill-4f1c2b3a4d5e6f70";
    private const int Senders = 4;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly ClickHouseServerFixture _clickHouse;
    private readonly string _database = ClickHouseServerFixture.NewDatabaseName("journalkill");
    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-journalkill-").FullName;
    private readonly HttpClient _sql = new() { Timeout = TimeSpan.FromSeconds(30) };
    private TestProcess? _ingest;
    private string? _segmentBytes;

    public JournalKillTests(ClickHouseServerFixture clickHouse) => _clickHouse = clickHouse;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_ingest is not null)
        {
            await _ingest.DisposeAsync();
        }

        _sql.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("262144")] // segments of 256 KB: the kill comes after many rotations into preallocated (or, if none was ready, grown) segments
    public async Task Every_batch_answered_202_before_a_kill_9_is_stored_exactly_once_after_the_restart(string? segmentBytes)
    {
        var url = FreePort.NextHttpUrl();
        _segmentBytes = segmentBytes;
        _ingest = await StartIngestAsync(url);
        using var client = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        var ingest = _ingest;
        var senders = AcknowledgingSenders.Start(client, ProjectKey, Senders, () => ingest.HasExited);
        await senders.WaitForAsync(2_000, TimeSpan.FromSeconds(60));

        Process.GetProcessById(_ingest.Id).Kill(); // SIGKILL: no graceful stop, no flush
        await _ingest.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var ids = await senders.StopAsync();
        _ingest = null;
        await ingest.DisposeAsync();
        ids.Should().NotBeEmpty();

        _ingest = await StartIngestAsync(url);

        var (rows, distinct) = await WaitUntilStoredAsync(ids);
        distinct.Should().Be(ids.Count, $"every event answered 202 before the kill is stored after the restart\n{_ingest.Output}");
        rows.Should().Be(ids.Count, "and each exactly once");
        _ingest.Output.Lines.Should().Contain(
            line => line.Contains("batches to replay", StringComparison.Ordinal) && !line.Contains(": 0 batches to replay", StringComparison.Ordinal),
            "the restart found acknowledged batches the store did not have yet, so the replay was exercised");
    }

    private async Task<TestProcess> StartIngestAsync(Uri url)
    {
        var process = TestProcess.StartDotnet(
            "ingest",
            RepositoryPaths.BuiltAssembly("ingest/ErrorHub.Ingest"),
            ["--urls", url.GetLeftPart(UriPartial.Authority)],
            new Dictionary<string, string?>
            {
                ["ErrorHub__DataDirectory"] = _directory,
                ["ErrorHub__Project__PublicKey"] = ProjectKey,
                ["ErrorHub__Store__Kind"] = "clickhouse",
                ["ErrorHub__Store__ClickHouse__Url"] = _clickHouse.Url.ToString(),
                ["ErrorHub__Store__ClickHouse__Database"] = _database,
                ["ErrorHub__Ingest__SpikeEventsPerSecond"] = "0",
                ["ErrorHub__Ingest__Journal__Enabled"] = "true",
                ["ErrorHub__Ingest__Journal__MinTimeBetweenInserts"] = "00:00:02",
                ["ErrorHub__Ingest__Journal__SegmentBytes"] = _segmentBytes,
                ["ErrorHub__Retention__Enabled"] = "false",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = null,
                ["DOTNET_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["Logging__LogLevel__Default"] = null,
                ["Logging__LogLevel__Microsoft.AspNetCore"] = null,
            });
        await process.WaitForHttpAsync(new Uri(url, "/healthz"), StartTimeout);
        return process;
    }

    /// <summary>Polls (bounded) until every id is stored; returns how many of them are stored and how many rows those take.</summary>
    private async Task<(long Rows, long Distinct)> WaitUntilStoredAsync(HashSet<Guid> ids)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            // This test's database holds only this test's events: read them all (a few thousand ids).
            using var response = await _sql.PostAsync(_clickHouse.Url, new StringContent($"SELECT event_id FROM {_database}.events FORMAT TSV"));
            var text = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, text);
            var stored = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).Where(ids.Contains).ToList();
            var counts = ((long)stored.Count, (long)stored.Distinct().Count());
            if (counts.Item2 >= ids.Count || deadline.Elapsed > TimeSpan.FromSeconds(120))
            {
                return counts;
            }

            await Task.Delay(200);
        }
    }
}
