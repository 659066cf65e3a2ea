using System.Diagnostics;
using ErrorHub.Storage.Events;
using ErrorHub.SystemTests.Browser;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Microsoft.Playwright;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// The Blazor Web App template (interactive server) with ErrorHub, run as its own process and clicked in a real browser:
/// an exception in a component's event handler happens on the circuit, long after the HTTP request that served the page,
/// and reaches ErrorHub only through the circuit's log entry. It must arrive once, at once (not when the circuit closes),
/// named by the component's method.
/// </summary>
public sealed class BlazorCircuitTests : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(30);

    private readonly BrowserFixture _browser;
    private IngestHost _ingest = null!;

    public BlazorCircuitTests(BrowserFixture browser) => _browser = browser;

    public async Task InitializeAsync() => _ingest = await IngestHost.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task A_component_event_handler_failure_is_reported_once_while_the_circuit_is_open()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = TestProcess.StartDotnet(
            "blazor",
            RepositoryPaths.BuiltAssembly("tests/ErrorHub.RealApps.Blazor"),
            ["--urls", url.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Dsn"] = _ingest.Dsn,
                ["ASPNETCORE_URLS"] = null,
                ["ASPNETCORE_HTTP_PORTS"] = null,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        await app.WaitForHttpAsync(url, StartTimeout);
        var page = await _browser.NewPageAsync();

        await page.GotoAsync(new Uri(url, "/counter").ToString());
        var button = page.GetByRole(AriaRole.Button, new() { Name = "Click me" });
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Current count: 0");
        await WaitUntilAsync(async () =>
        {
            await button.ClickAsync();
            return await page.GetByRole(AriaRole.Status).TextContentAsync() == "Current count: 1";
        }, "the interactive circuit", app); // clicks before the circuit is up do nothing
        await button.ClickAsync(); // throws: the circuit ends

        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 1, "the circuit's failure at ingest", app);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second report of the same exception would come right after the first

        events = await _ingest.AllEventsAsync();
        var reported = events.Should().ContainSingle().Subject;
        reported.Exceptions[0].Value.Should().Be("Counter cannot go past 1");
        reported.Culprit.Should().Contain("Counter");
        reported.Request.Should().BeNull("the HTTP request that served the page is long gone");
        app.Output.ToString().Should().NotContain("ErrorHub.Sdk", "the SDK writes nothing into the app's log");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> done, string what, TestProcess process)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await done())
        {
            if (stopwatch.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException($"No {what} within {ArrivalTimeout.TotalSeconds:0} s.\n{process.Output}");
            }

            await Task.Delay(200);
        }
    }
}
