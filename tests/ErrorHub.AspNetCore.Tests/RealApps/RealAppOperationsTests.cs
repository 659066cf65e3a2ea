using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// What operations add around an API: health checks, output caching, response compression. A health check that
/// throws is reported (its check crashed; the 503 is the probe's answer, the exception is a failure nobody handled),
/// one that answers Unhealthy is not (that is its job); a failing endpoint behind output caching and compression is
/// reported once, with its status, route, request and user.
/// </summary>
public sealed class RealAppOperationsTests
{
    [Fact]
    public async Task A_throwing_health_check_is_reported_once_an_unhealthy_answer_is_not_and_caching_and_compression_change_nothing()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Operations);

        (await run.SendAsync(HttpMethod.Get, "/healthz/queue", "ivy")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await run.SendAsync(HttpMethod.Get, "/reports/3", "ivy")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await run.SendAsync(HttpMethod.Get, "/reports/3", "ivy")).StatusCode.Should().Be(HttpStatusCode.OK, "cached");
        (await run.SendAsync(HttpMethod.Get, "/healthz/ledger", "ivy")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        using var compressed = new HttpRequestMessage(HttpMethod.Get, "/reports/0");
        compressed.Headers.Add("X-User", "ivy");
        compressed.Headers.Add("Accept-Encoding", "gzip, br");
        (await run.Http.SendAsync(compressed)).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("Report 0 has no template");

        events.Should().HaveCount(2, "the crashed health check and the failed report, not the Unhealthy answer: {0}", RealAppKindsTests.Describe(events));
        var probe = RealAppKindsTests.Single(events, "Ledger database did not answer the health probe");
        probe.Culprit.Should().Contain("LedgerHealthCheck");
        RealAppKindsTests.AssertRequestAndUser(probe, "GET /healthz/ledger", "ivy", "/healthz/ledger");
        var report = RealAppKindsTests.Single(events, "Report 0 has no template");
        RealAppKindsTests.AssertRequestAndUser(report, "GET /reports/{id:int}", "ivy", "/reports/0");
        run.SdkLogNoise.Should().BeEmpty();
    }
}
