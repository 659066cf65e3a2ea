using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Refit;

namespace ErrorHub.RealApps.Storefront;

public sealed record Invoice(int Id, decimal Total);

public sealed record Statement(int Id, string Period);

/// <summary>Refit's generated clients read JSON with generated metadata (its reflection request builder is a package of its own).</summary>
[JsonSerializable(typeof(Invoice))]
[JsonSerializable(typeof(Statement))]
internal sealed partial class BillingJson : JsonSerializerContext;

/// <summary>The billing service's API as the storefront calls it, through Refit.</summary>
public interface IBillingApi
{
    [Get("/billing/invoices/{id}")]
    Task<Invoice> GetInvoice(int id);
}

/// <summary>The billing service's statements, called with a short timeout of their own (statements are slow).</summary>
public interface IStatementsApi
{
    [Get("/billing/statements/{id}")]
    Task<Statement> GetStatement(int id);
}

/// <summary>
/// A storefront API that shows a customer's invoices and statements from a billing service it calls through Refit clients
/// (<c>AddRefitGeneratedClient</c>). The billing service is this app's own <c>/billing</c> endpoints: its invoice ledger is down
/// for odd invoices (a 500 whose body names its connection string), and a statement never comes.
/// </summary>
public static class StorefrontApi
{
    /// <summary>What the billing service's 500 says beyond its status: it must not reach an event.</summary>
    public const string DownstreamSecret = "Password=Sw0rdfish";

    /// <summary>How long the storefront waits for a statement.</summary>
    public static readonly TimeSpan StatementTimeout = TimeSpan.FromSeconds(2);

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddRefitGeneratedClient<IBillingApi>(BillingJson.Default).ConfigureHttpClient((services, http) => http.BaseAddress = OwnAddress(services));
        builder.Services.AddRefitGeneratedClient<IStatementsApi>(BillingJson.Default).ConfigureHttpClient((services, http) =>
        {
            http.BaseAddress = OwnAddress(services);
            http.Timeout = StatementTimeout;
        });
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(RealApp.SignInFromHeader);
        app.MapGet("/account/invoices/{id:int}", ShowInvoice);
        app.MapGet("/account/statements/{id:int}", ShowStatement);

        var billing = app.MapGroup("/billing");
        billing.MapGet("/invoices/{id:int}", (int id) => id % 2 == 1
            ? Results.Json(new { title = "Ledger unavailable", detail = $"Login failed for Server=ledger-db;User Id=billing;{DownstreamSecret}!" }, statusCode: 500)
            : Results.Json(new Invoice(id, 12.5m)));
        billing.MapGet("/statements/{id:int}", async (int id, CancellationToken aborted) =>
        {
            await Task.Delay(Timeout.Infinite, aborted); // the statement never comes: the caller's timeout ends it
            return Results.Ok();
        });
        return app;
    }

    private static async Task<IResult> ShowInvoice(int id, IBillingApi billing) => TypedResults.Ok(await billing.GetInvoice(id));

    private static async Task<IResult> ShowStatement(int id, IStatementsApi statements) => TypedResults.Ok(await statements.GetStatement(id));

    private static Uri OwnAddress(IServiceProvider services) =>
        new(services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}
