using System.Net;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests;

/// <summary>2 MiB as sent, 16 MiB after gzip: at the limit is accepted, one byte past it is 413, and the server carries on.</summary>
public sealed class IngestSizeLimitTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private const int MaxBody = 2 * 1024 * 1024;
    private const int MaxDecompressed = 16 * 1024 * 1024;

    private IngestHost Host => fixture.Host;

    [Fact]
    public async Task A_body_of_exactly_2_MiB_is_accepted_with_and_without_content_length()
    {
        var body = TestBodies.BatchOfExactly(MaxBody);

        using var withLength = await Host.PostAsync(body);
        using var streamed = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new StreamedContent(body.Length, body)));

        withLength.StatusCode.Should().Be(HttpStatusCode.Accepted);
        streamed.StatusCode.Should().Be(HttpStatusCode.Accepted, await streamed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_body_one_byte_over_2_MiB_by_content_length_is_413_and_the_next_request_is_served()
    {
        var body = TestBodies.BatchOfExactly(MaxBody + 1);

        using var response = await Host.PostAsync(body);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("2097152");
        await ShouldServeAGoodRequest();
    }

    [Fact]
    public async Task Configured_limits_replace_the_defaults_for_the_body_and_the_events_of_a_batch()
    {
        await using var host = await IngestHost.StartAsync(new()
        {
            ["ErrorHub:Ingest:MaxBodyBytes"] = "4096",
            ["ErrorHub:Ingest:MaxEventsPerBatch"] = "2",
        });

        using var tooLarge = await host.PostAsync(Wire.Encode(Wire.Map(("events", Wire.Array(Wire.Map(("message", new string('a', 6000))))))));
        using var tooMany = await host.PostAsync(Wire.Encode(SampleBatch.WithFreshIds().Batch));

        tooLarge.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await IngestHost.JsonAsync(tooLarge)).GetProperty("error").GetString().Should().Contain("4096");
        tooMany.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the sample batch has three events");
        (await IngestHost.JsonAsync(tooMany)).GetProperty("field").GetString().Should().Be("events");
    }

    [Theory]
    [InlineData(MaxBody + 1)]
    [InlineData(3 * MaxBody)]
    public async Task A_streamed_body_without_content_length_over_2_MiB_is_413_and_the_next_request_is_served(long size)
    {
        using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new StreamedContent(size, TestBodies.BatchOfExactly(MaxBody)[..1000])));

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("exceeds the limit");
        await ShouldServeAGoodRequest();
    }

    [Fact]
    public async Task A_body_several_times_the_limit_gets_its_413_even_when_the_client_sends_all_of_it()
    {
        var body = new byte[3 * MaxBody];

        using var response = await Host.PostAsync(IngestHost.MessagePack(body));

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        await ShouldServeAGoodRequest();
    }

    [Fact]
    public async Task A_body_far_over_the_limit_does_not_harm_the_server()
    {
        // Past what the server drains, it may close the connection instead of reading everything: either answer is fine.
        try
        {
            using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new StreamedContent(64L * 1024 * 1024)));
            response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        }
        catch (HttpRequestException)
        {
        }

        await ShouldServeAGoodRequest();
        Host.Logs.Errors.Should().BeEmpty();
    }

    [Fact]
    public async Task A_gzip_body_that_inflates_to_exactly_16_MiB_is_accepted()
    {
        var body = IngestHost.Gzip(TestBodies.BatchOfExactly(MaxDecompressed));

        using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new ByteArrayContent(body), gzip: true));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    [Fact]
    public async Task A_gzip_body_that_inflates_one_byte_past_16_MiB_is_413()
    {
        var body = IngestHost.Gzip(TestBodies.BatchOfExactly(MaxDecompressed + 1));

        using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new ByteArrayContent(body), gzip: true));

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("decompressed").And.Contain("16777216");
    }

    [Fact]
    public async Task A_gzip_bomb_of_a_few_kilobytes_is_413_and_the_next_request_is_served()
    {
        var bomb = TestBodies.GzipBomb(32L * 1024 * 1024); // 32 MiB of zeros

        bomb.Length.Should().BeLessThan(64 * 1024, "the bomb is small as sent");
        using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new ByteArrayContent(bomb), gzip: true));

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Contain("decompressed");
        await ShouldServeAGoodRequest();
    }

    [Fact]
    public async Task A_gzip_bomb_whose_trailer_understates_its_size_is_still_stopped_at_the_limit()
    {
        var bomb = TestBodies.GzipBomb(32L * 1024 * 1024);
        byte[] lying = [.. bomb[..^4], 0x10, 0, 0, 0]; // "16 bytes"

        using var response = await Host.PostAsync(TestBodies.WithMessagePackHeaders(new ByteArrayContent(lying), gzip: true));

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await IngestHost.JsonAsync(response)).GetProperty("error").GetString().Should().Be("the decompressed body exceeds the limit of 16777216 bytes");
        await ShouldServeAGoodRequest();
    }

    private async Task ShouldServeAGoodRequest()
    {
        var (batch, ids) = SampleBatch.WithFreshIds();
        using var response = await Host.PostAsync(Wire.Encode(batch));
        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, ids[0])).Should().NotBeNull();
    }
}
