using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace ErrorHub.RealApps.Controllers;

/// <summary>The MVC template's controller, with the failures an MVC app meets.</summary>
public sealed class HomeController : Controller
{
    public IActionResult Index() => View();

    public IActionResult Checkout(int id) => throw new InvalidOperationException($"Cart {id} has no items");

    [RejectLegacyClients]
    public IActionResult Legacy() => View("Index");

    public IActionResult Broken() => View(new BrokenModel());

    /// <summary>A view that flushes before it fails: the response has started, no error page can answer.</summary>
    public IActionResult Streamed() => View(new BrokenModel());

    [HttpPost]
    public IActionResult Subscribe([FromForm] Subscription subscription) =>
        ModelState.IsValid ? Content("subscribed") : BadRequest(ModelState);

    [ResponseCache(Duration = 0, Location = ResponseCacheLocation.None, NoStore = true)]
    public IActionResult Error() => View();
}

public sealed class Subscription
{
    [Required]
    [EmailAddress]
    public string? Email { get; set; }
}

public sealed class BrokenModel
{
    public decimal Total() => throw new FormatException("Price list is corrupt");
}

/// <summary>An action filter that fails: the app's own code, before the action.</summary>
public sealed class RejectLegacyClientsAttribute : ActionFilterAttribute
{
    public override void OnActionExecuting(ActionExecutingContext context) =>
        throw new NotSupportedException("Legacy client check failed");
}
