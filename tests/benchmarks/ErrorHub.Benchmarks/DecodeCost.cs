using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Normalizing;
using ErrorHub.Transport;

namespace ErrorHub.Benchmarks;

/// <summary>
/// Decoding a batch of 100 realistic events (the same work as <see cref="CodecBenchmarks.DecodeMessagePackBatch"/>),
/// measured as CPU time of this process rather than wall time, so the figure means something on a shared machine
/// where BenchmarkDotNet's wall-clock means do not. Runs on one thread; GC and JIT threads are counted too.
/// </summary>
internal static class DecodeCost
{
    public static void Run(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var events = Enumerable.Range(0, CodecBenchmarks.BatchSize).Select(_ => RealisticEvent.Create()).ToArray();
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        EventWireWriter.WriteBatch(buffer, events);
        var body = buffer.WrittenSpan.ToArray();
        var decoder = new EventBatchDecoder(new IngestLimits());

        int DecodeOnce() => CodecBenchmarks.DecodeAndNormalize(decoder, body);

        // Warm until tiered compilation has promoted the hot methods.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(Math.Min(seconds, 5)))
        {
            DecodeOnce();
        }

        for (var round = 0; round < 3; round++)
        {
            var process = Process.GetCurrentProcess();
            var cpuStart = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            long decoded = 0;
            while (wall.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                decoded += DecodeOnce();
            }

            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch of {CodecBenchmarks.BatchSize} ({body.Length:N0} bytes): {decoded:N0} events in {cpu:F2} s CPU ({wall.Elapsed.TotalSeconds:F1} s wall): {cpu * 1e6 / decoded:F2} µs CPU per event, {decoded / cpu:N0} events per CPU-second; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        }
    }
}
