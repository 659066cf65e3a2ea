using Microsoft.AspNetCore.Components.WebAssembly.Hosting;

var builder = WebAssemblyHostBuilder.CreateDefault(args);

// The DSN, environment and release come from appsettings.json, which the server app answers with its own (see there).
builder.Services.AddErrorHub();

await builder.Build().RunAsync();
