using ErrorHub.Dashboard;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Api;
using ErrorHub.Dashboard.Components;
using ErrorHub.Server;
using Microsoft.AspNetCore.Components.Server.Circuits;
using Radzen;

// A misconfiguration, found while the host is built or when it starts, ends the process with exit code 1 and one line saying
// what to change.
return await ErrorHubHostRunExtensions.BuildAndRunErrorHubAsync(() => BuildDashboard(args));

static WebApplication BuildDashboard(string[] args)
{
    var builder = WebApplication.CreateBuilder(args);

    // Unless told otherwise, listen on loopback; until an admin exists, on loopback whatever was said
    // (LoopbackUntilAdmin, a hosted service that runs before the server starts).
    if (LoopbackUntilAdmin.ConfiguredUrls(builder.Configuration) is [LoopbackUntilAdmin.DefaultUrl])
    {
        builder.WebHost.UseUrls(LoopbackUntilAdmin.DefaultUrl);
    }

    // A built, unpublished app finds blazor.web.js and Radzen's files only through the build's static web
    // assets manifest, which ASP.NET Core reads in Development alone: elsewhere (`dotnet run` in
    // Production, say) it looks for them in the project's wwwroot/ and answers 500. A published app
    // carries them in its own wwwroot/ and ignores this.
    builder.WebHost.UseStaticWebAssets();

    builder.Services.AddDashboardCircuits(); // Blazor Server with its limits written out, and tabs per account bounded
    builder.Services.AddScoped<CircuitHandler, StoreOutagePages.PageTimeoutCircuitHandler>();
    builder.Services.AddRadzenComponents();
    builder.Services.AddErrorHubServer(builder.Configuration);

    // All-in-one (the default): this process also receives events and creates the configured project, so
    // one command runs the whole system. Set ErrorHub:AllInOne=false when separate ingest services do that.
    var allInOne = ErrorHubServerOptions.From(builder.Configuration).AllInOne;
    if (allInOne)
    {
        builder.Services.AddErrorHubIngest(builder.Configuration);
    }

    // E-mail notifications: the worker runs in the dashboard process (one active across servers, by a lease
    // in the store) and sends only once ErrorHub:Notifications:Smtp is configured; ingest never waits for it.
    builder.Services.AddErrorHubNotifications(builder.Configuration);

    // After the store (its schema step runs first): sign-in, API tokens, the first admin, allowed hosts.
    builder.Services.AddDashboardAccess(builder.Configuration);
    builder.Services.AddSingleton<ErrorHub.Dashboard.Triage.IssueTriage>();
    builder.Services.AddSingleton<ErrorHub.Dashboard.Triage.IssueTimeline>();
    builder.Services.AddSingleton<ErrorHub.Dashboard.Api.ApiIdempotency>();
    builder.Services.AddSingleton<ErrorHub.Dashboard.Triage.IssueMerging>();
    builder.Services.AddSingleton<ErrorHub.Dashboard.Triage.IssueMergeFeed>();
    builder.Services.AddSingleton<ErrorHub.Dashboard.Triage.SavedSearchCatalog>();

    var app = builder.Build();

    // Behind a trusted reverse proxy (ErrorHub:ForwardedHeaders), the client's address and scheme come from its
    // X-Forwarded-* headers: before anything reads them (sign-in limits, cookies, redirects). Otherwise nothing.
    app.UseErrorHubForwardedHeaders();
    app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
    app.UseApiErrorBodies(); // the JSON API answers its refusals in JSON, never with the HTML pages above
    app.UseExpiredFormPage(); // a page's form sent without a valid antiforgery token gets a page saying so, not a blank 400
    app.UseStoreOutagePages(); // a store that cannot be read answers 503 with a page saying so, not an empty 500
    app.UseMethodNotAllowedWithoutSignIn(); // a wrong method is a 405 for everyone: HEAD of the sign-in page redirected to itself without end
    app.UseAuthentication();
    app.UseAuthorization();
    app.UseSessionAntiforgery(); // a session's POST/DELETE under /api needs the antiforgery token; API tokens do not
    app.UseAntiforgery();

    // Everything needs a signed-in user or an API token (the fallback policy) except what says otherwise:
    // the static files, the ingest endpoint (it checks the project key), the operations endpoints, the sign-in pages and
    // the unsubscribe links of alert mails.
    app.MapStaticAssets().AllowAnonymous().WithMetadata(StaticFileEndpoint.Metadata);
    if (allInOne)
    {
        app.MapErrorHubIngest().AllowAnonymous();
        app.MapIngestOtherMethods(); // GET and HEAD of it are the 405 naming POST, as on the stand-alone ingest, not "send an API token"
    }
    else
    {
        app.MapIngestElsewhere(); // an SDK pointed here gets a 404 saying where events go, not a 401 it takes for a revoked key
    }

    app.MapErrorHubOperations(); // /healthz, /readyz, /metrics: anonymous, for probes and scrapers

    app.MapAccessEndpoints();
    app.MapUnsubscribe(); // one-click unsubscribe from alert mails: anonymous, its signed token says whose switch
    app.MapProjectsApi();
    app.MapApiTokensApi();
    app.MapAffectedUsersCsv();
    app.MapIssuesApi();
    app.MapIssueBreakdownsApi();
    app.MapIssueDetailApi();
    app.MapIssueActivityApi();
    app.MapIssueMergeApi();
    app.MapSavedSearchesApi();
    app.MapRazorComponents<App>().AddInteractiveServerRenderMode().WithHeadLikeGet(); // link checkers and monitors send HEAD

    return app;
}

public partial class Program;
