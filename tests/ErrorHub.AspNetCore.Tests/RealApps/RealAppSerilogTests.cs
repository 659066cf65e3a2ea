using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NLog.Web;
using Serilog;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;
using Xunit;

// The app logs as apps do, with LoggerExtensions, not source-generated messages.
#pragma warning disable CA1873

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// Apps that log through Serilog, set up as Serilog.AspNetCore's README teaches (<c>UseSerilog</c> with the app's
/// services, or a bootstrap logger and <c>AddSerilog</c>), and one through NLog (<c>UseNLog()</c>), against a real
/// ingest. Serilog replaces the app's logger factory: without ErrorHub.Serilog's sink what the app only logs never
/// reaches ErrorHub, and the SDK says so once. The app has its own catch-all middleware (it logs "Unhandled exception"
/// and answers 500, so nothing reaches <c>UseErrorHub()</c>), a tenant middleware that pushes a LogContext property, and
/// a BackgroundService that crashes on demand.
/// </summary>
[Collection(SerilogStaticLogger.Collection)]
public sealed class RealAppSerilogTests
{
    private const string Bypassed = "ErrorHub receives nothing from the app's log";

    [Fact]
    public async Task UseSerilog_with_WriteTo_ErrorHub_reports_the_catch_all_500_and_the_BackgroundService_crash_once_each_with_breadcrumbs_and_LogContext_tags()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogWriteToErrorHub);

        (await run.Http.GetAsync("/checkout/b-17")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.Http.PostAsync("/import", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        var events = await run.EventsWithAsync("Checkout of basket b-17 failed", "Nightly import crashed");

        events.Should().HaveCount(2, string.Join(" | ", events.Select(e => e.Title)));
        var checkout = Single(events, "Checkout of basket b-17 failed");
        checkout.Logger.Should().Be("Shop.ErrorHandling");
        checkout.Request!.Url.Should().EndWith("/checkout/b-17");
        checkout.Tags.Should().Contain("Tenant", "acme", "a LogContext property of the request");
        checkout.Tags.Should().NotContainKey("Path", "the message's own property is not a tag");
        checkout.Breadcrumbs!.Select(b => b.Message).Should().ContainSingle(m => m.Contains("Loading basket"));
        checkout.Breadcrumbs!.Single(b => b.Message.Contains("Loading basket")).Category.Should().Be("Shop.Checkout");
        var import = Single(events, "Nightly import crashed");
        import.Logger.Should().Be("Microsoft.Extensions.Hosting.Internal.Host", "the host's \"BackgroundService failed\"");
        import.Request.Should().BeNull();
        run.Log.Warnings.Should().NotContain(m => m.Contains(Bypassed));
    }

    /// <summary>
    /// <c>UseSerilogRequestLogging()</c> logs each request's completion line again: "responded 500" at Error without the
    /// exception after the app's catch-all answered, and with the exception when it escapes the request. Neither is a
    /// second report: the first is a breadcrumb, the second the same exception.
    /// </summary>
    [Fact]
    public async Task UseSerilogRequestLogging_adds_no_second_report_of_a_failed_request()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogWriteToErrorHub, requestLogging: true);

        (await run.Http.GetAsync("/checkout/b-22")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.Http.GetAsync("/api/orders/7")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsWithAsync("Checkout of basket b-22 failed", "Order 7 has no customer");

        events.Should().HaveCount(2, string.Join(" | ", events.Select(e => e.Title)));
        Single(events, "Checkout of basket b-22 failed").Logger.Should().Be("Shop.ErrorHandling");
        var order = Single(events, "Order 7 has no customer");
        order.Request!.Url.Should().EndWith("/api/orders/7");
        order.Logger.Should().Be("Serilog.AspNetCore.RequestLoggingMiddleware", "its completion line carried the exception first");
        order.Tags.Should().NotContainKey("Tenant", "the exception left the request's LogContext before anything captured it, as it leaves a BeginScope");
    }

    [Fact]
    public async Task Bootstrap_logger_and_AddSerilog_with_ReadFrom_Services_reports_without_naming_the_sink()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.BootstrapAddSerilogReadFromServices);

        (await run.Http.GetAsync("/checkout/b-18")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsWithAsync("Checkout of basket b-18 failed");

        events.Should().ContainSingle();
        events[0].Tags.Should().Contain("Tenant", "acme");
        events[0].Breadcrumbs!.Select(b => b.Message).Should().ContainSingle(m => m.Contains("Loading basket"));
        run.Log.Warnings.Should().NotContain(m => m.Contains(Bypassed));
    }

    [Fact]
    public async Task The_sink_given_twice_takes_each_event_once()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogSinkTwice);

        (await run.Http.GetAsync("/checkout/b-21")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsWithAsync("Checkout of basket b-21 failed");

        events.Should().ContainSingle();
        events[0].Breadcrumbs!.Select(b => b.Message).Should().ContainSingle(m => m.Contains("Loading basket"),
            "ReadFrom.Services and WriteTo.ErrorHub put the same sink into Serilog's pipeline twice");
    }

    [Fact]
    public async Task UseSerilog_without_the_sink_writes_one_warning_naming_what_is_lost_and_the_fix()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogWithoutSink);

        var warning = run.Log.Warnings.Should().ContainSingle(m => m.Contains(Bypassed)).Subject;
        warning.Should().Contain("BackgroundService failed").And.Contain("breadcrumbs").And.Contain(".WriteTo.ErrorHub(services)");
    }

    [Fact]
    public async Task UseSerilog_with_writeToProviders_feeds_the_provider_and_writes_no_warning()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseSerilogWriteToProviders);

        (await run.Http.GetAsync("/checkout/b-19")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsWithAsync("Checkout of basket b-19 failed");
        events.Should().ContainSingle();
        events[0].Tags.Should().NotContainKey("Tenant", "Serilog hands the providers its events without their LogContext properties: what the sink adds");
        run.Log.Warnings.Should().NotContain(m => m.Contains(Bypassed));
    }

    [Fact]
    public async Task UseNLog_keeps_feeding_the_provider_and_writes_no_warning()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.UseNLog);

        (await run.Http.GetAsync("/checkout/b-20")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsWithAsync("Checkout of basket b-20 failed");
        events.Should().ContainSingle();
        events[0].Breadcrumbs!.Select(b => b.Message).Should().Contain(m => m.Contains("Loading basket"));
        run.Log.Warnings.Should().NotContain(m => m.Contains(Bypassed));
    }

    [Fact]
    public async Task Providers_cleared_after_AddErrorHub_write_one_warning_naming_the_fix()
    {
        await using var run = await SerilogAppRun.StartAsync(LoggingSetup.ClearProvidersAfterAddErrorHub);

        run.Log.Warnings.Should().ContainSingle(m => m.Contains(Bypassed))
            .Which.Should().Contain("call AddErrorHub() after ClearProviders()");
    }

    private static ErrorEvent Single(List<ErrorEvent> events, string value) =>
        events.Should().ContainSingle(e => e.Exceptions.Any(x => x.Value.Contains(value, StringComparison.Ordinal))).Subject;
}

