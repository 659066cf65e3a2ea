using System.Net;
using System.Net.Http.Json;
using System.Text;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An API on FastEndpoints, set up as its documentation teaches (<c>UseDefaultExceptionHandler()</c>, then
/// <c>UseFastEndpoints()</c>) with <c>UseErrorHub()</c> right after the exception handler, as docs/sdk.md's quick start
/// says: an endpoint or a pre-processor that throws is reported once, with its route, request and user, culprit its own
/// method; what the app answers below 500 (a validator's 400, a malformed body, <c>ThrowError</c>'s 410, the 409 its
/// post-processor answers for its own exception) is not.
/// </summary>
public sealed class RealAppFastEndpointsTests
{
    [Fact]
    public async Task Endpoint_and_pre_processor_failures_are_reported_once_and_what_the_app_answers_below_500_is_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.FastEndpoints);

        (await run.SendAsync(HttpMethod.Get, "/shipments/4", "olga")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await run.SendAsync(HttpMethod.Get, "/shipments/13", "olga")).StatusCode.Should().Be(HttpStatusCode.Gone);
        (await run.SendAsync(HttpMethod.Get, "/shipments/409", "olga")).StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await run.SendAsync(HttpMethod.Post, "/shipments", "olga", JsonContent.Create(new { destination = "", parcels = 0 })))
            .StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Post, "/shipments", "olga", new StringContent("{\"destination\": ", Encoding.UTF8, "application/json")))
            .StatusCode.Should().Be(HttpStatusCode.BadRequest);

        (await run.SendAsync(HttpMethod.Post, "/shipments", "olga", JsonContent.Create(new { destination = "Atlantis", parcels = 2 })))
            .StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Post, "/shipments", "olga", JsonContent.Create(new { destination = "Atlantis", parcels = 3 })))
            .StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await run.SendAsync(HttpMethod.Get, "/shipments/99", "olga")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var failed = await run.SendAsync(HttpMethod.Get, "/shipments/0", "olga");
        failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await failed.Content.ReadAsStringAsync()).Should().Contain("See application log for stack trace", "FastEndpoints' handler still answers");
        using (var eastDepot = new HttpRequestMessage(HttpMethod.Get, "/shipments/5"))
        {
            eastDepot.Headers.Add("X-User", "olga");
            eastDepot.Headers.Add("X-Depot", "east");
            (await run.Http.SendAsync(eastDepot)).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        var events = await run.EventsUpToAsync("'east' was not present");

        events.Should().HaveCount(5, "one per failure, none for the 400s, the 409 and the 410: {0}", RealAppKindsTests.Describe(events));
        var printer = RealAppKindsTests.Single(events, "Label printer jammed on shipment 99");
        RealAppKindsTests.AssertRequestAndUser(printer, "GET /shipments/{id}", "olga", "/shipments/99");
        printer.Culprit.Should().Contain("GetShipment.HandleAsync", "the post-processor that answered it reported it with the hookup");
        var carrier = RealAppKindsTests.Single(events, "Shipment 0 has no carrier");
        RealAppKindsTests.AssertRequestAndUser(carrier, "GET /shipments/{id}", "olga", "/shipments/0");
        carrier.Culprit.Should().Contain("GetShipment.HandleAsync");
        var depot = RealAppKindsTests.Single(events, "'east' was not present");
        RealAppKindsTests.AssertRequestAndUser(depot, "GET /shipments/{id}", "olga", "/shipments/5");
        depot.Culprit.Should().Contain("DepotLookup.PreProcessAsync");
        var bookings = events.Where(e => e.Exceptions.Any(x => x.Value.Contains("No route to Atlantis", StringComparison.Ordinal))).ToList();
        bookings.Should().HaveCount(2);
        RealAppKindsTests.AssertRequestAndUser(bookings[0], "POST /shipments", "olga", "/shipments");
        bookings.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("one endpoint's failure twice is one issue");
        bookings[0].Fingerprint.Should().NotBe(carrier.Fingerprint);
        bookings[0].Culprit.Should().Contain("BookShipmentEndpoint.HandleAsync");
        run.SdkLogNoise.Should().BeEmpty();
    }
}
