using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace ErrorHub.RealApps.Messaging;

public sealed record ShipOrder(int OrderId);

public sealed class CarrierRejectedException(string message) : Exception(message);

/// <summary>
/// A MassTransit consumer. Odd orders go to a carrier that rejects them at every attempt; orders of the form 4n + 2 find
/// the carrier busy at their first attempt only (a retry ships them); the others ship at once.
/// </summary>
public sealed class ShipmentConsumer : IConsumer<ShipOrder>
{
    private static readonly ConcurrentDictionary<int, int> Attempts = new();

    /// <summary>How many times the consumer was called for an order: the test waits for MassTransit's retries.</summary>
    public static int AttemptsOf(int orderId) => Attempts.GetValueOrDefault(orderId);

    public Task Consume(ConsumeContext<ShipOrder> context)
    {
        var orderId = context.Message.OrderId;
        var attempt = Attempts.AddOrUpdate(orderId, 1, (_, count) => count + 1);
        if (orderId % 2 == 1)
        {
            throw new CarrierRejectedException($"Carrier rejected the shipment of order {orderId}");
        }

        if (orderId % 4 == 2 && attempt == 1)
        {
            throw new CarrierRejectedException($"Carrier was busy with the shipment of order {orderId}");
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// The fault consumer teams add for the messages MassTransit gives up (its <c>Fault&lt;T&gt;</c>): it logs the failure
/// at Error, as text, and tells whoever waits for the order.
/// </summary>
public sealed class ShipmentFaultConsumer(ILogger<ShipmentFaultConsumer> log) : IConsumer<Fault<ShipOrder>>
{
    private static readonly ConcurrentDictionary<int, TaskCompletionSource> GivenUp = new();

    /// <summary>Completes when the fault of <paramref name="orderId"/> was consumed.</summary>
    public static Task GivenUpAsync(int orderId) =>
        GivenUp.GetOrAdd(orderId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public static bool WasGivenUp(int orderId) => GivenUpAsync(orderId).IsCompleted;

    public Task Consume(ConsumeContext<Fault<ShipOrder>> context)
    {
        var orderId = context.Message.Message.OrderId;
        log.LogError("Shipment of order {OrderId} was given up: {Reason}", orderId, context.Message.Exceptions.FirstOrDefault()?.Message);
        GivenUp.GetOrAdd(orderId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return Task.CompletedTask;
    }
}
