using System.Net;
using System.Text.Json;
using ErrorHub.RealApps;
using ErrorHub.RealApps.Storefront;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.AspNetCore.Tests.RealApps.RealAppKindsTests;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A storefront that calls a billing service through Refit clients (<c>AddRefitClient</c>): the service's 500 (Refit's
/// <c>ApiException</c>) and a call it never answers (the client's timeout, a <c>TaskCanceledException</c>) are each one
/// event of the storefront's request, one issue per endpoint whatever the ids, without the service's response body.
/// Each test makes the other kind of failure last, as its sentinel.
/// </summary>
public sealed class RealAppRefitTests
{
    private const string TimedOut = "HttpClient.Timeout";

    [Fact]
    public async Task Refit_reports_a_downstream_500_once_per_request_one_issue_per_endpoint_without_the_downstream_body()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Storefront);

        (await run.SendAsync(HttpMethod.Get, "/account/invoices/2", "ivy")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await run.SendAsync(HttpMethod.Get, "/account/invoices/3", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/account/invoices/15", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/account/statements/1", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var all = await run.EventsUpToAsync(TimedOut);
        var events = Of(all, "/account/invoices/");

        events.Should().HaveCount(2, "one per failed request; " + Describe(all));
        foreach (var (reported, id) in events.OrderBy(e => e.Request!.Url!.Length).Zip([3, 15]))
        {
            AssertRequestAndUser(reported, "GET /account/invoices/{id:int}", "ivy", $"/account/invoices/{id}");
            reported.Exceptions[0].Type.Should().Be("Refit.ApiException");
            reported.Exceptions[0].Value.Should().Contain("500");
            reported.Culprit.Should().Contain("ShowInvoice");
        }

        events.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("one issue for the endpoint, whichever invoice failed");
        var stored = JsonSerializer.Serialize(events);
        stored.Should().NotContain(StorefrontApi.DownstreamSecret, "the billing service's response body is not part of the event");
        stored.Should().NotContain("Ledger unavailable");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Refit_reports_a_downstream_call_that_times_out_once_per_request_one_issue_per_endpoint()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Storefront);

        (await run.SendAsync(HttpMethod.Get, "/account/statements/8", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/account/statements/19", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/account/invoices/1", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var all = await run.EventsUpToAsync("500");
        var events = Of(all, "/account/statements/");

        events.Should().HaveCount(2, "one per failed request; " + Describe(all));
        foreach (var (reported, id) in events.OrderBy(e => e.Request!.Url!.Length).Zip([8, 19]))
        {
            AssertRequestAndUser(reported, "GET /account/statements/{id:int}", "ivy", $"/account/statements/{id}");
            reported.Exceptions.Should().Contain(x => x.Type == "System.Threading.Tasks.TaskCanceledException" && x.Value.Contains(TimedOut), "HttpClient's timeout");
            reported.Culprit.Should().Contain("ShowStatement");
        }

        events.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("one issue for the endpoint, whichever statement timed out");
        run.SdkLogNoise.Should().BeEmpty();
    }

    private static List<ErrorEvent> Of(List<ErrorEvent> events, string path) =>
        events.Where(e => e.Request?.Url?.Contains(path, StringComparison.Ordinal) == true).ToList();
}
