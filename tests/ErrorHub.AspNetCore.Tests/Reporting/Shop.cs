using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>What an app throws when something asked for does not exist; its error handling turns it into a 404.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The app's code with the bug every test reports.</summary>
internal static class Shop
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string Checkout(string bundle) =>
        throw new InvalidOperationException($"Bundle '{bundle}' has two primary products");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static string FindOrder(int id) => throw new NotFoundException($"Order {id} does not exist");
}

/// <summary>The app's IExceptionHandler: a NotFoundException becomes a 404; anything else is left to the default 500.</summary>
internal sealed class NotFoundHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not NotFoundException)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status404NotFound;
        await httpContext.Response.WriteAsync("not found", cancellationToken);
        return true;
    }
}

/// <summary>
/// The app's own catch-all, as many real apps have one: it logs "Unhandled exception" and answers 500 itself, so
/// nothing escapes it.
/// </summary>
internal sealed class CatchAllMiddleware(RequestDelegate next, ILogger<CatchAllMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception)
        {
            logger.LogError(exception, "Unhandled exception");
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await context.Response.WriteAsync("Sorry, something broke.");
        }
    }
}

/// <summary>
/// The usual "GlobalExceptionHandler" of .NET 8+ apps: every exception becomes a 500 problem, handled, and logged nowhere
/// (since .NET 10 the exception handler middleware writes no log entry for an exception a handler handled).
/// </summary>
internal sealed class ProblemFor500Handler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        httpContext.Response.StatusCode = exception is NotFoundException ? StatusCodes.Status404NotFound : StatusCodes.Status500InternalServerError;
        await httpContext.Response.WriteAsJsonAsync(new { title = "Something went wrong" }, cancellationToken);
        return true;
    }
}
