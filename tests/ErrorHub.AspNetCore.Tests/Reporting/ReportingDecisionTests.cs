using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// Which exceptions of a request become reports, decided when the response completes: what the app handled (a
/// 404) is not an issue; what ended in a 500 is, once, with what BeforeSend needs to decide for itself.
/// </summary>
public sealed class ReportingDecisionTests
{
    [Fact]
    public async Task An_exception_the_app_turns_into_a_404_is_not_reported_one_that_ends_in_a_500_is_once_with_its_hint()
    {
        await using var app = await StartShopAsync();

        (await app.GetAsync("/orders/7")).Should().Be(404);
        app.Sent.Should().BeEmpty("the app handled the NotFoundException: no issue per 404");

        (await app.GetAsync("/checkout?bundle=holiday")).Should().Be(500);
        var (e, hint) = app.Sent.Should().ContainSingle("the middleware and the exception handler's log line are one report").Subject;
        e.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        hint.Exception.Should().BeOfType<InvalidOperationException>().Which.Message.Should().Be("Bundle 'holiday' has two primary products");
        hint.StatusCode.Should().Be(500);
        hint.HttpContext.Should().BeAssignableTo<HttpContext>();
    }

    [Fact]
    public async Task With_ReportHandledExceptions_the_404_is_reported_and_BeforeSend_sees_its_status()
    {
        await using var app = await StartShopAsync(o => o.ReportHandledExceptions = true);

        (await app.GetAsync("/orders/7")).Should().Be(404);

        var (e, hint) = app.Sent.Should().ContainSingle().Subject;
        e.Exceptions[0].Type.Should().Be(typeof(NotFoundException).FullName);
        hint.StatusCode.Should().Be(404);
        e.Request!.Url.Should().EndWith("/orders/7");
    }

