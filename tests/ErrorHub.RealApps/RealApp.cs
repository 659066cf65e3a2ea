using System.Runtime.CompilerServices;
using System.Security.Claims;
using ErrorHub.RealApps.Billing;
using ErrorHub.RealApps.Bookings;
using ErrorHub.RealApps.Components;
using ErrorHub.RealApps.Controllers;
using ErrorHub.RealApps.Gateway;
using ErrorHub.RealApps.Grpc;
using ErrorHub.RealApps.Hubs;
using ErrorHub.RealApps.Jobs;
using ErrorHub.RealApps.Layered;
using ErrorHub.RealApps.Messaging;
using ErrorHub.RealApps.Operations;
using ErrorHub.RealApps.Parcels;
using ErrorHub.RealApps.Pages;
using ErrorHub.RealApps.Scheduling;
using ErrorHub.RealApps.Shipping;
using FastEndpoints;
using Hangfire;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Rebus.Bus;
using Rebus.Config;
using Rebus.Transport.InMem;
using Serilog;
using Serilog.Extensions.Logging;
using Wolverine;
using Wolverine.ErrorHandling;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace ErrorHub.RealApps;

/// <summary>The kinds of ASP.NET Core app, each set up as its template does, with ErrorHub placed as docs/sdk.md advises.</summary>
public enum AppKind
{
    Mvc,
    WebApi,
    RazorPages,
    SignalR,
    MinimalApi,
    Grpc,

    /// <summary>A Blazor Web App's statically rendered pages (no render mode): each page is a plain request.</summary>
    BlazorStatic,

    /// <summary>An API as operations want it: health checks, output caching and response compression.</summary>
    Operations,

    /// <summary>
    /// A layered ("clean architecture") API: a mediator pipeline that logs failures and throws them on, EF Core, an
    /// IExceptionHandler for 400 and 404, and <c>UseExceptionHandler(_ =&gt; { })</c> as that template has it.
    /// </summary>
    Layered,

    /// <summary>An API that hands work to Hangfire background jobs (in-memory storage, a server in the app's process).</summary>
    BackgroundJobs,

    /// <summary>
    /// The same on storage that outlives the app (a SQLite file, setting <c>Jobs:Storage</c>): a job is retried after a
    /// restart.
    /// </summary>
    PersistentJobs,

    /// <summary>
    /// An API with a Coravel scheduler and queue (<c>AddScheduler()</c>, <c>AddQueue()</c>) in its process: a renewal run
    /// every second, welcome mails queued from requests.
    /// </summary>
    CoravelJobs,

    /// <summary>
    /// An API gateway on YARP: <c>/orders/...</c> forwarded to an orders service that is down, through a request transform
    /// of the gateway's own; <c>/catalog/{sku}</c> to a stock service, through a response transform of its own.
    /// </summary>
    Gateway,

    /// <summary>
    /// An API on FastEndpoints as its documentation sets one up: <c>UseDefaultExceptionHandler()</c>, then
    /// <c>UseFastEndpoints()</c> with a pre-processor every endpoint runs and a post-processor that answers the app's
    /// own stale-shipment exception with a 409; validators, <c>ThrowError</c> for a 410.
    /// </summary>
    FastEndpoints,

    /// <summary>An API that runs a job on a Quartz.NET scheduler in its process (<c>AddQuartz()</c>, <c>AddQuartzHostedService()</c>).</summary>
    ScheduledJobs,

    /// <summary>
    /// A versioned API (Asp.Versioning, <c>[ApiController]</c>) behind authentication, role-based authorization, a rate
    /// limiter on exports, and an MVC form that validates its antiforgery token.
    /// </summary>
    GuardedApi,

    /// <summary>
    /// The <see cref="GuardedApi"/> with a hosted service that loads exchange rates at start-up and fails: the app never
    /// starts (its <c>StartAsync</c> throws, after the app is disposed, as <c>Run()</c> would end).
    /// </summary>
    FailingWarmup,

