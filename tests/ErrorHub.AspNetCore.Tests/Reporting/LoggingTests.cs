using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Xunit;

// The test app logs the way apps do, with arguments that are cheap here.
#pragma warning disable CA1873

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>What the app logs during a request travels with its report: breadcrumbs in order, scope values as tags.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Log_entries_of_the_request_arrive_as_breadcrumbs_in_order_with_level_and_category_and_nothing_from_other_requests()
    {
        await using var app = await StartAsync();

        (await app.GetAsync("/browse")).Should().Be(200);
        (await app.GetAsync("/checkout?bundle=holiday")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        var ours = e.Breadcrumbs.Where(b => b.Category == "Shop.Checkout").ToList();
        ours.Select(b => b.Message).Should().Equal("Pricing bundle holiday", "Stock is low for holiday");
        ours.Select(b => b.Level).Should().Equal(ErrorHubLevel.Info, ErrorHubLevel.Warning);
        e.Breadcrumbs.Should().NotContain(b => b.Message.Contains("debug detail"), "Debug is below MinimumBreadcrumbLevel");
        e.Breadcrumbs.Should().NotContain(b => b.Message.Contains("browsing"), "breadcrumbs belong to their own request");
        e.Breadcrumbs.Select(b => b.Timestamp).Should().BeInAscendingOrder();
    }

    [Fact]
    public async Task Scalar_values_of_the_scopes_an_error_is_logged_in_become_tags_and_other_values_are_left_out()
    {
        await using var app = await StartAsync();

        (await app.GetAsync("/checkout?bundle=holiday&logged=true")).Should().Be(500);

        var e = app.Events.Should().ContainSingle("the log line and the middleware report the same exception once").Subject;
        e.Message.Should().Be("Checkout of holiday failed");
        e.Tags["TenantId"].Should().Be("acme");
        e.Tags["CartSize"].Should().Be("3");
        e.Tags.Should().NotContainKey("Basket", "an object is not a tag");
    }

    [Fact]
    public async Task Breadcrumbs_are_bounded_by_MaxBreadcrumbs_keeping_the_newest()
    {
        await using var app = await StartAsync(o => o.MaxBreadcrumbs = 3);

        await app.GetAsync("/checkout?bundle=holiday&noisy=true");

        var e = app.Events.Should().ContainSingle().Subject;
        e.Breadcrumbs.Select(b => b.Message).Should().Equal(["noise 9", "Pricing bundle holiday", "Stock is low for holiday"], "the oldest go first");
    }

    [Fact]
    public async Task A_log_message_without_exception_becomes_an_event_only_from_MinimumEventLevel_up()
    {
        await using var app = await StartAsync(o => o.MinimumEventLevel = LogLevel.Warning);

        await app.GetAsync("/browse");
        await app.GetAsync("/checkout?bundle=holiday");

        app.Events.Where(e => e.Exceptions.Count == 0).Select(e => (e.Message, e.Level))
            .Should().Equal(("Stock is low for holiday", ErrorHubLevel.Warning));
    }

    [Fact]
    public async Task Logging_ErrorHub_LogLevel_settings_bring_ASP_NET_Cores_entries_back_as_breadcrumbs()
    {
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.MapGet("/checkout", () => Shop.Checkout("holiday"));
            },
            settings: new Dictionary<string, string?>
            {
                ["Logging:ErrorHub:LogLevel:Microsoft.AspNetCore"] = "Information",
                ["Logging:ErrorHub:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
            });

        (await app.GetAsync("/checkout")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        e.Breadcrumbs.Should().Contain(b => b.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && b.Message.StartsWith("Request starting"));
        e.Breadcrumbs.Should().Contain(b => b.Category == "Microsoft.AspNetCore.Routing.EndpointMiddleware" && b.Message.StartsWith("Executing endpoint"));
    }

    [Fact]
    public async Task The_exception_handlers_error_entry_still_reaches_ErrorHub_under_the_default_levels()
    {
        // UseErrorHub() is not in the pipeline, and the IExceptionHandler AddErrorHub() adds is taken out: only the exception
        // handler's log entry can report the failure.
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseExceptionHandler(error => error.Run(context =>
                {
                    context.Response.StatusCode = 500;
                    return Task.CompletedTask;
                }));
                pipeline.MapGet("/checkout", () => Shop.Checkout("holiday"));
            },
            services: services => services.RemoveAll<IExceptionHandler>());

        (await app.GetAsync("/checkout")).Should().Be(500);

        app.Events.Should().ContainSingle().Which.Logger.Should().Be("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware");
    }

    private static Task<ReportingApp> StartAsync(Action<ErrorHubOptions>? configure = null) =>
        ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseExceptionHandler(error => error.Run(context =>
                {
                    context.Response.StatusCode = 500;
                    return Task.CompletedTask;
                }));
                pipeline.UseErrorHub();
                pipeline.MapGet("/browse", (ILoggerFactory logs) =>
                {
                    logs.CreateLogger("Shop.Browse").LogInformation("browsing the catalog");
                    return "catalog";
                });
                pipeline.MapGet("/checkout", (string bundle, bool? noisy, bool? logged, ILoggerFactory logs) =>
                {
                    var logger = logs.CreateLogger("Shop.Checkout");
                    for (var i = 0; noisy == true && i < 10; i++)
                    {
                        logger.LogInformation("noise {Index}", i);
                    }

                    using var tenant = logger.BeginScope(new Dictionary<string, object?> { ["TenantId"] = "acme", ["Basket"] = new object() });
                    using var cart = logger.BeginScope("{CartSize} items", 3);
                    logger.LogDebug("debug detail");
                    logger.LogInformation("Pricing bundle {Bundle}", bundle);
                    logger.LogWarning("Stock is low for {Bundle}", bundle);
                    try
                    {
                        return Shop.Checkout(bundle);
                    }
                    catch (InvalidOperationException exception) when (logged == true)
                    {
                        logger.LogError(exception, "Checkout of {Bundle} failed", bundle);
                        throw;
                    }
                });
            },
            configure);
}
