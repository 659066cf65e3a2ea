using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications;

/// <summary>
/// The background worker: every <see cref="NotificationOptions.PollInterval"/>, if this process holds the
/// lease (<see cref="Storage.LeaseHolder"/>: a new holder starts one round after its claim), one
/// <see cref="NotificationCycle"/>, stopped at half the lease. It reads the store only, so ingest never waits for it, and a
/// slow or dead SMTP server delays mail, never intake.
/// </summary>
internal sealed class NotificationWorker(
    IServiceProvider services,
    IOptions<NotificationOptions> options,
    TimeProvider time,
    ILogger<NotificationWorker> logger) : BackgroundService
{
    internal const string LeaseName = "notifications";

    /// <summary>Who this process is in the lease: unique per process and start.</summary>
    internal string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.CanSend)
        {
            NotificationLog.Off(logger);
            return;
        }

        await Task.Yield(); // let the host finish starting; the first round runs right after
        if (services.GetService<global::ErrorHub.Storage.StoreSchemaState>() is { IsReady: false } schema)
        {
            try
            {
                // Started before the store could make its tables: a round each poll interval would only log its failure.
                await schema.Ready.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var cycle = services.GetRequiredService<NotificationCycle>();
        var lease = new Storage.LeaseHolder(services.GetRequiredService<Storage.INotificationStore>(), LeaseName, Holder, options.Value.LeaseDuration);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await lease.TryHoldAsync(time.GetUtcNow(), stoppingToken) is { } workUntil)
                {
                    await cycle.RunAsync(stoppingToken, workUntil);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                NotificationLog.RoundFailed(logger, ex);
            }

            try
            {
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
