using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A real app on 127.0.0.1 with <c>AddErrorHub()</c> and the pipeline a test builds, whose <c>BeforeSend</c> keeps
/// every event the SDK would send, with its hint (and drops it: nothing leaves the machine). Requests return once
/// the app is completely done with them, so ErrorHub has decided.
/// </summary>
internal sealed class ReportingApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CompletedRequests _completed;

    private ReportingApp(WebApplication app, CompletedRequests completed, ConcurrentQueue<(ErrorHubEvent, ErrorHubHint)> sent)
    {
        _app = app;
        _completed = completed;
        Sent = sent;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Http = new HttpClient { BaseAddress = new Uri(address) };
    }

    /// <summary>What the SDK would have sent, with the hint BeforeSend saw, in order.</summary>
    public ConcurrentQueue<(ErrorHubEvent Event, ErrorHubHint Hint)> Sent { get; }

    public IEnumerable<ErrorHubEvent> Events => Sent.Select(s => s.Event);

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<ReportingApp> StartAsync(
        Action<WebApplication> pipeline,
        Action<ErrorHubOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? servicesBeforeErrorHub = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Port 9 (discard) is never reached: BeforeSend drops every event.
            ["ErrorHub:Dsn"] = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var sent = new ConcurrentQueue<(ErrorHubEvent, ErrorHubHint)>();
        servicesBeforeErrorHub?.Invoke(builder.Services);
        builder.Services.AddErrorHub(o =>
        {
            configure?.Invoke(o);
            o.BeforeSend = (e, hint) =>
            {
                sent.Enqueue((e, hint));
                return null;
            };
        });
        services?.Invoke(builder.Services);
        var app = builder.Build();
        var completed = new CompletedRequests();
        app.Use(completed.Track);
        pipeline(app);
        await app.StartAsync();
        return new ReportingApp(app, completed, sent);
    }

    /// <summary>Signs in whoever the X-Test-User header names (id, name and email claims), as an app's authentication would.</summary>
    public static Task SignInFromHeader(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Headers["X-Test-User"].ToString() is { Length: > 0 } name)
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity(
                [
                    new Claim(ClaimTypes.NameIdentifier, $"id-{name}"),
                    new Claim(ClaimTypes.Name, name),
                    new Claim(ClaimTypes.Email, $"{name}@example.com"),
                ],
                "Test"));
        }

        return next(context);
    }

    /// <summary>GETs a path (as <paramref name="user"/> when given) and returns its status once the app is done with it.</summary>
    public async Task<int> GetAsync(string pathAndQuery, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (user is not null)
        {
            request.Headers.Add("X-Test-User", user);
        }

        using var response = await Http.SendAsync(request).WaitAsync(CompletedRequests.Guard);
        await _completed.WaitForAllAsync();
        return (int)response.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
