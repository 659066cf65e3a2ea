using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ErrorHub.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ErrorHub.Benchmarks;

/// <summary>The parts of what UseErrorHub() does per request to make the request findable (see CurrentRequests).</summary>
[MemoryDiagnoser]
public class CurrentRequestsBenchmarks
{
    private readonly CurrentRequests _requests = new(appAccessor: null, CurrentRequests.DefaultCapacity);
    private readonly DefaultHttpContext _context = new();
    private Activity _activity = null!;

    [GlobalSetup]
    public void Setup()
    {
        _activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
        _context.Features.Set<IHttpActivityFeature>(new ActivityFeature(_activity));
    }

    [Benchmark(Description = "Features.Get<IHttpActivityFeature>() (FeatureCollection)")]
    public Activity? Feature() => _context.Features.Get<IHttpActivityFeature>()?.Activity;

    [Benchmark(Description = "Activity.Current")]
    public Activity? Current() => Activity.Current;

    [Benchmark(Description = "Enter + Exit (claim and free a slot)")]
    public void EnterExit() => _requests.Exit(_requests.Enter(_context));

    [Benchmark(Description = "a look-up from inside the request")]
    public HttpContext? LookUp()
    {
        var claim = _requests.Enter(_context);
        var found = _requests.Current;
        _requests.Exit(claim);
        return found;
    }

    private sealed class ActivityFeature(Activity activity) : IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }
}