    /// <summary>An OData service (Microsoft.AspNetCore.OData): an entity set under <c>odata</c> with query options.</summary>
    OData,

    /// <summary>
    /// An API that hands payments to Wolverine (an in-process local queue, <c>PublishAsync</c>) and runs refunds inline in
    /// the request (<c>InvokeAsync</c>) or, accepted for later, in a <c>BackgroundService</c> (<c>InvokeAsync</c> outside
    /// any request), with the retry rule teams set: a declined card is tried three more times.
    /// </summary>
    Messaging,

    /// <summary>
    /// An API that hands payouts to Rebus (<c>AddRebus</c>, the in-memory transport, <c>SendLocal</c>) with Rebus's default
    /// retries: five deliveries, then the error queue.
    /// </summary>
    RebusMessaging,

    /// <summary>
    /// An API that hands shipments to MassTransit (the in-memory transport, <c>Publish</c>) with the retry teams set:
    /// <c>UseMessageRetry(r =&gt; r.Immediate(3))</c>, and a fault consumer of the messages it gives up.
    /// </summary>
    MassTransitMessaging,

    /// <summary>
    /// A gRPC service (protoc-generated from a proto with <c>google.api.http</c> routes) served as HTTP/JSON too
    /// (<c>AddGrpc().AddJsonTranscoding()</c>), on HTTP/1.1 and HTTP/2.
    /// </summary>
    GrpcJsonTranscoding,

    /// <summary>A storefront API that calls a billing service through Refit clients (<c>AddRefitGeneratedClient</c>).</summary>
    Storefront,

    /// <summary>
    /// A booking API on what .NET 9 and 10 added: a <c>StatusCodeSelector</c>, <c>IExceptionHandler</c>s writing problem
    /// details, Server-Sent Events, a WebSocket, status code pages re-executed into a failing status page, a typed HTTP client.
    /// </summary>
    Bookings,
}

/// <summary>How the app logs: the template's Microsoft.Extensions.Logging, or Serilog in its place.</summary>
public enum AppLogging
{
    MicrosoftExtensions,

    /// <summary>
    /// <c>builder.Host.UseSerilog((context, services, configuration) =&gt; ...)</c> as Serilog.AspNetCore's README has it,
    /// with ErrorHub.Serilog's <c>.WriteTo.ErrorHub(services)</c>: Serilog replaces the app's logger factory.
    /// </summary>
    Serilog,
}

/// <summary>Builds and starts one kind of app on 127.0.0.1, reporting to <c>dsn</c>, logging to the given provider.</summary>
public static class RealApp
{
    public static async Task<WebApplication> StartAsync(
        AppKind kind,
        string dsn,
        ILoggerProvider logs,
        string environment = "Production",
        AppLogging logging = AppLogging.MicrosoftExtensions,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(RealApp).Assembly.GetName().Name, // where the views, pages and controllers are
            EnvironmentName = environment,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ErrorHub:Dsn"] = dsn,
            ["ErrorHub:FlushInterval"] = "00:00:00.050",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        // The template's logging (console aside): Information and up, which is what an app's log shows.
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Information);
        builder.Services.AddErrorHub();
        if (logging == AppLogging.Serilog)
        {
            // The app's log (the given provider) is one of Serilog's sinks now. The static Log.Logger stays untouched: other
            // apps of the same test process set their own.
            var appLog = new LoggerProviderCollection();
            appLog.AddProvider(logs);
            builder.Host.UseSerilog(
                (context, services, configuration) => configuration
                    .MinimumLevel.Information()
                    .Enrich.FromLogContext()
                    .WriteTo.Providers(appLog)
                    .WriteTo.ErrorHub(services),
                preserveStaticLogger: true);
        }

