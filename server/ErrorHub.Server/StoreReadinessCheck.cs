using ErrorHub.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>
/// Ready means the store's tables exist (<see cref="StoreSchemaState"/>) and it answers a read of them within the time ingest waits for it. <c>/readyz</c> needs no
/// login, so every probe that arrives while a read is under way shares that read: however many ask at once, the store
/// runs one check at a time, and a stalled store holds one connection for it, not one per probe. The check writes a line
/// when readiness changes (not ready, with the reason; ready again), not one per probe.
/// </summary>
internal sealed partial class StoreReadinessCheck(
    IStoreSchema store, StoreSchemaState schema, IOptions<ErrorHubServerOptions> options, TimeProvider timeProvider, ILogger<StoreReadinessCheck> logger) : IHealthCheck
{
    private readonly Lock _lock = new();
    private Task<HealthCheckResult>? _underWay;
    private bool _notReady;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        Task<HealthCheckResult> check;
        lock (_lock)
        {
            // Started on the pool so that a read finishing at once cannot clear the field before it is set.
            check = _underWay ??= Task.Run(CheckStoreAsync, CancellationToken.None);
        }

        // A probe that gives up stops waiting; the shared read goes on for the others.
        return check.WaitAsync(cancellationToken);
    }

    private async Task<HealthCheckResult> CheckStoreAsync()
    {
        var wait = options.Value.Ingest.MaxStoreWait;
        HealthCheckResult result;
        using var giveUp = new CancellationTokenSource(wait, timeProvider);
        try
        {
            if (schema.NotReadyReason is { } notReady)
            {
                // Its tables are still being made in the background: the read below would fail, and say less.
                throw new InvalidOperationException(notReady);
            }

            // Cancelled at the wait so the store can drop the read; awaited no longer than the wait in case it does not.
            await store.CheckAsync(giveUp.Token).WaitAsync(wait, timeProvider);
            result = HealthCheckResult.Healthy($"the {store.Kind} store answers");
        }
        catch (Exception exception) when (exception is TimeoutException || (exception is OperationCanceledException && giveUp.IsCancellationRequested))
        {
            result = HealthCheckResult.Unhealthy($"the {store.Kind} store did not answer within {wait}");
        }
        catch (Exception exception)
        {
            result = HealthCheckResult.Unhealthy($"the {store.Kind} store is not ready: {exception.Message}");
        }

        lock (_lock)
        {
            _underWay = null;
            var notReady = result.Status == HealthStatus.Unhealthy;
            if (notReady != _notReady)
            {
                _notReady = notReady;
                if (notReady)
                {
                    LogNotReady(logger, result.Description);
                }
                else
                {
                    LogReadyAgain(logger, store.Kind);
                }
            }
        }

        return result;
    }

    [LoggerMessage(1, LogLevel.Warning, "Not ready (/readyz answers 503 until this changes): {Reason}")]
    private static partial void LogNotReady(ILogger logger, string? reason);

    [LoggerMessage(2, LogLevel.Information, "Ready again: the {Kind} store answers")]
    private static partial void LogReadyAgain(ILogger logger, string kind);
}
