using System.Net;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>Runs alone: it measures the whole process's memory, which other tests running at the same time would disturb.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementGroup
{
    public const string Name = "memory measurement";
}

[Collection(MemoryMeasurementGroup.Name)]
public sealed class IngestMemoryTests
{
    private const int Rounds = 40;

    [Fact]
    public async Task Memory_stays_bounded_while_oversized_bodies_and_gzip_bombs_keep_coming()
    {
        await using var host = await IngestHost.StartAsync();
        var bomb = TestBodies.GzipBomb(64L * 1024 * 1024);
        byte[] lyingBomb = [.. bomb[..^4], 100, 0, 0, 0]; // its trailer claims 100 bytes
        var oversized = 6L * 1024 * 1024;

        // One round first: pooled buffers and connections exist after it and are not growth.
        await SendRoundAsync(host, bomb, lyingBomb, oversized);
        var retainedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        for (var round = 0; round < Rounds; round++)
        {
            await SendRoundAsync(host, bomb, lyingBomb, oversized);
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var retainedGrowth = GC.GetTotalMemory(forceFullCollection: true) - retainedBefore;

        // Each round pushes 6 MiB as sent and twice 64 MiB after inflation at the server: buffering any of it
        // would allocate gigabytes over the rounds. Reading stops at the limits, into pooled buffers, instead.
        var pushed = Rounds * (oversized + (2 * 64L * 1024 * 1024));
        allocated.Should().BeLessThan(pushed / 20, "rejected bodies must not be buffered whole (allocated {0:N0} bytes for {1:N0} pushed)", allocated, pushed);
        retainedGrowth.Should().BeLessThan(32L * 1024 * 1024, "nothing of a rejected request may stay alive");

        var (batch, _) = SampleBatch.WithFreshIds();
        using var good = await host.PostAsync(Wire.Encode(batch));
        good.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    private static async Task SendRoundAsync(IngestHost host, byte[] bomb, byte[] lyingBomb, long oversized)
    {
        using (var streamed = await host.PostAsync(TestBodies.WithMessagePackHeaders(new StreamedContent(oversized))))
        {
            streamed.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        }

        foreach (var compressed in new[] { bomb, lyingBomb })
        {
            using var inflated = await host.PostAsync(TestBodies.WithMessagePackHeaders(new ByteArrayContent(compressed), gzip: true));
            inflated.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        }
    }
}
