using ErrorHub.Internal;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace ErrorHub.AspNetCore;

/// <summary>
/// The first of the app's <see cref="IExceptionHandler"/>s: sees every exception that reaches <c>UseExceptionHandler</c>,
/// however the app placed <c>UseErrorHub()</c> and whatever the app logs, and handles none of them. Placed before
/// <c>UseExceptionHandler</c> (first, as other SDKs teach), <c>UseErrorHub()</c> sees no exception: the handler took it.
/// The log entry of the exception handler middleware was the report then, and it is not always written: since .NET 10
/// the middleware writes none for an exception an <c>IExceptionHandler</c> handled (the usual "GlobalExceptionHandler"
/// answering a 500 problem), and FastEndpoints' guide has apps turn that category off, as its own handler logs the
/// failure without the exception object. The event is held like the middleware's until the response completes, so a
/// handler's 404 is still no issue.
/// </summary>
/// <remarks>
/// Nothing is added on the happy path: ASP.NET Core calls handlers only for an exception. An exception already reported
/// (by <c>UseErrorHub()</c> placed after <c>UseExceptionHandler</c>, or by a log entry) costs one look-up.
/// </remarks>
internal sealed class ExceptionHandlerReporting(ErrorHubClient client) : IExceptionHandler
{
    public ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        try
        {
            if (!client.WasCaptured(exception) && !ErrorHubMiddleware.IsClientAbort(httpContext, exception))
            {
                client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Middleware, configure: null, httpContext);
            }
        }
        catch (Exception)
        {
            // Nothing may reach the app's exception handling from here: Capture logs its own failures.
        }

        return ValueTask.FromResult(false);
    }
}
