// A web app as a user writes one: AddErrorHub() with its settings from configuration (ErrorHub:Dsn,
// ErrorHub:CacheDirectory) and UseErrorHub() first in the pipeline.
//
//   GET /orders/{n}/charge   fails with "Order {n} could not be charged": a distinct, numbered exception per order
//   GET /ping                answers "up", whatever ingest is doing
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddErrorHub();
var app = builder.Build();
app.UseErrorHub();

app.MapGet("/orders/{number:int}/charge", (int number) => ChargeOrder(number));
app.MapGet("/ping", () => "up");
app.Run();

static string ChargeOrder(int number) => throw new InvalidOperationException($"Order {number} could not be charged");