        var app = kind switch
        {
            AppKind.Mvc => Mvc(builder),
            AppKind.WebApi => WebApi(builder),
            AppKind.RazorPages => RazorPages(builder),
            AppKind.SignalR => SignalR(builder),
            AppKind.MinimalApi => MinimalApi(builder),
            AppKind.Grpc => Grpc(builder),
            AppKind.Operations => Operations(builder),
            AppKind.BlazorStatic => BlazorStatic(builder),
            AppKind.Layered => Layered(builder),
            AppKind.BackgroundJobs => BackgroundJobs(builder),
            AppKind.PersistentJobs => PersistentJobsApi.Build(builder),
            AppKind.CoravelJobs => Memberships.MembershipsApi.Build(builder),
            AppKind.Gateway => Gateway(builder),
            AppKind.FastEndpoints => Shipping(builder),
            AppKind.ScheduledJobs => ScheduledJobs(builder),
            AppKind.GuardedApi => GuardedApi(builder),
            AppKind.FailingWarmup => FailingWarmup(builder),
            AppKind.OData => OData(builder),
            AppKind.Messaging => Messaging(builder),
            AppKind.RebusMessaging => RebusMessaging(builder),
            AppKind.Bookings => BookingApi.Build(builder),
            AppKind.MassTransitMessaging => ShipmentsApi.Build(builder),
            AppKind.GrpcJsonTranscoding => GrpcJsonTranscoding(builder),
            AppKind.Storefront => Storefront.StorefrontApi.Build(builder),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync(); // as Run() ends a host that failed to start
            throw;
        }

