using Microsoft.Extensions.Hosting;

namespace ErrorHub.Internal;

/// <summary>Gives queued events a bounded chance to leave when the host stops.</summary>
internal sealed class ErrorHubFlushOnStop(ErrorHubClient client) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => client.FlushAsync(client.Options.ShutdownTimeout);
}
