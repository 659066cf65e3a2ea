using System.Net;
using ErrorHub.RealApps;
using FluentAssertions;
using Xunit;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An API that runs a job on a Quartz.NET 4 scheduler in its process, with <c>AddErrorHub()</c> alone doing the job
/// side: a job that throws is reported once, without a request (it ran on Quartz's thread, not the request's), culprit
/// the job's method, although Quartz logs each failure twice (its job shell, then its error listener with the failure
/// wrapped); a job that asks Quartz to run it again at once is one event per attempt, as Quartz logs each.
/// </summary>
public sealed class RealAppScheduledJobsTests
{
    [Fact]
    public async Task A_failing_quartz_job_is_reported_once_per_attempt_with_its_job_as_culprit_and_no_request()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.ScheduledJobs);

        (await run.SendAsync(HttpMethod.Post, "/statements/3/send", "pia")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/statements/7/send", "pia")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await WaitForLogAsync(run, "threw a JobExecutionException", count: 3); // the attempt and its two refires
        (await run.SendAsync(HttpMethod.Post, "/statements/0/send", "pia")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        var events = await run.EventsUpToAsync("Account 0 has no statement address");

        events.Should().HaveCount(4, "one per failed attempt, the wrappers of Quartz's error listener not again: {0}", RealAppKindsTests.Describe(events));
        var address = RealAppKindsTests.Single(events, "Account 0 has no statement address");
        address.Culprit.Should().Contain("StatementJob.Execute");
        address.Logger.Should().Be("Quartz.Core.JobRunShell");
        address.Request.Should().BeNull("the job ran on Quartz's thread, after the request that triggered it had ended");
        var ledger = events.Where(e => e.Exceptions.Any(x => x.Value.Contains("Ledger of account 7 did not answer", StringComparison.Ordinal))).ToList();
        ledger.Should().HaveCount(3);
        ledger.Should().OnlyContain(e => e.Culprit!.Contains("StatementJob.Execute"));
        ledger.Select(e => e.Fingerprint).Distinct().Should().ContainSingle();
        run.SdkLogNoise.Should().BeEmpty();
    }

    private static Task WaitForLogAsync(RealAppRun run, string text, int count) =>
        run.WaitUntilAsync(() => run.Logs.Entries.Count(e => e.Message.Contains(text, StringComparison.Ordinal)) >= count, $"Quartz logs {count} entries \"{text}\"");
}