        return app;
    }

    private static WebApplication Mvc(WebApplicationBuilder builder)
    {
        builder.Services.AddControllersWithViews(options => options.Filters.Add<ProductNotFoundFilter>());
        var app = builder.Build();
        if (app.Environment.IsDevelopment())
        {
            app.UseDeveloperExceptionPage();
        }
        else
        {
            app.UseExceptionHandler("/Home/Error");
        }

        app.UseStatusCodePagesWithReExecute("/Error/{0}");
        app.UseErrorHub();
        app.UseRouting();
        app.Use(SignInFromHeader);
        app.UseAuthorization();
        app.MapControllerRoute(name: "default", pattern: "{controller=Home}/{action=Index}/{id?}");
        return app;
    }

    private static WebApplication WebApi(WebApplicationBuilder builder)
    {
        builder.Services.AddControllers();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ConflictExceptionHandler>();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.UseAuthorization();
        app.MapControllers();
        return app;
    }

    private static WebApplication RazorPages(WebApplicationBuilder builder)
    {
        builder.Services.AddRazorPages().AddMvcOptions(options => options.Filters.Add<TryAgainOnTimeoutFilter>());
        var app = builder.Build();
        app.UseExceptionHandler("/Error");
        app.UseErrorHub();
        app.UseRouting();
        app.Use(SignInFromHeader);
        app.UseAuthorization();
        app.MapRazorPages();
        // GET only, as a Blazor Web App's Error page is: UseExceptionHandler re-executes a failed POST as a POST, which it refuses with a 405.
        app.MapGet("/Error", () => Results.Content("<h1>Error.</h1>", "text/html"));
        return app;
    }

    private static WebApplication SignalR(WebApplicationBuilder builder)
    {
        builder.Services.AddSignalR();
        var app = builder.Build();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapHub<ChatHub>("/chat");
        return app;
    }

    private static WebApplication Grpc(WebApplicationBuilder builder)
    {
        // gRPC needs HTTP/2; without TLS, Kestrel speaks it only on an HTTP/2-only endpoint.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapGrpcService<InventoryService>();
        return app;
    }

    private static WebApplication MinimalApi(WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddAntiforgery();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.UseAntiforgery();
        var todos = app.MapGroup("/todos").WithTags("Todos");
        todos.MapGet("/{id:int}", (int id) => id > 0 ? TypedResults.Ok(id) : throw new ArgumentOutOfRangeException(nameof(id), "Todo ids start at 1"))
            .WithName("GetTodo");
        todos.MapPost("/{id:int}/done", (int id) => TypedResults.Problem($"Todo {id} is locked", statusCode: 409))
            .WithName("CompleteTodo");
        todos.MapDelete("/{id:int}", (int id) => TypedResults.NoContent())
            .AddEndpointFilter((context, next) => throw new InvalidOperationException("Audit log is unavailable"))
            .WithName("DeleteTodo");

        // An endpoint that requires an antiforgery token (as every page of a Blazor Web App does), called by a script without one: the
        // failed validation makes reading the request's form throw.
        todos.MapPost("/{id:int}/share", (int id) => TypedResults.Ok(id > 0 ? throw new IOException($"Share service refused todo {id}") : id))
            .WithMetadata(new RequireAntiforgeryTokenAttribute())
            .WithName("ShareTodo");
        MapExports(app.MapGroup("/exports"));

        // A change feed streamed as a JSON array: its entries go out as they come, so the 200 and the first ones have
        // reached the client when the fourth fails.
        todos.MapGet("/changes", TodoChanges).WithName("TodoChanges");

        // The same feed live: it streams until the client leaves, and logs that it closed.
        todos.MapGet("/live", (ILoggerFactory loggers, CancellationToken aborted) => LiveTodoChanges(loggers.CreateLogger("TodoLiveFeed"), aborted))
            .WithName("LiveTodoChanges");
        return app;
    }

    private static async IAsyncEnumerable<string> LiveTodoChanges(Microsoft.Extensions.Logging.ILogger log, [EnumeratorCancellation] CancellationToken aborted)
    {
        try
        {
            for (var change = 1; ; change++)
            {
                yield return $"todo {change} changed: " + new string('.', 20_000);
                await Task.Delay(TimeSpan.FromMilliseconds(20), aborted);
            }
        }
        finally
        {
            log.LogInformation("Live feed closed");
        }
    }

    private static async IAsyncEnumerable<string> TodoChanges()
    {
        for (var change = 1; change <= 3; change++)
        {
            await Task.Yield();
            yield return $"todo {change} changed: " + new string('.', 20_000); // more than the serializer buffers before it writes
        }

        throw new InvalidDataException("Change 4 of the todo feed is corrupt");
    }

    /// <summary>
    /// Handlers as Carter's modules write them: <c>async</c> lambdas of one mapping method that return a plain <c>Task</c> and write the
    /// response themselves, so the routing middleware awaits each handler's task directly. Each opens a file that is not there.
    /// </summary>
    private static void MapExports(RouteGroupBuilder exports)
    {
        exports.MapGet("/orders", async (HttpResponse response) =>
        {
            await using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "exports", "orders.csv"));
            await file.CopyToAsync(response.Body);
        });
        exports.MapGet("/invoices", async (HttpResponse response) =>
        {
            await using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "exports", "invoices.csv"));
            await file.CopyToAsync(response.Body);
        });
    }

    private static WebApplication BlazorStatic(WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents();
        var app = builder.Build();
        app.UseExceptionHandler("/Error", createScopeForErrors: true);
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.UseAntiforgery();
        app.MapRazorComponents<StaticApp>();
        app.MapGet("/Error", () => Results.Content("<h1>Error.</h1>", "text/html"));
        return app;
    }

    private static WebApplication Operations(WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks()
            .AddCheck<LedgerHealthCheck>("ledger", tags: ["ledger"])
            .AddCheck("queue", () => HealthCheckResult.Unhealthy("Queue consumer is paused"), tags: ["queue"]);
        builder.Services.AddOutputCache();
        builder.Services.AddResponseCompression();
        var app = builder.Build();
        app.UseResponseCompression();
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.UseOutputCache();
        app.MapHealthChecks("/healthz/ledger", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ledger") });
        app.MapHealthChecks("/healthz/queue", new HealthCheckOptions { Predicate = check => check.Tags.Contains("queue") });
        app.MapGet("/reports/{id:int}", (int id) => id > 0
                ? TypedResults.Text(string.Concat(Enumerable.Repeat($"report {id};", 500)))
                : throw new InvalidOperationException($"Report {id} has no template"))
            .CacheOutput();
        return app;
    }

    private static WebApplication Layered(WebApplicationBuilder builder)
    {
        builder.Services.AddTodoLists();
        var app = builder.Build();

        // The template's empty error pipeline: only the IExceptionHandler answers. An exception it leaves alone ends in
        // that pipeline's 404, which UseExceptionHandler refuses by throwing an InvalidOperationException wrapping it to
        // the server (a 500, logged by Kestrel as an unhandled exception).
        app.UseExceptionHandler(_ => { });
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        var lists = app.MapGroup("/api/TodoLists");
        lists.MapPost("/", async (Sender sender, CreateTodoList command) => TypedResults.Created($"/api/TodoLists/{await sender.Send(command)}"));
        lists.MapDelete("/{id:int}", async (Sender sender, int id) =>
        {
            await sender.Send(new DeleteTodoList(id));
            return TypedResults.NoContent();
        });
        return app;
    }

    private static WebApplication BackgroundJobs(WebApplicationBuilder builder)
    {
        builder.Services.AddHangfire(configuration => configuration.UseInMemoryStorage().UseLogProvider(HangfireLogs.Instance));
        builder.Services.AddHangfireServer(options => options.WorkerCount = 1);
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        HangfireLogs.Instance.Follow(app.Services.GetRequiredService<ILoggerFactory>());
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapPost("/invoices/{id:int}/send", (int id, IBackgroundJobClient jobs) =>
            TypedResults.Accepted($"/jobs/{jobs.Enqueue<InvoiceMailer>(mailer => mailer.Send(id))}"));
        app.MapPost("/invoices/{id:int}/remind", (int id, IBackgroundJobClient jobs) =>
            TypedResults.Accepted($"/jobs/{jobs.Enqueue<InvoiceMailer>(mailer => mailer.Remind(id))}"));
        return app;
    }

    private static WebApplication Messaging(WebApplicationBuilder builder)
    {
        builder.Host.UseWolverine(options =>
        {
            options.ApplicationAssembly = typeof(RealApp).Assembly;
            options.Discovery.DisableConventionalDiscovery().IncludeType<PaymentHandler>();
            options.UseRuntimeCompilation();
            options.OnException<CardDeclinedException>().RetryTimes(3);
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton<PendingRefunds>().AddHostedService<RefundWorker>();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapPost("/payments/{id:int}/refund-later", (int id, PendingRefunds refunds) =>
            refunds.TryEnqueue(id) ? Results.Accepted($"/payments/{id}") : Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
        app.MapPost("/payments/{id:int}/charge", async (int id, IMessageBus bus) =>
        {
            await bus.PublishAsync(new ChargeCard(id));
            return TypedResults.Accepted($"/payments/{id}");
        });
        app.MapPost("/payments/{id:int}/refund", async (int id, IMessageBus bus) =>
        {
            await bus.InvokeAsync(new RefundCard(id));
            return TypedResults.Ok();
        });
        return app;
    }

    private static WebApplication RebusMessaging(WebApplicationBuilder builder)
    {
        builder.Services.AddRebus(configure => configure.Transport(t => t.UseInMemoryTransport(new InMemNetwork(), "payouts")));
        builder.Services.AddRebusHandler<PayoutHandler>();
        var app = builder.Build();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapPost("/payouts/{id:int}", async (int id, IBus bus) =>
        {
            await bus.SendLocal(new SendPayout(id));
            return TypedResults.Accepted($"/payouts/{id}");
        });
        app.MapPost("/payouts/{id:int}/now", (int id) =>
        {
            PayoutHandler.Pay(id);
            return TypedResults.Ok();
        });
        return app;
    }

    private static WebApplication GrpcJsonTranscoding(WebApplicationBuilder builder)
    {
        builder.Services.AddGrpc().AddJsonTranscoding();
        var app = builder.Build();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapGrpcService<CatalogService>();
        return app;
    }

    private static WebApplication Gateway(WebApplicationBuilder builder)
    {
        // The orders service is down: nothing listens on its port.
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var ordersService = $"http://127.0.0.1:{((System.Net.IPEndPoint)closed.LocalEndpoint).Port}";
        closed.Stop();

        // The stock service is this app's own /stock endpoint, whose address is known once the app has started.
        builder.Services.AddReverseProxy()
            .LoadFromMemory(GatewayRoutes, GatewayClusters(ordersService, stockService: ordersService))
            .AddTransforms(context =>
            {
                context.AddRequestTransform(TenantRegions.AddRegionHeader);
                if (context.Route.RouteId == "catalog")
                {
                    context.AddPathRouteValues("/stock/{sku}");
                    context.AddResponseTransform(StockLevels.AddInStockHeader);
                }
            });
        var app = builder.Build();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapReverseProxy();
        app.MapGet("/stock/{sku}", (string sku, HttpResponse response) =>
        {
            response.Headers["X-Stock"] = sku == "SKU-9" ? "unknown" : "3";
            return sku;
        });
        app.Lifetime.ApplicationStarted.Register(() => app.Services.GetRequiredService<InMemoryConfigProvider>()
            .Update(GatewayRoutes, GatewayClusters(ordersService, stockService: app.Urls.First())));
        return app;
    }

    private static WebApplication Shipping(WebApplicationBuilder builder)
    {
        builder.Services.AddShippingApi();
        var app = builder.Build();
        app.UseDefaultExceptionHandler();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.UseFastEndpoints(config => config.Endpoints.Configurator = endpoint =>
        {
            endpoint.PreProcessor<DepotLookup>(Order.Before);
            endpoint.PostProcessor<StaleShipmentAnswer>(Order.After);
        });
        return app;
    }

    private static WebApplication ScheduledJobs(WebApplicationBuilder builder)
    {
        builder.Services.AddQuartz(quartz => quartz.AddJob<StatementJob>(job => job.WithIdentity(StatementJob.Key).StoreDurably()));
        builder.Services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapPost("/statements/{account:int}/send", async (int account, ISchedulerFactory schedulers) =>
        {
            var scheduler = await schedulers.GetScheduler();
            await scheduler.TriggerJob(StatementJob.Key, new JobDataMap { ["account"] = account });
            return TypedResults.Accepted($"/statements/{account}");
        });
        return app;
    }

    private static WebApplication GuardedApi(WebApplicationBuilder builder)
    {
        builder.Services.AddBillingApi();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseErrorHub();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapControllers();
        return app;
    }

    private static WebApplication FailingWarmup(WebApplicationBuilder builder)
    {
        builder.Services.AddHostedService<ExchangeRateWarmup>();
        return GuardedApi(builder);
    }

    private static WebApplication OData(WebApplicationBuilder builder)
    {
        builder.Services.AddParcelService();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseErrorHub();
        app.Use(SignInFromHeader);
        app.MapControllers();
        return app;
    }

    private static readonly RouteConfig[] GatewayRoutes =
    [
        new() { RouteId = "orders", ClusterId = "orders", Match = new RouteMatch { Path = "/orders/{**rest}" } },
        new() { RouteId = "catalog", ClusterId = "stock", Match = new RouteMatch { Path = "/catalog/{sku}" } },
    ];

    private static ClusterConfig[] GatewayClusters(string ordersService, string stockService) =>
    [
        new() { ClusterId = "orders", Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = ordersService } } },
        new() { ClusterId = "stock", Destinations = new Dictionary<string, DestinationConfig> { ["primary"] = new() { Address = stockService } } },
    ];

    /// <summary>Signs in whoever the X-User header names (id, name, email claims), as an app's authentication would.</summary>
    internal static Task SignInFromHeader(HttpContext context, RequestDelegate next)
    {
        var name = context.Request.Headers["X-User"].ToString();
        if (name.Length == 0)
        {
            name = context.Request.Query["user"].ToString(); // browsers' WebSockets send no custom headers
        }

        if (name.Length > 0)
        {
            context.User = new ClaimsPrincipal(new ClaimsIdentity(
                [new Claim(ClaimTypes.NameIdentifier, $"id-{name}"), new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Email, $"{name}@example.com")],
                "Header"));
        }

        return next(context);
    }
}
