// ErrorHub sample: an API with its own catch-all error middleware, as many existing apps have. The middleware logs
// "Unhandled exception" and answers 500 with a JSON body, so no exception ever leaves the pipeline.
//
//   ErrorHub__Dsn=http://<key>@127.0.0.1:5080/1 dotnet run --project samples/ErrorHub.Samples.CatchAll
//   curl -H "X-Tenant: acme" "http://127.0.0.1:5091/orders/42?customer=c-7"
//
// It also shows the user hook (the customer's email from the app's own store), tags from a scope, and BeforeSend.
using ErrorHub;
using ErrorHub.Samples.CatchAll;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddErrorHub(options =>
{
    // Last look at every event: here, reports of a known, harmless upstream timeout are dropped.
    options.BeforeSend = (errorEvent, hint) => hint.Exception is TimeoutException ? null : errorEvent;
});

// The user hook: the app knows its customers better than the request's claims do.
builder.Services.AddSingleton<CustomerStore>();
builder.Services.AddSingleton<IErrorHubUserProvider, CustomerUserProvider>();
builder.Services.AddHttpContextAccessor();

var app = builder.Build();

// Placed first, as other SDKs teach. The catch-all below swallows the exception, so ErrorHub sees it through the
// catch-all's LogError call instead (its logger provider), with the request and the user: one report either way.
app.UseErrorHub();
app.UseMiddleware<CatchAllMiddleware>();

// Tags: every event of a request carries the tenant that made it.
app.Use(async (context, next) =>
{
    var tenant = context.Request.Headers["X-Tenant"].ToString();
    var errorHub = context.RequestServices.GetRequiredService<IErrorHubClient>();
    errorHub.ConfigureScope(scope => scope.SetTag("tenant", tenant.Length > 0 ? tenant : "none"));
    await next(context);
});

app.MapGet("/", () => Results.Ok(new { api = "ErrorHub catch-all sample", example = "/orders/42?customer=c-7" }));

app.MapGet("/orders/{id:int}", (int id, string? customer) =>
{
    // The bug: order 42 was imported without a shipping address.
    var order = OrderBook.Find(id);
    return Results.Ok(new { order.Id, city = order.ShippingAddress!.City, customer });
});

app.MapGet("/rates", string () => throw new TimeoutException("The currency rate service did not answer in 5 s."));

app.Run();

/// <summary>For WebApplicationFactory-style tests and tools that need the entry point.</summary>
public partial class Program;
