// ErrorHub sample: a small web shop that crashes the way real shops do.
//
// Point it at an ErrorHub server with the DSN the server printed at start-up:
//   ErrorHub__Dsn=http://<key>@127.0.0.1:5080/1 dotnet run --project samples/ErrorHub.Samples.Shop
// then sign in (http://127.0.0.1:5090/account/login?name=alice) and try
//   /checkout?bundle=holiday-bundle   (a pricing bug in one bundle)
//   /account/profile                  (a user without a profile)
//   /orders/1042/shipping             (a shipping provider that times out)
using System.Security.Claims;
using ErrorHub.Samples.Shop;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

var builder = WebApplication.CreateBuilder(args);

// Everything ErrorHub needs: the DSN comes from the "ErrorHub" configuration section
// (appsettings.json, ErrorHub__Dsn environment variable or --ErrorHub:Dsn=...).
builder.Services.AddErrorHub(options =>
{
    // Frames from these namespaces are not "our code" for grouping and the dashboard.
    options.InAppExclude.Add("Swashbuckle");

    // Last look at every event before it leaves the process: drop it by returning null. The hint holds the
    // original exception and, in a request, the HttpContext and the status code the request ended with.
    options.BeforeSend = (errorEvent, hint) =>
    {
        errorEvent.Tags["shop.region"] = "eu-west";
        return errorEvent;
    };
});

builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
    .AddCookie(options => options.LoginPath = "/account/login");
builder.Services.AddAuthorization();
builder.Services.AddSingleton<Catalog>();
builder.Services.AddSingleton<ProfileStore>();
builder.Services.AddSingleton<ShippingClient>();

var app = builder.Build();

// The shop's own error page: ErrorHub reports the exception and lets it travel on to this handler,
// so customers still see a friendly page.
app.UseExceptionHandler("/error");
app.UseErrorHub();
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/", (Catalog catalog) => Results.Ok(new
{
    shop = "ErrorHub sample shop",
    bundles = catalog.Bundles.Select(b => b.Slug),
    examples = new[] { "/account/login?name=alice", "/checkout?bundle=holiday-bundle", "/account/profile", "/orders/1042/shipping" },
}));

app.MapGet("/account/login", async (HttpContext context, string? name) =>
{
    var user = string.IsNullOrWhiteSpace(name) ? "alice" : name.Trim().ToLowerInvariant();
    var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, $"user-{(uint)StableHash(user) % 100_000}"),
            new Claim(ClaimTypes.Name, user),
            new Claim(ClaimTypes.Email, $"{user}@shop.example"),
        ],
        CookieAuthenticationDefaults.AuthenticationScheme);
    await context.SignInAsync(new ClaimsPrincipal(identity));
    return Results.Ok(new { signedIn = user });
});

app.MapGet("/checkout", (string bundle, Catalog catalog) =>
{
    var order = catalog.PriceBundle(bundle);
    return Results.Ok(order);
}).RequireAuthorization();

app.MapGet("/account/profile", (ClaimsPrincipal user, ProfileStore profiles) =>
{
    var profile = profiles.Find(user.FindFirstValue(ClaimTypes.NameIdentifier)!);
    return Results.Ok(new { greeting = $"Hello {profile!.DisplayName}", profile.Newsletter });
}).RequireAuthorization();

app.MapGet("/orders/{orderId:int}/shipping", async (int orderId, ShippingClient shipping, CancellationToken cancellationToken) =>
    Results.Ok(await shipping.GetStatusAsync(orderId, cancellationToken)));

app.MapGet("/error", () => Results.Problem("Something went wrong on our side. We have been notified.", statusCode: 500));

app.Run();

static int StableHash(string text) => text.Aggregate(17, (hash, c) => unchecked((hash * 31) + c));

/// <summary>Makes the sample's Program visible to tests that host it in-process.</summary>
public partial class Program;
