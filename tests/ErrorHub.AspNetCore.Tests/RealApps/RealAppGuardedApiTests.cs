using System.Net;
using System.Text;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A versioned API (Asp.Versioning) behind what ASP.NET Core ships to turn requests away: authentication and
/// authorization (401, 403), a rate limiter (429), <c>[ApiController]</c>'s automatic 400s (a body that fails
/// validation, one that is not JSON, a route value that does not bind), an unsupported API version (404), and an MVC
/// form posted without its antiforgery token (400). None of those is a failure of the app's code and none is
/// reported; what the app's code throws is, once, with its route, request, user and action.
/// </summary>
public sealed class RealAppGuardedApiTests
{
    [Fact]
    public async Task Requests_the_framework_turns_away_are_not_reported_and_a_failing_versioned_action_is_reported_once()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.GuardedApi);

        (await run.SendAsync(HttpMethod.Get, "/api/v2/invoices/5")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await run.SendAsync(HttpMethod.Delete, "/api/v2/invoices/5", "ada")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await run.SendAsync(HttpMethod.Get, "/api/v1/invoices/5", "ada")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await run.SendAsync(HttpMethod.Get, "/api/v9/invoices/5", "ada")).StatusCode.Should().Be(HttpStatusCode.NotFound, "Asp.Versioning answers an unsupported version in the path as a route nothing serves");
        (await run.SendAsync(HttpMethod.Post, "/api/v2/invoices", "ada", Json("""{"amount": -3}"""))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Post, "/api/v2/invoices", "ada", Json("""{"amount": """))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Post, "/api/v2/invoices", "ada", Json("""{"amount": "many", "customer": "Acme"}"""))).StatusCode
            .Should().Be(HttpStatusCode.BadRequest, "a value that does not bind");
        (await run.SendAsync(HttpMethod.Get, "/api/v2/invoices/export", "ada")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await run.SendAsync(HttpMethod.Get, "/api/v2/invoices/export", "ada")).StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        (await run.SendAsync(HttpMethod.Post, "/billing/address", "ada", new FormUrlEncodedContent([new("street", "Main St 1")])))
            .StatusCode.Should().Be(HttpStatusCode.BadRequest, "the form came without its antiforgery token");

        var failed = await run.SendAsync(HttpMethod.Get, "/api/v2/invoices/0", "ada");

        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Invoice 0 has no currency");
        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "GET /api/v{version:apiVersion}/invoices/{id:int}", "ada", "/api/v2/invoices/0");
        reported.Culprit.Should().Contain("InvoicesController.GetV2");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_form_action_that_fails_after_its_antiforgery_token_was_accepted_is_reported_once()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.GuardedApi);

        var token = await (await run.SendAsync(HttpMethod.Get, "/billing/address", "ada")).Content.ReadAsStringAsync();
        var failed = await run.SendAsync(HttpMethod.Post, "/billing/address", "ada",
            new FormUrlEncodedContent([new("street", "Main St 1"), new("__RequestVerificationToken", token)]));

        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Address book refused Main St 1");
        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "POST /billing/address", "ada", "/billing/address");
        reported.Culprit.Should().Contain("BillingAddressController.Update");
        run.SdkLogNoise.Should().BeEmpty();
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
