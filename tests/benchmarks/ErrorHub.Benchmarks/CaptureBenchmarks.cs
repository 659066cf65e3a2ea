using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using ErrorHub.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Benchmarks;

/// <summary>
/// What capturing costs the thread that captures (issue 6, benchmark 3): an exception thrown 20 frames deep, caught,
/// and given to <c>CaptureException</c>, against the same throw and catch alone. The event is built in full (type
/// chain, 20+ frames with file and line, scope, context) and then dropped by BeforeSend, so neither the queue filling
/// up nor the background sender's encoding and sending (other threads) is in the numbers; the queue's TryWrite that
/// BeforeSend skips costs tens of nanoseconds and no allocation.
/// </summary>
[MemoryDiagnoser]
public class CaptureBenchmarks
{
    private ServiceProvider _services = null!;
    private ErrorHubClient _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection()
            .AddLogging()
            .AddErrorHub(o =>
            {
                o.Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
                o.BeforeSend = static (_, _) => null;
            })
            .BuildServiceProvider();
        _client = _services.GetRequiredService<ErrorHubClient>();
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, Description = "throw 20 frames deep and catch")]
    public Exception ThrowAndCatch()
    {
        try
        {
            DeepThrow.Frames();
            return null!;
        }
        catch (InvalidOperationException exception)
        {
            return exception;
        }
    }

    [Benchmark(Description = "throw 20 frames deep, catch and CaptureException")]
    public Guid? ThrowCatchAndCapture()
    {
        try
        {
            DeepThrow.Frames();
            return null;
        }
        catch (InvalidOperationException exception)
        {
            return _client.CaptureException(exception);
        }
    }
}
