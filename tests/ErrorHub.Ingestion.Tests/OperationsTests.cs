using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// What an operator and an orchestrator see: liveness, readiness and Prometheus metrics over real HTTP.
/// </summary>
public sealed partial class OperationsTests
{
    [Fact]
    public async Task A_hosts_metrics_are_its_own_whatever_another_host_in_the_process_counts_or_stops()
    {
        await using var host = await IngestHost.StartAsync();
        await using (var other = await IngestHost.StartAsync())
        {
            using (await other.PostAsync(IngestHost.MessagePack([0xc1]))) { }
            Value(await MetricsAsync(other), "errorhub_ingest_batches_total", "outcome=\"invalid\"").Should().Be(1);
            Value(await MetricsAsync(host), "errorhub_ingest_batches_total", "outcome=\"invalid\"").Should().Be(0, "the other host's refusal is not this one's");
        }

        // The other host's instruments are gone now; before the fix, their disposal retired this host's series of the same names.
        (await MetricsAsync(host)).Should().NotContain("errorhub_ingest_batches_total{");
        using (await host.PostAsync(IngestHost.MessagePack([0xc1]))) { }
        using (await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch))) { }
        var text = await MetricsAsync(host);
        Value(text, "errorhub_ingest_batches_total", "outcome=\"invalid\"").Should().Be(1);
        Value(text, "errorhub_ingest_batches_total", "outcome=\"accepted\"").Should().Be(1);
        text.Should().Contain("http_server_request_duration_seconds", "ASP.NET Core's own meters are still exported").And.Contain("dotnet_gc_collections_total", "and the runtime's");
    }

    [Fact]
    public async Task Healthz_is_alive_and_readyz_is_ready_while_the_store_answers_and_503_while_it_does_not()
    {
        await using var host = await IngestHost.StartAsync();

        (await host.Client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await host.Client.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);

        // The database file replaced by a directory: SQLite cannot open it.
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(host.DatabasePath + suffix);
        }

        Directory.CreateDirectory(host.DatabasePath);
        try
        {
            using var notReady = await host.Client.GetAsync("/readyz");
            notReady.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a load balancer must send events elsewhere");
            (await host.Client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK, "a store problem must not get the process restarted");
        }
        finally
        {
            Directory.Delete(host.DatabasePath);
        }
    }

    [Theory]
    [InlineData("POST", "/healthz")]
    [InlineData("PUT", "/readyz")]
    [InlineData("DELETE", "/metrics")]
    [InlineData("TRACE", "/healthz")]
    public async Task The_operations_endpoints_take_GET_and_HEAD_and_answer_any_other_method_405_with_an_Allow_header(string method, string path)
    {
        await using var host = await IngestHost.StartAsync();

        using var refused = await host.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        using var head = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        refused.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, "a 200 would tell the client its {0} did something", method);
        refused.Content.Headers.Allow.Should().BeEquivalentTo("GET", "HEAD");
        head.StatusCode.Should().Be(HttpStatusCode.OK, "load balancers' health checks may send HEAD");
    }

    [Fact]
    public async Task Metrics_count_accepted_events_and_each_kind_of_refusal_in_prometheus_text()
    {
        await using var host = await IngestHost.StartAsync();
        var before = await MetricsAsync(host);

        using (await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch))) { }
        using (await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch))) { }
        using (await host.PostAsync(IngestHost.MessagePack(Wire.Encode(SampleBatch.WithFreshIds().Batch)), key: "wrong-key-0123456789")) { }
        using (await host.PostAsync(Wire.Encode(Wire.Map(("events", Wire.Array(Wire.Map(("level", "error")))))))) { }

        var text = await MetricsAsync(host);
        (Value(text, "errorhub_ingest_events_accepted_total") - Value(before, "errorhub_ingest_events_accepted_total")).Should().Be(6, "two batches of three events");
        double Delta(string name, string label) => Value(text, name, label) - Value(before, name, label);
        Delta("errorhub_ingest_batches_total", "outcome=\"accepted\"").Should().Be(2);
        Delta("errorhub_ingest_batches_total", "outcome=\"unauthorized\"").Should().Be(1);
        Delta("errorhub_ingest_batches_total", "outcome=\"invalid\"").Should().Be(1);
        Delta("errorhub_ingest_batch_duration_seconds_count", "outcome=\"accepted\"").Should().Be(2);
        Value(text, "errorhub_ingest_batch_duration_seconds_bucket", "le=\"10\"").Should().BeGreaterThan(0, "latency buckets are in seconds");
        text.Should().Contain("errorhub_ingest_queue_events").And.Contain("errorhub_ingest_inflight_bytes").And.Contain("errorhub_ingest_store_failures");
    }

    internal static async Task<string> MetricsAsync(IngestHost host)
    {
        using var response = await host.Client.GetAsync("/metrics");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of a sample line, e.g. <c>errorhub_ingest_batches_total{outcome="accepted"} 2</c>; 0 when absent.</summary>
    internal static double Value(string text, string name, string? label = null)
    {
        foreach (var line in text.Split('\n'))
        {
            var match = Sample().Match(line);
            if (match.Success && match.Groups["name"].Value == name && (label is null || match.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})?\s+(?<value>\S+)")]
    private static partial Regex Sample();
}

[CollectionDefinition(nameof(OperationsTests), DisableParallelization = true)]
public sealed class OperationsTestsRunAlone;
