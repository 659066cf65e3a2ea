using Microsoft.Extensions.Options;

namespace ErrorHub.Samples.Worker;

internal sealed class ExporterOptions
{
    /// <summary>The invoices to export, in a loop.</summary>
    public string Invoices { get; set; } = "INV-11,INV-12,INV-13,INV-14";

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Fail fast: let an export failure end the service (and the host) instead of logging it.</summary>
    public bool StopOnFailure { get; set; }
}

internal sealed partial class InvoiceExporter(IOptions<ExporterOptions> options, ILogger<InvoiceExporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var invoices = options.Value.Invoices.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var round = 0; !stoppingToken.IsCancellationRequested; round++)
        {
            var invoice = invoices[round % invoices.Length];
            try
            {
                Export(invoice);
                LogExported(logger, invoice); // kept as a breadcrumb of the next event
            }
            catch (InvalidOperationException exception) when (!options.Value.StopOnFailure)
            {
                // A typical worker: log the failure and go on. ErrorHub's logger provider turns it into an event.
                LogExportFailed(logger, exception, invoice);
            }

            await Task.Delay(options.Value.Interval, stoppingToken);
        }
    }

    private static void Export(string invoice)
    {
        var total = invoice == "INV-13" ? -40.00m : 120.00m;
        if (total < 0)
        {
            throw new InvalidOperationException($"Invoice {invoice} has a negative total ({total}); the ledger refuses it.");
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Exported invoice {Invoice}")]
    private static partial void LogExported(ILogger logger, string invoice);

    [LoggerMessage(2, LogLevel.Error, "Could not export invoice {Invoice}")]
    private static partial void LogExportFailed(ILogger logger, Exception exception, string invoice);
}
