using ErrorHub.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Reports exceptions that escape the rest of the pipeline. The report is made from an exception
/// filter that returns false, so the exception is never caught: it keeps unwinding with its stack
/// intact and the app's own error handling (UseExceptionHandler, the developer page) runs as before.
/// Whether it is sent is decided when the response completes (see <see cref="HttpRequestContext"/>).
/// </summary>
internal sealed class ErrorHubMiddleware(RequestDelegate next, ErrorHubClient client, IOptions<ErrorHubOptions> options)
{
    // Read once, as the client does: both see the same settings for the life of the app.
    private readonly ErrorHubOptions _options = options.Value;

    public Task InvokeAsync(HttpContext context)
    {
        Task pending;
        try
        {
            pending = next(context);
        }
        catch (Exception exception) when (Report(context, exception))
        {
            throw; // unreachable: Report always returns false
        }

        // The happy path of a pipeline that finished synchronously costs no state machine at all.
        return pending.IsCompletedSuccessfully ? Task.CompletedTask : AwaitAsync(pending, context);
    }

    private async Task AwaitAsync(Task pending, HttpContext context)
    {
        try
        {
            await pending;
        }
        catch (Exception exception) when (Report(context, exception))
        {
            throw; // unreachable: Report always returns false
        }
    }

    private bool Report(HttpContext context, Exception exception)
    {
        if (!IsClientAbort(context, exception))
        {
            client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Middleware, configure: null, context);
        }

        return false;
    }

    /// <summary>A client that went away is not an error of the app.</summary>
    internal static bool IsClientAbort(HttpContext context, Exception exception) =>
        context.RequestAborted.IsCancellationRequested && exception is OperationCanceledException or IOException;
}
