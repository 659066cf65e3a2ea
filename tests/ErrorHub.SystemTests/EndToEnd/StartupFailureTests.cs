using System.Net;
using System.Net.Sockets;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// A web app that fails between <c>Build()</c> and <c>Run()</c> (it prepares its SQLite database there, in a directory
/// that does not exist), run as its own process against a real ingest: the process dies of an exception nobody caught
/// before any hosted service started, and the crash still arrives, once, as fatal, before the process is gone.
/// </summary>
public sealed class StartupFailureTests : IAsyncLifetime
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(90);

    private IngestHost _ingest = null!;

    public async Task InitializeAsync() => _ingest = await IngestHost.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Theory]
    [InlineData("--schema-first")] // it logged before it failed, and had not reached UseErrorHub()
    [InlineData("--pipeline-first")] // it had called UseErrorHub(), and logged nothing
    public async Task A_web_app_that_dies_before_Run_reports_its_crash_once_before_the_process_is_gone(string order)
    {
        await using var app = StartFailingApp("startup-failure", order, new() { ["ErrorHub__Dsn"] = _ingest.Dsn, ["ErrorHub__Release"] = "orders@3.1.0" });

        var exitCode = await app.WaitForExitAsync(ExitTimeout);

        exitCode.Should().NotBe(0, "nothing caught the exception");
        // The process is gone: what it sent is all there will be.
        var events = await _ingest.AllEventsAsync();
        var crash = events.Should().ContainSingle(string.Join(" | ", events.Select(e => $"{e.Level} {e.Title}"))).Subject;
        crash.Level.Should().Be("fatal");
        crash.Exceptions[0].Type.Should().Be("Microsoft.Data.Sqlite.SqliteException");
        crash.Culprit.Should().Contain("PrepareDatabase");
        crash.Release.Should().Be("orders@3.1.0");
        crash.Environment.Should().Be("production");
        crash.Tags.Should().Contain("mechanism", "AppDomain.UnhandledException");
    }

    [Fact]
    public async Task A_crash_whose_event_ingest_does_not_take_in_time_says_on_standard_error_how_many_events_were_given_up()
    {
        // An ingest that takes the connection and never answers: the crash's event is still in flight when ShutdownTimeout ends.
        using var stalled = new TcpListener(IPAddress.Loopback, 0);
        stalled.Start();
        var dsn = new UriBuilder(_ingest.Dsn) { Port = ((IPEndPoint)stalled.LocalEndpoint).Port }.Uri.ToString();
        await using var app = StartFailingApp(
            "startup-failure-stalled-ingest", "--schema-first", new() { ["ErrorHub__Dsn"] = dsn, ["ErrorHub__ShutdownTimeout"] = "00:00:02" });

        var exitCode = await app.WaitForExitAsync(ExitTimeout);

        exitCode.Should().NotBe(0, "nothing caught the exception");
        // The app's console logger writes from a queue of its own, which dies with the process: the count is said on standard
        // error, beside the runtime's own "Unhandled exception." message.
        app.Output.Lines.Should().ContainSingle(
            line => line.StartsWith("err: ErrorHub gave up 1 events at the crash: ingest did not take them within ShutdownTimeout (00:00:02)", StringComparison.Ordinal),
            app.Output.ToString());
        app.Output.Lines.Should().Contain(line => line.StartsWith("err: Unhandled exception. Microsoft.Data.Sqlite.SqliteException", StringComparison.Ordinal));
    }

    /// <summary>The app as its own process, in Production, preparing its database in a directory that does not exist.</summary>
    private static TestProcess StartFailingApp(string name, string order, Dictionary<string, string?> errorHub)
    {
        var missing = Path.Combine(Path.GetTempPath(), $"errorhub-no-such-directory-{Guid.NewGuid():N}", "app.db");
        var environment = new Dictionary<string, string?>(errorHub)
        {
            ["Database"] = $"Data Source={missing}",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["ASPNETCORE_HTTP_PORTS"] = null,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };
        return TestProcess.StartDotnet(name, RepositoryPaths.BuiltAssembly("tests/ErrorHub.RealApps.StartupFailure"), [order], environment);
    }
}
