using System.Collections.Concurrent;
using System.Threading.Channels;
using FluentAssertions;
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
/// A real app on 127.0.0.1 with <c>AddErrorHub()</c> and <c>UseErrorHub()</c>, whose <c>BeforeSend</c> keeps every event
/// the SDK would send (and drops it, so nothing leaves the machine). Every request throws
/// <see cref="InvalidOperationException"/>, except the two paths below, which end a request the way a test asks.
/// </summary>
internal sealed class CapturingApp : IAsyncDisposable
{
    /// <summary>Waits until the client has gone away, then throws what the query's <c>throw</c> names.</summary>
    public const string AfterAbortPath = "/after-abort";

    /// <summary>Throws at once, while the client is still there, what the query's <c>throw</c> names.</summary>
    public const string ThrowPath = "/throw";

    /// <summary>Real time allowed for what takes milliseconds over loopback; only a failing test waits it out.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private static readonly UriCreationOptions AsWritten = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly WebApplication _app;
    private readonly ChannelReader<string> _finished;

    private CapturingApp(WebApplication app, ConcurrentQueue<ErrorHubEvent> events, ChannelReader<string> finished, Task abortableStarted)
    {
        _app = app;
        Events = events;
        _finished = finished;
        AbortableRequestStarted = abortableStarted;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Http = new HttpClient { BaseAddress = new Uri(address) };
    }

    /// <summary>What the SDK would have sent, in the order it was captured.</summary>
    public ConcurrentQueue<ErrorHubEvent> Events { get; }

    public HttpClient Http { get; }

    /// <summary>A request to <see cref="AfterAbortPath"/> arrived and now waits for its client to go away.</summary>
    public Task AbortableRequestStarted { get; }

    /// <summary>
    /// Starts the app. <paramref name="settings"/> are added to its configuration (e.g. <c>ErrorHub:ScrubbedHeaders:0</c>),
    /// then <paramref name="configure"/> runs as the delegate given to <c>AddErrorHub</c>.
    /// </summary>
    public static async Task<CapturingApp> StartAsync(
        Action<ErrorHubOptions>? configure = null, IDictionary<string, string?>? settings = null)
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

        var events = new ConcurrentQueue<ErrorHubEvent>();
        builder.Services.AddErrorHub(o =>
        {
            configure?.Invoke(o);
            o.BeforeSend = (e, _) =>
            {
                events.Enqueue(e);
                return null;
            };
        });

        var finished = Channel.CreateUnbounded<string>();
        var abortableStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var app = builder.Build();

        // Registered before anything else, so it runs after every other completion callback (they run last-in,
        // first-out): when it runs, ErrorHub has decided whether to report the request, which it does on completion.
        app.Use((context, next) =>
        {
            var request = context.Request.Path + context.Request.QueryString;
            context.Response.OnCompleted(() =>
            {
                finished.Writer.TryWrite(request);
                return Task.CompletedTask;
            });
            return next(context);
        });
        app.UseErrorHub();
        app.Run(context => context.Request.Path.Value switch
        {
            AfterAbortPath => ThrowAfterAbortAsync(context, abortableStarted),
            ThrowPath => throw WhileConnected(context),
            _ => throw new InvalidOperationException("the app failed"),
        });

        await app.StartAsync();
        return new CapturingApp(app, events, finished.Reader, abortableStarted.Task);
    }

    /// <summary>
    /// Sends a request that makes the app fail and returns the one event it produced. The path and query go on the wire
    /// exactly as written (Uri would otherwise decode escapes such as <c>%5F</c> before sending).
    /// </summary>
    public async Task<ErrorHubEvent> EventForAsync(string pathAndQuery, Action<HttpRequestMessage>? configure = null)
    {
        var target = new Uri(Http.BaseAddress!.GetLeftPart(UriPartial.Authority) + pathAndQuery, AsWritten);
        using var request = new HttpRequestMessage(HttpMethod.Get, target);
        configure?.Invoke(request);
        using var response = await Http.SendAsync(request).WaitAsync(Guard);
        await NextFinishedAsync();
        Events.Should().ContainSingle("one failing request makes one event");
        return Events.Single();
    }

    /// <summary>The next request the app is done with (its path and query), whether it failed or not.</summary>
    public async Task<string> NextFinishedAsync() => await _finished.ReadAsync().AsTask().WaitAsync(Guard);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task ThrowAfterAbortAsync(HttpContext context, TaskCompletionSource started)
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (context.RequestAborted.Register(() => aborted.TrySetResult()))
        {
            started.TrySetResult();
            await aborted.Task;
        }

        // What app code typically throws when it notices the client is gone.
        throw context.Request.Query["throw"].ToString() switch
        {
            "cancel" => new OperationCanceledException(context.RequestAborted),
            "io" => new IOException("The client reset the request stream."),
            _ => new InvalidOperationException("failed after the client left"),
        };
    }

    /// <summary>The same kinds of exception from the app's own doing: a timeout of its own, a broken file or socket.</summary>
    private static Exception WhileConnected(HttpContext context) => context.Request.Query["throw"].ToString() switch
    {
        "cancel" => new TaskCanceledException("A call to the payment service timed out."),
        "io" => new IOException("The disk is full."),
        _ => new InvalidOperationException("the app failed"),
    };
}
