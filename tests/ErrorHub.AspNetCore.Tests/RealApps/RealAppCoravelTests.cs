using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An API with Coravel's scheduler and queue in its process, with the two hookups docs/sdk.md gives (Coravel swallows
/// what its tasks throw otherwise): a scheduled invocable that fails is reported once per failed run, a queued one once
/// per failed task, both without a request (they ran on Coravel's threads, after the request that queued them), culprit
/// the invocable's <c>Invoke</c>; a queued task that succeeds is nothing.
/// </summary>
public sealed class RealAppCoravelTests
{
    [Fact]
    public async Task Failing_scheduled_and_queued_coravel_invocables_are_reported_once_each_with_the_invocable_as_culprit()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.CoravelJobs);

        (await run.SendAsync(HttpMethod.Post, "/renewals/outage", "ida")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await run.EventsUpToAsync("Payment provider did not answer the renewal run");
        (await run.SendAsync(HttpMethod.Post, "/members/2/welcome", "ida")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/members/3/welcome", "ida")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        var events = await run.EventsUpToAsync("Member 3 has no mail address");

        events.Should().HaveCount(2, "the renewal run that failed and the welcome mail that failed, once each: " + RealAppKindsTests.Describe(events));
        var renewal = RealAppKindsTests.Single(events, "Payment provider did not answer the renewal run");
        renewal.Culprit.Should().Contain("MembershipRenewal.Invoke");
        renewal.Logger.Should().Be("Coravel.Scheduling.Schedule.Interfaces.IScheduler");
        renewal.Request.Should().BeNull("the scheduler ran it on its own thread");
        var mail = RealAppKindsTests.Single(events, "Member 3 has no mail address");
        mail.Culprit.Should().Contain("WelcomeMail.Invoke");
        mail.Request.Should().BeNull("the queue ran it after the request that queued it had answered");
        mail.User.Should().BeNull();
        run.SdkLogNoise.Should().BeEmpty();
    }
}
