using System.Net;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// Pages on other origins (Blazor WebAssembly apps) may send events: the preflight is answered for any origin with the SDK's
/// headers, answers to a page's POST are readable by it, and nothing a hostile preflight sends is echoed or costs more.
/// </summary>
public sealed class BrowserCorsTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private IngestHost Host => fixture.Host;

    private static string EventsPath => $"/api/{IngestHost.ProjectId}/events";

    [Fact]
    public async Task A_preflight_from_any_origin_is_answered_204_allowing_POST_with_the_headers_the_sdk_sends_and_no_credentials()
    {
        using var response = await PreflightAsync("https://shop.example.com", "content-type, content-encoding, x-errorhub-key");

        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Origin").Should().Be("*");
        Header(response, "Access-Control-Allow-Methods").Should().Be("POST");
        Header(response, "Access-Control-Allow-Headers")!.Split(", ").Should()
            .BeEquivalentTo("Content-Type", "Content-Encoding", "X-ErrorHub-Key");
        Header(response, "Access-Control-Max-Age").Should().Be("86400");
        response.Headers.Contains("Access-Control-Allow-Credentials").Should().BeFalse("the key is a header, never a cookie");
        response.Content.Headers.Allow.Should().BeEquivalentTo("POST", "OPTIONS");
    }

    [Fact]
    public async Task A_pages_post_gets_its_answer_readable_whether_accepted_or_refused_with_Retry_After_exposed()
    {
        using var accepted = await PostFromPageAsync(Encode(WithFreshIds().Batch), IngestHost.Key);
        using var refused = await PostFromPageAsync(Encode(WithFreshIds().Batch), "not-the-key");

        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        foreach (var response in new[] { accepted, refused })
        {
            Header(response, "Access-Control-Allow-Origin").Should().Be("*");
            Header(response, "Access-Control-Expose-Headers").Should().Be("Retry-After");
        }
    }

    [Fact]
    public async Task A_post_without_an_Origin_a_server_sdks_gets_no_cors_headers()
    {
        using var response = await Host.PostAsync(Encode(WithFreshIds().Batch));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        response.Headers.Contains("Access-Control-Allow-Origin").Should().BeFalse();
    }

    [Theory]
    [InlineData("null")]
    [InlineData("javascript:alert(1)")]
    [InlineData("http://user:pass@evil.example/%00<script>")]
    [InlineData("not an origin at all {}")]
    public async Task A_malformed_Origin_gets_the_same_answer_and_is_never_echoed(string origin)
    {
        using var response = await PreflightAsync(origin, "x-errorhub-key");

        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Origin").Should().Be("*");
        AllHeaderValues(response).Should().NotContain(v => v.Contains(origin, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_huge_Origin_and_thousands_of_requested_headers_change_nothing_in_the_answer()
    {
        var hugeOrigin = "https://" + new string('a', 20_000) + ".example";
        var manyHeaders = string.Join(", ", Enumerable.Range(0, 1_000).Select(i => $"x-h{i}"));

        using var response = await PreflightAsync(hugeOrigin, manyHeaders);

        response.StatusCode.Should().Be(HttpStatusCode.NoContent);
        Header(response, "Access-Control-Allow-Headers")!.Split(", ").Should().HaveCount(3);
        AllHeaderValues(response).Sum(v => v.Length).Should().BeLessThan(1_000, "nothing of the request is reflected");
    }

    [Fact]
    public async Task An_Origin_beyond_the_servers_header_limit_is_refused_431_and_the_server_keeps_serving()
    {
        using var response = await PreflightAsync("https://" + new string('a', 64 * 1024), "x-errorhub-key");

        response.StatusCode.Should().Be(HttpStatusCode.RequestHeaderFieldsTooLarge);
        using var next = await PreflightAsync("https://shop.example.com", "x-errorhub-key");
        next.StatusCode.Should().Be(HttpStatusCode.NoContent);
    }

    private async Task<HttpResponseMessage> PreflightAsync(string origin, string requestedHeaders)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, EventsPath);
        request.Headers.TryAddWithoutValidation("Origin", origin).Should().BeTrue();
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "POST");
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", requestedHeaders);
        return await Host.Client.SendAsync(request);
    }

    private async Task<HttpResponseMessage> PostFromPageAsync(byte[] body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, EventsPath) { Content = IngestHost.MessagePack(body) };
        request.Headers.TryAddWithoutValidation("Origin", "https://shop.example.com");
        request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", key);
        return await Host.Client.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    private static IEnumerable<string> AllHeaderValues(HttpResponseMessage response) =>
        response.Headers.Concat(response.Content.Headers).SelectMany(h => h.Value);
}
