using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// A Blazor Web App's statically rendered pages: no circuit, each page is a plain request. A component that fails ends
/// the request (the error page answers 500); a failure an <c>ErrorBoundary</c> contained (it renders its fallback and
/// the page answers 200) is reported too, at once, as Blazor's ErrorBoundary log entry (a Warning) says it happened.
/// Both once, named by the component's method, with the request and the user. (Interactive circuits: the system tests'
/// BlazorCircuitTests, in a real browser.)
/// <para>
/// Blazor leaves the failed page's task faulted and unobserved: the runtime raises it as an unobserved task exception
/// when the task is finalized, to every ErrorHub of the process. The app's own ErrorHub knows it (reported once); another
/// app of this test process would report it as its own, so this test runs alone and has it raised before its app stops.
/// </para>
/// </summary>
[Collection(nameof(RealAppBlazorStaticTests))]
[CollectionDefinition(nameof(RealAppBlazorStaticTests), DisableParallelization = true)]
public sealed class RealAppBlazorStaticTests
{
    [Fact]
    public async Task A_failing_page_and_a_failure_its_ErrorBoundary_contained_are_reported_once_each_with_request_and_user()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.BlazorStatic);

        (await run.SendAsync(HttpMethod.Get, "/ledger/2005", "lee")).StatusCode.Should().Be(HttpStatusCode.OK);
        var contained = await run.SendAsync(HttpMethod.Get, "/ledger/1995", "lee");
        contained.StatusCode.Should().Be(HttpStatusCode.OK, "the boundary answered with its fallback");
        (await contained.Content.ReadAsStringAsync()).Should().Contain("Ledger gauge unavailable");
        (await run.SendAsync(HttpMethod.Get, "/ledger/1980", "lee")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        GC.Collect();
        GC.WaitForPendingFinalizers(); // the faulted page task's unobserved exception, while only this app listens
        var events = await run.EventsUpToAsync("Ledger 1980 was never digitised");

        events.Should().HaveCount(2, RealAppKindsTests.Describe(events));
        var page = RealAppKindsTests.Single(events, "Ledger 1980 was never digitised");
        page.Culprit.Should().Contain("Ledger");
        RealAppKindsTests.AssertRequestAndUser(page, "GET /ledger/{Year:int}", "lee", "/ledger/1980");
        var boundary = RealAppKindsTests.Single(events, "Ledger gauge value -5 is below zero");
        boundary.Culprit.Should().Contain("LedgerGauge");
        boundary.Level.Should().Be("error", "the component failed; the boundary only hid it");
        boundary.Logger.Should().Be("Microsoft.AspNetCore.Components.Web.ErrorBoundary");
        boundary.Tags.Should().Contain("mechanism", "ErrorBoundary");
        RealAppKindsTests.AssertRequestAndUser(boundary, "GET /ledger/{Year:int}", "lee", "/ledger/1995");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task A_static_form_whose_submit_handler_throws_is_reported_once_its_validation_and_antiforgery_failures_are_not()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.BlazorStatic);

        var page = await run.SendAsync(HttpMethod.Get, "/checkin", "lee");
        page.StatusCode.Should().Be(HttpStatusCode.OK);
        var token = System.Text.RegularExpressions.Regex.Match(
            await page.Content.ReadAsStringAsync(), "name=\"__RequestVerificationToken\"[^>]*?value=\"([^\"]+)\"").Groups[1].Value;
        token.Should().NotBeEmpty("the form carries its antiforgery token");
        FormUrlEncodedContent Form(string room, bool withToken = true) => new(new Dictionary<string, string>
        {
            ["_handler"] = "checkin",
            ["__RequestVerificationToken"] = withToken ? token : "",
            ["Guest.Name"] = "Lee",
            ["Guest.Room"] = room,
        });

        var checkedIn = await run.SendAsync(HttpMethod.Post, "/checkin", "lee", Form("12"));
        checkedIn.StatusCode.Should().Be(HttpStatusCode.OK);
        (await checkedIn.Content.ReadAsStringAsync()).Should().Contain("Lee checked into room 12");
        var invalid = await run.SendAsync(HttpMethod.Post, "/checkin", "lee", Form("0"));
        invalid.StatusCode.Should().Be(HttpStatusCode.OK, "the form shows its validation messages");
        (await invalid.Content.ReadAsStringAsync()).Should().Contain("validation-message").And.NotContain("checked into");
        (await run.SendAsync(HttpMethod.Post, "/checkin", "lee", Form("13", withToken: false))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        // UseExceptionHandler("/Error") runs the failed POST again as a POST, which this app's GET-only error page refuses.
        (await run.SendAsync(HttpMethod.Post, "/checkin", "lee", Form("13"))).StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var events = await run.EventsUpToAsync("Room 13 has no key card encoder");

        var reported = events.Should().ContainSingle(RealAppKindsTests.Describe(events)).Subject;
        reported.Culprit.Should().Contain("CheckIn");
        RealAppKindsTests.AssertRequestAndUser(reported, "POST /checkin", "lee", "/checkin");
        run.SdkLogNoise.Should().BeEmpty();
    }
}
