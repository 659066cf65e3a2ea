using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An API gateway on YARP: YARP catches every failure of a forwarded request, answers 502 itself and logs it as a
/// Warning, so no middleware sees an exception. A destination that is down is the destination's failure, not reported;
/// a request transform of the gateway's own that throws is the gateway's bug, reported once, with the request and user;
/// the same when the gateway logs through Serilog (its sink hands the SDK Serilog's events, not YARP's log state).
/// </summary>
public sealed class RealAppGatewayTests
{
    [Theory]
    [InlineData(AppLogging.MicrosoftExtensions)]
    [InlineData(AppLogging.Serilog)]
    public async Task Gateway_reports_its_own_transform_failure_once_and_not_a_destination_that_is_down(AppLogging logging)
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Gateway, logging: logging);

        (await SendAsTenantAsync(run, "/orders/1", "acme")).StatusCode.Should().Be(HttpStatusCode.BadGateway, "the orders service is down");
        (await SendAsTenantAsync(run, "/orders/2", "globex")).StatusCode.Should().Be(HttpStatusCode.BadGateway, "the transform failed");

        var events = await run.EventsUpToAsync("'globex'");

        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        reported.Exceptions[0].Type.Should().Be("System.Collections.Generic.KeyNotFoundException");
        reported.Level.Should().Be("error");
        reported.Logger.Should().Be("Yarp.ReverseProxy.Forwarder.HttpForwarder");
        reported.Tags.Should().Contain("mechanism", "YARP");
        reported.Culprit.Should().Contain("TenantRegions.AddRegionHeader");
        reported.Request.Should().NotBeNull();
        new Uri(reported.Request!.Url!).AbsolutePath.Should().Be("/orders/2");
        reported.User!.Id.Should().Be("id-gus");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Theory]
    [InlineData(AppLogging.MicrosoftExtensions)]
    [InlineData(AppLogging.Serilog)]
    public async Task Gateway_reports_its_own_response_transform_failure_once_and_not_the_answers_it_forwards(AppLogging logging)
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Gateway, logging: logging);

        var forwarded = await run.SendAsync(HttpMethod.Get, "/catalog/SKU-1", "gus");
        forwarded.StatusCode.Should().Be(HttpStatusCode.OK);
        forwarded.Headers.GetValues("X-In-Stock").Should().Equal("yes");
        (await run.SendAsync(HttpMethod.Get, "/catalog/SKU-9", "gus")).StatusCode.Should().Be(HttpStatusCode.BadGateway);

        var events = await run.EventsUpToAsync("'unknown'");

        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        reported.Exceptions[0].Type.Should().Be("System.FormatException");
        reported.Tags.Should().Contain("mechanism", "YARP");
        reported.Culprit.Should().Contain("StockLevels.AddInStockHeader");
        new Uri(reported.Request!.Url!).AbsolutePath.Should().Be("/catalog/SKU-9");
        reported.User!.Id.Should().Be("id-gus");
        run.SdkLogNoise.Should().BeEmpty();
    }

    private static async Task<HttpResponseMessage> SendAsTenantAsync(RealAppRun run, string path, string tenant)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-User", "gus");
        request.Headers.Add("X-Tenant", tenant);
        var response = await run.Http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
