using Microsoft.Extensions.Hosting;

namespace ErrorHub.Internal;

/// <summary>
/// Gives queued events a bounded chance to leave when the host stops. The deadline it starts is the one the
/// container's disposal keeps to afterwards: stopping waits at most ShutdownTimeout in all.
/// </summary>
internal sealed class ErrorHubFlushOnStop(ErrorHubClient client) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => client.ShutdownAsync();
}
