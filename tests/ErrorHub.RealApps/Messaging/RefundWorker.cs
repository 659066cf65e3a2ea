using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;

namespace ErrorHub.RealApps.Messaging;

/// <summary>The refunds the API accepted, waiting for <see cref="RefundWorker"/>.</summary>
public sealed class PendingRefunds
{
    private readonly Channel<int> _payments = Channel.CreateUnbounded<int>();

    public ChannelReader<int> Reader => _payments.Reader;

    public bool TryEnqueue(int paymentId) => _payments.Writer.TryWrite(paymentId);
}

/// <summary>
/// A <c>BackgroundService</c> that runs each refund with <c>InvokeAsync</c>, outside any request, as apps hand work to
/// Wolverine from a worker: Wolverine retries a declined card inline, and the worker logs the refund it had to give up.
/// </summary>
public sealed partial class RefundWorker(PendingRefunds queue, IServiceScopeFactory scopes, ILogger<RefundWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var paymentId in queue.Reader.ReadAllAsync(stoppingToken))
        {
            await using var scope = scopes.CreateAsyncScope();
            try
            {
                await scope.ServiceProvider.GetRequiredService<IMessageBus>().InvokeAsync(new RefundCard(paymentId), stoppingToken);
            }
            catch (CardDeclinedException exception)
            {
                RefundFailed(logger, paymentId, exception);
            }
        }
    }

    [LoggerMessage(LogLevel.Error, "Refund of payment {PaymentId} failed")]
    private static partial void RefundFailed(ILogger logger, int paymentId, Exception exception);
}
