using FastEndpoints;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.RealApps.Shipping;

// An API on FastEndpoints as its documentation teaches it: one class per endpoint (REPR), a FluentValidation validator
// per request, ThrowError for a business rule the caller broke, a pre-processor that every endpoint runs, a global
// post-processor that turns the app's own "stale" exception into a 409, and UseDefaultExceptionHandler() for the rest.
// Our own small version, not any sample's code.

public sealed class ShipmentRequest
{
    public int Id { get; set; }
}

public sealed class BookShipment
{
    public string Destination { get; set; } = "";

    public int Parcels { get; set; }
}

/// <summary>GET /shipments/{id}: shipment 0 has no carrier, and looking it up fails.</summary>
public sealed class GetShipment : Endpoint<ShipmentRequest, string>
{
    public override void Configure()
    {
        Get("/shipments/{id}");
        AllowAnonymous();
    }

    public override async Task HandleAsync(ShipmentRequest request, CancellationToken ct)
    {
        await Task.Yield();
        if (request.Id == 0)
        {
            throw new InvalidOperationException($"Shipment {request.Id} has no carrier");
        }

        if (request.Id == 13)
        {
            ThrowError("Shipment 13 was cancelled", StatusCodes.Status410Gone);
        }

        if (request.Id == 409)
        {
            throw new StaleShipmentException(request.Id);
        }

        if (request.Id == 99)
        {
            throw new LabelPrinterException($"Label printer jammed on shipment {request.Id}");
        }

        await Send.OkAsync($"shipment {request.Id}", ct);
    }
}

/// <summary>POST /shipments: the validator refuses an empty destination; a destination with no route fails to book.</summary>
public sealed class BookShipmentEndpoint : Endpoint<BookShipment, string>
{
    public override void Configure()
    {
        Post("/shipments");
        AllowAnonymous();
    }

    public override Task HandleAsync(BookShipment request, CancellationToken ct) =>
        request.Destination == "Atlantis"
            ? throw new KeyNotFoundException($"No route to {request.Destination}")
            : Send.OkAsync($"shipment to {request.Destination} booked", ct);
}

public sealed class BookShipmentValidator : Validator<BookShipment>
{
    public BookShipmentValidator()
    {
        RuleFor(shipment => shipment.Destination).NotEmpty();
        RuleFor(shipment => shipment.Parcels).InclusiveBetween(1, 20);
    }
}

/// <summary>The app's own "somebody changed it meanwhile": answered 409 by <see cref="StaleShipmentAnswer"/>.</summary>
public sealed class StaleShipmentException(int id) : Exception($"Shipment {id} was changed by someone else");

/// <summary>The label printer failed: answered by <see cref="StaleShipmentAnswer"/> with a 500 of the app's own, and reported there.</summary>
public sealed class LabelPrinterException(string message) : Exception(message);

/// <summary>Every endpoint's pre-processor: the caller's depot, from a header; a depot the app does not know fails the lookup.</summary>
public sealed class DepotLookup : IGlobalPreProcessor
{
    private static readonly Dictionary<string, string> Depots = new(StringComparer.OrdinalIgnoreCase) { ["north"] = "Leeds", ["south"] = "Bristol" };

    public Task PreProcessAsync(IPreProcessorContext context, CancellationToken ct)
    {
        var depot = context.HttpContext.Request.Headers["X-Depot"].ToString();
        if (depot.Length > 0)
        {
            context.HttpContext.Items["depot"] = Depots[depot];
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The post-processor FastEndpoints' documentation teaches for exceptions: it answers the app's own stale-shipment
/// exception with a 409 and marks it handled, and a label printer's failure with a 500 of its own, which it reports
/// (docs/sdk.md's hookup: a handled exception reaches no middleware and no log); anything else it leaves alone, and
/// FastEndpoints throws it on.
/// </summary>
public sealed class StaleShipmentAnswer : IGlobalPostProcessor
{
    public async Task PostProcessAsync(IPostProcessorContext context, CancellationToken ct)
    {
        switch (context.ExceptionDispatchInfo?.SourceException)
        {
            case StaleShipmentException stale:
                context.MarkExceptionAsHandled();
                context.HttpContext.Response.StatusCode = StatusCodes.Status409Conflict;
                await context.HttpContext.Response.WriteAsJsonAsync(new { error = stale.Message }, ct);
                break;
            case LabelPrinterException printer:
                context.MarkExceptionAsHandled();
                context.HttpContext.RequestServices.GetRequiredService<IErrorHubClient>().CaptureException(printer);
                context.HttpContext.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.HttpContext.Response.WriteAsJsonAsync(new { error = "Labels cannot be printed now; try again shortly" }, ct);
                break;
        }
    }
}

public static class ShippingApi
{
    public static IServiceCollection AddShippingApi(this IServiceCollection services) =>
        services.AddFastEndpoints(options =>
        {
            // Only this app's endpoints and validators: the assembly holds other apps' types too.
            options.Assemblies = [typeof(ShippingApi).Assembly];
            options.DisableAutoDiscovery = true;
            options.Filter = type => type.Namespace == typeof(ShippingApi).Namespace;
        });
}
