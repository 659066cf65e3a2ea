// ErrorHub sample: a console tool (no host, no container) that imports prices from a CSV file and crashes on a bad
// line, as tools do. Nobody catches the exception: ErrorHub reports it and sends it before the process dies.
//
//   ErrorHub__Dsn=http://<key>@127.0.0.1:5080/1 dotnet run --project samples/ErrorHub.Samples.Console -- prices.csv
//
// Without a file argument it imports a built-in list whose third line is broken.
using System.Globalization;
using ErrorHub;

// One line at the top of Main: the DSN from the ErrorHub__Dsn environment variable and the environment from
// DOTNET_ENVIRONMENT (or set them here: options => options.Environment = "batch"). Disposing the handle at the end
// sends what is still queued.
using var errorHub = ErrorHubSdk.Init();

string[] lines = args.Length > 0 ? File.ReadAllLines(args[0]) : ["sku,price", "A-100,12.50", "A-101,twelve", "A-102,3.10"];
var total = 0m;
foreach (var line in lines.Skip(1))
{
    var fields = line.Split(',');
    ErrorHubSdk.Client.AddBreadcrumb(new Breadcrumb($"importing {fields[0]}", "import"));
    total += decimal.Parse(fields[1], NumberStyles.Number, CultureInfo.InvariantCulture); // throws FormatException on "twelve"
}

Console.WriteLine($"Imported {lines.Length - 1} prices, total {total}");
