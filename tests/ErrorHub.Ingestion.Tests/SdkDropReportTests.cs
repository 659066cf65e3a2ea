using System.Net;
using ErrorHub.Ingestion.Quotas;
using ErrorHub.Storage;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// An SDK's counts of events it dropped before sending (the batch's optional <c>dropped</c> map) are stored per project,
/// hour and reason beside the server's own refusals, prefixed <c>sdk:</c>, and exported on /metrics — once, with an
/// accepted batch. Batches without the field (older SDKs, other clients) are unaffected.
/// </summary>
public sealed class SdkDropReportTests
{
    [Fact]
    public async Task Counts_sent_with_an_accepted_batch_are_stored_per_project_and_reason_and_shown_on_metrics()
    {
        await using var host = await IngestHost.StartAsync();
        var before = await OperationsTests.MetricsAsync(host);

        (await PostAsync(host, Map(("queue_full", 120), ("before_send", 2)))).Should().Be(HttpStatusCode.Accepted);
        (await PostAsync(host, Map(("queue_full", 30), ("something_new", 4)))).Should().Be(HttpStatusCode.Accepted);
        (await PostAsync(host, dropped: null)).Should().Be(HttpStatusCode.Accepted, "a batch without the field, as older SDKs send");

        var drops = await StoredAsync(host);
        drops.Should().BeEquivalentTo([("sdk:queue_full", 0L, 150L), ("sdk:before_send", 0L, 2L), ("sdk:other", 0L, 4L)]);
        (await host.AllEventsAsync()).Should().HaveCount(9, "the events of all three batches are stored as usual");
        var text = await OperationsTests.MetricsAsync(host);
        (OperationsTests.Value(text, "errorhub_ingest_dropped_events_total", "project_id=\"1\",reason=\"sdk:queue_full\"")
            - OperationsTests.Value(before, "errorhub_ingest_dropped_events_total", "project_id=\"1\",reason=\"sdk:queue_full\"")).Should().Be(150);
    }

    [Fact]
    public async Task Counts_sent_with_a_refused_batch_are_not_stored_because_the_SDK_sends_them_again()
    {
        await using var host = await IngestHost.StartAsync();

        var invalid = Map(("dropped", Map(("queue_full", 7))), ("events", Array(Map(("level", 42)))));
        using (var response = await host.PostAsync(Wire.Encode(invalid)))
        {
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        (await PostAsync(host, Map(("queue_full", -1)))).Should().Be(HttpStatusCode.BadRequest, "a negative count is refused with its batch");

        (await StoredAsync(host)).Should().NotContain(d => d.Reason.StartsWith("sdk:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_batch_with_only_counts_and_no_events_is_accepted_and_its_counts_stored()
    {
        await using var host = await IngestHost.StartAsync();

        using (var response = await host.PostAsync(Wire.Encode(Map(("dropped", Map(("shutdown", 3))), ("events", Array())))))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        (await StoredAsync(host)).Should().Equal(("sdk:shutdown", 0L, 3L));
    }

    private static async Task<HttpStatusCode> PostAsync(IngestHost host, WireMap? dropped)
    {
        var batch = SampleBatch.WithFreshIds().Batch;
        if (dropped is not null)
        {
            batch = batch.With("dropped", dropped);
        }

        using var response = await host.PostAsync(Wire.Encode(batch), gzip: true);
        return response.StatusCode;
    }

    private static async Task<List<(string Reason, long Batches, long Events)>> StoredAsync(IngestHost host)
    {
        await host.Services.GetRequiredService<ProjectDropCounts>().FlushAsync(CancellationToken.None);
        var drops = await host.Projects.GetDropsAsync(IngestHost.ProjectId, DateTimeOffset.UtcNow.AddDays(-1));
        return drops.Select(d => (d.Reason, d.Batches, d.Events)).ToList();
    }
}
