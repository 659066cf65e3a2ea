using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Asp.Versioning;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.RealApps.Billing;

/// <summary>
/// A versioned API (Asp.Versioning) behind the guards ASP.NET Core ships: authentication and role-based authorization,
/// a rate limiter on exports, and an MVC form that validates its antiforgery token.
/// </summary>
public static class BillingApi
{
    public const string ExportPolicy = "exports";

    public static IServiceCollection AddBillingApi(this IServiceCollection services)
    {
        services.AddControllersWithViews().ConfigureApplicationPartManager(parts => parts.FeatureProviders.Add(new BillingControllers()));
        services.AddProblemDetails();
        services.AddApiVersioning(options => options.ReportApiVersions = true).AddMvc();
        services.AddAuthentication(HeaderAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.SchemeName, configureOptions: null);
        services.AddAuthorization();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddFixedWindowLimiter(ExportPolicy, window =>
            {
                window.PermitLimit = 1;
                window.Window = TimeSpan.FromHours(1);
                window.QueueLimit = 0;
            });
        });
        return services;
    }
}

/// <summary>
/// This app's controllers are internal, so that the other apps of this library, which map every public controller,
/// do not map them too (their <c>apiVersion</c> route constraint exists only where API versioning is added).
/// </summary>
internal sealed class BillingControllers : IApplicationFeatureProvider<ControllerFeature>
{
    public void PopulateFeature(IEnumerable<ApplicationPart> parts, ControllerFeature feature)
    {
        feature.Controllers.Add(typeof(InvoicesController).GetTypeInfo());
        feature.Controllers.Add(typeof(BillingAddressController).GetTypeInfo());
    }
}

/// <summary>
/// The app's sign-in: the X-User header names the user, X-Role their role. Anonymous callers of an
/// <c>[Authorize]</c> action are challenged (401), signed-in ones without the role forbidden (403).
/// </summary>
public sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Header";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var name = Request.Headers["X-User"].ToString();
        if (name.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        List<Claim> claims = [new(ClaimTypes.NameIdentifier, $"id-{name}"), new(ClaimTypes.Name, name), new(ClaimTypes.Email, $"{name}@example.com")];
        var role = Request.Headers["X-Role"].ToString();
        if (role.Length > 0)
        {
            claims.Add(new Claim(ClaimTypes.Role, role));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
    }
}

[ApiController]
[ApiVersion("1.0")]
[ApiVersion("2.0")]
[Route("api/v{version:apiVersion}/invoices")]
[Authorize]
internal sealed class InvoicesController : ControllerBase
{
    [HttpGet("{id:int}")]
    [MapToApiVersion("1.0")]
    public ActionResult<Invoice> GetV1(int id) => new Invoice(id, 100m, "EUR");

    [HttpGet("{id:int}")]
    [MapToApiVersion("2.0")]
    public ActionResult<Invoice> GetV2(int id) => id > 0 ? new Invoice(id, 100m, "EUR") : throw new InvalidOperationException($"Invoice {id} has no currency");

    [HttpPost]
    public IActionResult Create(NewInvoice invoice) => Created($"/api/v2/invoices/{invoice.Amount}", invoice);

    [HttpDelete("{id:int}")]
    [Authorize(Roles = "admin")]
    public IActionResult Delete(int id) => NoContent();

    [HttpGet("export")]
    [EnableRateLimiting(BillingApi.ExportPolicy)]
    public IActionResult Export() => Content("id;amount\n1;100\n", "text/csv");
}

public sealed record Invoice(int Id, decimal Amount, string Currency);

public sealed class NewInvoice
{
    [Range(1, 1_000_000)]
    public decimal Amount { get; set; }

    [Required]
    public string? Customer { get; set; }
}

/// <summary>An MVC form post, as a page's form sends it: its antiforgery token is validated before the action runs.</summary>
[Route("billing")]
[Authorize]
internal sealed class BillingAddressController(IAntiforgery antiforgery) : Controller
{
    /// <summary>The form's page, reduced to its hidden token field (the token's cookie goes with the answer).</summary>
    [HttpGet("address")]
    public IActionResult Edit() => Content(antiforgery.GetAndStoreTokens(HttpContext).RequestToken!, "text/plain");

    [HttpPost("address")]
    [ValidateAntiForgeryToken]
    public IActionResult Update([FromForm] string street) =>
        street.Length > 0 ? throw new IOException($"Address book refused {street}") : RedirectToAction(nameof(Update));
}
