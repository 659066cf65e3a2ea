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
/// named by the component's method, with the circuit's user and the page the user is on (not the circuit's WebSocket).
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
    public async Task A_component_event_handler_failure_that_ends_the_circuit_is_reported_once_with_the_user_and_the_page()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = await StartAppAsync(url);
        var page = await _browser.NewPageAsync();
        await page.Context.AddCookiesAsync([new Cookie { Name = "demo-user", Value = "kim", Url = url.ToString() }]);

        await page.GotoAsync(new Uri(url, "/counter?campaign=winter&token=s3cret").ToString());
        var userAgent = await page.EvaluateAsync<string>("navigator.userAgent");
        var button = page.GetByRole(AriaRole.Button, new() { Name = "Click me" });
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Current count: 0");
        await WaitUntilAsync(async () =>
        {
            await button.ClickAsync();
            return await page.GetByRole(AriaRole.Status).TextContentAsync() == "Current count: 1";
        }, "the interactive circuit", app); // clicks before the circuit is up do nothing
        await button.ClickAsync(); // throws: the circuit ends
        await Assertions.Expect(page.Locator("#blazor-error-ui")).ToContainTextAsync("An unhandled error has occurred."); // the user sees the circuit end

        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 1, "the circuit's failure at ingest", app);
        await CollectAsync(page, url); // what the ended circuit left unobserved surfaces now, not minutes later

        events = await _ingest.AllEventsAsync();
        var reported = events.Should().ContainSingle(Describe(events)).Subject;
        reported.Exceptions[0].Value.Should().Be("Counter cannot go past 1");
        reported.Culprit.Should().Contain("Counter");
        reported.User!.Id.Should().Be("id-kim");
        reported.Request.Should().NotBeNull("the page the circuit shows stands in for the request that served it long ago");
        reported.Request!.Url.Should().Be(new Uri(url, "/counter").ToString(), "the page, not the circuit's /_blazor socket");
        reported.Request.QueryString.Should().Be("campaign=winter&token=[Filtered]", "the query is scrubbed as a request's");
        reported.Request.Headers.Should().Contain("User-Agent", userAgent);
        reported.Tags["browser"].Should().MatchRegex("^Chrome [0-9]+$");
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
        string[] stages = [.. StageMessages.Values];
        foreach (var (stage, message) in StageMessages)
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
            onCircuit.Request!.Url.Should().Be(new Uri(url, $"/lifecycle/{StageOf(message)}").ToString(), message);
            onCircuit.User!.Id.Should().Be("id-kim", message);
        }

        var contained = Single(events, "Gauge value -1 is below zero");
        contained.Culprit.Should().Contain("Gauge");
        contained.Level.Should().Be("error");
        contained.Tags.Should().Contain("mechanism", "ErrorBoundary");
        contained.User!.Id.Should().Be("id-kim");
        contained.Request!.Url.Should().Be(new Uri(url, "/gauges").ToString());

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
        reported.Request!.Url.Should().Be(new Uri(url, "/myorders/1").ToString(), "the circuit's page");
        reported.User!.Id.Should().Be("id-kim");
        app.Output.ToString().Should().NotContain("ErrorHub.Sdk", "the SDK writes nothing into the app's log");
    }

    /// <summary>
    /// A component of the app's client project with <c>InteractiveAuto</c>: on the first visit it runs on a circuit (the
    /// browser fetches WebAssembly meanwhile), on a later one in the browser. The same bug, hit in both places, is reported
    /// once from each (the server's SDK, the browser's), each with the page, the server's environment and release (which
    /// the server hands the browser in its appsettings.json), the circuit's with the signed-in user; and both events are
    /// one issue: the grouping the server computes from each event's frames must agree.
    /// </summary>
    [Fact]
    public async Task An_InteractiveAuto_component_failure_on_the_circuit_and_then_in_the_browser_is_one_issue_with_two_events()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = await StartAppAsync(url, release: "pizza-web@2.1.0");
        var page = await _browser.NewPageAsync();
        await page.Context.AddCookiesAsync([new Cookie { Name = "demo-user", Value = "kim", Url = url.ToString() }]);
        var console = new List<string>();
        page.Console += (_, message) => console.Add(message.Text);
        var chart = new Uri(url, "/price-chart").ToString();
        var renderer = page.GetByRole(AriaRole.Note);
        var add = page.GetByRole(AriaRole.Button, new() { Name = "Add point" });
        var status = page.GetByRole(AriaRole.Status);

        await page.GotoAsync(chart);
        await Assertions.Expect(renderer).ToHaveTextAsync("Server", new() { Timeout = 60_000 }); // first visit: no WebAssembly yet
        await add.ClickAsync();
        await Assertions.Expect(status).ToHaveTextAsync("Points: 1");
        await add.ClickAsync(); // throws on the circuit
        await WaitUntilAsync(async () => (await _ingest.AllEventsAsync()).Count >= 1, "the circuit's failure at ingest", app);

        // Later the user opens a page whose component always runs in WebAssembly, and goes from there to the chart: with
        // the WebAssembly runtime loaded in the page, Blazor runs the Auto component there too.
        await page.GotoAsync(new Uri(url, "/price-ticker").ToString());
        await Assertions.Expect(renderer).ToHaveTextAsync("WebAssembly", new() { Timeout = 120_000 });
        await page.GetByRole(AriaRole.Link, new() { Name = "Price chart" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Price chart" })).ToBeVisibleAsync();
        await Assertions.Expect(renderer).ToHaveTextAsync("WebAssembly", new() { Timeout = 60_000 });
        await add.ClickAsync();
        await Assertions.Expect(status).ToHaveTextAsync("Points: 1");
        await add.ClickAsync(); // throws in the browser

        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 2, "the browser's failure at ingest", app, console: console);
        await CollectAsync(page, url); // what the ended circuit left unobserved surfaces now, not minutes later

        events = await _ingest.AllEventsAsync();
        events.Should().HaveCount(2, Describe(events));
        var onCircuit = events.Should().ContainSingle(e => e.Logger!.StartsWith("Microsoft.AspNetCore.Components.Server", StringComparison.Ordinal)).Subject;
        var inBrowser = events.Should().ContainSingle(e => e.Logger == "Microsoft.AspNetCore.Components.WebAssembly.Rendering.WebAssemblyRenderer").Subject;
        foreach (var reported in new[] { onCircuit, inBrowser })
        {
            reported.Exceptions[0].Value.Should().Be("Price chart cannot plot more than 1 point");
            reported.Culprit.Should().Be("ErrorHub.RealApps.Blazor.Client.Pages.PriceChart.AddPoint", reported.Logger);
            reported.Request!.Url.Should().Be(chart, reported.Logger);
            reported.Environment.Should().Be("production", reported.Logger);
            reported.Release.Should().Be("pizza-web@2.1.0", reported.Logger);
            reported.Tags["browser"].Should().MatchRegex("^Chrome [0-9]+$", reported.Logger);
        }

        onCircuit.User!.Id.Should().Be("id-kim", "the circuit's user is signed in on the server");
        inBrowser.Fingerprint.Should().Be(onCircuit.Fingerprint,
            "one bug, one issue: " + string.Join(" | ", events.Select(e => string.Join(", ", e.GroupingComponents.Select(c => $"{c.Kind}={c.Value}{(c.Counts ? "" : " (not counted)")}")))));
        (await _ingest.Issues.GetIssuesAsync(new ErrorHub.Storage.IssueQuery(IngestHost.ProjectId))).Items.Should().ContainSingle();
        app.Output.ToString().Should().NotContain("ErrorHub.Sdk", "the SDK writes nothing into the app's log");
    }

    /// <summary>
    /// An <c>InteractiveAuto</c> page that fails while the server prerenders it: an ordinary request failure (the error
    /// page answers 500 and nothing becomes interactive), reported once with the request, not again by a circuit or the
    /// browser.
    /// </summary>
    [Fact]
    public async Task A_failure_while_prerendering_an_InteractiveAuto_page_is_reported_once_as_the_requests()
    {
        var url = FreePort.NextHttpUrl();
        await using var app = await StartAppAsync(url);
        var page = await _browser.NewPageAsync();
        await page.Context.AddCookiesAsync([new Cookie { Name = "demo-user", Value = "kim", Url = url.ToString() }]);

        (await page.GotoAsync(new Uri(url, "/price-history").ToString()))!.Status.Should().Be(500);
        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 1, "the prerendering failure at ingest", app);
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle); // whatever the error page starts has run
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second report of the same exception would come right after the first

        events = await _ingest.AllEventsAsync();
        var reported = events.Should().ContainSingle(string.Join(" | ", events.Select(e => $"{e.Title} [{e.Logger}]"))).Subject;
        reported.Exceptions[0].Value.Should().Be("Price history has no quotes");
        reported.Culprit.Should().Contain("PriceHistory");
        reported.Request!.Method.Should().Be("GET");
        new Uri(reported.Request.Url!).AbsolutePath.Should().Be("/price-history");
        reported.User!.Id.Should().Be("id-kim");
    }

    /// <summary>
    /// Has the app collect (and finalise) garbage a few times, then waits for what that reports: a task that an ended
    /// circuit left unobserved reaches <c>TaskScheduler.UnobservedTaskException</c> only at a collection.
    /// </summary>
    private static async Task CollectAsync(IPage page, Uri url)
    {
        for (var i = 0; i < 5; i++)
        {
            (await page.APIRequest.PostAsync(new Uri(url, "/test/collect").ToString())).Status.Should().Be(204);
            await Task.Delay(TimeSpan.FromMilliseconds(400));
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // a report of it would come right after
    }

    private static string Describe(List<ErrorEvent> events) => string.Join(" | ", events.Select(e =>
        $"{e.Title} [{e.Logger}] {e.Level} {e.Tags.GetValueOrDefault("mechanism")} {e.Request?.Url} {e.Culprit}: {string.Join(" < ", e.Exceptions.SelectMany(x => x.Frames).Select(f => $"{f.Type}.{f.Function}"))}"));

    private static readonly Dictionary<string, string> StageMessages = new()
    {
        ["init"] = "Stock chart found no warehouse",
        ["parameters"] = "Stock chart cannot show stage parameters",
        ["render"] = "Stock chart caption is malformed",
        ["after-render"] = "Stock chart canvas is missing",
    };

    private static string StageOf(string message) => StageMessages.Single(s => s.Value == message).Key;

    private static ErrorEvent Single(List<ErrorEvent> events, string message) =>
        events.Should().ContainSingle(e => e.Exceptions.Any(x => x.Value.StartsWith(message, StringComparison.Ordinal)), message).Subject;

    private async Task<TestProcess> StartAppAsync(Uri url, string? release = null)
    {
        var app = TestProcess.StartDotnet(
            "blazor",
            RepositoryPaths.BuiltAssembly("tests/ErrorHub.RealApps.Blazor"),
            ["--urls", url.ToString().TrimEnd('/')],
            new Dictionary<string, string?>
            {
                ["ErrorHub__Dsn"] = _ingest.Dsn,
                ["ErrorHub__Release"] = release,
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

    private static async Task WaitUntilAsync(
        Func<Task<bool>> done, string what, TestProcess process, TimeSpan? timeout = null, List<string>? console = null)
    {
        var bound = timeout ?? ArrivalTimeout;
        var stopwatch = Stopwatch.StartNew();
        while (!await done())
        {
            if (stopwatch.Elapsed > bound)
            {
                throw new TimeoutException(
                    $"No {what} within {bound.TotalSeconds:0} s.\n{process.Output}\nThe page's console:\n{string.Join("\n", console ?? [])}");
            }

            await Task.Delay(200);
        }
    }
}
