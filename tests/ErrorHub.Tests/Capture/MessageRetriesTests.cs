using ErrorHub.Internal;
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
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging().AddErrorHub(o => o.Dsn = _ingest.Dsn());
        using var host = builder.Build();
        await host.StartAsync();
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

    /// <summary>An app's envelope type whose ToString throws: the entry must still be reported.</summary>
    private sealed class UnprintableEnvelope
    {
        public override string ToString() => throw new InvalidOperationException("no text");
    }
}
