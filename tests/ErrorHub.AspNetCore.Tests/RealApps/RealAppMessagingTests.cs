using System.Net;
using ErrorHub.RealApps;
using ErrorHub.RealApps.Messaging;
using ErrorHub.Testing.Ingest;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.AspNetCore.Tests.RealApps.RealAppKindsTests;

namespace ErrorHub.AspNetCore.Tests.RealApps;

/// <summary>
/// An app on Wolverine with the retry rule teams set (a declined card is tried three more times). Wolverine logs every
/// failed attempt at Error with its exception: a message that fails four times is still one failure, one event, as
/// Sentry's integrations report it; two messages that fail are two.
/// </summary>
public sealed class RealAppMessagingTests
{
    [Fact]
    public async Task Messaging_reports_a_queued_message_that_fails_every_retry_once_and_each_failing_message_apart()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Messaging);

        (await run.SendAsync(HttpMethod.Post, "/payments/3/charge", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/payments/5/charge", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/payments/4/charge", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await run.WaitUntilAsync(() => PaymentHandler.AttemptsOf(3) == 4 && PaymentHandler.AttemptsOf(5) == 4 && PaymentHandler.AttemptsOf(4) == 2
            && MovedToErrorQueue(run, "payment 3") && MovedToErrorQueue(run, "payment 5"), "each message's attempts and its move to the error queue");
        FailedAttemptsLogged(run, "Card of payment 5").Should().BeGreaterThanOrEqualTo(4, "Wolverine logged every attempt at Error");

        // A failure in a request after them: once it arrived, whatever the queue's attempts made had arrived before it.
        (await run.SendAsync(HttpMethod.Post, "/payments/11/refund", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = (await run.EventsUpToAsync("Refund of payment 11")).Where(e => e.Request is null).ToList();

        events.Should().HaveCount(3, "one per failing message, not one per attempt; " + Describe(events));
        Single(events, "Card of payment 3 was declined").Exceptions[0].Type.Should().EndWith("CardDeclinedException");
        Single(events, "Card of payment 5 was declined").Culprit.Should().Contain("PaymentHandler");
        Single(events, "Card of payment 5 was declined").Logger.Should().Be("ErrorHub.RealApps.Messaging.ChargeCard");
        Single(events, "Card of payment 4 was declined").Should().NotBeNull("its first attempt failed; the retry that succeeded is not known then");
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Messaging_reports_a_message_invoked_in_a_request_that_fails_every_retry_once_with_the_request()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Messaging);

        (await run.SendAsync(HttpMethod.Post, "/payments/7/refund", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = await run.EventsUpToAsync("Refund of payment 7");

        PaymentHandler.AttemptsOf(-7).Should().Be(4, "Wolverine retried the handler inline three times");
        FailedAttemptsLogged(run, "Refund of payment 7").Should().BeGreaterThanOrEqualTo(4, "Wolverine logged every attempt at Error");
        var reported = events.Should().ContainSingle(Describe(events)).Subject;
        AssertRequestAndUser(reported, "POST /payments/{id:int}/refund", "ivy", "/payments/7/refund");
        reported.Culprit.Should().Contain("PaymentHandler", "the handler that threw");
        reported.Logger.Should().Be("ErrorHub.RealApps.Messaging.RefundCard", "Wolverine logs a handler's failures under its message type");
        reported.Exceptions[0].Frames.Should().Contain(f => f.Function.StartsWith("Messaging.", StringComparison.Ordinal),
            "the last attempt's exception, which escaped through the endpoint to the middleware: " + string.Join(", ", reported.Exceptions[0].Frames.Select(f => f.Type + "." + f.Function)));
        run.SdkLogNoise.Should().BeEmpty();
    }

    [Fact]
    public async Task Messaging_reports_a_message_invoked_in_a_background_service_that_fails_every_retry_once_and_each_invocation_apart()
    {
        await using var run = await RealAppRun.StartAsync(AppKind.Messaging);

        (await run.SendAsync(HttpMethod.Post, "/payments/9/refund-later", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await run.SendAsync(HttpMethod.Post, "/payments/13/refund-later", "ivy")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await run.WaitUntilAsync(() => WorkerGaveUp(run, 9) && WorkerGaveUp(run, 13), "the worker's entries of the refunds it gave up");
        PaymentHandler.AttemptsOf(-9).Should().Be(4, "Wolverine retried the handler inline three times");
        FailedAttemptsLogged(run, "Refund of payment 9").Should().BeGreaterThanOrEqualTo(5, "Wolverine logged every attempt at Error, and the worker the last");

        // A failure in a request after them: once it arrived, whatever the worker's refunds made had arrived before it.
        (await run.SendAsync(HttpMethod.Post, "/payments/15/refund", "ivy")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        var events = (await run.EventsUpToAsync("Refund of payment 15")).Where(e => e.Request is null).ToList();

        events.Should().HaveCount(2, "one per failing invocation, not one per attempt nor one more for the worker's entry; " + Describe(events));
        foreach (var paymentId in new[] { 9, 13 })
        {
            var reported = Single(events, $"Refund of payment {paymentId} was declined");
            reported.Culprit.Should().Contain("PaymentHandler", "the handler that threw");
            reported.Logger.Should().Be("ErrorHub.RealApps.Messaging.RefundCard", "Wolverine logs a handler's failures under its message type");
        }

        run.SdkLogNoise.Should().BeEmpty();
    }

    private static bool WorkerGaveUp(RealAppRun run, int paymentId) =>
        run.Logs.Entries.Any(e => e.Message == $"Refund of payment {paymentId} failed");

    private static int FailedAttemptsLogged(RealAppRun run, string message) =>
        run.Logs.Entries.Count(e => e.Level >= LogLevel.Error && e.Exception?.Message.Contains(message, StringComparison.Ordinal) == true);

    /// <summary>Wolverine's last entry of a message that failed every attempt, logged after the attempts' entries.</summary>
    private static bool MovedToErrorQueue(RealAppRun run, string message) =>
        run.Logs.Entries.Any(e => e.Message.Contains("moved to the error queue", StringComparison.Ordinal)
            && e.Exception?.Message.Contains(message, StringComparison.Ordinal) == true);
}
