// A web app that prepares its SQLite database between Build() and Run(), as many apps do (a migration, a schema, seed
// data). When the database's directory does not exist, opening it throws, nothing catches it, and the process dies
// before any hosted service has started.
//
//   --schema-first     (the default) the app logs "Preparing the database" and prepares it before its pipeline
//   --pipeline-first   the app sets up its pipeline (UseErrorHub() included) first and logs nothing before it fails
using Microsoft.Data.Sqlite;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddErrorHub();
var app = builder.Build();
var pipelineFirst = args.Contains("--pipeline-first");

if (pipelineFirst)
{
    UsePipeline(app);
    PrepareDatabase(app.Configuration["Database"]);
}
else
{
    app.Logger.LogInformation("Preparing the database");
    PrepareDatabase(app.Configuration["Database"]);
    UsePipeline(app);
}

app.MapGet("/", () => "up");
app.Run();

static void UsePipeline(WebApplication app)
{
    app.UseExceptionHandler("/error");
    app.UseErrorHub();
}

static void PrepareDatabase(string? connectionString)
{
    using var connection = new SqliteConnection(connectionString ?? "Data Source=app.db");
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, total REAL NOT NULL)";
    command.ExecuteNonQuery();
}
