// The stand-alone ingest service: stateless, so run as many as you like behind a load balancer, all
// pointing at the same store (ClickHouse in production). The all-in-one dashboard mounts the same
// endpoints, so a small installation does not need this process at all.

// A misconfiguration, found while the host is built or when it starts, ends the process with exit code 1 and one line saying
// what to change.
return await ErrorHubHostRunExtensions.BuildAndRunErrorHubAsync(() => BuildIngest(args));

static WebApplication BuildIngest(string[] args)
{
    var builder = WebApplication.CreateBuilder(args);

    // Unless told otherwise (--urls, ASPNETCORE_URLS, Urls, ASPNETCORE_HTTP_PORTS, Kestrel:Endpoints), listen on loopback. Not a
    // "Urls" in appsettings.json: the app's own files rank above ASPNETCORE_URLS (host configuration), which it would silence.
    if (ErrorHub.Server.ListenAddresses.Configured(builder.Configuration).Count == 0)
    {
        builder.WebHost.UseUrls("http://127.0.0.1:5081");
    }

    builder.Services.AddErrorHubIngest(builder.Configuration);

    var app = builder.Build();
    app.UseErrorHubForwardedHeaders(); // behind a trusted proxy (ErrorHub:ForwardedHeaders): its client address and scheme
    app.MapErrorHubIngest();
    app.MapErrorHubOperations(); // /healthz, /readyz, /metrics
    return app;
}
