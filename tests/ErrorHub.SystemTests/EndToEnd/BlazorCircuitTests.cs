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
        await using var app = await StartAppAsync(url);
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

    /// <summary>
    /// Every way a component fails, on a circuit and in static rendering, by a signed-in user: each is reported once,
    /// named by the component's method (not the renderer's); on a circuit with the user and no request (the page's request
    /// is long gone), in static rendering with the request. A failure an <c>ErrorBoundary</c> contained (it shows its
    /// fallback, the circuit lives on) is reported too, as Sentry does: the boundary is the component's error page, and
    /// the bug behind it is as real as one behind a request's error page.
    /// </summary>
    [Fact]
    public async Task Lifecycle_render_and_ErrorBoundary_failures_are_reported_once_each_named_by_the_component_with_the_user()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = await StartAppAsync(url);
        var page = await _browser.NewPageAsync();
        await page.Context.AddCookiesAsync([new Cookie { Name = "demo-user", Value = "kim", Url = url.ToString() }]);

        // Static rendering: no circuit, each page is a plain request.
        (await page.GotoAsync(new Uri(url, "/archive/2005").ToString()))!.Status.Should().Be(200);
        (await page.GotoAsync(new Uri(url, "/archive/1995").ToString()))!.Status.Should().Be(200, "the boundary answered");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Archive gauge unavailable");
        (await page.GotoAsync(new Uri(url, "/archive/1980").ToString()))!.Status.Should().Be(500);

        // On a circuit: each lifecycle stage fails on its own circuit, after the prerendering request passed.
        string[] stages = ["Stock chart found no warehouse", "Stock chart cannot show stage parameters", "Stock chart caption is malformed", "Stock chart canvas is missing"];
        foreach (var (stage, message) in new[] { "init", "parameters", "render", "after-render" }.Zip(stages))
        {
            (await page.GotoAsync(new Uri(url, $"/lifecycle/{stage}").ToString()))!.Status.Should().Be(200);
            await WaitUntilAsync(async () => (await _ingest.AllEventsAsync()).Any(e => e.Exceptions[0].Value == message), message, app);
        }

        // An ErrorBoundary on a circuit: the gauge fails, the boundary shows its fallback, the page lives on.
        await page.GotoAsync(new Uri(url, "/gauges").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Note)).ToHaveTextAsync("Live"); // the circuit renders it: clicks count now
        var lower = page.GetByRole(AriaRole.Button, new() { Name = "Lower pressure" });
        await lower.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Pressure: 0");
        await lower.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Gauge unavailable");
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Pressure: -1");

        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 7, "7 events at ingest", app);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second report of any of them would come right after the first

        events = await _ingest.AllEventsAsync();
        events.Should().HaveCount(7, string.Join(" | ", events.Select(e => $"{e.Title} [{e.Logger}] {e.Request?.Url} {e.Tags.GetValueOrDefault("mechanism")} {e.Level}")));
        foreach (var message in stages)
        {
            var onCircuit = Single(events, message);
            onCircuit.Culprit.Should().Contain("Lifecycle", message);
            onCircuit.Request.Should().BeNull(message);
            onCircuit.User!.Id.Should().Be("id-kim", message);
        }

        var contained = Single(events, "Gauge value -1 is below zero");
        contained.Culprit.Should().Contain("Gauge");
        contained.Level.Should().Be("error");
        contained.Tags.Should().Contain("mechanism", "ErrorBoundary");
        contained.User!.Id.Should().Be("id-kim");

        var staticPage = Single(events, "Archive 1980 was never digitised");
        staticPage.Culprit.Should().Contain("Archive");
        new Uri(staticPage.Request!.Url!).AbsolutePath.Should().Be("/archive/1980");
        staticPage.User!.Id.Should().Be("id-kim");

        var staticBoundary = Single(events, "Gauge value -5 is below zero");
        staticBoundary.Culprit.Should().Contain("Gauge");
        new Uri(staticBoundary.Request!.Url!).AbsolutePath.Should().Be("/archive/1995");
        staticBoundary.User!.Id.Should().Be("id-kim");
        app.Output.ToString().Should().NotContain("ErrorHub.Sdk", "the SDK writes nothing into the app's log");
    }

    /// <summary>
    /// BlazingPizza's order page on a circuit, whose EF Core query fails in SQLite: EF Core logs the failure at Error in its
    /// own catch block, before the exception unwinds into the app's repository and component. The event must still carry
    /// the app's frames and a culprit in the app, once: it waits for the exception to reach the app's code (the circuit's
    /// own entry of it) instead of going out with the driver's frames alone.
    /// </summary>
    [Fact]
    public async Task A_database_failure_on_a_circuit_is_reported_once_with_the_components_frames()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = await StartAppAsync(url);
        var page = await _browser.NewPageAsync();
        await page.Context.AddCookiesAsync([new Cookie { Name = "demo-user", Value = "kim", Url = url.ToString() }]);

        (await page.GotoAsync(new Uri(url, "/myorders/1").ToString()))!.Status.Should().Be(200, "the page is not prerendered: the circuit loads the order");

        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 1, "the order query's failure at ingest", app);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second report of the same exception would come right after the first

        events = await _ingest.AllEventsAsync();
        var reported = events.Should().ContainSingle(string.Join(" | ", events.Select(e => $"{e.Title} [{e.Logger}] {e.Culprit}"))).Subject;
        reported.Exceptions[0].Type.Should().Be("Microsoft.Data.Sqlite.SqliteException");
        reported.Exceptions[0].Value.Should().Contain("no such column");
        reported.Logger.Should().StartWith("Microsoft.EntityFrameworkCore", "EF Core's entry came first and made the event");
        reported.Culprit.Should().Contain("OrderRepository", "the culprit is the app's code that ran the query, not SqliteDataReader");
        var appFrames = reported.Exceptions[0].Frames.Where(f => f.InApp).Select(f => f.Type).ToList();
        appFrames.Should().Contain(t => t!.Contains("OrderRepository")).And.Contain(t => t!.Contains("OrderDetails"));
        reported.Request.Should().BeNull("the HTTP request that served the page is long gone");
        reported.User!.Id.Should().Be("id-kim");
        app.Output.ToString().Should().NotContain("ErrorHub.Sdk", "the SDK writes nothing into the app's log");
    }

    private static ErrorEvent Single(List<ErrorEvent> events, string message) =>
        events.Should().ContainSingle(e => e.Exceptions.Any(x => x.Value.StartsWith(message, StringComparison.Ordinal)), message).Subject;

    private async Task<TestProcess> StartAppAsync(Uri url)
    {
        var app = TestProcess.StartDotnet(
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
        try
        {
            await app.WaitForHttpAsync(url, StartTimeout);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
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
