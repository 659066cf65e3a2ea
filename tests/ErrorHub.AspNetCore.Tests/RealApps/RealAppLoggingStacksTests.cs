using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using ErrorHub.AspNetCore.Tests.Context;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.AspNetCore.Tests.Reporting;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Polly;
using Serilog;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// The logging that real apps have besides ErrorHub, run for real: an app's own <c>HttpClient</c> with
/// Microsoft.Extensions.Http.Resilience (Polly logs each failed attempt, and a circuit it opens at Error, with the
/// exception), and source-generated <c>[LoggerMessage]</c> methods. Each failure a user sees is one event, with its
/// request and user.
/// </summary>
public sealed partial class RealAppLoggingStacksTests
{
    [Fact]
    public async Task The_standard_resilience_handler_whose_service_is_down_is_one_event_with_the_request_and_the_retries_as_breadcrumbs()
    {
        using var down = new RefusingPort();
        await using var app = await StartRatesAppAsync(down, rates => rates.AddStandardResilienceHandler(o =>
        {
            o.Retry.Delay = TimeSpan.Zero;
            o.Retry.BackoffType = DelayBackoffType.Constant;
            o.Retry.UseJitter = false;
        }));

        (await app.GetAsync("/quotes/EUR", user: "kim")).Should().Be(500);

        var e = app.Events.Should().ContainSingle(Describe(app.Events)).Subject;
        e.Exceptions.Should().Contain(x => x.Type.EndsWith("HttpRequestException", StringComparison.Ordinal));
        e.Request!.Url.Should().EndWith("/quotes/EUR");
        e.User!.Id.Should().Be("id-kim");
        FirstAppFrame(e).Should().Contain("RatesClient.GetRateAsync", "Polly's frames are a package's, not the app's");
        e.Breadcrumbs.Where(b => b.Category == "Polly" && b.Message.Contains("OnRetry", StringComparison.Ordinal))
            .Should().HaveCount(3, "the standard handler retries three times: {0}", DescribeBreadcrumbs(e));
    }

