using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ErrorHub.Testing.Ingest;

/// <summary>A request the SDK made, as the server saw it (body already un-gzipped).</summary>
public sealed record RecordedRequest(string Path, string? Key, string? ContentType, string? ContentEncoding, byte[] Body);

/// <summary>
/// A real HTTP server on 127.0.0.1 that records what the SDK sends and answers with whatever the test scripts
/// (e.g. 503 with Retry-After, or no answer at all, then 202). Used to test the transport over real sockets, and apps
/// whose ingest stalls.
/// </summary>
public sealed class RecordingIngest : IAsyncDisposable
{
    /// <summary>How long a wait for the SDK's requests may take before the test fails (only a failing test waits it out).</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpResponse, Task>> _scriptedAnswers = new();
    private readonly SemaphoreSlim _received = new(0);
    private readonly SemaphoreSlim _abandoned = new(0);
    private readonly TaskCompletionSource _releaseHanging = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _abandonedCount;

    private RecordingIngest(WebApplication app) => _app = app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The path of a page that is not ingest: a GET there is answered 200.</summary>
    public const string SignInPath = "/sign-in";

    public string Dsn(string key = "0123456789abcdef0123456789abcdef", int projectId = 7) =>
        $"http://{key}@{BaseAddress.Authority}/{projectId}";

    public static async Task<RecordingIngest> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var ingest = new RecordingIngest(app);
        app.MapPost("/api/{projectId}/events", ingest.HandleAsync);
        // A page that is not ingest (what a proxy or a misconfigured host redirects to): answers any GET with 200.
        app.MapGet(SignInPath, () => "Sign in");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        ingest.BaseAddress = new Uri(address);
        return ingest;
    }

    /// <summary>The next requests get these answers, in order; after that, 202.</summary>
    public void Answer(params Func<HttpResponse, Task>[] answers)
    {
        foreach (var answer in answers)
        {
            _scriptedAnswers.Enqueue(answer);
        }
    }

    public static Func<HttpResponse, Task> Status(int status, string? retryAfter = null) => response =>
    {
        response.StatusCode = status;
        if (retryAfter is not null)
        {
            response.Headers.RetryAfter = retryAfter;
        }

        return Task.CompletedTask;
    };

    /// <summary>A redirect to <paramref name="location"/> (a page that is not ingest, or ingest's own address moved).</summary>
    public static Func<HttpResponse, Task> Redirect(int status, Uri location) => response =>
    {
        response.StatusCode = status;
        response.Headers.Location = location.ToString();
        return Task.CompletedTask;
    };

    /// <summary>
    /// No answer: the request hangs until the SDK gives up on it (counted in <see cref="AbandonedCount"/>) or the
    /// test calls <see cref="ReleaseHanging"/>, which answers 202.
    /// </summary>
    public Func<HttpResponse, Task> Hang() => async response =>
    {
        var abandoned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (response.HttpContext.RequestAborted.Register(() => abandoned.TrySetResult()))
        {
            await Task.WhenAny(abandoned.Task, _releaseHanging.Task);
        }

        if (response.HttpContext.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _abandonedCount);
            _abandoned.Release();
        }
        else
        {
            response.StatusCode = StatusCodes.Status202Accepted;
        }
    };

    /// <summary>Requests the SDK gave up on while the server was still answering them.</summary>
    public int AbandonedCount => Volatile.Read(ref _abandonedCount);

    /// <summary>Every hanging request, now and later, is answered 202.</summary>
    public void ReleaseHanging() => _releaseHanging.TrySetResult();

    /// <summary>Waits until at least <paramref name="count"/> requests arrived.</summary>
    public Task WaitForRequestsAsync(int count) => WaitForAsync(_received, () => Requests.Count >= count, $"{count} requests");

    /// <summary>Waits until the SDK gave up on at least <paramref name="count"/> requests that were still being answered.</summary>
    public Task WaitForAbandonedAsync(int count) => WaitForAsync(_abandoned, () => AbandonedCount >= count, $"{count} abandoned requests");

    public async ValueTask DisposeAsync()
    {
        // A request still hanging would hold up the server's graceful stop.
        ReleaseHanging();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _received.Dispose();
        _abandoned.Dispose();
    }

    private static async Task WaitForAsync(SemaphoreSlim signal, Func<bool> done, string what)
    {
        using var guard = new CancellationTokenSource(Guard);
        try
        {
            while (!done())
            {
                await signal.WaitAsync(guard.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The ingest did not see {what} within {Guard}.");
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var raw = new MemoryStream();
        await context.Request.Body.CopyToAsync(raw);
        var body = raw.ToArray();
        var encoding = context.Request.Headers.ContentEncoding.ToString();
        if (encoding == "gzip")
        {
            using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            await gzip.CopyToAsync(plain);
            body = plain.ToArray();
        }

        Requests.Enqueue(new RecordedRequest(
            context.Request.Path, context.Request.Headers["X-ErrorHub-Key"].ToString(), context.Request.ContentType, encoding, body));
        _received.Release();

        if (_scriptedAnswers.TryDequeue(out var answer))
        {
            await answer(context.Response);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        }
    }
}
