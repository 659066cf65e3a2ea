using System.Diagnostics;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.Reporting;

/// <summary>
/// In an app that logs (hosting starts an Activity per request), the middleware does not await a pipeline that goes
/// on asynchronously: it returns the pipeline's own task, and sees an exception that ends it when the caller's await
/// (the server's, an outer middleware's) rethrows it. These are the reports a user would notice if that went wrong.
/// </summary>
public sealed class AsyncEscapeTests
{
    private const int Concurrent = 24;

    [Theory]
    [InlineData("UseErrorHub() first: the server rethrows it", false)]
    [InlineData("after UseExceptionHandler(): the handler rethrows it", true)]
    public async Task Concurrent_requests_failing_after_an_await_are_each_reported_once_with_their_own_request_and_user(
        string situation, bool exceptionHandler)
    {
        _ = situation;
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawActivity = 0;
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                if (exceptionHandler)
                {
                    pipeline.UseExceptionHandler();
                }

                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseErrorHub();
                pipeline.MapGet("/checkout", async (string bundle) =>
                {
                    if (Activity.Current is not null)
                    {
                        Interlocked.Increment(ref sawActivity);
                    }

                    // Every request is in flight at once, and fails on another thread than it started on.
                    if (Interlocked.Increment(ref arrived) == Concurrent)
                    {
                        allArrived.SetResult();
                    }

                    await allArrived.Task.WaitAsync(CapturingApp.Guard);
                    await Task.Yield();
                    return Shop.Checkout(bundle);
                });
            },
            services: services =>
            {
                services.AddSingleton<ILoggerProvider, SilentLoggerProvider>();
                if (exceptionHandler)
                {
                    services.AddProblemDetails();
                }
            });

        var statuses = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(n => app.GetAsync($"/checkout?bundle=b{n}", user: $"u{n}")));

        statuses.Should().AllBeEquivalentTo(500);
        sawActivity.Should().Be(Concurrent, "hosting gave every request an Activity: the path under test");
        app.Sent.Should().HaveCount(Concurrent, "one report per failed request, whoever else sees the exception");
        foreach (var (e, hint) in app.Sent)
        {
            var bundle = e.Exceptions.Should().ContainSingle().Subject.Value.Split('\'')[1];
            e.Request!.QueryString.Should().Be($"bundle={bundle}", "the event carries the request that failed");
            e.User!.Username.Should().Be($"u{bundle[1..]}");
            e.Exceptions[0].Frames[0].Function.Should().Be("Checkout");
            e.Logger.Should().BeNull("the middleware reported it as it escaped, before the server or the handler logged it");
            hint.Exception.Should().BeOfType<InvalidOperationException>();
            hint.StatusCode.Should().Be(500);
            hint.HttpContext.Should().BeAssignableTo<HttpContext>();
        }
    }

    [Fact]
    public async Task An_exception_after_an_await_that_the_app_turns_into_a_404_is_not_reported_one_that_ends_in_a_500_is()
    {
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseExceptionHandler();
                pipeline.UseErrorHub();
                pipeline.MapGet("/orders/{id:int}", async (int id) =>
                {
                    await Task.Yield();
                    return Shop.FindOrder(id);
                });
                pipeline.MapGet("/checkout", async (string bundle) =>
                {
                    await Task.Yield();
                    return Shop.Checkout(bundle);
                });
            },
            services: services => services.AddSingleton<ILoggerProvider, SilentLoggerProvider>()
                .AddExceptionHandler<NotFoundHandler>().AddProblemDetails());

        (await app.GetAsync("/orders/7")).Should().Be(404);
        app.Sent.Should().BeEmpty("the app handled the NotFoundException");

        (await app.GetAsync("/checkout?bundle=holiday")).Should().Be(500);
        var (e, hint) = app.Sent.Should().ContainSingle().Subject;
        hint.Exception!.Message.Should().Be("Bundle 'holiday' has two primary products");
        e.Logger.Should().BeNull("the middleware reported it as it escaped, before the exception handler logged it");
    }

    [Fact]
    public async Task An_exception_the_app_catches_after_an_await_is_not_reported_and_the_next_one_that_escapes_is()
    {
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.MapGet("/retry", async () =>
                {
                    await Task.Yield();
                    try
                    {
                        return Shop.Checkout("first try");
                    }
                    catch (InvalidOperationException)
                    {
                        await Task.Yield();
                        return "recovered";
                    }
                });
                pipeline.MapGet("/checkout", async (string bundle) =>
                {
                    await Task.Yield();
                    return Shop.Checkout(bundle);
                });
            },
            services: services => services.AddSingleton<ILoggerProvider, SilentLoggerProvider>());

        (await app.GetAsync("/retry")).Should().Be(200);
        app.Sent.Should().BeEmpty("nothing escaped the pipeline");

        (await app.GetAsync("/checkout?bundle=holiday")).Should().Be(500);
        var reported = app.Sent.Should().ContainSingle().Subject.Event;
        reported.Request!.QueryString.Should().Be("bundle=holiday");
        reported.Logger.Should().BeNull("the middleware reported it as it escaped, before the server logged it");
    }
}
