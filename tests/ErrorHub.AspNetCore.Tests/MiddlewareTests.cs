using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.AspNetCore.Tests;

/// <summary>
/// The middleware in a real app on a real socket, reporting to the real ingest on a real SQLite file.
/// </summary>
public sealed class MiddlewareTests : IAsyncLifetime
{
    private readonly CompletedRequests _completed = new();
    private IngestHost _server = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await IngestHost.StartAsync();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Staging" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub(o =>
        {
            o.Dsn = _server.Dsn;
            o.Release = "shop@2.1.0";
            o.ServerName = "web-7";
        });
        builder.Services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("Test", null);
        builder.Services.AddAuthorization();
        _app = builder.Build();
        _app.Use(_completed.Track);
        _app.UseExceptionHandler(error => error.Run(async context =>
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("Sorry, something broke.");
        }));
        _app.UseErrorHub();
        _app.UseAuthentication();
        _app.Use((context, next) => context.Request.Path == "/sync-throw"
            ? throw new NotSupportedException("thrown before any await")
            : next(context));
        _app.MapGet("/ok", () => "fine");
        _app.MapGet("/cart/{id}/checkout", (string id) => CheckoutService.Checkout(id));
        _app.MapPost("/orders/{id:int}/cancel", (int id) =>
        {
            // A handler that fails in its own body: the culprit frame is the compiler's lambda.
            if (id > 0)
            {
                throw new InvalidOperationException($"Order {id} has shipped and cannot be cancelled");
            }

            return "cancelled";
        });
        _app.MapGet("/async-crash", async () =>
        {
            await Task.Yield();
            return await CheckoutService.LoadProfileAsync();
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_throwing_endpoint_produces_exactly_one_event_with_exception_request_and_user()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cart/42/checkout?bundle=holiday&coupon=XMAS");
        request.Headers.Add("X-Test-User", "alice");
        request.Headers.Add("Authorization", "Bearer secret-token");
        request.Headers.Add("Cookie", "session=very-secret");
        request.Headers.Add("X-Request-Source", "integration-test");

        using var response = await _http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await response.Content.ReadAsStringAsync()).Should().Be("Sorry, something broke.", "the app's own error handling still answers");

        var events = await FlushAndReadEventsAsync(expected: 1);
        var e = events.Should().ContainSingle().Subject;
        e.Level.Should().Be("error");
        e.Release.Should().Be("shop@2.1.0");
        e.Environment.Should().Be("staging");
        e.ServerName.Should().Be("web-7");
        e.Runtime!.Name.Should().Be(".NET");
        e.Os!.Name.Should().NotBeNullOrEmpty();

        var exception = e.Exceptions.Should().ContainSingle().Subject;
        exception.Type.Should().Be("System.InvalidOperationException");
        exception.Value.Should().Be("Bundle 'holiday' has two primary products");
        var top = exception.Frames[0];
        top.Function.Should().Be("Checkout");
        top.Type.Should().Be("ErrorHub.AspNetCore.Tests.CheckoutService");
        top.InApp.Should().BeTrue();
        top.File.Should().EndWith("MiddlewareTests.cs");
        top.Line.Should().BeGreaterThan(0);
        exception.Frames.Should().Contain(f => !f.InApp, "framework frames are kept but not in-app");
        e.Culprit.Should().Be("ErrorHub.AspNetCore.Tests.CheckoutService.Checkout");
        e.Title.Should().Be("InvalidOperationException: Bundle 'holiday' has two primary products");

        e.Request!.Method.Should().Be("GET");
        e.Request.Url.Should().Be($"{_http.BaseAddress!.GetLeftPart(UriPartial.Authority)}/cart/42/checkout");
        e.Request.QueryString.Should().Be("bundle=holiday&coupon=XMAS");
        e.Request.Headers["X-Request-Source"].Should().Be("integration-test");
        e.Request.Headers["Authorization"].Should().Be("[Filtered]");
        e.Request.Headers["Cookie"].Should().Be("session=[Filtered]", "the cookie's name is kept, its value never");
        e.Request.Headers.Values.Should().NotContain(v => v.Contains("secret"));

        e.User.Should().BeEquivalentTo(new { Id = "id-alice", Username = "alice", Email = "alice@example.com", IpAddress = (string?)null });
    }

    [Fact]
    public async Task Async_exceptions_are_reported_with_the_method_names_the_developer_wrote()
    {
        using var response = await _http.GetAsync("/async-crash");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var e = (await FlushAndReadEventsAsync(expected: 1)).Should().ContainSingle().Subject;
        var exception = e.Exceptions[0];
        exception.Type.Should().Be("System.NullReferenceException");
        exception.Frames[0].Function.Should().Be("LoadProfileAsync", "not <LoadProfileAsync>d__1.MoveNext");
        exception.Frames[0].Type.Should().Be("ErrorHub.AspNetCore.Tests.CheckoutService");
        e.User.Should().BeNull("the request had no signed-in user");
    }

    [Fact]
    public async Task A_minimal_api_handler_lambda_is_named_by_its_route_not_by_the_compilers_name()
    {
        using var response = await _http.PostAsync("/orders/42/cancel", content: null);

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var e = (await FlushAndReadEventsAsync(expected: 1)).Should().ContainSingle().Subject;
        e.Exceptions[0].Frames.Should().Contain(f => f.InApp && f.Function.EndsWith("<lambda>", StringComparison.Ordinal), "the handler is a lambda");
        e.Culprit.Should().Be("POST /orders/{id:int}/cancel", "UseExceptionHandler answered the request, and the route is still known");
        e.Tags["route"].Should().Be("POST /orders/{id:int}/cancel");
    }

    [Fact]
    public async Task A_middleware_that_throws_synchronously_is_reported_too()
    {
        using var response = await _http.GetAsync("/sync-throw");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var e = (await FlushAndReadEventsAsync(expected: 1)).Should().ContainSingle().Subject;
        e.Exceptions[0].Type.Should().Be("System.NotSupportedException");
        e.Request!.Url.Should().EndWith("/sync-throw");
    }

    [Fact]
    public async Task Requests_that_do_not_throw_produce_no_event()
    {
        for (var i = 0; i < 5; i++)
        {
            (await _http.GetStringAsync("/ok")).Should().Be("fine");
        }

        using (await _http.GetAsync("/cart/1/checkout?bundle=holiday"))
        {
        }

        var events = await FlushAndReadEventsAsync(expected: 1);
        events.Should().ContainSingle().Which.Request!.Url.Should().EndWith("/cart/1/checkout");
    }

    private async Task<List<Storage.Events.ErrorEvent>> FlushAndReadEventsAsync(int expected)
    {
        await _completed.WaitForAllAsync();
        var client = _app.Services.GetRequiredService<IErrorHubClient>();
        (await client.FlushAsync(TimeSpan.FromSeconds(15))).Should().BeTrue();

        // The server answered 202, so the events are committed: read them straight away.
        var events = await _server.AllEventsAsync();
        events.Should().HaveCount(expected);
        return events;
    }

    /// <summary>Signs in whoever the X-Test-User header names, with id, name and email claims.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var name = Request.Headers["X-Test-User"].ToString();
            if (name.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity(
                [new(ClaimTypes.NameIdentifier, "id-" + name), new(ClaimTypes.Name, name), new(ClaimTypes.Email, name + "@example.com")],
                Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}

internal static class CheckoutService
{
    public static string Checkout(string cartId) =>
        throw new InvalidOperationException($"Bundle 'holiday' has two primary products");

    public static async Task<string> LoadProfileAsync()
    {
        await Task.Yield();
        string? displayName = null;
        return displayName!.ToUpperInvariant();
    }
}
