using System.Net;
using System.Net.Http.Json;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;
using static ErrorHub.AspNetCore.Tests.RealApps.RealAppKindsTests;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A gRPC service served as HTTP/JSON too (Microsoft.AspNetCore.Grpc.JsonTranscoding), called on its JSON routes over
/// HTTP/1.1 as a browser or curl would: a service method that throws is one event of the route the client called, with
/// the 500 it saw; an <c>RpcException</c> the service chose (NOT_FOUND, the client's 404) is not reported.
/// </summary>
public sealed class RealAppGrpcJsonTranscodingTests
{
    [Fact]
    public async Task Json_transcoding_reports_a_service_method_that_throws_once_with_its_route_and_not_a_chosen_not_found()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.GrpcJsonTranscoding);

        var found = await run.SendAsync(HttpMethod.Get, "/v1/products/LAMP-1", "ivy");
        found.StatusCode.Should().Be(HttpStatusCode.OK);
        (await found.Content.ReadAsStringAsync()).Should().Contain("Desk lamp");
        (await run.SendAsync(HttpMethod.Get, "/v1/products/GONE-4", "ivy")).StatusCode.Should().Be(HttpStatusCode.NotFound, "NOT_FOUND on the JSON route");

        var failed = await run.SendAsync(HttpMethod.Post, "/v1/products/RETIRED-7/price", "ivy", JsonContent.Create(new { quantity = 2 }));
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "UNKNOWN on the JSON route");
        var events = await run.EventsUpToAsync("No price list has product RETIRED-7");

        var reported = events.Should().ContainSingle("the method's failure once, the NOT_FOUND never; " + Describe(events)).Subject;
        AssertRequestAndUser(reported, "POST /v1/products/{sku}/price", "ivy", "/v1/products/RETIRED-7/price");
        reported.Culprit.Should().Be("ErrorHub.RealApps.Grpc.CatalogService.PriceProduct");
        reported.Exceptions[0].Type.Should().EndWith("PriceListMissingException");
        reported.Tags.Should().NotContainKey("grpc.status", "the client saw an HTTP status, not a grpc-status: " + string.Join(", ", reported.Tags));
        run.SdkLogNoise.Should().BeEmpty();
    }
}
