using System.Globalization;

namespace ErrorHub.Benchmarks.Load;

/// <summary>
/// The server's garbage collections and pause time during one phase, and its journal's appends, from its own <c>/metrics</c>
/// (the runtime's meter: <c>dotnet.gc.collections</c> by generation, <c>dotnet.gc.pause.time</c>; ingest's
/// <c>errorhub.ingest.journal.append.duration</c>): what a phase's tail latency can be laid against.
/// </summary>
internal sealed class GcWatch
{
    private readonly Dictionary<string, double> _start;

    private GcWatch(Dictionary<string, double> start) => _start = start;

    public static async Task<GcWatch> StartAsync(HttpClient client) => new(await ScrapeAsync(client));

    public async Task<string> StopAsync(HttpClient client, TimeSpan elapsed)
    {
        var now = await ScrapeAsync(client);
        double Delta(string name) => now.GetValueOrDefault(name) - _start.GetValueOrDefault(name);
        var gen0 = Delta("dotnet_gc_collections_total{gc_heap_generation=\"gen0\"}");
        var gen1 = Delta("dotnet_gc_collections_total{gc_heap_generation=\"gen1\"}");
        var gen2 = Delta("dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}");
        var pause = Delta("dotnet_gc_pause_time_seconds_total");
        var collections = gen0 + gen1 + gen2;
        return string.Create(CultureInfo.InvariantCulture,
            $"{gen0:N0} gen0 / {gen1:N0} gen1 / {gen2:N0} gen2 collections, {pause * 1000:N0} ms paused ({100 * pause / Math.Max(elapsed.TotalSeconds, 0.001):N1} % of the phase; {(collections > 0 ? pause * 1000 / collections : 0):N1} ms a collection)");
    }

    /// <summary>How long the journal's appends (one write and fsync for what gathered) took since the start, from its histogram's buckets.</summary>
    public async Task<string> JournalAppendsAsync(HttpClient client)
    {
        var now = await ScrapeAsync(client);
        const string Bucket = "errorhub_ingest_journal_append_duration_seconds_bucket{le=\"";
        var buckets = now.Keys.Where(k => k.StartsWith(Bucket, StringComparison.Ordinal))
            .Select(k => (Le: k[Bucket.Length..k.IndexOf('"', Bucket.Length)], Count: now[k] - _start.GetValueOrDefault(k)))
            .ToList();
        var count = now.GetValueOrDefault("errorhub_ingest_journal_append_duration_seconds_count") - _start.GetValueOrDefault("errorhub_ingest_journal_append_duration_seconds_count");
        var sum = now.GetValueOrDefault("errorhub_ingest_journal_append_duration_seconds_sum") - _start.GetValueOrDefault("errorhub_ingest_journal_append_duration_seconds_sum");
        if (count <= 0)
        {
            return "none";
        }

        string Quantile(double q) => buckets.FirstOrDefault(b => b.Count >= q * count).Le is { } le ? $"≤ {(le == "+Inf" ? "∞" : (double.Parse(le, CultureInfo.InvariantCulture) * 1000).ToString("N0", CultureInfo.InvariantCulture))} ms" : "?";
        return string.Create(CultureInfo.InvariantCulture, $"{count:N0}, mean {sum * 1000 / count:N1} ms, p50 {Quantile(0.5)}, p99 {Quantile(0.99)}, longest {Quantile(1)}");
    }

    /// <summary>Every sample of the Prometheus text, by its name and labels; nothing when the server does not answer.</summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient client)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            var text = await client.GetStringAsync("/metrics");
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                // name{labels} value [timestamp]; label values here hold no spaces
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    samples[Normalize(parts[0])] = value;
                }
            }
        }
        catch (HttpRequestException)
        {
        }

        return samples;
    }

    /// <summary>The exporter adds the scope's labels (otel_scope_name, ...) in front: keep only the ones named here.</summary>
    private static string Normalize(string sample)
    {
        var brace = sample.IndexOf('{', StringComparison.Ordinal);
        if (brace < 0)
        {
            return sample;
        }

        var name = sample[..brace];
        var kept = sample[(brace + 1)..^1].Split(',').Where(l => l.StartsWith("gc_heap_generation=", StringComparison.Ordinal) || l.StartsWith("le=", StringComparison.Ordinal)).ToList();
        return kept.Count == 0 ? name : $"{name}{{{string.Join(',', kept)}}}";
    }
}
