using System.Diagnostics;
using ErrorHub.AspNetCore.Tests.Infrastructure;
using ErrorHub.AspNetCore.Tests.Reporting;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Xunit;

// The test app logs the way apps do, with arguments that are cheap here.
#pragma warning disable CA1873

namespace ErrorHub.AspNetCore.Tests.Context;

/// <summary>
/// How a capture anywhere in a request (the app's log, its own catch block) finds that request, with no
/// <c>IHttpContextAccessor</c>: by the Activity hosting starts for the request when the app logs (a table of claimed
/// Activities), else as an accessor would. Many requests at once never see each other's request.
/// </summary>
public sealed class CurrentRequestTests
{
    private const int Concurrent = 24;

    [Theory]
    [InlineData("logging app, room for every request", CurrentRequests.DefaultCapacity, false)]
    [InlineData("logging app, room for two requests", 2, false)]
    [InlineData("no logging at all, so no Activity", 0, false)]
    [InlineData("no logging, the app's own IHttpContextAccessor", 0, true)]
    public async Task Concurrent_requests_each_report_their_own_request_user_and_breadcrumbs_from_the_log_and_by_hand(
        string situation, int capacity, bool appAccessor)
    {
        _ = situation;
        var withActivity = capacity > 0;
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawActivity = 0;
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseErrorHub();
                pipeline.UseMiddleware<CatchAllMiddleware>();
                pipeline.MapGet("/checkout", async (string bundle, ILoggerFactory logs, IErrorHubClient errorHub) =>
                {
                    if (Activity.Current is not null)
                    {
                        Interlocked.Increment(ref sawActivity);
                    }

                    var logger = logs.CreateLogger("Shop.Checkout");
                    logger.LogInformation("Pricing bundle {Bundle}", bundle);

                    // Every request is in flight at once, and goes on on another thread than it started on.
                    if (Interlocked.Increment(ref arrived) == Concurrent)
                    {
                        allArrived.SetResult();
                    }

                    await allArrived.Task.WaitAsync(CapturingApp.Guard);
                    await Task.Yield();
                    logger.LogWarning("Stock is low for {Bundle}", bundle);
                    try
                    {
                        return Shop.Checkout(bundle);
                    }
                    catch (InvalidOperationException)
                    {
                        errorHub.CaptureException(new InvalidOperationException($"'{bundle}' by hand"));
                        throw; // on to the app's catch-all, which logs it
                    }
                });
            },
            services: services =>
            {
                if (withActivity)
                {
                    // What every app with logging has: a provider that hosting's Critical entries would reach.
                    services.AddSingleton<ILoggerProvider, SilentLoggerProvider>();
                    services.Replace(ServiceDescriptor.Singleton(new CurrentRequests(appAccessor: null, capacity)));
                }

                if (appAccessor)
                {
                    services.AddHttpContextAccessor();
                }
            });

        var statuses = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(n => app.GetAsync($"/checkout?bundle=b{n}", user: $"u{n}")));

        statuses.Should().AllBeEquivalentTo(500);
        if (!appAccessor)
        {
            app.Services.GetService<IHttpContextAccessor>().Should().BeNull("AddErrorHub() does not register one");
        }

        sawActivity.Should().Be(withActivity ? Concurrent : 0);
        app.Events.Should().HaveCount(2 * Concurrent, "each request reports its logged exception and the one captured by hand");
        app.Events.Select(e => e.Exceptions[0].Value).Should().OnlyHaveUniqueItems();
        foreach (var e in app.Events)
        {
            var bundle = e.Exceptions.Should().ContainSingle().Subject.Value.Split('\'')[1];
            var n = bundle[1..];
            e.Request.Should().NotBeNull($"the event of {bundle} was captured inside its request");
            e.Request!.QueryString.Should().Be($"bundle={bundle}");
            e.User!.Username.Should().Be($"u{n}");
            e.Breadcrumbs.Where(b => b.Category == "Shop.Checkout").Select(b => b.Message)
                .Should().StartWith(["Pricing bundle " + bundle, "Stock is low for " + bundle]);
            e.Breadcrumbs.Should().OnlyContain(b => !b.Message.Contains("bundle b", StringComparison.Ordinal) || b.Message.EndsWith(" " + bundle, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_failure_inside_a_trace_the_endpoint_started_on_its_own_is_reported_with_its_request_and_user()
    {
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.Use(ReportingApp.SignInFromHeader);
                pipeline.UseErrorHub();
                pipeline.MapGet("/import", () =>
                {
                    // Work that starts a trace of its own (a new root, as a job or a message handler does): while it fails,
                    // the request's Activity is none of the current Activity's parents. UseErrorHub() still knows the request.
                    Activity.Current = null;
                    using var job = new Activity("Shop.Import").Start();
                    return Shop.Checkout("import");
                });
            },
            services: services => services.AddSingleton<ILoggerProvider, SilentLoggerProvider>());

        (await app.GetAsync("/import?batch=7", user: "jane")).Should().Be(500);

        var e = app.Events.Should().ContainSingle().Subject;
        e.Request.Should().NotBeNull("the exception escaped the request's pipeline into UseErrorHub()");
        e.Request!.Url.Should().EndWith("/import");
        e.Request.QueryString.Should().Be("batch=7");
        e.User!.Username.Should().Be("jane");
    }

    [Fact]
    public async Task A_capture_from_work_that_outlives_its_request_carries_no_request()
    {
        var later = new TaskCompletionSource();
        Task? leftBehind = null;
        await using var app = await ReportingApp.StartAsync(
            pipeline =>
            {
                pipeline.UseErrorHub();
                pipeline.MapGet("/fire-and-forget", (IErrorHubClient errorHub) =>
                {
                    leftBehind = Task.Run(async () =>
                    {
                        await later.Task;
                        errorHub.CaptureMessage("after the response", ErrorHubLevel.Warning);
                    });
                    return "ok";
                });
            },
            services: services => services.AddSingleton<ILoggerProvider, SilentLoggerProvider>());

        (await app.GetAsync("/fire-and-forget")).Should().Be(200);
        (await app.GetAsync("/fire-and-forget")).Should().Be(200);
        later.SetResult();
        await leftBehind!.WaitAsync(CapturingApp.Guard);

        app.Events.Should().NotBeEmpty().And.OnlyContain(e => e.Message == "after the response" && e.Request == null);
    }

    [Fact]
    public void A_full_table_of_requests_on_many_threads_never_gives_a_flow_another_flows_request()
    {
        var requests = new CurrentRequests(appAccessor: null, capacity: 2);
        var wrong = 0;
        var failures = 0;
        var found = new int[2];
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            try
            {
                for (var i = 0; i < 3_000; i++)
                {
                    var context = new DefaultHttpContext();
                    using var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
                    context.Features.Set<IHttpActivityFeature>(new ActivityFeature(activity));
                    ExecutionContext.Run(ExecutionContext.Capture()!, _ =>
                    {
                        var claim = requests.Enter(context);
                        using (var child = new Activity("a span of the app").Start())
                        {
                            var current = requests.Current;
                            Interlocked.Increment(ref found[claim.Activity is null ? 1 : 0]);
                            if (!ReferenceEquals(current, context))
                            {
                                Interlocked.Increment(ref wrong);
                            }
                        }

                        requests.Exit(claim);
                        if (requests.Current is not null)
                        {
                            Interlocked.Increment(ref wrong);
                        }
                    }, null);
                }
            }
            catch (Exception)
            {
                Interlocked.Increment(ref failures);
            }
        })).ToList();

        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join(CapturingApp.Guard));

        failures.Should().Be(0);
        wrong.Should().Be(0, "a flow finds its own request or, once it is done, none");
        found.Sum().Should().Be(8 * 3_000);
        found[0].Should().BePositive("some requests had a slot of the table");
        requests.Current.Should().BeNull();
    }

    private sealed class ActivityFeature(Activity activity) : IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }
}
