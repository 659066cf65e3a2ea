using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.RealApps.Messaging;

/// <summary>An API that hands shipments to MassTransit (see <see cref="AppKind.MassTransitMessaging"/>).</summary>
public static class ShipmentsApi
{
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.Services.AddMassTransit(bus =>
        {
            bus.AddConsumer<ShipmentConsumer>();
            bus.AddConsumer<ShipmentFaultConsumer>();
            bus.UsingInMemory((context, transport) =>
            {
                transport.UseMessageRetry(retry => retry.Immediate(3));
                transport.ConfigureEndpoints(context);
            });
        });
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(RealApp.SignInFromHeader);
        app.MapPost("/shipments/{id:int}", async (int id, IPublishEndpoint bus) =>
        {
            await bus.Publish(new ShipOrder(id));
            return TypedResults.Accepted($"/shipments/{id}");
        });

        // Publishes and waits, in the request, until the shipment was given up: the consumer fails while the request is in flight.
        app.MapPost("/shipments/{id:int}/await", async (int id, IPublishEndpoint bus) =>
        {
            await bus.Publish(new ShipOrder(id));
            await ShipmentFaultConsumer.GivenUpAsync(id).WaitAsync(TimeSpan.FromMinutes(1));
            return TypedResults.Accepted($"/shipments/{id}");
        });
        app.MapPost("/shipments/{id:int}/now", (int id) => id % 2 == 1
            ? throw new CarrierRejectedException($"Carrier rejected the shipment of order {id}")
            : TypedResults.Ok());
        return app;
    }
}
