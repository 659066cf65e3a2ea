using System.Net;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

public sealed class ConcurrentIngestTests
{
    [Fact]
    public async Task Twenty_parallel_requests_all_get_202_and_every_event_is_in_the_store()
    {
        const int Parallel = 20;
        const int Rounds = 3;
        await using var host = await IngestHost.StartAsync();
        var batches = Enumerable.Range(0, Parallel * Rounds).Select(_ => SampleBatch.WithFreshIds(copies: 4)).ToList();

        for (var round = 0; round < Rounds; round++)
        {
            var requests = batches.Skip(round * Parallel).Take(Parallel).Select(async (b, i) =>
            {
                using var response = await host.PostAsync(Wire.Encode(b.Batch), gzip: i % 2 == 0);
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            });

            var answers = await Task.WhenAll(requests);

            answers.Should().AllSatisfy(a =>
            {
                a.StatusCode.Should().Be(HttpStatusCode.Accepted);
                a.Body.Should().Be("""{"accepted":12}""");
            });
        }

        var missing = new List<Guid>();
        foreach (var id in batches.SelectMany(b => b.Ids))
        {
            if (await host.Issues.GetEventAsync(IngestHost.ProjectId, id) is null)
            {
                missing.Add(id);
            }
        }

        missing.Should().BeEmpty("a 202 promises the events are stored");
        host.Logs.Errors.Should().BeEmpty();
    }
}