/// <summary>Serilog's static <c>Log.Logger</c> is the process's: the tests that set it run one at a time.</summary>
[CollectionDefinition(Collection, DisableParallelization = true)]
public sealed class SerilogStaticLogger
{
    public const string Collection = "Serilog's static logger";
}

internal enum LoggingSetup
{
    /// <summary><c>builder.Host.UseSerilog((context, services, configuration) =&gt; ... .WriteTo.ErrorHub(services))</c>.</summary>
    UseSerilogWriteToErrorHub,

    /// <summary>A bootstrap logger in <c>Log.Logger</c>, then <c>AddSerilog((services, configuration) =&gt; ... .ReadFrom.Services(services))</c>.</summary>
    BootstrapAddSerilogReadFromServices,

    /// <summary><c>.ReadFrom.Services(services)</c> and <c>.WriteTo.ErrorHub(services)</c> both.</summary>
    UseSerilogSinkTwice,

    /// <summary><c>UseSerilog((context, services, configuration) =&gt; ...)</c> as most apps have it: no ErrorHub sink.</summary>
    UseSerilogWithoutSink,

    /// <summary><c>UseSerilog(..., writeToProviders: true)</c>.</summary>
    UseSerilogWriteToProviders,

    /// <summary><c>builder.Host.UseNLog()</c> (NLog.Web.AspNetCore).</summary>
    UseNLog,

    /// <summary>Microsoft.Extensions.Logging, but <c>builder.Logging.ClearProviders()</c> after <c>AddErrorHub()</c>.</summary>
    ClearProvidersAfterAddErrorHub,
}

/// <summary>The app's log as its console would show it, whichever library writes it: the warnings the tests read.</summary>
internal sealed class AppLog : ILogEventSink, ILoggerProvider
{
    private readonly ConcurrentQueue<string> _warnings = new();

    public IReadOnlyCollection<string> Warnings => _warnings;

    public void Emit(LogEvent logEvent)
    {
        if (logEvent.Level == LogEventLevel.Warning)
        {
            _warnings.Enqueue(logEvent.RenderMessage());
        }
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Writer(this);

    public void Dispose()
    {
    }

    private sealed class Writer(AppLog log) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                log._warnings.Enqueue(formatter(state, exception));
            }
        }
    }
}

/// <summary>The BackgroundService's trigger: the app's "run the import now".</summary>
internal sealed class ImportSignal
{
    private readonly TaskCompletionSource _start = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Started => _start.Task;

    public void Start() => _start.TrySetResult();
}

internal sealed class NightlyImport(ImportSignal signal) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await signal.Started.WaitAsync(stoppingToken);
        throw new InvalidOperationException("Nightly import crashed on row 12");
    }
}

internal sealed class SerilogAppRun : IAsyncDisposable
{
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(30);

    private SerilogAppRun(IngestHost ingest, WebApplication app, AppLog log)
    {
        Ingest = ingest;
        App = app;
        Log = log;
        Http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
    }

    public IngestHost Ingest { get; }

    public WebApplication App { get; }

    public AppLog Log { get; }

    public HttpClient Http { get; }

