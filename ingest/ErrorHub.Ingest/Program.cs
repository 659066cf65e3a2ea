// The stand-alone ingest service: stateless, so run as many as you like behind a load balancer, all
// pointing at the same store (ClickHouse in production). The all-in-one dashboard mounts the same
// endpoints, so a small installation does not need this process at all.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddErrorHubIngest(builder.Configuration);

var app = builder.Build();
app.UseErrorHubForwardedHeaders(); // behind a trusted proxy (ErrorHub:ForwardedHeaders): its client address and scheme
app.MapErrorHubIngest();
app.MapErrorHubOperations(); // /healthz, /readyz, /metrics
app.Run();
