using ErrorHub.RealApps.BlazorWasm;
using Microsoft.AspNetCore.Components.WebAssembly.Hosting;

var builder = WebAssemblyHostBuilder.CreateDefault(args);
builder.RootComponents.Add<App>("#app");

// The DSN comes from wwwroot/appsettings.json ("ErrorHub": { "Dsn": ... }), which the page downloads at start.
builder.Services.AddErrorHub();

await builder.Build().RunAsync();
