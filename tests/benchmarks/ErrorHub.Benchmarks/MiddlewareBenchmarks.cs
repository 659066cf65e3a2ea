using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ErrorHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Benchmarks;

/// <summary>
/// The happy path: a request that does not throw, through the same pipeline with and without
/// UseErrorHub() (SDK enabled with a DSN). The difference is what every request of an app pays.
/// Two endpoints: one that completes synchronously (the overhead alone, measured precisely) and one
/// that completes asynchronously after a thread-pool hop (realistic, but the hop dominates and is noisy).
/// <see cref="HostingActivity"/>: the request carries the Activity hosting starts per request whenever any logging
/// provider or tracing listener is on (every app with the template's logging), by which ErrorHub finds the request
/// for captures inside it; without one, ErrorHub keeps the request as an IHttpContextAccessor would.
/// </summary>
[MemoryDiagnoser]
public class MiddlewareBenchmarks
{
    [Params("sync", "async")]
    public string Endpoint { get; set; } = "sync";

    [Params(true, false)]
    public bool HostingActivity { get; set; } = true;

    private ServiceProvider _services = null!;
    private RequestDelegate _without = null!;
    private RequestDelegate _with = null!;
    private DefaultHttpContext _context = null!;
    private Activity? _activity;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection()
            .AddLogging()
            .AddErrorHub(o => o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1")
            .BuildServiceProvider();
        _without = Build(useErrorHub: false);
        _with = Build(useErrorHub: true);
        _context = new DefaultHttpContext { RequestServices = _services };
        _context.Request.Method = "GET";
        _context.Request.Path = "/products/42";
        if (HostingActivity)
        {
            _activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
            _context.Features.Set<IHttpActivityFeature>(new ActivityFeature(_activity));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _activity?.Dispose();
        _services.Dispose();
    }

    [Benchmark(Baseline = true, Description = "request, pipeline without ErrorHub")]
    public Task Without() => _without(_context);

    [Benchmark(Description = "request, pipeline with UseErrorHub()")]
    public Task With() => _with(_context);

    private RequestDelegate Build(bool useErrorHub)
    {
        var app = new ApplicationBuilder(_services);
        if (useErrorHub)
        {
            app.UseErrorHub();
        }

        if (Endpoint == "sync")
        {
            app.Run(context =>
            {
                context.Response.StatusCode = 200;
                return Task.CompletedTask;
            });
        }
        else
        {
            app.Run(async context =>
            {
                await Task.Yield();
                context.Response.StatusCode = 200;
            });
        }

        return app.Build();
    }

    private sealed class ActivityFeature(Activity activity) : IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }
}
