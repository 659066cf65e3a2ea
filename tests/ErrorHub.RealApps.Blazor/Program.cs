using ErrorHub.RealApps.Blazor.Components;
using ErrorHub.RealApps.Blazor.Data;
using Microsoft.EntityFrameworkCore;

var builder = WebApplication.CreateBuilder(args);

// The tests run the built app, not a published one, in Production: its static assets (blazor.web.js) are found through
// the build's manifest, as `dotnet run` does in Development.
builder.WebHost.UseStaticWebAssets();

builder.Services.AddRazorComponents()
    .AddInteractiveServerComponents()
    .AddInteractiveWebAssemblyComponents();
// Many Blazor apps register the accessor (for cookies, tenants): it also flows the circuit's WebSocket request into every
// component call, which ErrorHub must not take for the failure's request.
builder.Services.AddHttpContextAccessor();
builder.Services.AddErrorHub();

// The orders, in an in-memory SQLite database of the previous release's schema (see PizzaStore), kept for as long as the app
// runs by the connection that made it: the order page's query fails on the circuit.
const string orders = "Data Source=errorhub-blazor-orders;Mode=Memory;Cache=Shared";
builder.Services.AddSingleton(PizzaStore.CreatePreviousRelease(orders));
builder.Services.AddDbContextFactory<PizzaStore>(o => o.UseSqlite(orders));
builder.Services.AddScoped<OrderRepository>();

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/Error", createScopeForErrors: true);
}

app.UseErrorHub();

// The client project's ErrorHub settings, which the browser reads at start: the server's own DSN, environment and release,
// so that a component's failure in the browser goes to the same project, environment and release as on the circuit.
app.Use(async (context, next) =>
{
    if (context.Request.Path == "/appsettings.json")
    {
        var settings = app.Configuration.GetSection("ErrorHub");
        var client = new Dictionary<string, string>
        {
            ["Environment"] = settings["Environment"] ?? app.Environment.EnvironmentName.ToLowerInvariant(),
        };
        foreach (var name in new[] { "Dsn", "Release" })
        {
            if (settings[name] is { Length: > 0 } value)
            {
                client[name] = value;
            }
        }

        await context.Response.WriteAsJsonAsync(new { ErrorHub = client });
        return;
    }

    await next(context);
});

// The app's sign-in, reduced to a cookie naming the user (as an app's authentication cookie would): it signs in every
// request, the prerendering one and the circuit's WebSocket alike.
app.Use((context, next) =>
{
    if (context.Request.Cookies["demo-user"] is { Length: > 0 } name)
    {
        context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
            [
                new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, $"id-{name}"),
                new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.Name, name),
            ],
            "Cookie"));
    }

    return next(context);
});
app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
app.UseAntiforgery();

// For the tests: a task the framework left unobserved reaches TaskScheduler.UnobservedTaskException only when a collection
// finalises it, which an idle app may not run for minutes; the tests ask for one where a report of it would come.
app.MapPost("/test/collect", () =>
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    return Results.NoContent();
});

app.MapStaticAssets();
app.MapRazorComponents<App>()
    .AddInteractiveServerRenderMode()
    .AddInteractiveWebAssemblyRenderMode()
    .AddAdditionalAssemblies(typeof(ErrorHub.RealApps.Blazor.Client._Imports).Assembly);

app.Run();
