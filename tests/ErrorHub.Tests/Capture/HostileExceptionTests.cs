using System.Collections;
using System.Reflection;
using ErrorHub.Internal;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Transport;
using ErrorHub.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;
using static ErrorHub.Tests.Infrastructure.SdkUnderTest;

namespace ErrorHub.Tests.Capture;

/// <summary>
/// Exceptions that are hostile to the SDK, captured by the whole SDK and sent to a real server: the app never sees an
/// exception from the capture, the event arrives (cut where it must be), memory stays bounded and the app's log stays quiet.
/// </summary>
public sealed class HostileExceptionTests : IAsyncLifetime
{
    private readonly TestClock _clock = new();
    private readonly CapturingLoggerProvider _logs = new();
    private RecordingIngest _ingest = null!;

    public async Task InitializeAsync() => _ingest = await RecordingIngest.StartAsync();

    public async Task DisposeAsync() => await _ingest.DisposeAsync();

    [Fact]
    public async Task An_exception_whose_every_overridable_getter_throws_arrives_with_its_type_and_frames()
    {
        var exception = Thrown(new EveryGetterThrows());

        var sent = await CaptureAndReadAsync(exception);

        var entry = sent.Single();
        entry["type"].Should().Be(typeof(EveryGetterThrows).FullName);
        ((string?)entry["value"]).Should().BeEmpty();
        entry["frames"].AsList().Should().NotBeEmpty("the frames come from the runtime's stack trace, not the StackTrace getter");
    }

    [Fact]
    public async Task A_message_of_ten_million_characters_arrives_cut_to_the_documented_limit()
    {
        var sent = await CaptureAndReadAsync(Thrown(new InvalidOperationException(new string('m', 10_000_000))));

        ((string)sent.Single()["value"]!).Length.Should().BeLessThanOrEqualTo(EventWireWriter.MaxStringChars);
    }

    [Fact]
    public async Task A_cycle_of_inner_exceptions_is_reported_once_around()
    {
        var first = new InvalidOperationException("first");
        var second = new FormatException("second", first);
        SetInnerException(first, second); // first -> second -> first -> ...

        var sent = await CaptureAndReadAsync(first);

        sent.Select(e => e["value"]).Should().Equal("first", "second");
    }

    [Fact]
    public async Task A_chain_ten_thousand_deep_is_cut_to_the_documented_number_of_exceptions()
    {
        Exception exception = new InvalidOperationException("root");
        for (var i = 0; i < 10_000; i++)
        {
            exception = new InvalidOperationException($"wrap {i}", exception);
        }

        var sent = await CaptureAndReadAsync(Thrown(exception));

        sent.Should().HaveCount(ExceptionConverter.MaxExceptions);
        sent[0]["value"].Should().Be("wrap 9999");
    }

    [Fact]
    public async Task An_aggregate_of_ten_thousand_exceptions_is_cut_and_its_message_is_bounded_without_building_the_whole_of_it()
    {
        // AggregateException.Message joins every inner message: here 10,000 of 20,000 characters, 400 MB of text made
        // again at every read, for a value that is cut to 64 K characters anyway.
        var innerMessage = new string('i', 20_000);
        var aggregate = new AggregateException("many failed", Enumerable.Range(0, 10_000).Select(_ => new InvalidOperationException(innerMessage)));

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var sent = await CaptureAndReadAsync(Thrown(aggregate));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        sent.Should().HaveCount(ExceptionConverter.MaxExceptions);
        var value = (string)sent[0]["value"]!;
        value.Should().StartWith("many failed (iiii");
        value.Length.Should().BeLessThanOrEqualTo(EventWireWriter.MaxStringChars);
        allocated.Should().BeLessThan(64L * 1024 * 1024, "the capture and the send of one event must not cost the app hundreds of megabytes");
    }

    [Fact]
    public async Task Aggregates_nested_a_hundred_thousand_deep_are_reported_without_overflowing_the_stack()
    {
        // The runtime's AggregateException.Message reads each inner aggregate's Message in turn, one stack frame per level:
        // a stack overflow, which no catch block stops, at the first read.
        Exception exception = new InvalidOperationException("the first failure");
        for (var i = 0; i < 100_000; i++)
        {
            exception = new AggregateException($"level {i}", exception, new TimeoutException("beside"));
        }

        var sent = await CaptureAndReadAsync(Thrown(exception));

        sent.Should().HaveCount(ExceptionConverter.MaxExceptions);
        ((string)sent[0]["value"]!).Should().StartWith("level 99999 (level 99998 (level 99997 (").And.HaveLength(EventWireWriter.MaxStringChars);
        sent.Skip(1).Select(e => ((string)e["value"]!).Length).Should().OnlyContain(length => length == ExceptionConverter.MaxInnerValueChars,
            "32 values of 64 K characters made an event larger than any batch, and the whole report was dropped");
    }

    [Fact]
    public async Task An_aggregate_that_holds_itself_is_reported_once()
    {
        var inner = new TimeoutException("inner");
        var aggregate = new AggregateException("outer", inner);
        SetInnerException(inner, aggregate); // inner -> aggregate -> inner -> ...

        var sent = await CaptureAndReadAsync(aggregate);

        sent.Select(e => e["type"]).Should().Equal(typeof(AggregateException).FullName, typeof(TimeoutException).FullName);
    }

    private async Task<List<WireMap>> CaptureAndReadAsync(Exception exception)
    {
        await using var sdk = Start(_clock, o => o.Dsn = _ingest.Dsn(), _logs, LogLevel.Debug);

        var act = () => sdk.Client.CaptureException(exception);

        act.Should().NotThrow().Which.Should().NotBeNull("the event is made and queued ({0})", string.Join(" / ", _logs.Entries));
        (await sdk.Client.FlushAsync(TimeSpan.FromSeconds(30)).Within()).Should().BeTrue();
        _logs.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty("a hostile exception is the app's, not a failure of the SDK");
        var events = _ingest.Requests.SelectMany(r => Wire.Read(r.Body).AsMap()["events"].AsList()).Select(e => e.AsMap()).ToList();
        return [.. events.Single()["exceptions"].AsList().Select(e => e.AsMap())];
    }

    /// <summary>InnerException is read-only: a cycle is what a serializer or a buggy wrapper can make of it.</summary>
    private static void SetInnerException(Exception exception, Exception inner) =>
        typeof(Exception).GetField("_innerException", BindingFlags.Instance | BindingFlags.NonPublic)!.SetValue(exception, inner);

    private sealed class EveryGetterThrows : Exception
    {
        public override string Message => throw new NotSupportedException("Message");

        public override string? StackTrace => throw new NotSupportedException("StackTrace");

        public override string? Source
        {
            get => throw new NotSupportedException("Source");
            set => throw new NotSupportedException("Source");
        }

        public override IDictionary Data => throw new NotSupportedException("Data");

        public override string? HelpLink
        {
            get => throw new NotSupportedException("HelpLink");
            set => throw new NotSupportedException("HelpLink");
        }

        public override string ToString() => throw new NotSupportedException("ToString");

        public override Exception GetBaseException() => throw new NotSupportedException("GetBaseException");

        public override bool Equals(object? obj) => throw new NotSupportedException("Equals");

        public override int GetHashCode() => throw new NotSupportedException("GetHashCode");
    }
}
