using ErrorHub.Dashboard;
using ErrorHub.Dashboard.Components;
using ErrorHub.Server;
using Radzen;

var builder = WebApplication.CreateBuilder(args);

// No login yet: unless told otherwise, listen on the loopback interface only.
builder.WebHost.UseLoopbackUnlessConfigured(builder.Configuration);

// A built, unpublished app finds blazor.web.js and Radzen's files only through the build's static web
// assets manifest, which ASP.NET Core reads in Development alone: elsewhere (`dotnet run` in
// Production, say) it looks for them in the project's wwwroot/ and answers 500. A published app
// carries them in its own wwwroot/ and ignores this.
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

app.MapErrorHubOperations(); // /healthz, /readyz, /metrics

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await app.RunAsync();

public partial class Program;
