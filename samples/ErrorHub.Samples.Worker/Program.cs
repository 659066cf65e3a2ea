// ErrorHub sample: a worker service (generic host, no web server) that exports invoices in the background.
//
//   ErrorHub__Dsn=http://<key>@127.0.0.1:5080/1 dotnet run --project samples/ErrorHub.Samples.Worker
//
// Invoice INV-13 cannot be exported: the failure is logged with LogError and reaches ErrorHub through logging, and
// the worker goes on with the next invoice. Start it with Exporter__StopOnFailure=true and the failure ends the
// BackgroundService instead: the host stops, and ErrorHub reports the crash before the process exits.
using ErrorHub.Samples.Worker;

var builder = Host.CreateApplicationBuilder(args);

// The same one line as in a web app: the "ErrorHub" configuration section holds the DSN. A worker often runs where
// the network comes and goes, so events wait on disk (ErrorHub:CacheDirectory in appsettings.json) until ingest
// answers, even across restarts.
builder.Services.AddErrorHub();

builder.Services.Configure<ExporterOptions>(builder.Configuration.GetSection("Exporter"));
builder.Services.AddHostedService<InvoiceExporter>();

builder.Build().Run();