    /// <param name="requestLogging">Serilog's <c>UseSerilogRequestLogging()</c> right after <c>UseErrorHub()</c>, as its README places it.</param>
    public static async Task<SerilogAppRun> StartAsync(LoggingSetup setup, bool requestLogging = false)
    {
        var ingest = await IngestHost.StartAsync();
        var log = new AppLog();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ErrorHub:Dsn"] = ingest.Dsn,
            ["ErrorHub:FlushInterval"] = "00:00:00.050",
            ["Serilog:MinimumLevel:Default"] = "Information",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Warning",
        });
        builder.Logging.ClearProviders();
        builder.Services.AddErrorHub();
        switch (setup)
        {
            case LoggingSetup.UseSerilogWriteToErrorHub:
                builder.Host.UseSerilog((context, services, configuration) => configuration
                    .ReadFrom.Configuration(context.Configuration)
                    .Enrich.FromLogContext()
                    .WriteTo.Sink(log)
                    .WriteTo.ErrorHub(services));
                break;
            case LoggingSetup.BootstrapAddSerilogReadFromServices:
                global::Serilog.Log.Logger = new LoggerConfiguration().WriteTo.Sink(log).CreateBootstrapLogger();
                builder.Services.AddSerilog((services, configuration) => configuration
                    .ReadFrom.Configuration(builder.Configuration)
                    .ReadFrom.Services(services)
                    .Enrich.FromLogContext()
                    .WriteTo.Sink(log));
                break;
            case LoggingSetup.UseSerilogSinkTwice:
                builder.Host.UseSerilog((context, services, configuration) => configuration
                    .ReadFrom.Configuration(context.Configuration)
                    .ReadFrom.Services(services)
                    .Enrich.FromLogContext()
                    .WriteTo.ErrorHub(services));
                break;
            case LoggingSetup.UseSerilogWithoutSink:
                builder.Host.UseSerilog((context, services, configuration) => configuration
                    .ReadFrom.Configuration(context.Configuration)
                    .Enrich.FromLogContext()
                    .WriteTo.Sink(log));
                break;
            case LoggingSetup.UseSerilogWriteToProviders:
                builder.Host.UseSerilog(
                    (context, services, configuration) => configuration.ReadFrom.Configuration(context.Configuration).Enrich.FromLogContext().WriteTo.Sink(log),
                    writeToProviders: true);
                break;
            case LoggingSetup.UseNLog:
                builder.Logging.AddProvider(log);
                builder.Host.UseNLog();
                break;
            case LoggingSetup.ClearProvidersAfterAddErrorHub:
                builder.Logging.ClearProviders().AddProvider(log);
                break;
        }

        builder.Services.AddSingleton<ImportSignal>();
        builder.Services.AddHostedService<NightlyImport>();
        builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);

        var app = builder.Build();
        app.UseErrorHub();
        if (requestLogging)
        {
            app.UseSerilogRequestLogging();
        }

        app.Use(async (context, next) =>
        {
            using (LogContext.PushProperty("Tenant", "acme"))
            {
                await next(context);
            }
        });
        // The app's own catch-all for its pages, as many apps have one: it logs and answers, and nothing reaches
        // UseErrorHub(). Its API's failures go on to the server.
        app.UseWhen(context => !context.Request.Path.StartsWithSegments("/api"), pages => pages.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception exception)
            {
                context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Shop.ErrorHandling")
                    .LogError(exception, "Unhandled exception on {Path}", context.Request.Path.Value);
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("Sorry, something went wrong.");
            }
        }));
        app.MapGet("/api/orders/{id:int}", (int id) => Results.Ok(id > 0 ? throw new InvalidOperationException($"Order {id} has no customer") : id));
        app.MapGet("/checkout/{basket}", (string basket, ILoggerFactory loggers) =>
        {
            loggers.CreateLogger("Shop.Checkout").LogInformation("Loading basket {Basket}", basket);
            throw new InvalidOperationException($"Checkout of basket {basket} failed: no price list");
        });
        app.MapPost("/import", (ImportSignal signal) =>
        {
            signal.Start();
            return Results.Accepted();
        });
        await app.StartAsync();
        return new SerilogAppRun(ingest, app, log);
    }

    /// <summary>The events ingest stored once one for each of <paramref name="sentinels"/> arrived and the SDK was flushed.</summary>
    public async Task<List<ErrorEvent>> EventsWithAsync(params string[] sentinels)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var events = await Ingest.AllEventsAsync();
            if (sentinels.All(s => events.Any(e => e.Exceptions.Any(x => x.Value.Contains(s, StringComparison.Ordinal)))))
            {
                await App.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
                return await Ingest.AllEventsAsync();
            }

            if (stopwatch.Elapsed > ArrivalTimeout)
            {
                throw new TimeoutException(
                    $"Not all of {string.Join(", ", sentinels)} within {ArrivalTimeout.TotalSeconds:0} s; stored: {string.Join(" | ", events.Select(e => e.Title))}; "
                    + $"warnings: {string.Join(" | ", Log.Warnings)}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Ingest.DisposeAsync();
        await global::Serilog.Log.CloseAndFlushAsync();
    }
}
