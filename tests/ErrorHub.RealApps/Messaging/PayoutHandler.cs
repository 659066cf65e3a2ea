using System.Collections.Concurrent;
using Rebus.Handlers;

namespace ErrorHub.RealApps.Messaging;

public sealed record SendPayout(int PayoutId);

public sealed class BankAccountClosedException(string message) : Exception(message);

/// <summary>
/// A Rebus handler. Odd payouts go to a closed bank account and fail at every delivery; the others go through.
/// </summary>
public sealed class PayoutHandler : IHandleMessages<SendPayout>
{
    private static readonly ConcurrentDictionary<int, int> Deliveries = new();

    /// <summary>How many times each payout was delivered to the handler: the test waits for Rebus's retries.</summary>
    public static int DeliveriesOf(int payoutId) => Deliveries.GetValueOrDefault(payoutId);

    public Task Handle(SendPayout message)
    {
        Deliveries.AddOrUpdate(message.PayoutId, 1, (_, count) => count + 1);
        Pay(message.PayoutId);
        return Task.CompletedTask;
    }

    /// <summary>Pays at once, in the request (the endpoint that does not queue).</summary>
    public static void Pay(int payoutId)
    {
        if (payoutId % 2 == 1)
        {
            throw new BankAccountClosedException($"Bank account of payout {payoutId} is closed");
        }
    }
}
