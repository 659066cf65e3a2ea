using System.Diagnostics;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.AspNetCore.Tests;

/// <summary>What UseErrorHub() puts in the pipeline, and what the pipeline then costs a request that does not fail.</summary>
public sealed class UseErrorHubTests
{
    /// <summary>
    /// A host in Development validates every registered service when it is built: what AddErrorHub() adds for Blazor
    /// circuits must not need Blazor's services in an app that has none (a Web API), nor break an app that has them.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_Development_host_that_validates_its_services_builds_with_AddErrorHub_with_and_without_Blazor(bool blazor)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Services.AddErrorHub(o => o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1");
        if (blazor)
        {
            builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        }

        var build = () => builder.Build();

        build.Should().NotThrow();
    }

    [Fact]
    public void Without_a_DSN_UseErrorHub_adds_nothing_to_the_pipeline()
    {
        using var services = new ServiceCollection().AddLogging().AddErrorHub(o => o.Dsn = null).BuildServiceProvider();
        var app = new CountingApplicationBuilder(services);

        var returned = app.UseErrorHub();

        returned.Should().BeSameAs(app);
        app.Added.Should().Be(0);
    }

    [Fact]
    public void When_disabled_in_configuration_UseErrorHub_adds_nothing_even_with_a_DSN()
    {
        using var services = new ServiceCollection().AddLogging().AddErrorHub(o =>
        {
            o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
            o.Enabled = false;
        }).BuildServiceProvider();
        var app = new CountingApplicationBuilder(services);

        app.UseErrorHub();

        app.Added.Should().Be(0);
    }

    [Fact]
    public void With_a_DSN_UseErrorHub_adds_its_middleware()
    {
        using var services = new ServiceCollection().AddLogging()
            .AddErrorHub(o => o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1").BuildServiceProvider();
        var app = new CountingApplicationBuilder(services);

        app.UseErrorHub();

        app.Added.Should().Be(1);
    }

    [Fact]
    public void UseErrorHub_without_AddErrorHub_says_what_is_missing()
    {
        using var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var app = new ApplicationBuilder(services);

        var act = () => app.UseErrorHub();

        act.Should().Throw<InvalidOperationException>()
            .WithMessage("ErrorHub services are missing: call builder.Services.AddErrorHub() before app.UseErrorHub().");
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 96)]
    public async Task A_request_that_does_not_fail_allocates_nothing_in_the_middleware_when_hosting_gave_it_an_Activity(bool hostingActivity, int bytesPerRequest)
    {
        // Hosting starts an Activity per request as soon as any logging provider or tracing listener is on (every app
        // with the template's logging); the middleware keys the request by it. Without one it keeps the request as an
        // IHttpContextAccessor would, at the same 96 B.
        await using var services = new ServiceCollection().AddLogging()
            .AddErrorHub(o => o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1").BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UseErrorHub();
        app.Run(context =>
        {
            context.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        var pipeline = app.Build();
        using var activity = hostingActivity ? new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start() : null;
        var context = RequestContext(services, activity);

        for (var i = 0; i < 1000; i++)
        {
            await pipeline(context); // warm up: first calls may compile and cache
        }

        var stillRunning = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            stillRunning += pipeline(context).IsCompletedSuccessfully ? 0 : 1;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().BeLessThanOrEqualTo(1000L * bytesPerRequest);
        stillRunning.Should().Be(0, "a pipeline that completes synchronously stays synchronous");
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 96 + 320)] // the AsyncLocal and the state machine: 344 B in a Release build, 384 B in a Debug one
    public async Task A_request_that_goes_on_asynchronously_and_does_not_fail_allocates_nothing_in_the_middleware_with_hosting_Activity(
        bool hostingActivity, int bytesPerRequest)
    {
        // The endpoint's task is left pending and completed by the test on this thread, so every byte the middleware
        // allocates for a pipeline that goes on asynchronously is counted here: none with hosting's Activity (the task is
        // returned as it is); without one, the AsyncLocal and the state machine that frees it at the end.
        await using var services = new ServiceCollection().AddLogging()
            .AddErrorHub(o => o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1").BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UseErrorHub();
        TaskCompletionSource? current = null;
        app.Run(_ => current!.Task);
        var pipeline = app.Build();
        using var activity = hostingActivity ? new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start() : null;
        var context = RequestContext(services, activity);

        RunRequests(Enumerable.Range(0, 1000).Select(_ => new TaskCompletionSource()).ToArray()); // warm up
        var endpoints = Enumerable.Range(0, 1000).Select(_ => new TaskCompletionSource()).ToArray();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var completed = RunRequests(endpoints);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        completed.Should().Be(1000, "each request completes when its endpoint does");
        allocated.Should().BeLessThanOrEqualTo(1000L * bytesPerRequest);

        int RunRequests(TaskCompletionSource[] sources)
        {
            var done = 0;
            foreach (var source in sources)
            {
                current = source;
                var request = pipeline(context);
                source.SetResult();
                done += request.IsCompletedSuccessfully ? 1 : 0;
            }

            return done;
        }
    }

    private sealed class HttpActivityFeature(Activity activity) : IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }

    /// <summary>An application builder that counts the middleware added to it.</summary>
    private sealed class CountingApplicationBuilder(IServiceProvider services) : IApplicationBuilder
    {
        private readonly ApplicationBuilder _inner = new(services);

        public int Added { get; private set; }

        public IServiceProvider ApplicationServices
        {
            get => _inner.ApplicationServices;
            set => _inner.ApplicationServices = value;
        }

        public IFeatureCollection ServerFeatures => _inner.ServerFeatures;

        public IDictionary<string, object?> Properties => _inner.Properties;

        public IApplicationBuilder Use(Func<RequestDelegate, RequestDelegate> middleware)
        {
            Added++;
            _inner.Use(middleware);
            return this;
        }

        public IApplicationBuilder New() => _inner.New();

        public RequestDelegate Build() => _inner.Build();
    }

    /// <summary>A request as the allocation tests send it: with hosting's Activity on its feature when one is given.</summary>
    private static DefaultHttpContext RequestContext(IServiceProvider services, Activity? hostingActivity)
    {
        var context = new DefaultHttpContext(new FeatureCollection()) { RequestServices = services };
        context.Features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        if (hostingActivity is not null)
        {
            context.Features.Set<IHttpActivityFeature>(new HttpActivityFeature(hostingActivity));
        }

        return context;
    }
}
