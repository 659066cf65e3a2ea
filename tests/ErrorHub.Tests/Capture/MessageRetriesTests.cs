using ErrorHub.Internal;
using ErrorHub.Logging;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit;

// Wolverine names the envelope in lower case in its templates: the entries here are logged as it logs them.
#pragma warning disable CA1727

namespace ErrorHub.Tests.Capture;

/// <summary>
/// A messaging library logs every failed attempt of a message at Error, with the message's id among the entry's values
/// (Wolverine's <c>envelope</c>; <c>MessageId</c>): each failing message is one event, each distinct failure still one.
/// Wolverine itself runs in tests/ErrorHub.AspNetCore.Tests (RealAppMessagingTests); here the edges it does not reach.
/// </summary>
[Collection(ProcessWideEventsGroup.Name)]
public sealed class MessageRetriesTests : IAsyncLifetime
{
    private static readonly Action<ILogger, string, Guid, string, Exception?> FailedToProcess =
        LoggerMessage.Define<string, Guid, string>(LogLevel.Error, 105, "Failed to process message {Name}#{envelope} from {ReplyUri}");

    private static readonly Action<ILogger, object, Exception?> MovedToErrorQueue =
        LoggerMessage.Define<object>(LogLevel.Error, 108, "Envelope {envelope} was moved to the error queue");

    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task Retries_of_a_message_are_one_event_and_other_messages_other_exceptions_and_unkeyable_ids_are_each_reported()
    {
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Payments.ChargeCard");
        var declined = Guid.NewGuid();
        var other = Guid.NewGuid();
        var faulted = Guid.NewGuid();

        for (var attempt = 0; attempt < 4; attempt++)
        {
            FailedToProcess(logger, "ChargeCard", declined, "local://payments/", SdkUnderTest.Thrown(new InvalidOperationException("payment 3 declined")));
        }

        MovedToErrorQueue(logger, $"Envelope #{declined}/CorrelationId=abc", SdkUnderTest.Thrown(new InvalidOperationException("payment 3 declined")));
        FailedToProcess(logger, "ChargeCard", declined, "local://payments/", SdkUnderTest.Thrown(new TimeoutException("payment 3 timed out")));
        FailedToProcess(logger, "ChargeCard", other, "local://payments/", SdkUnderTest.Thrown(new InvalidOperationException("payment 5 declined")));
        FailedToProcess(logger, "ChargeCard", other, "local://payments/", SdkUnderTest.Thrown(new InvalidOperationException("payment 5 declined")));
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("payment 7 faulted")), "R-FAULT {MessageId}", faulted.ToString());
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("payment 7 faulted")), "R-FAULT {MessageId}", faulted.ToString());
        FailedToProcess(logger, "ChargeCard", Guid.Empty, "local://payments/", SdkUnderTest.Thrown(new InvalidOperationException("no id")));
        FailedToProcess(logger, "ChargeCard", Guid.Empty, "local://payments/", SdkUnderTest.Thrown(new InvalidOperationException("no id")));
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("payment 8 declined")), "Envelope {envelope} failed", "Envelope #not-a-guid");
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("payment 8 declined")), "Envelope {envelope} failed", "Envelope #not-a-guid");
        MovedToErrorQueue(logger, new UnprintableEnvelope(), SdkUnderTest.Thrown(new InvalidOperationException("payment 9 declined")));
        await host.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        var reported = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList())
            .Select(e => (string)e.AsMap()["exceptions"].AsList()[0].AsMap()["value"]!).ToList();
        reported.Should().BeEquivalentTo(
            ["payment 3 declined", "payment 3 timed out", "payment 5 declined", "payment 7 faulted", "no id", "no id", "payment 8 declined", "payment 8 declined", "payment 9 declined"],
            "one event per message and type of failure; an id that is not one keys nothing; an envelope that cannot be printed is still reported");
    }

    [Fact]
    public async Task Inline_attempts_of_an_invoked_message_are_one_event_and_each_invocation_and_other_exception_is_reported()
    {
        using var host = await ReportingHost.StartAsync(_ingest.Dsn());
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Payments.RefundCard");
        var refund = new RefundCard(9);
        var equalRefund = new RefundCard(9);

        // Wolverine's InvokeAsync outside a request: every inline attempt logged with the message, no id.
        Exception lastAttempt = null!;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            lastAttempt = SdkUnderTest.Thrown(new InvalidOperationException("refund 9 declined"));
            logger.LogError(lastAttempt, "Invocation of {Message} failed!", refund);
        }

        logger.LogError(lastAttempt, "Refund {Id} failed", 9); // the worker logs what escaped InvokeAsync
        logger.LogError(SdkUnderTest.Thrown(new TimeoutException("refund 9 timed out")), "Invocation of {Message} failed!", refund);
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("refund 9 declined")), "Invocation of {Message} failed!", equalRefund);
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("text")), "Invocation of {Message} failed!", "RefundCard 9");
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("text")), "Invocation of {Message} failed!", "RefundCard 9");

        // The app's own entry naming one long-lived object (a nightly job failing each night) is a failure each time.
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("night 1")), "Job {Message} failed", refund);
        logger.LogError(SdkUnderTest.Thrown(new InvalidOperationException("night 2")), "Job {Message} failed", refund);
        await host.Services.GetRequiredService<IErrorHubClient>().FlushAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();

        var reported = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList())
            .Select(e => (string)e.AsMap()["exceptions"].AsList()[0].AsMap()["value"]!).ToList();
        reported.Should().BeEquivalentTo(
            ["refund 9 declined", "refund 9 timed out", "refund 9 declined", "text", "text", "night 1", "night 2"],
            "one event per invocation and type of failure, the escaped exception not again; an equal command invoked again is "
            + "another invocation; text under Message keys nothing; only Wolverine's entry keys by its message object");
    }

    [Fact]
    public void The_failed_messages_remembered_are_bounded_and_the_oldest_forgotten_is_reported_again()
    {
        var remembered = new ReportedMessageFailures(capacity: 2);
        var (first, second, third) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var failure = new InvalidOperationException("declined");

        remembered.TryAdd(first, failure).Should().BeTrue();
        remembered.TryAdd(first, failure).Should().BeFalse("a retry of the same message, failing alike");
        remembered.TryAdd(second, failure).Should().BeTrue();
        remembered.TryAdd(third, failure).Should().BeTrue();
        remembered.TryAdd(first, failure).Should().BeTrue("forgotten after two others: reported again rather than lost");
        remembered.TryAdd(third, failure).Should().BeFalse();
    }

    private sealed record RefundCard(int PaymentId);

    [Fact]
    public void Rebus_deliveries_are_remembered_bounded_and_only_a_move_to_the_error_queue_gives_a_message_up()
    {
        var deliveries = new RebusDeliveries(capacity: 2);
        var first = new InvalidOperationException("first delivery");
        var last = new InvalidOperationException("last delivery");

        deliveries.FailedDelivery("Unhandled exception 1 while handling message with ID \"a\"", first);
        deliveries.FailedDelivery("Unhandled exception 2 while handling message with ID \"a\"", last);
        deliveries.GivenUp("Unhandled exception 2 while handling message with ID \"a\"").Should().BeNull("a delivery is not the move");
        deliveries.GivenUp("Moving message with ID \"a\" to error queue \"error\" - error details: \"2 unhandled exceptions\"")
            .Should().BeSameAs(last, "the message given up is reported with its last delivery's exception");
        deliveries.GivenUp("Moving message with ID b to error queue error").Should().BeNull("it never failed here");

        deliveries.FailedDelivery("Unhandled exception 1 while handling message with ID b", first);
        deliveries.FailedDelivery("Unhandled exception 1 while handling message with ID c", first);
        deliveries.GivenUp("Moving message with ID \"a\" to error queue \"error\"").Should().BeNull("forgotten after two others");
        deliveries.GivenUp("Moving message with ID b to error queue error").Should().BeSameAs(first);
        RebusDeliveries.WithoutErrorDetails("Moving message with ID \"a\" to error queue \"error\" - error details: \"x\"")
            .Should().Be("Moving message with ID \"a\" to error queue \"error\"");
    }

    /// <summary>An app's envelope type whose ToString throws: the entry must still be reported.</summary>
    private sealed class UnprintableEnvelope
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }
}
