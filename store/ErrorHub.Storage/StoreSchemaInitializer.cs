using ErrorHub.Storage.ClickHouse;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Storage;

/// <summary>
/// Creates missing tables before the host serves anything. A ClickHouse server that is still
/// starting (containers started together), or a cluster node still without its ZooKeeper session, gets a few tries;
/// a refused schema fails the start-up.
/// </summary>
internal sealed class StoreSchemaInitializer(
    IStoreSchema store,
    IOptions<StoreOptions> options,
    TimeProvider timeProvider,
    ILogger<StoreSchemaInitializer> logger) : IHostedService
{
    private static readonly TimeSpan[] RetryDelays =
        [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.EnsureSchemaOnStartup)
        {
            return;
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await store.EnsureSchemaAsync(cancellationToken);
                StoreLog.StoreReady(logger, store.Kind);
                return;
            }
            catch (ClickHouseException ex) when ((ex.StatusCode is null || ex.NoZooKeeperSession) && attempt < RetryDelays.Length)
            {
                StoreLog.ClickHouseNotReachableYet(logger, RetryDelays[attempt], ex.Message);
                await Task.Delay(RetryDelays[attempt], timeProvider, cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