    [Fact]
    public async Task An_exception_the_app_captures_in_its_catch_block_carries_the_request_and_the_user()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.Use(ReportingApp.SignInFromHeader);
            pipeline.UseErrorHub();
            pipeline.MapGet("/checkout", (string bundle, IErrorHubClient errorHub) =>
            {
                try
                {
                    return Shop.Checkout(bundle);
                }
                catch (InvalidOperationException exception)
                {
                    errorHub.CaptureException(exception);
                    return "we could not price your bundle; try again later";
                }
            });
        });

        (await app.GetAsync("/checkout?bundle=holiday", user: "alice")).Should().Be(200);

        var (e, hint) = app.Sent.Should().ContainSingle("the app asked for the report, whatever the status").Subject;
        e.Request!.Url.Should().EndWith("/checkout");
        e.Request.QueryString.Should().Be("bundle=holiday");
        e.User.Should().BeEquivalentTo(new { Id = "id-alice", Username = "alice", Email = "alice@example.com" });
        hint.HttpContext.Should().BeAssignableTo<HttpContext>();
    }

    [Fact]
    public async Task An_app_with_its_own_catch_all_after_UseErrorHub_is_reported_through_its_log_with_request_and_user()
    {
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub(); // first, as other SDKs teach: the catch-all below swallows every exception
            pipeline.Use(ReportingApp.SignInFromHeader);
            pipeline.UseMiddleware<CatchAllMiddleware>();
            pipeline.MapGet("/checkout", (string bundle) => Shop.Checkout(bundle));
        });

        (await app.GetAsync("/checkout?bundle=holiday", user: "alice")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        e.Message.Should().Be("Unhandled exception");
        e.Logger.Should().Be(typeof(CatchAllMiddleware).FullName);
        e.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        e.Request!.Url.Should().EndWith("/checkout");
        e.User!.Username.Should().Be("alice");
        var frames = e.Exceptions[0].Frames;
        frames[0].Function.Should().Be("Checkout");
        frames[0].Wrapper.Should().BeFalse("where it failed is never a wrapper");
        frames.Should().Contain(f => f.Type == typeof(CatchAllMiddleware).FullName && f.Wrapper, "the catch-all only passed it on");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_IExceptionHandler_that_answers_500_itself_is_reported_once_with_UseErrorHub_placed_before_UseExceptionHandler(
        bool handlerRegisteredBeforeAddErrorHub)
    {
        // Since .NET 10 the exception handler middleware logs nothing for an exception a handler handled: UseErrorHub()
        // placed first sees no exception and no log entry carries it; until December 2026 nothing was reported.
        Action<IServiceCollection> addHandler = services => services.AddExceptionHandler<ProblemFor500Handler>().AddProblemDetails();
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseExceptionHandler();
                pipeline.MapGet("/orders/{id:int}", (int id) => Shop.FindOrder(id));
                pipeline.MapGet("/checkout", (string bundle) => Shop.Checkout(bundle));
            },
            services: handlerRegisteredBeforeAddErrorHub ? null : addHandler,
            servicesBeforeErrorHub: handlerRegisteredBeforeAddErrorHub ? addHandler : null);

        (await app.GetAsync("/orders/7", user: "alice")).Should().Be(404);
        app.Sent.Should().BeEmpty("the handler answered 404: handled");

        (await app.GetAsync("/checkout?bundle=holiday", user: "alice")).Should().Be(500);
        var (e, hint) = app.Sent.Should().ContainSingle().Subject;
        e.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        e.Exceptions[0].Frames[0].Function.Should().Be("Checkout");
        e.Request!.Url.Should().EndWith("/checkout");
        e.Tags.Should().Contain("route", "GET /checkout");
        e.User!.Username.Should().Be("alice");
        hint.StatusCode.Should().Be(500);
    }

    [Fact]
    public async Task An_error_pipeline_whose_diagnostics_are_suppressed_is_reported_with_UseErrorHub_placed_before_it()
    {
        // .NET 10's SuppressDiagnosticsCallback turns the exception handler middleware's log entry off; the app's error
        // pipeline logs only a message, without the exception object (as FastEndpoints' UseDefaultExceptionHandler does).
        await using var app = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.UseExceptionHandler(new ExceptionHandlerOptions
            {
                SuppressDiagnosticsCallback = _ => true,
                ExceptionHandler = async context =>
                {
                    var failure = context.Features.Get<IExceptionHandlerFeature>()!.Error;
                    context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("App.Errors")
                        .LogError("{Type}: {Reason}", failure.GetType().Name, failure.Message);
                    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                    await context.Response.WriteAsync("Internal server error");
                },
            });
            pipeline.MapGet("/checkout", (string bundle) => Shop.Checkout(bundle));
        });

        (await app.GetAsync("/checkout?bundle=holiday")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        e.Exceptions[0].Type.Should().Be("System.InvalidOperationException");
        e.Request!.Url.Should().EndWith("/checkout");
    }

    [Fact]
    public async Task Where_the_same_bug_is_caught_does_not_change_the_frames_grouping_uses()
    {
        await using var withCatchAll = await ReportingApp.StartAsync(pipeline =>
        {
            pipeline.UseErrorHub();
            pipeline.UseMiddleware<CatchAllMiddleware>();
            pipeline.MapGet("/checkout", (string bundle) => Shop.Checkout(bundle));
        });
        await using var withExceptionHandler = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseExceptionHandler();
                pipeline.UseErrorHub();
                pipeline.MapGet("/checkout", (string bundle) => Shop.Checkout(bundle));
            },
            services: services => services.AddProblemDetails());

        await withCatchAll.GetAsync("/checkout?bundle=holiday");
        await withExceptionHandler.GetAsync("/checkout?bundle=holiday");

        GroupingFrames(withCatchAll.Events.Single()).Should().Equal(GroupingFrames(withExceptionHandler.Events.Single()));
        GroupingFrames(withCatchAll.Events.Single()).Should().Contain("ErrorHub.AspNetCore.Tests.Reporting.Shop.Checkout");
    }

    [Fact]
    public async Task A_client_that_goes_away_is_never_an_error_even_with_ReportHandledExceptions()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.MapGet("/slow", async (HttpContext context) =>
                {
                    started.TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                });
            },
            o => o.ReportHandledExceptions = true);

        using var hangUp = new CancellationTokenSource();
        var request = app.Http.GetAsync("/slow", hangUp.Token);
        await started.Task.WaitAsync(CompletedRequests.Guard);
        await hangUp.CancelAsync();
        await FluentActions.Awaiting(() => request).Should().ThrowAsync<OperationCanceledException>();
        await app.GetAsync("/other-request-to-wait-on"); // 404; the first request has completed once this one did

        app.Sent.Should().BeEmpty();
    }

    private static Task<ReportingApp> StartShopAsync(Action<ErrorHubOptions>? configure = null) =>
        ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseExceptionHandler();
                pipeline.UseErrorHub();
                pipeline.MapGet("/orders/{id:int}", (int id) => Shop.FindOrder(id));
                pipeline.MapGet("/checkout", (string bundle) => Shop.Checkout(bundle));
            },
            configure,
            services => services.AddExceptionHandler<NotFoundHandler>().AddProblemDetails());

    /// <summary>The frames server-side grouping looks at: in-app and not wrappers.</summary>
    private static List<string> GroupingFrames(ErrorHubEvent e) =>
        e.Exceptions[0].Frames.Where(f => f.InApp && !f.Wrapper).Select(f => $"{f.Type}.{f.Function}").ToList();
}
