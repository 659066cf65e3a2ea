using Microsoft.Extensions.Hosting;

namespace ErrorHub.RealApps.Billing;

/// <summary>Loads the day's exchange rates before the app takes requests, as many apps warm a cache: the rates file is not there.</summary>
public sealed class ExchangeRateWarmup : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var rates = Path.Combine(AppContext.BaseDirectory, "rates", "today.csv");
        await File.ReadAllTextAsync(rates, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
