using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace ErrorHub.RealApps.Controllers;

/// <summary>
/// A result filter that handles what fails while a view renders (<c>ExceptionHandled</c> in <c>OnResultExecuted</c>), as
/// apps do to keep a half-rendered page from their users: a receipt whose template fails gets a plain "unavailable" page
/// with a 500 and nothing is logged; a receipt of another customer's order sends the user back to the start page.
/// </summary>
[RenderFailurePage]
public sealed class ReceiptsController : Controller
{
    public IActionResult Print(int id) => View(new ReceiptModel(id));
}

public sealed class ReceiptModel(int id)
{
    public int Id => id;

    public string TaxLine() => id switch
    {
        13 => throw new UnauthorizedAccessException($"Receipt {id} belongs to another customer"),
        _ => throw new KeyNotFoundException($"Tax rate for receipt {id} is missing from the rate table"),
    };
}

[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class RenderFailurePageAttribute : Attribute, IAsyncResultFilter
{
    public async Task OnResultExecutionAsync(ResultExecutingContext context, ResultExecutionDelegate next)
    {
        var executed = await next();
        var response = context.HttpContext.Response;
        if (executed.Exception is null || response.HasStarted)
        {
            return;
        }

        executed.ExceptionHandled = true;
        response.Clear();
        if (executed.Exception is UnauthorizedAccessException)
        {
            response.Redirect("/");
            return;
        }

        response.StatusCode = StatusCodes.Status500InternalServerError;
        response.ContentType = "text/html";
        await response.WriteAsync("<h1>This receipt is unavailable right now.</h1>");
    }
}
