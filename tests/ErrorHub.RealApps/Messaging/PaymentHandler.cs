using System.Collections.Concurrent;

namespace ErrorHub.RealApps.Messaging;

public sealed record ChargeCard(int PaymentId);

public sealed record RefundCard(int PaymentId);

public sealed class CardDeclinedException(string message) : Exception(message);

/// <summary>
/// A Wolverine handler. Odd payments are declined at every attempt; payment 4 is declined once and goes through on the
/// first retry (a card network that blinked); the others go through.
/// </summary>
public sealed class PaymentHandler
{
    private static readonly ConcurrentDictionary<int, int> Attempts = new();

    /// <summary>How many times each payment was tried: the test waits for the retries to have happened.</summary>
    public static int AttemptsOf(int paymentId) => Attempts.GetValueOrDefault(paymentId);

    public static void Handle(ChargeCard command)
    {
        var attempt = Attempts.AddOrUpdate(command.PaymentId, 1, (_, count) => count + 1);
        if (command.PaymentId % 2 == 1 || (command.PaymentId == 4 && attempt == 1))
        {
            throw new CardDeclinedException($"Card of payment {command.PaymentId} was declined");
        }
    }

    public static void Handle(RefundCard command)
    {
        Attempts.AddOrUpdate(-command.PaymentId, 1, (_, count) => count + 1);
        throw new CardDeclinedException($"Refund of payment {command.PaymentId} was declined");
    }
}
