using System.Diagnostics;
using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// Where a phase's peak resident memory is: the server's resident set (VmRSS) sampled four times a second, and at the
/// sample that was highest, what the collector said at its last collection (committed memory, each generation's heap
/// after it, fragmentation; the runtime's meter on <c>/metrics</c>). Resident memory above the collector's committed
/// memory is native: the runtime itself, thread stacks, ClickHouse's and HTTP's native buffers, the code.
/// </summary>
internal sealed class MemoryWatch : IAsyncDisposable
{
    private static readonly string[] Generations = ["gen0", "gen1", "gen2", "loh", "poh"];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private (double Seconds, long ResidentBytes, Dictionary<string, double> Metrics)? _peak;
    private double _mostCommitted;

    private MemoryWatch(HttpClient client, int processId) => _sampling = SampleAsync(client, processId);

    public static MemoryWatch Start(HttpClient client, int processId) => new(client, processId);

    private async Task SampleAsync(HttpClient client, int processId)
    {
        while (!_stop.IsCancellationRequested)
        {
            var resident = ResidentBytes(processId);
            var metrics = await GcWatch.ScrapeAsync(client);
            _mostCommitted = Math.Max(_mostCommitted, metrics.GetValueOrDefault("dotnet_gc_last_collection_memory_committed_size_bytes"));
            if (_peak is not { } peak || resident > peak.ResidentBytes)
            {
                _peak = (_clock.Elapsed.TotalSeconds, resident, metrics);
            }

            try
            {
                await Task.Delay(250, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The peak sample, laid out for the report.</summary>
    public async Task<string> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        if (_peak is not { } peak)
        {
            return "no sample";
        }

        static string Mb(double bytes) => (bytes / (1024 * 1024)).ToString("N0", CultureInfo.InvariantCulture);
        var metrics = peak.Metrics;
        var committed = metrics.GetValueOrDefault("dotnet_gc_last_collection_memory_committed_size_bytes");
        var heaps = string.Join(" / ", Generations.Select(g => $"{g} {Mb(metrics.GetValueOrDefault($"dotnet_gc_last_collection_heap_size_bytes{{gc_heap_generation=\"{g}\"}}"))}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"peak sampled RSS {Mb(peak.ResidentBytes)} MB at {peak.Seconds:N1} s; then: GC committed {Mb(committed)} MB, heaps after the last collection {heaps} MB, " +
            $"fragmentation {Mb(metrics.GetValueOrDefault("dotnet_gc_last_collection_heap_fragmentation_size_bytes"))} MB, not the GC's (native, code, stacks) {Mb(peak.ResidentBytes - committed)} MB; " +
            $"most GC committed seen {Mb(_mostCommitted)} MB");
    }

    private static long ResidentBytes(int processId)
    {
        try
        {
            var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)) ?? "VmRSS: 0 kB";
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}