    /// <summary>
    /// A circuit breaker logs the failure that opened its circuit at Error ("Resilience event occurred. EventName:
    /// 'OnCircuitOpened'") with that attempt's exception, and from then on fails every call at once with a
    /// <c>BrokenCircuitException</c> whose inner exception is that same one, until the break is over.
    /// </summary>
    [Fact]
    public async Task A_circuit_breaker_that_opens_is_one_event_for_its_request_and_one_for_each_request_the_open_circuit_fails()
    {
        using var down = new RefusingPort();
        await using var app = await StartRatesAppAsync(down, rates => rates.AddResilienceHandler("rates", pipeline => pipeline
            .AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 3, Delay = TimeSpan.Zero, BackoffType = DelayBackoffType.Constant, UseJitter = false })
            .AddCircuitBreaker(OpenAfterTwoFailures())));

        (await app.GetAsync("/quotes/EUR", user: "kim")).Should().Be(500);
        (await app.GetAsync("/quotes/USD", user: "ann")).Should().Be(500);
        (await app.GetAsync("/quotes/GBP", user: "bob")).Should().Be(500);

        var events = app.Events.ToList();
        events.Select(e => new Uri(e.Request!.Url!).AbsolutePath).Should().Equal(
            ["/quotes/EUR", "/quotes/USD", "/quotes/GBP"], "each request the users saw fail is one event: {0}", Describe(events));
        events.Select(e => e.User!.Id).Should().Equal("id-kim", "id-ann", "id-bob");
        events.Should().AllSatisfy(e => FirstAppFrame(e).Should().Contain("RatesClient.GetRateAsync"));
    }

    /// <summary>
    /// A circuit breaker without a retry around it: the calls that open the circuit fail with their own exceptions, and
    /// then each call fails with a <c>BrokenCircuitException</c> around the exception of the call that opened it, which
    /// was reported with its request. A refused call is a failure of its own request, not that one wrapped.
    /// </summary>
    [Fact]
    public async Task Each_request_an_open_circuit_refuses_is_reported_although_the_failure_that_opened_it_was()
    {
        using var down = new RefusingPort();
        await using var app = await StartRatesAppAsync(
            down, rates => rates.AddResilienceHandler("rates", pipeline => pipeline.AddCircuitBreaker(OpenAfterTwoFailures())), signsIn: false);

        foreach (var currency in new[] { "EUR", "USD", "GBP", "CHF" })
        {
            (await app.GetAsync($"/quotes/{currency}")).Should().Be(500);
        }

        var events = app.Events.ToList();
        events.Select(e => new Uri(e.Request!.Url!).AbsolutePath).Should().Equal(
            ["/quotes/EUR", "/quotes/USD", "/quotes/GBP", "/quotes/CHF"], "each request the users saw fail is one event: {0}", Describe(events));
        events.Select(e => e.Exceptions[0].Type.Split('.')[^1]).Should().Equal(
            "HttpRequestException", "HttpRequestException", "BrokenCircuitException", "BrokenCircuitException");
        events.Should().AllSatisfy(e => FirstAppFrame(e).Should().Contain("RatesClient.GetRateAsync"));
    }

    [Fact]
    public async Task A_catch_all_that_logs_through_a_LoggerMessage_method_inside_a_dictionary_scope_is_one_event_with_the_request_and_the_scope_as_tags()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.Use(ReportingApp.SignInFromHeader);
            pipeline.UseErrorHub();
            pipeline.Use(async (context, next) =>
            {
                var logger = context.RequestServices.GetRequiredService<ILogger<RealAppLoggingStacksTests>>();
                using var tenant = logger.BeginScope(new Dictionary<string, object?> { ["TenantId"] = "acme", ["Plan"] = "gold" });
                try
                {
                    await next(context);
                }
                catch (Exception exception)
                {
                    UnhandledOnPath(logger, context.Request.Path.Value, exception);
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    await context.Response.WriteAsync("Sorry, something went wrong.");
                }
            });
            pipeline.MapGet("/cart/{id}/checkout", (string id) => Shop.Checkout(id));
        });

        (await app.GetAsync("/cart/42/checkout", user: "kim")).Should().Be(500);

        var e = app.Events.Should().ContainSingle(Describe(app.Events)).Subject;
        e.Message.Should().Be("Unhandled exception on /cart/42/checkout");
        e.Logger.Should().Be(typeof(RealAppLoggingStacksTests).FullName);
        e.Request!.Url.Should().EndWith("/cart/42/checkout");
        e.User!.Id.Should().Be("id-kim");
        e.Tags.Should().Contain("TenantId", "acme").And.Contain("Plan", "gold");
        FirstAppFrame(e).Should().Contain("Shop.Checkout");
    }

    /// <summary>
    /// Serilog as the app's only logger (<c>AddSerilog</c> replaces the logger factory), its request logging, and the
    /// app's own <c>UseExceptionHandler</c> around both: the handler's "An unhandled exception has occurred" and Serilog's
    /// "HTTP GET ... responded 500" both carry the exception that <c>UseErrorHub()</c> saw first.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serilog_request_logging_under_the_apps_UseExceptionHandler_is_one_event_with_the_request_and_user(bool writeToProviders)
    {
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseExceptionHandler(new ExceptionHandlerOptions
                {
                    ExceptionHandler = context => context.Response.WriteAsync("Sorry, something went wrong."),
                });
                pipeline.UseSerilogRequestLogging();
                pipeline.UseErrorHub();
                pipeline.MapGet("/cart/{id}/checkout", (string id) => Shop.Checkout(id));
            },
            services: services => services.AddSerilog(
                (provider, configuration) =>
                {
                    configuration.MinimumLevel.Information().Enrich.FromLogContext();
                    if (!writeToProviders)
                    {
                        configuration.WriteTo.ErrorHub(provider);
                    }
                },
                writeToProviders: writeToProviders));

        (await app.GetAsync("/cart/42/checkout", user: "kim")).Should().Be(500);
        (await app.GetAsync("/cart/43/checkout", user: "ann")).Should().Be(500);

        var events = app.Events.ToList();
        events.Select(e => new Uri(e.Request!.Url!).AbsolutePath).Should().Equal(["/cart/42/checkout", "/cart/43/checkout"], Describe(events));
        events.Select(e => e.User!.Id).Should().Equal("id-kim", "id-ann");
        events.Should().AllSatisfy(e => FirstAppFrame(e).Should().Contain("Shop.Checkout"));
    }

    /// <summary>
    /// EF Core on a real SQLite database logs a failed save ("An exception occurred in the database while saving
    /// changes", <c>Microsoft.EntityFrameworkCore.Update</c>) and a failed query ("An exception occurred while iterating
    /// over the results of a query", <c>Microsoft.EntityFrameworkCore.Query</c>) at Error from its own catch blocks, then
    /// throws them on into the app's code and the middleware.
    /// </summary>
    [Fact]
    public async Task EF_Core_on_SQLite_reports_a_failed_save_and_a_failed_query_once_each_with_the_apps_frames()
    {
        using var database = new SqliteConnection("Data Source=:memory:");
        database.Open();
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseErrorHub();
                pipeline.MapGet("/orders/{number}/place", (string number, OrdersDb db) => Orders.PlaceAsync(db, number));
                pipeline.MapGet("/orders/count", (OrdersDb db) => Orders.CountAsync(db));
            },
            services: services => services.AddDbContext<OrdersDb>(options => options.UseSqlite(database)));
        using (var scope = app.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<OrdersDb>().Database.EnsureCreated();
        }

        (await app.GetAsync("/orders/A-1/place", user: "kim")).Should().Be(200);
        (await app.GetAsync("/orders/A-1/place", user: "kim")).Should().Be(500, "the order number is unique");
        using (var scope = app.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<OrdersDb>().Database.ExecuteSqlRaw("DROP TABLE Orders");
        }

        (await app.GetAsync("/orders/count", user: "ann")).Should().Be(500);

        var events = app.Events.ToList();
        events.Select(e => new Uri(e.Request!.Url!).AbsolutePath).Should().Equal(["/orders/A-1/place", "/orders/count"], Describe(events));
        events.Select(e => e.User!.Id).Should().Equal("id-kim", "id-ann");
        events[0].Exceptions[0].Type.Should().Be("Microsoft.EntityFrameworkCore.DbUpdateException");
        events[0].Logger.Should().Be("Microsoft.EntityFrameworkCore.Update");
        FirstAppFrame(events[0]).Should().Contain("Orders.PlaceAsync", "the app's code that saved, which EF Core's entry had not reached");
        events[1].Exceptions[0].Type.Should().Be("Microsoft.Data.Sqlite.SqliteException");
        events[1].Logger.Should().Be("Microsoft.EntityFrameworkCore.Query");
        FirstAppFrame(events[1]).Should().Contain("Orders.CountAsync");
    }

    /// <summary>
    /// An app whose <c>/quotes/{currency}</c> asks the rates service at <paramref name="down"/> through its typed
    /// <see cref="RatesClient"/>, with the resilience <paramref name="resilience"/> adds; users sign in by header unless not <paramref name="signsIn"/>.
    /// </summary>
    private static Task<ReportingApp> StartRatesAppAsync(RefusingPort down, Action<IHttpClientBuilder> resilience, bool signsIn = true) =>
        ReportingApp.StartAsync(
            pipeline =>
            {
                if (signsIn)
                {
                    pipeline.Use(ReportingApp.SignInFromHeader);
                }

                pipeline.UseErrorHub();
                pipeline.MapGet("/quotes/{currency}", (string currency, RatesClient rates) => rates.GetRateAsync(currency));
            },
            services: services => resilience(services.AddHttpClient<RatesClient>(http => http.BaseAddress = down.Address)));

    /// <summary>A circuit that opens once two calls of the last minute failed, half of them or more, and stays open for the rest of the test.</summary>
    private static HttpCircuitBreakerStrategyOptions OpenAfterTwoFailures() => new()
    {
        MinimumThroughput = 2,
        FailureRatio = 0.5,
        SamplingDuration = TimeSpan.FromMinutes(1),
        BreakDuration = TimeSpan.FromMinutes(5),
    };

    internal static string Describe(IEnumerable<ErrorHubEvent> events) =>
        string.Join(" | ", events.Select(e =>
            $"{e.Logger}: {string.Join(" <- ", e.Exceptions.Select(x => x.Type))} at {FirstAppFrame(e)} ({e.Request?.Url})"));

    private static string DescribeBreadcrumbs(ErrorHubEvent e) =>
        string.Join(" | ", e.Breadcrumbs.Select(b => $"{b.Category} {b.Level}: {b.Message}"));

    private static string FirstAppFrame(ErrorHubEvent e) =>
        // The innermost exception first, and in each the frame that threw first: the app's frame nearest the throw.
        e.Exceptions.Reverse().SelectMany(x => x.Frames).FirstOrDefault(f => f.InApp) is { } frame ? $"{frame.Type}.{frame.Function}" : "(none)";

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Path}")]
    private static partial void UnhandledOnPath(Microsoft.Extensions.Logging.ILogger logger, string? path, Exception exception);
}

