using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ErrorHub.RealApps.Operations;

/// <summary>A health check whose own code fails: the check did not decide "unhealthy", it crashed.</summary>
public sealed class LedgerHealthCheck : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        throw new TimeoutException("Ledger database did not answer the health probe");
    }
}
