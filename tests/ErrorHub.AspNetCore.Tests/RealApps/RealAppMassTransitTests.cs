using System.Net;
using ErrorHub.RealApps;
using ErrorHub.RealApps.Messaging;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.AspNetCore.Tests.RealApps.RealAppKindsTests;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An app on MassTransit 8.5 (the in-memory transport, <c>UseMessageRetry(r =&gt; r.Immediate(3))</c>, a fault consumer).
/// MassTransit logs a message's retrying as an <c>R-RETRY</c> Warning and the message it gives up as an <c>R-FAULT</c> Error with the
/// exception: one event per message given up, the retries breadcrumbs, a message a retry ships nothing.
/// </summary>
public sealed class RealAppMassTransitTests
{
    [Fact]
    public async Task MassTransit_reports_a_message_it_gives_up_once_and_nothing_of_one_a_retry_handles()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.MassTransitMessaging);

        foreach (var orderId in new[] { 3, 5, 6, 4 })
        {
            (await run.SendAsync(HttpMethod.Post, $"/shipments/{orderId}", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        await run.WaitUntilAsync(() => ShipmentFaultConsumer.WasGivenUp(3) && ShipmentFaultConsumer.WasGivenUp(5)
            && ShipmentConsumer.AttemptsOf(6) == 2 && ShipmentConsumer.AttemptsOf(4) == 1, "MassTransit gives orders 3 and 5 up, ships 6 on its retry and 4 at once");
        ShipmentConsumer.AttemptsOf(3).Should().Be(4, "three immediate retries after the first attempt");
        run.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.StartsWith("R-RETRY", StringComparison.Ordinal))
            .Should().Be(3, "MassTransit logs one R-RETRY Warning with the exception for each message it retries (3, 5 and 6), not one per attempt: " + MassTransitLog(run));

        // A failure in a request after them: once it arrived, whatever the consumers made had arrived before it.
        (await run.SendAsync(HttpMethod.Post, "/shipments/7/now", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = (await run.EventsUpToAsync("shipment of order 7")).Where(e => e.Request is null).ToList();

        events.Should().HaveCount(2, "one per message given up; none for its retries, for the fault consumer's entry, nor for order 6 that a retry shipped; "
            + Describe(events) + "; MassTransit logged: " + MassTransitLog(run));
        foreach (var orderId in new[] { 3, 5 })
        {
            var reported = Single(events, $"Carrier rejected the shipment of order {orderId}");
            reported.Level.Should().Be("error");
            reported.Culprit.Should().Be("ErrorHub.RealApps.Messaging.ShipmentConsumer.Consume", "the consumer that threw");
            reported.Logger.Should().Be("MassTransit.ReceiveTransport", "the entry that says the message was given up");
            reported.Message.Should().StartWith("R-FAULT");
            reported.Breadcrumbs.Should().NotBeNull().And.Contain(b => b.Message.StartsWith("R-RETRY", StringComparison.Ordinal), "the retries are breadcrumbs");
        }

        events.Select(e => e.Fingerprint).Distinct().Should().ContainSingle("two orders the carrier rejects are one issue");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task MassTransit_reports_a_message_published_in_a_request_that_it_gives_up_while_the_request_waits_once()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.MassTransitMessaging);

        (await run.SendAsync(HttpMethod.Post, "/shipments/9/await", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/shipments/11/now", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("shipment of order 11");

        var reported = events.Where(e => e.Exceptions.Any(x => x.Value.Contains("order 9", StringComparison.Ordinal))).ToList();
        reported.Should().ContainSingle("the message's failure, though the request that published it answered 202 while it failed; "
            + Describe(events) + "; MassTransit logged: " + MassTransitLog(run));
        reported[0].Logger.Should().Be("MassTransit.ReceiveTransport");
        reported[0].Request.Should().BeNull("the consumer ran apart from the request: " + reported[0].Request?.Url);
        run.SdkLogNoise.Should().BeEmpty();
    }

    private static string MassTransitLog(RealAppRun run) =>
        string.Join("\n", run.Logs.Entries.Where(e => e.Category.StartsWith("MassTransit", StringComparison.Ordinal) || e.Category.Contains("Shipment", StringComparison.Ordinal))
            .Select(e => $"{e.Level} [{e.Category}] {e.Message} ({e.Exception?.GetType().Name})"));
}
