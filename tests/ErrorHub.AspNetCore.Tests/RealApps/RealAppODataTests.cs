using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An OData service: a query option that does not parse or names a property the model lacks is the caller's mistake
/// (OData's 400) and is not reported; an action that throws is, once, with its route, request, user and action.
/// </summary>
public sealed class RealAppODataTests
{
    [Fact]
    public async Task A_failing_odata_action_is_reported_once_and_a_bad_query_option_is_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.OData);

        (await run.SendAsync(HttpMethod.Get, "/odata/Parcels?$filter=Weight gt 2", "ivy")).StatusCode.Should().Be(HttpStatusCode.OK, string.Join("\n", run.Logs.Entries));
        (await run.SendAsync(HttpMethod.Get, "/odata/Parcels?$filter=Colour eq 'red'", "ivy")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Get, "/odata/Parcels?$filter=Weight gt", "ivy")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await run.SendAsync(HttpMethod.Get, "/odata/Parcels?$top=500", "ivy")).StatusCode.Should().Be(HttpStatusCode.BadRequest, "above SetMaxTop");
        (await run.SendAsync(HttpMethod.Get, "/odata/Parcels(1)", "ivy")).StatusCode.Should().Be(HttpStatusCode.OK);

        (await run.SendAsync(HttpMethod.Get, "/odata/Parcels(0)", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        var events = await run.EventsUpToAsync("Parcel 0 has no depot");
        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        RealAppKindsTests.AssertRequestAndUser(reported, "GET /odata/Parcels({key})", "ivy", "/odata/Parcels(0)");
        reported.Culprit.Should().Contain("ParcelsController.Get");
        run.SdkLogNoise.Should().BeEmpty();
    }
}
