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
        var appends = Histogram(now, "errorhub_ingest_journal_append_duration_seconds");
        var waits = Histogram(now, "errorhub_ingest_journal_wait_duration_seconds");
        return appends.Count <= 0
            ? "none"
            : string.Create(CultureInfo.InvariantCulture, $"{appends.Count:N0}, mean {appends.Mean * 1000:N1} ms, p50 {appends.Quantile(0.5)}, p99 {appends.Quantile(0.99)}, longest {appends.Quantile(1)}") +
                (waits.Count <= 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"; a request's wait from its append to its turn after the fsync: mean {waits.Mean * 1000:N1} ms, p50 {waits.Quantile(0.5)}, p99 {waits.Quantile(0.99)}, longest {waits.Quantile(1)}"));
    }

    /// <summary>
    /// The accepted batches since the start as the server timed them: answer time (p50, p99), and how many met a collection's
    /// pause (any, and 25 ms or more of it), from the server's histograms. Laid against the client's latencies: what the
    /// client adds (its own scheduling), and which share of the slow answers the collector explains.
    /// </summary>
    public async Task<string> AcceptedAsync(HttpClient client)
    {
        var now = await ScrapeAsync(client);
        var answered = Histogram(now, "errorhub_ingest_batch_duration_seconds", "outcome=\"accepted\"");
        var paused = Histogram(now, "errorhub_ingest_batch_gc_pause_seconds");
        if (answered.Count <= 0 || paused.Count <= 0)
        {
            return "none";
        }

        double Share(double atLeast) => 100.0 * paused.CountAbove(atLeast) / paused.Count;
        return string.Create(CultureInfo.InvariantCulture,
            $"{answered.Count:N0} answered in p50 {answered.Quantile(0.5)}, p99 {answered.Quantile(0.99)}, more than 25 ms: {100.0 * answered.CountAbove(0.025) / answered.Count:N1} %; " +
            $"met a GC pause: {Share(0.0001):N1} %, more than 25 ms of pause: {Share(0.025):N1} %, GC pause per batch mean {paused.Mean * 1000:N1} ms");
    }

    /// <summary>
    /// The same batches as ASP.NET Core's hosting timed them (<c>http.server.request.duration</c> of the 202 answers, from the
    /// request's headers parsed to its answer written: the middleware, the handler and the response), and the shares of the
    /// server's timings above 25 ms, hosting's and the handler's: laid against the client's, they split the tail into the
    /// client and the wait before Kestrel reads the request / the pipeline around the handler / the handler.
    /// </summary>
    public async Task<(string Text, double HostingAbove25, double HandlerAbove25)> TailAsync(HttpClient client)
    {
        var now = await ScrapeAsync(client);
        var hosting = Histogram(now, "http_server_request_duration_seconds", "http_response_status_code=\"202\"");
        var handler = Histogram(now, "errorhub_ingest_batch_duration_seconds", "outcome=\"accepted\"");
        if (hosting.Count <= 0)
        {
            return ("none", double.NaN, double.NaN);
        }

        var hostingAbove = 100.0 * hosting.CountAbove(0.025) / hosting.Count;
        var handlerAbove = handler.Count > 0 ? 100.0 * handler.CountAbove(0.025) / handler.Count : double.NaN;
        return (string.Create(CultureInfo.InvariantCulture,
            $"{hosting.Count:N0} answered 202 in p50 {hosting.Quantile(0.5)}, p99 {hosting.Quantile(0.99)}, mean {hosting.Mean * 1000:N1} ms, more than 25 ms: {hostingAbove:N2} % (more than 50 ms: {100.0 * hosting.CountAbove(0.05) / hosting.Count:N2} %)"),
            hostingAbove, handlerAbove);
    }

    private BucketHistogram Histogram(Dictionary<string, double> now, string name, string? label = null)
    {
        var prefix = name + "_bucket{" + (label is null ? "" : label + ",") + "le=\"";
        var buckets = now.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => (Le: k[prefix.Length..k.IndexOf('"', prefix.Length)], Count: now[k] - _start.GetValueOrDefault(k)))
            .Select(b => (Le: b.Le == "+Inf" ? double.PositiveInfinity : double.Parse(b.Le, CultureInfo.InvariantCulture), b.Count))
            .OrderBy(b => b.Le)
            .ToList();
        var suffix = label is null ? "" : "{" + label + "}";
        var count = now.GetValueOrDefault(name + "_count" + suffix) - _start.GetValueOrDefault(name + "_count" + suffix);
        var sum = now.GetValueOrDefault(name + "_sum" + suffix) - _start.GetValueOrDefault(name + "_sum" + suffix);
        return new BucketHistogram(buckets, count, sum);
    }

    /// <summary>A Prometheus histogram's change over a phase: cumulative buckets by upper bound (seconds).</summary>
    private sealed record BucketHistogram(List<(double Le, double Count)> Buckets, double Count, double Sum)
    {
        public double Mean => Count > 0 ? Sum / Count : 0;

        /// <summary>The upper bound of the bucket the quantile falls in.</summary>
        public string Quantile(double q) => Buckets.FirstOrDefault(b => b.Count >= q * Count) is { Count: > 0 } bucket
            ? double.IsPositiveInfinity(bucket.Le) ? "> " + (Buckets.Count > 1 ? (Buckets[^2].Le * 1000).ToString("N0", CultureInfo.InvariantCulture) : "?") + " ms" : $"≤ {(bucket.Le * 1000).ToString("0.#", CultureInfo.InvariantCulture)} ms"
            : "?";

        /// <summary>How many took more than <paramref name="bound"/> seconds (a bucket bound).</summary>
        public double CountAbove(double bound) => Count - Buckets.Where(b => b.Le <= bound + 1e-12).Select(b => b.Count).DefaultIfEmpty(0).Max();
    }

    /// <summary>Every sample of the Prometheus text, by its name and labels; nothing when the server does not answer.</summary>
    internal static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient client)
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
                    // Series that differ only in labels left out (route, method, protocol) are added together.
                    var key = Normalize(parts[0]);
                    samples[key] = samples.GetValueOrDefault(key) + value;
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
        var kept = sample[(brace + 1)..^1].Split(',').Where(l => l.StartsWith("gc_heap_generation=", StringComparison.Ordinal) || l.StartsWith("outcome=", StringComparison.Ordinal) || l.StartsWith("http_response_status_code=", StringComparison.Ordinal) || l.StartsWith("le=", StringComparison.Ordinal)).ToList();
        return kept.Count == 0 ? name : $"{name}{{{string.Join(',', kept)}}}";
    }
}
