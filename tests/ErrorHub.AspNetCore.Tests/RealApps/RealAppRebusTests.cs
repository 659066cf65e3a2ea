using System.Net;
using ErrorHub.RealApps;
using ErrorHub.RealApps.Messaging;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.AspNetCore.Tests.RealApps.RealAppKindsTests;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An app on Rebus (in-memory transport, <c>AddRebus</c> of Rebus.ServiceProvider, default retries: five deliveries, then
/// the error queue). Rebus logs each failed delivery as a Warning with the exception and the move to the error queue as an
/// Error without it: a message Rebus gives up is one event, with its last delivery's exception; the deliveries are
/// breadcrumbs. Until December 2026 nothing was reported.
/// </summary>
public sealed class RealAppRebusTests
{
    [Fact]
    public async Task Rebus_reports_a_message_it_gives_up_once_after_its_deliveries_and_each_message_apart()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.RebusMessaging);

        (await run.SendAsync(HttpMethod.Post, "/payouts/3", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/payouts/5", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/payouts/4", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await run.WaitUntilAsync(() => MovedToErrorQueue(run) == 2 && PayoutHandler.DeliveriesOf(4) == 1, "Rebus gives each failing message up after five deliveries");

        PayoutHandler.DeliveriesOf(3).Should().Be(5, "Rebus's default: five deliveries, then the error queue");
        run.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Exception?.Message.Contains("payout 5", StringComparison.Ordinal) == true)
            .Should().Be(5, "Rebus logged every failed delivery as a Warning with its exception");

        // A failure in a request after them: once it arrived, whatever the deliveries made had arrived before it.
        (await run.SendAsync(HttpMethod.Post, "/payouts/7/now", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = (await run.EventsUpToAsync("Bank account of payout 7")).Where(e => e.Request is null).ToList();

        events.Should().HaveCount(2, "one per message given up, not one per delivery; " + Describe(events) + "; Rebus logged: "
            + string.Join("\n", run.Logs.Entries.Where(e => e.Category.StartsWith("Rebus", StringComparison.Ordinal))
                .Select(e => $"{e.Level} [{e.Category}] {e.Message} ({e.Exception?.GetType().Name})")));
        foreach (var payoutId in new[] { 3, 5 })
        {
            var reported = Single(events, $"Bank account of payout {payoutId} is closed");
            reported.Level.Should().Be("error");
            reported.Culprit.Should().Contain("PayoutHandler", "the handler that threw");
            reported.Logger.Should().Be("Rebus.Retry.PoisonQueues.DeadletterQueueErrorHandler", "the entry that says the message was given up");
            reported.Tags.Should().Contain("mechanism", "Rebus");
            reported.Message.Should().StartWith("Moving message with ID").And.EndWith("to error queue \"error\"",
                "without Rebus's error details, every delivery's exception as text");
            reported.Breadcrumbs.Should().NotBeNull().And.Contain(b => b.Message.Contains("Unhandled exception 4 while handling message", StringComparison.Ordinal),
                "the deliveries before are breadcrumbs");
        }

        run.SdkLogNoise.Should().BeEmpty();
    }

    private static int MovedToErrorQueue(RealAppRun run) =>
        run.Logs.Entries.Count(e => e.Level == LogLevel.Error && e.Message.Contains("to error queue", StringComparison.Ordinal));
}
