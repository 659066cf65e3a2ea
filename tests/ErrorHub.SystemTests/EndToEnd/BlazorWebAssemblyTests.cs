using System.Diagnostics;
using ErrorHub.Storage.Events;
using ErrorHub.SystemTests.Browser;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Xunit;

namespace ErrorHub.SystemTests.EndToEnd;

/// <summary>
/// A standalone Blazor WebAssembly app with ErrorHub (tests/ErrorHub.RealApps.BlazorWasm), served over loopback from its
/// build output and run in chromium: the SDK runs inside the browser and sends, cross-origin, to a real ingest.
/// </summary>
public sealed class BlazorWebAssemblyTests : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(60);
    /// <summary>
    /// How long the app may take to boot in a fresh browser context: downloading and starting the .NET runtime in WebAssembly
    /// took over the browser fixture's 15 s on a loaded machine, leaving the page at "Loading".
    /// </summary>
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(90);
    private const string AppProject = "tests/ErrorHub.RealApps.BlazorWasm";

    /// <summary>A published (trimmed) build of the app to test instead of its build output: the path of its <c>wwwroot</c>.</summary>
    private const string PublishedSiteVariable = "ERRORHUB_BLAZORWASM_PUBLISHED";

    private readonly BrowserFixture _browser;
    private IngestHost _ingest = null!;

    public BlazorWebAssemblyTests(BrowserFixture browser) => _browser = browser;

    public async Task InitializeAsync() => _ingest = await IngestHost.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task An_event_handler_failure_and_a_render_failure_in_the_browser_each_arrive_once_with_the_apps_frames()
    {
        await using var site = await StartSiteAsync(_ingest.Dsn);
        var page = await _browser.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) => console.Add(message.Text);

        await OpenAsync(page, new Uri(site.Url, "/checkout?coupon=SPRING&token=s3cret#step-2"));
        var userAgent = await page.EvaluateAsync<string>("navigator.userAgent");
        var add = page.GetByRole(AriaRole.Button, new() { Name = "Add item" });
        await add.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Items: 1");
        await add.ClickAsync(); // throws in the event handler
        await WaitUntilAsync(async () => (await _ingest.AllEventsAsync()).Count >= 1, "the event handler's failure at ingest", console);

        await page.GotoAsync(new Uri(site.Url, "/receipt").ToString()); // throws while rendering
        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 2, "the render failure at ingest", console);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second report of either would come right after the first

        events = await _ingest.AllEventsAsync();
        events.Should().HaveCount(2, string.Join(" | ", events.Select(e => $"{e.Title} [{e.Logger}]")));
        var handler = events.Should().ContainSingle(e => e.Exceptions[0].Value == "Basket cannot hold more than 1 item").Subject;
        handler.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        handler.Culprit.Should().Be("ErrorHub.RealApps.BlazorWasm.Pages.Checkout.AddItem");
        handler.Exceptions[0].Frames.Should().Contain(f => f.InApp && f.Module == "ErrorHub.RealApps.BlazorWasm");
        handler.Logger.Should().Be("Microsoft.AspNetCore.Components.WebAssembly.Rendering.WebAssemblyRenderer");
        handler.Environment.Should().Be("browser", "a WebAssembly host has no IHostEnvironment; nothing was configured");
        handler.Release.Should().StartWith("ErrorHub.RealApps.BlazorWasm@");
        handler.Request.Should().NotBeNull("the page stands in for a server's request");
        handler.Request!.Url.Should().Be(new Uri(site.Url, "/checkout").ToString(), "no query, no fragment");
        handler.Request.QueryString.Should().Be("coupon=SPRING&token=[Filtered]", "the query is scrubbed as a server's");
        handler.Request.Method.Should().BeNull();
        handler.Request.Headers.Should().Contain("User-Agent", userAgent);
        handler.Tags.Should().Contain("client_os", "Linux");
        handler.Tags["browser"].Should().MatchRegex("^Chrome [0-9]+$", "the dashboard and the e-mails show it as for a server's event");

        var render = events.Should().ContainSingle(e => e.Exceptions[0].Value == "Receipt total is malformed").Subject;
        render.Exceptions[0].Type.Should().Be("System.FormatException");
        render.Culprit.Should().Contain("ErrorHub.RealApps.BlazorWasm.Pages.Receipt");
        render.Request!.Url.Should().Be(new Uri(site.Url, "/receipt").ToString(), "each event has the page it happened on");
        render.Request.QueryString.Should().BeNull();
        console.Should().NotContain(line => line.Contains("ErrorHub", StringComparison.Ordinal) && !line.Contains("RealApps", StringComparison.Ordinal),
            "the SDK writes nothing into the page's console");
    }

    [Fact]
    public async Task A_failure_an_ErrorBoundary_contained_arrives_once_as_an_error_and_the_page_shows_its_fallback()
    {
        await using var site = await StartSiteAsync(_ingest.Dsn);
        var page = await _browser.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) => console.Add(message.Text);

        await OpenAsync(page, new Uri(site.Url, "/gallery"));
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("This photo cannot be shown.");
        List<ErrorEvent> events = [];
        await WaitUntilAsync(async () => (events = await _ingest.AllEventsAsync()).Count >= 1, "the contained failure at ingest", console);
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second report (the renderer's) would come right after the first

        events = await _ingest.AllEventsAsync();
        var contained = events.Should().ContainSingle(string.Join(" | ", events.Select(e => $"{e.Title} [{e.Logger}]"))).Subject;
        contained.Exceptions[0].Type.Should().Be("System.ArgumentOutOfRangeException");
        contained.Level.Should().Be("error");
        contained.Logger.Should().Be("Microsoft.AspNetCore.Components.Web.ErrorBoundary");
        contained.Tags.Should().Contain("mechanism", "ErrorBoundary");
        contained.Culprit.Should().Contain("ErrorHub.RealApps.BlazorWasm.Components.PhotoCaption");
        contained.Message.Should().BeNull("the boundary logs the exception's whole text as its message: the exception says it already");
        contained.Request!.Url.Should().Be(new Uri(site.Url, "/gallery").ToString());
        await Assertions.Expect(page.Locator("#blazor-error-ui")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task With_ingest_down_the_page_gets_nothing_thrown_into_it_and_keeps_working()
    {
        var deadIngest = $"http://{IngestHost.Key}@127.0.0.1:{FreePort.Next()}/{IngestHost.ProjectId}";
        await using var site = await StartSiteAsync(deadIngest);
        var page = await _browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        await OpenAsync(page, new Uri(site.Url, "/checkout"));
        var add = page.GetByRole(AriaRole.Button, new() { Name = "Add item" });
        await add.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Items: 1");
        await add.ClickAsync(); // throws: its event cannot be sent
        await Task.Delay(TimeSpan.FromSeconds(3)); // the sender tries and fails meanwhile

        errors.Should().BeEmpty("a failed send stays inside the SDK");
        await OpenAsync(page, new Uri(site.Url, "/checkout"));
        await add.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Items: 1");
    }

    /// <summary>
    /// Serves the app's build output as a static site: its <c>wwwroot</c> (index.html), the built <c>_framework</c>, and an
    /// <c>appsettings.json</c> holding the DSN, which the app reads at start as a deployed app would. With
    /// <see cref="PublishedSiteVariable"/> set to a published app's <c>wwwroot</c> (a trimmed Release publish; docs/sdk.md
    /// gives the command), that is served instead: publishing takes minutes, too long for every run.
    /// </summary>
    private static async Task<StaticSite> StartSiteAsync(string dsn)
    {
        var published = Environment.GetEnvironmentVariable(PublishedSiteVariable);
        IFileProvider files = string.IsNullOrEmpty(published)
            ? new CompositeFileProvider(
                new PhysicalFileProvider(Path.Combine(RepositoryPaths.Root, AppProject, "wwwroot")),
                new PhysicalFileProvider(Path.Combine(Path.GetDirectoryName(RepositoryPaths.BuiltAssembly(AppProject))!, "wwwroot")))
            : new PhysicalFileProvider(Path.GetFullPath(published));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(FreePort.NextHttpUrl().ToString());
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/appsettings.json", () => Results.Json(new { ErrorHub = new { Dsn = dsn } }));
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, ServeUnknownFileTypes = true });
        app.MapFallback(async context =>
        {
            context.Response.ContentType = "text/html";
            await context.Response.SendFileAsync(files.GetFileInfo("index.html"));
        });
        await app.StartAsync();
        return new StaticSite(app);
    }

    /// <summary>Opens a page of the app and waits, within <see cref="BootTimeout"/>, until the app has rendered it.</summary>
    private static async Task OpenAsync(IPage page, Uri url)
    {
        await page.GotoAsync(url.ToString());
        await Assertions.Expect(page.Locator("#app")).Not.ToHaveTextAsync("Loading", new() { Timeout = (float)BootTimeout.TotalMilliseconds });
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> done, string what, List<string> console)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await done())
        {
            if (stopwatch.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException($"No {what} within {ArrivalTimeout.TotalSeconds:0} s. The page's console:\n{string.Join("\n", console)}");
            }

            await Task.Delay(200);
        }
    }

    private sealed class StaticSite(WebApplication app) : IAsyncDisposable
    {
        public Uri Url { get; } = new(app.Urls.Single());

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
