using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Controllers;

/// <summary>
/// An MVC app's exception filters, as real apps write them: a global one that turns a missing product into a 404, one
/// that shows a friendly view, one that logs and answers a bare 500 (eShopOnContainers' HttpGlobalExceptionFilter
/// style; the app's status code page then answers), and one that answers every exception with a 500 page and logs
/// nothing (MVC 5's HandleErrorAttribute style).
/// </summary>
public sealed class ProductsController : Controller
{
    public IActionResult Details(int id) => throw new ProductNotFoundException(id);

    [OutOfStockView]
    public IActionResult Buy(int id) => throw new OutOfStockException(id);

    [LogAndAnswer500]
    public IActionResult Report(int id) => throw new InvalidOperationException($"Sales report {id} is unavailable");

    [HandleError]
    public IActionResult Export(int id) => throw new FormatException($"Export of product {id} has a bad column");
}

/// <summary>The page <c>UseStatusCodePagesWithReExecute("/Error/{0}")</c> runs for a response without a body.</summary>
public sealed class StatusPageController : Controller
{
    [Route("Error/{code:int}")]
    public IActionResult Show(int code) => Content($"<h1>Error {code}</h1>", "text/html");
}

public sealed class ProductNotFoundException(int id) : Exception($"Product {id} does not exist");

public sealed class OutOfStockException(int id) : Exception($"Product {id} is out of stock");

/// <summary>Global: a missing product is a 404, answered by the status code page.</summary>
public sealed class ProductNotFoundFilter : IExceptionFilter
{
    public void OnException(ExceptionContext context)
    {
        if (context.Exception is ProductNotFoundException)
        {
            context.Result = new NotFoundResult();
            context.ExceptionHandled = true;
        }
    }
}

[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class OutOfStockViewAttribute : Attribute, IAsyncExceptionFilter
{
    public Task OnExceptionAsync(ExceptionContext context)
    {
        if (context.Exception is OutOfStockException)
        {
            context.Result = new ContentResult { Content = "<h1>Sorry, out of stock.</h1>", ContentType = "text/html" };
            context.ExceptionHandled = true;
        }

        return Task.CompletedTask;
    }
}

public sealed class LogAndAnswer500Attribute() : TypeFilterAttribute(typeof(LogAndAnswer500Filter))
{
    // A category of the app's own (this library's namespace starts with ErrorHub, which the tests take for the SDK's).
    private sealed class LogAndAnswer500Filter(ILoggerFactory loggers) : IExceptionFilter
    {
        private readonly ILogger _logger = loggers.CreateLogger("Storefront.Errors");

        public void OnException(ExceptionContext context)
        {
            _logger.LogError(context.Exception, "Request failed: {Message}", context.Exception.Message);
            context.Result = new StatusCodeResult(StatusCodes.Status500InternalServerError);
            context.ExceptionHandled = true;
        }
    }
}

[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class HandleErrorAttribute : Attribute, IExceptionFilter
{
    public void OnException(ExceptionContext context)
    {
        context.Result = new ContentResult { Content = "<h1>Sorry, something went wrong.</h1>", ContentType = "text/html", StatusCode = 500 };
        context.ExceptionHandled = true;
    }
}
