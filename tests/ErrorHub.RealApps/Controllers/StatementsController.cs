using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace ErrorHub.RealApps.Controllers;

/// <summary>
/// Action filters that handle exceptions themselves (<c>ExceptionHandled</c> in <c>OnActionExecuted</c>), as older MVC
/// apps do instead of exception filters: one answers every failure with its own error page and a 500 and logs nothing;
/// the controller's own <c>OnActionExecuted</c> sends a user whose session ran out to sign in again.
/// </summary>
public sealed class StatementsController : Controller
{
    [ErrorPageOnFailure]
    public IActionResult Monthly(int id) => throw new InvalidDataException($"Statement {id} has an unbalanced ledger");

    public IActionResult Archived(int id) => throw new UnauthorizedAccessException($"Session expired before statement {id}");

    public override void OnActionExecuted(ActionExecutedContext context)
    {
        if (context.Exception is UnauthorizedAccessException)
        {
            context.Result = new RedirectResult("/");
            context.ExceptionHandled = true;
        }
    }
}

[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class ErrorPageOnFailureAttribute : Attribute, IAsyncActionFilter
{
    public async Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        var executed = await next();
        if (executed.Exception is not null)
        {
            executed.Result = new ContentResult
            {
                Content = "<h1>We could not show this page.</h1>",
                ContentType = "text/html",
                StatusCode = StatusCodes.Status500InternalServerError,
            };
            executed.ExceptionHandled = true;
        }
    }
}