/// <summary>
/// OpenTelemetry beside ErrorHub, as its getting-started page sets it up: tracing of ASP.NET Core and logging, both
/// exported. Its tracer listens to every ActivitySource of the process, so this runs alone, with <see cref="TraceTests"/>.
/// </summary>
[Collection(nameof(TraceTests))]
public sealed class RealAppOpenTelemetryTests
{
    [Fact]
    public async Task With_OpenTelemetry_tracing_and_logging_the_event_carries_the_trace_and_span_of_the_exported_request_and_log_record()
    {
        var spans = new List<Activity>();
        var records = new List<(ActivityTraceId TraceId, ActivitySpanId SpanId, string? Category)>();
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.MapGet("/cart/{id}/checkout", (string id, ILogger<RealAppOpenTelemetryTests> logger) =>
                {
                    try
                    {
                        return Shop.Checkout(id);
                    }
                    catch (InvalidOperationException exception)
                    {
                        logger.LogError(exception, "Checkout of {Cart} failed", id);
                        throw;
                    }
                });
            },
            services: services => services.AddOpenTelemetry()
                .WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddInMemoryExporter(spans))
                .WithLogging(logging => logging.AddProcessor(new RecordIds(records))));

        (await app.GetAsync("/cart/42/checkout")).Should().Be(500);

        var e = app.Events.Should().ContainSingle(RealAppLoggingStacksTests.Describe(app.Events)).Subject;
        e.Logger.Should().Be(typeof(RealAppOpenTelemetryTests).FullName, "the app's log entry came first");

        // Hosting stops the request's Activity, which exports it, after the response's completion callbacks.
        using (var guard = new CancellationTokenSource(CompletedRequests.Guard))
        {
            while (!spans.ToArray().Any(s => s.Kind == ActivityKind.Server))
            {
                await Task.Delay(20, guard.Token);
            }
        }

        var request = spans.ToArray().Should().ContainSingle(s => s.Kind == ActivityKind.Server).Subject;
        e.Tags["trace_id"].Should().Be(request.TraceId.ToHexString());
        e.Tags["span_id"].Should().Be(request.SpanId.ToHexString());
        var record = records.Should().ContainSingle(r => r.Category == typeof(RealAppOpenTelemetryTests).FullName).Subject;
        e.Tags["trace_id"].Should().Be(record.TraceId.ToHexString(), "the exported log line is found by the event's trace");
        e.Tags["span_id"].Should().Be(record.SpanId.ToHexString());
    }

    /// <summary>Keeps what identifies each log record (the records themselves are pooled by OpenTelemetry).</summary>
    private sealed class RecordIds(List<(ActivityTraceId, ActivitySpanId, string?)> records) : OpenTelemetry.BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            lock (records)
            {
                records.Add((data.TraceId, data.SpanId, data.CategoryName));
            }
        }
    }
}

/// <summary>The app's orders, on SQLite.</summary>
public sealed class OrdersDb(DbContextOptions<OrdersDb> options) : DbContext(options)
{
    public DbSet<PlacedOrder> Orders => Set<PlacedOrder>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<PlacedOrder>().HasIndex(order => order.Number).IsUnique();
}

public sealed class PlacedOrder
{
    public int Id { get; set; }

    public required string Number { get; set; }
}

internal static class Orders
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task<int> PlaceAsync(OrdersDb db, string number)
    {
        db.Orders.Add(new PlacedOrder { Number = number });
        return await db.SaveChangesAsync();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task<int> CountAsync(OrdersDb db) => (await db.Orders.ToListAsync()).Count;
}

/// <summary>The app's typed client for a rates service.</summary>
internal sealed class RatesClient(HttpClient http)
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public async Task<string> GetRateAsync(string currency) => await http.GetStringAsync($"/rates/{currency}");
}

/// <summary>
/// A loopback port bound and never listened on: every connection to it is refused at once, as to a service that is
/// down, and no other test can take the port meanwhile.
/// </summary>
internal sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RefusingPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_socket.LocalEndPoint!).Port}");
    }

    public Uri Address { get; }

    public void Dispose() => _socket.Dispose();
}
