using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace ErrorHub.RealApps.Controllers;

/// <summary>The Web API template's kind of controller.</summary>
[ApiController]
[Route("api/[controller]")]
public sealed class OrdersController : ControllerBase
{
    [HttpGet("{id:int}")]
    public ActionResult<string> Get(int id) => throw new KeyNotFoundException($"Order {id} vanished from the index");

    [HttpPost("{id:int}/pay")]
    public IActionResult Pay(int id) => throw new OrderConflictException($"Order {id} is already paid");

    [HttpPost]
    public IActionResult Create(NewOrder order) => Created($"/api/orders/{order.Quantity}", order);
}

public sealed class NewOrder
{
    [System.ComponentModel.DataAnnotations.Range(1, 100)]
    public int Quantity { get; set; }
}

public sealed class OrderConflictException(string message) : Exception(message);

/// <summary>The app's own handler: a domain conflict is a 409 (handled); anything else goes on to the default 500.</summary>
public sealed class ConflictExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not OrderConflictException)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status409Conflict;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = { Title = "Conflict", Detail = exception.Message, Status = 409 },
            Exception = exception,
        });
    }
}
