using System.Diagnostics;
using System.Net;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The samples, run as the built apps they are (<c>dotnet &lt;dll&gt;</c>, each its own process) against a real ingest
/// on loopback: each one's crash arrives, with what the sample promises. The worker also shows the disk spool
/// surviving a real process kill: events spooled while ingest was unreachable arrive after the restart.
/// </summary>
public sealed class SampleAppsTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-samples-").FullName;
    private IngestHost _ingest = null!;

    public async Task InitializeAsync() => _ingest = await IngestHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _ingest.DisposeAsync();
        IngestHost.DeleteDirectory(_directory);
    }

    [Fact]
    public async Task The_console_tools_unhandled_exception_arrives_with_its_breadcrumbs_before_the_process_dies()
    {
        await using var tool = Start("samples/ErrorHub.Samples.Console", [], _ingest.Dsn, new() { ["DOTNET_ENVIRONMENT"] = "Staging" });

        var exitCode = await tool.WaitForExitAsync(StartTimeout);

        exitCode.Should().NotBe(0, "the exception was not caught");
        var stored = (await WaitForEventsAsync(1)).Single();
        stored.Exceptions[0].Type.Should().Be("System.FormatException");
        stored.Environment.Should().Be("staging", "a tool without a host takes DOTNET_ENVIRONMENT, lower-cased as a host does");
        stored.Breadcrumbs!.Select(b => b.Message).Should().Equal("importing A-100", "importing A-101");
    }

    [Fact]
    public async Task The_workers_logged_failure_arrives_through_logging_with_the_exports_before_it_as_breadcrumbs()
    {
        await using var worker = Start("samples/ErrorHub.Samples.Worker", [], _ingest.Dsn, Worker(invoices: "INV-12,INV-13"));

        var stored = (await WaitForEventsAsync(1))[0];

        stored.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        stored.Exceptions[0].Value.Should().StartWith("Invoice INV-13 has a negative total");
        stored.Logger.Should().Be("ErrorHub.Samples.Worker.InvoiceExporter");
        stored.Breadcrumbs!.Select(b => b.Message).Should().Contain("Exported invoice INV-12");
        stored.Release.Should().StartWith("ErrorHub.Samples.Worker@2.0.1");
    }

    [Fact]
    public async Task The_workers_crash_stops_the_host_and_arrives_once_before_the_process_exits()
    {
        await using var worker = Start("samples/ErrorHub.Samples.Worker", [], _ingest.Dsn, Worker(invoices: "INV-12,INV-13", stopOnFailure: true));

        await worker.WaitForExitAsync(StartTimeout);

        var events = await _ingest.AllEventsAsync();
        events.Should().ContainSingle("the crash is reported once, whether the host's log line or a hook saw it first")
            .Which.Exceptions[0].Value.Should().StartWith("Invoice INV-13 has a negative total");
    }

    [Fact]
    public async Task Events_a_killed_worker_spooled_while_ingest_was_unreachable_arrive_after_its_restart()
    {
        var cache = Path.Combine(_directory, "cache");
        var unreachable = $"http://{IngestHost.Key}@127.0.0.1:{FreePort.Next()}/{IngestHost.ProjectId}";
        await using (var offline = Start("samples/ErrorHub.Samples.Worker", [], unreachable, Worker(invoices: "INV-12,INV-13", cache: cache)))
        {
            await WaitUntilAsync(() => Directory.Exists(cache) && Directory.EnumerateFiles(cache, "*.ehbatch").Any(), "a spooled batch", offline);
        } // killed, not stopped: nothing runs at shutdown

        (await _ingest.AllEventsAsync()).Should().BeEmpty();

        await using var restarted = Start("samples/ErrorHub.Samples.Worker", [], _ingest.Dsn, Worker(invoices: "INV-12", cache: cache));
        var stored = (await WaitForEventsAsync(1))[0];

        stored.Exceptions[0].Value.Should().StartWith("Invoice INV-13 has a negative total", "only the killed process ever exported INV-13");
    }

    [Fact]
    public async Task The_app_with_its_own_catch_all_reports_through_logging_with_request_user_and_tags_and_BeforeSend_drops_are_counted()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = Start("samples/ErrorHub.Samples.CatchAll", ["--urls", url.ToString().TrimEnd('/')], _ingest.Dsn);
        await app.WaitForHttpAsync(url, StartTimeout);
        using var http = new HttpClient { BaseAddress = url };

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/orders/42?customer=c-7"))
        {
            request.Headers.Add("X-Tenant", "acme");
            using var response = await http.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
            (await response.Content.ReadAsStringAsync()).Should().Contain("we are on it", "the app's own error answer");
        }

        using (var rates = await http.GetAsync("/rates"))
        {
            rates.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        using (await http.GetAsync("/orders/42?customer=c-8"))
        {
        }

        var events = await WaitForEventsAsync(2);
        events.Should().HaveCount(2, "the /rates timeout is dropped by BeforeSend");
        var first = events.Single(e => e.User?.Id == "c-7");
        first.Exceptions[0].Type.Should().Be("System.NullReferenceException");
        first.Logger.Should().Be("ErrorHub.Samples.CatchAll.CatchAllMiddleware");
        first.Request!.Url.Should().EndWith("/orders/42");
        first.User!.Email.Should().Be("grace@customers.example", "the user hook looked the customer up in the app's store");
        first.Tags.Should().Contain("tenant", "acme");
        events.Single(e => e.User?.Id == "c-8").Tags.Should().Contain("tenant", "none");

        // The count of the dropped report travelled with the next batch; ingest exports it at once (and stores it per project).
        var metrics = await _ingest.Client.GetStringAsync("/metrics");
        metrics.Split('\n').Should().Contain(line => line.StartsWith("errorhub_ingest_dropped_events_total{", StringComparison.Ordinal)
            && line.Contains("reason=\"sdk:before_send\"", StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
    }

    private static Dictionary<string, string?> Worker(string invoices, bool stopOnFailure = false, string? cache = null) => new()
    {
        ["Exporter__Invoices"] = invoices,
        ["Exporter__Interval"] = "00:00:00.100",
        ["Exporter__StopOnFailure"] = stopOnFailure ? "true" : "false",
        ["ErrorHub__CacheDirectory"] = cache ?? "",
    };

    private TestProcess Start(string sample, string[] arguments, string dsn, Dictionary<string, string?>? settings = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ErrorHub__Dsn"] = dsn,
            ["ASPNETCORE_URLS"] = null,
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        foreach (var (key, value) in settings ?? [])
        {
            environment[key] = value;
        }

        // Started in its build folder, where its appsettings.json is, as `dotnet run` would.
        return TestProcess.StartDotnet(Path.GetFileName(sample), RepositoryPaths.BuiltAssembly(sample), arguments, environment);
    }

    /// <summary>Waits until ingest stored at least <paramref name="count"/> events (the apps send within moments).</summary>
    private async Task<List<ErrorEvent>> WaitForEventsAsync(int count)
    {
        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= count, $"{count} events at ingest");
        return events;
    }

    private static Task WaitUntilAsync(Func<bool> done, string what, TestProcess? process = null) =>
        WaitUntilAsync(() => Task.FromResult(done()), what, process);

    private static async Task WaitUntilAsync(Func<Task<bool>> done, string what, TestProcess? process = null)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await done())
        {
            if (stopwatch.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException($"No {what} within {ArrivalTimeout.TotalSeconds:0} s.\n{process?.Output}");
            }

            await Task.Delay(200);
        }
    }
}
