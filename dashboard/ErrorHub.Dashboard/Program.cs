using ErrorHub.Dashboard;
using ErrorHub.Dashboard.Components;
using ErrorHub.Server;
using Radzen;

var builder = WebApplication.CreateBuilder(args);

// No login yet: unless told otherwise, listen on the loopback interface only.
builder.WebHost.UseLoopbackUnlessConfigured(builder.Configuration);

// Serve Radzen's files from the build output in every environment, not only Development, so that
// `dotnet ErrorHub.Dashboard.dll` from bin/ (tests, quick trials) works; a published app ignores it.
builder.WebHost.UseStaticWebAssets();

builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddRadzenComponents();
builder.Services.AddErrorHubServer(builder.Configuration);

// All-in-one (the default): this process also receives events and creates the configured project, so
// one command runs the whole system. Set ErrorHub:AllInOne=false when separate ingest services do that.
var allInOne = ErrorHubServerOptions.From(builder.Configuration).AllInOne;
if (allInOne)
{
    builder.Services.AddErrorHubIngest(builder.Configuration);
}

var app = builder.Build();

app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
app.UseAntiforgery();
app.MapStaticAssets();
if (allInOne)
{
    app.MapErrorHubIngest();
}

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await app.RunAsync();

public partial class Program;
