using System.Buffers;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using ErrorHub.Internal;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks;

/// <summary>
/// What the background sender pays per event of an exception storm to write it: an event captured from an exception
/// thrown 20 frames deep (as <c>sdk-storm</c> throws it), written once with its exception entries made first (names,
/// files and lines looked up per frame, then each string encoded: how every event was written before the sender wrote
/// captured frames directly), and once straight from its captured frames (each frame's bytes made once per place).
/// </summary>
[MemoryDiagnoser]
public class SenderEncodeBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private ErrorHubEvent _captured = null!;
    private CapturedChain _chain = null!;

    [GlobalSetup]
    public void Setup()
    {
        var converter = new ExceptionConverter(new ErrorHubOptions());
        _captured = new ErrorHubEvent
        {
            Release = "Shop@1.4.2",
            Environment = "production",
            ServerName = "web-1",
            Runtime = EnvironmentInfo.Runtime,
            OperatingSystem = EnvironmentInfo.OperatingSystem,
        };
        _captured.Tags["http.method"] = "GET";
        _captured.Tags["route"] = "GET /throw";
        _captured.Request = new RequestInfo { Method = "GET", Url = "http://127.0.0.1:5000/throw" };
        _captured.Request.Headers["Host"] = "127.0.0.1:5000";
        converter.AddExceptions(_captured, DeepThrow.Caught());
        _chain = _captured.UnreadCapturedChain!;
    }

    [Benchmark(Baseline = true, Description = "write an event: exception entries made first")]
    public int WithEntries()
    {
        var e = new ErrorHubEvent
        {
            EventId = _captured.EventId,
            Timestamp = _captured.Timestamp,
            Release = _captured.Release,
            Environment = _captured.Environment,
            ServerName = _captured.ServerName,
            Runtime = _captured.Runtime,
            OperatingSystem = _captured.OperatingSystem,
            Request = _captured.Request,
        };
        foreach (var (key, value) in _captured.Tags)
        {
            e.Tags[key] = value;
        }

        foreach (var entry in _chain.ToEntries())
        {
            e.Exceptions.Add(entry);
        }

        return Write(e);
    }

    [Benchmark(Description = "write an event: straight from the captured frames")]
    public int FromCapturedFrames() => Write(_captured);

    private int Write(ErrorHubEvent e)
    {
        _buffer.ResetWrittenCount();
        EventWireWriter.WriteEvent(_buffer, e);
        return _buffer.WrittenCount;
    }
}
