using ErrorHub.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>Ready means the store answers a read of its tables within the time ingest waits for it.</summary>
internal sealed class StoreReadinessCheck(IStoreSchema store, IOptions<ErrorHubServerOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var wait = options.Value.Ingest.MaxStoreWait;
        try
        {
            await store.CheckAsync(cancellationToken).WaitAsync(wait, timeProvider, cancellationToken);
            return HealthCheckResult.Healthy($"the {store.Kind} store answers");
        }
        catch (TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"the {store.Kind} store did not answer within {wait}");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the {store.Kind} store cannot be read: {exception.Message}");
        }
    }
}
