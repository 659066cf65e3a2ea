using System.Net;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Contoso.Storefront;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// An app whose own code lives under <c>Microsoft.Contoso</c>, on a real socket, reporting to the real ingest on a real SQLite file:
/// its frames arrive marked in-app and its issue says it was grouped by its own frame (docs/sdk.md, "Which frames are the app's").
/// </summary>
public sealed class MicrosoftNamespacedAppTests : IAsyncLifetime
{
    private readonly CompletedRequests _completed = new();
    private IngestHost _ingest = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _ingest = await IngestHost.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub(o => o.Dsn = _ingest.Dsn);
        _app = builder.Build();
        _app.Use(_completed.Track);
        _app.UseExceptionHandler(error => error.Run(context =>
        {
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        }));
        _app.UseErrorHub();
        // Method groups, not lambdas: a lambda here would be this test class's own code (in-app, under ErrorHub's namespace),
        // and whether its frame shows depends on whether the JIT inlined it into the endpoint's generated delegate.
        _app.MapGet("/price/{sku}", CatalogService.PriceOf);
        _app.MapGet("/basket/{sku}", BasketService.Total);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _ingest.DisposeAsync();
    }

    [Fact]
    public async Task The_apps_frames_arrive_in_app_and_its_issue_is_grouped_by_its_own_frame()
    {
        using var response = await _http.GetAsync("/price/summer-kit");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var stored = (await FlushAndReadEventsAsync(expected: 1)).Single();
        var frames = stored.Exceptions.Single().Frames;
        frames.Should().Contain(f => f.Type == "Microsoft.Contoso.Storefront.CatalogService" && f.Function == "PriceOf" && f.InApp);
        frames.Where(f => f.Type?.StartsWith("Microsoft.Contoso.", StringComparison.Ordinal) != true).Should().NotBeEmpty()
            .And.OnlyContain(f => !f.InApp, "the dictionary's, the handler's generated and the SDK's own frames are not the app's");
        stored.Culprit.Should().Be("Microsoft.Contoso.Storefront.CatalogService.PriceOf");

        var issue = await _ingest.Issues.GetIssueAsync(IngestHost.ProjectId, stored.Fingerprint);
        issue!.Grouping!.Version.Should().Be(17, "the current rules; the test app is no NuGet package and its handler's frame is kept, so version 17 keys it as version 8 did");
        issue.Grouping.Components.Where(c => c.Counts).Should().Equal(
            new GroupingComponent(GroupingComponent.Type, "KeyNotFoundException"),
            new GroupingComponent(GroupingComponent.AppFrame, "Microsoft.Contoso.Storefront.CatalogService.PriceOf"));
    }

    [Fact]
    public async Task The_same_failure_reached_from_two_of_the_apps_methods_is_one_issue_keyed_by_the_method_that_failed()
    {
        (await _http.GetAsync("/price/summer-kit")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await _http.GetAsync("/basket/summer-kit")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var stored = await FlushAndReadEventsAsync(expected: 2);
        stored.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("the app frame nearest the throw is the key, not its callers");
        stored.Should().OnlyContain(e => e.GroupingComponents.Any(c => c.Kind == GroupingComponent.AppFrame && c.Value == "Microsoft.Contoso.Storefront.CatalogService.PriceOf"));
    }

    private async Task<List<ErrorEvent>> FlushAndReadEventsAsync(int expected)
    {
        await _completed.WaitForAllAsync();
        (await _app.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(15))).Should().BeTrue();
        var events = await _ingest.AllEventsAsync();
        events.Should().HaveCount(expected);
        return events;
    }
}
