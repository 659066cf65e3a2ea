using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using ErrorHub.Internal;
using Microsoft.AspNetCore.Http;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Reports exceptions that escape the rest of the pipeline. The report is made from an exception
/// filter that returns false, so the exception is never caught: it keeps unwinding with its stack
/// intact and the app's own error handling (UseExceptionHandler, the developer page) runs as before.
/// Whether it is sent is decided when the response completes (see <see cref="HttpRequestContext"/>).
/// </summary>
internal sealed class ErrorHubMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ErrorHubClient _client;
    private readonly CurrentRequests _requests;
    private readonly Action<HttpContext, Exception> _reportEscaped;

    public ErrorHubMiddleware(RequestDelegate next, ErrorHubClient client, CurrentRequests requests)
    {
        _next = next;
        _client = client;
        _requests = requests;
        _reportEscaped = (context, exception) => Report(context, exception);
    }

    public Task InvokeAsync(HttpContext context)
    {
        // Captures anywhere inside the rest of the pipeline (the logger, the app's catch blocks) find the request here.
        var claim = _requests.Enter(context);
        Task? pending = null;
        try
        {
            pending = _next(context);
        }
        catch (Exception exception) when (Report(context, exception))
        {
            throw; // unreachable: Report always returns false
        }
        finally
        {
            // A pipeline still running keeps the request current until AwaitAsync has seen it finish.
            if (pending is not { IsCompleted: false })
            {
                _requests.Exit(claim);
            }
        }

        // The happy path of a pipeline that finished synchronously costs no state machine at all.
        if (pending.IsCompletedSuccessfully)
        {
            return Task.CompletedTask;
        }

        if (claim.IsKeyedByActivity && !pending.IsCompleted)
        {
            // Nor does one that goes on asynchronously: its own task is returned, and an exception ending it is seen
            // when the caller's await rethrows it (see CurrentRequests.Watch).
            _requests.Watch(claim, pending, _reportEscaped);
            return pending;
        }

        return AwaitAsync(pending, context, pending.IsCompleted ? default : claim);
    }

    private async Task AwaitAsync(Task pending, HttpContext context, CurrentRequests.Claim claim)
    {
        try
        {
            await pending;
        }
        catch (Exception exception) when (Report(context, exception))
        {
            throw; // unreachable: Report always returns false
        }
        finally
        {
            _requests.Exit(claim);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Report(HttpContext context, Exception exception)
    {
        if (!IsClientAbort(context, exception))
        {
            _client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Middleware, configure: null, context);
        }

        return false;
    }

    /// <summary>A client that went away is not an error of the app.</summary>
    /// <remarks>
    /// The exception's type is asked first: it is the cheaper question (reading <c>RequestAborted</c> makes Kestrel create its
    /// cancellation source when the connection has none yet), and most failures are neither cancellations nor I/O errors.
    /// A WebSocket whose client dropped it without the close handshake (a closed tab, a lost network) fails the app's
    /// <c>ReceiveAsync</c> with a <see cref="WebSocketException"/>, not an I/O error, when the app passes no cancellation
    /// token (as ASP.NET Core's own WebSocket sample does). Its error code says the other end left: Kestrel can signal
    /// <c>RequestAborted</c> only after the socket's read saw the connection end (in about one run in four of a test).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // every report asks, on the failing request's thread
    internal static bool IsClientAbort(HttpContext context, Exception exception) =>
        exception switch
        {
            OperationCanceledException or IOException => context.RequestAborted.IsCancellationRequested,
            WebSocketException { WebSocketErrorCode: WebSocketError.ConnectionClosedPrematurely } => true,
            _ => false,
        };
}
