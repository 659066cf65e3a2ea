using System.Text;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Version 12's throw-helper rule (<see cref="DotNetFrames.IsOwnTypesThrowHelper"/>) on frames no real runtime reports: the events are
/// decoded from the wire first, as ingest does, so the protocol's limits (250 frames, 256 characters a name, invalid UTF-8 replaced)
/// apply before grouping reads them. Whatever the frames, the fingerprint stays one hash, its components stay bounded, and an event
/// grouped twice is grouped alike.
/// </summary>
public sealed class HostileThrowHelperTests
{
    private const int NameLimit = 256;

    [Fact]
    public void A_framework_method_named_Throw_and_nothing_more_is_its_types_own_throw_helper_whatever_was_inlined_after_it()
    {
        var kept = Event(Exception("System.InvalidOperationException", "Not connected.",
            Framework("System.Net.Sockets.Socket", "Throw"), Framework("System.Net.Sockets.NetworkStream", "Read"), InApp("Shop.Stock.StockClient", "Reserve")));
        var inlined = Event(Exception("System.InvalidOperationException", "Not connected.",
            Framework("System.Net.Sockets.Socket", "Throw"), InApp("Shop.Stock.StockClient", "Reserve")));

        Grouper.Counted(Grouper.Group(kept).Components).Should().Equal("type:InvalidOperationException", "throw:Socket", "app:Shop.Stock.StockClient.Reserve");
        Grouper.Group(inlined).Fingerprint.Should().Be(Grouper.Group(kept).Fingerprint);
    }

    [Fact]
    public void An_app_type_named_ThrowHelper_is_the_apps_helper_left_out_and_never_read_as_a_framework_component()
    {
        var viaHelper = Event(Exception("System.ArgumentException", "Value does not fall within the expected range.",
            InApp("Shop.ThrowHelper", "ThrowArgument"), InApp("Shop.Orders.OrderService", "Place")));
        var direct = Event(Exception("System.ArgumentException", "Value does not fall within the expected range.",
            InApp("Shop.Orders.OrderService", "Place")));

        Grouper.Counted(Grouper.Group(viaHelper).Components).Should().Equal("type:ArgumentException", "app:Shop.Orders.OrderService.Place");
        Grouper.Group(viaHelper).Fingerprint.Should().Be(Grouper.Group(direct).Fingerprint, "the app's helper only throws for the method that called it");
    }

    [Fact]
    public void Ten_thousand_throw_helper_frames_are_cut_at_decoding_and_with_no_frame_left_that_threw_the_message_keys_the_issue()
    {
        var helpers = Enumerable.Range(0, 10_000)
            .Select(i => (object?)Map(("function", $"Throw{i}"), ("type", $"System.Net.Part{i}"), ("module", "System.Net.Primitives"), ("in_app", false)))
            .ToArray();
        var fewer = helpers.Take(300).ToArray();

        var all = DecodeWithFrames(helpers);
        var grouped = Grouper.Group(all);

        all.Exceptions[0].Frames.Should().HaveCount(250, "docs/protocol.md: frames per exception, the nearest the throw kept");
        // Every frame kept is a helper (noise): no throw site is left for a helper to stand for, so the type and message key it, as for any
        // event without frames that say where (docs/grouping.md).
        Grouper.Counted(grouped.Components).Should().Equal("type:InvalidOperationException", "message:Not connected.");
        grouped.Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$");
        Grouper.Group(DecodeWithFrames(fewer)).Fingerprint.Should().Be(grouped.Fingerprint, "the frames past the cut change nothing");
        Grouper.Group(DecodeWithFrames(helpers)).Fingerprint.Should().Be(grouped.Fingerprint, "decoded and grouped again, grouped alike");
    }

    public static TheoryData<string, object, object> HostileNames => new()
    {
        { "NUL", "System.Net.Sock\0ets.Socket", "Throw\0IfDisposed" },
        { "lone surrogates (invalid UTF-8 on the wire)", Utf8Bytes([.. "System.Net."u8, 0xED, 0xA0, 0x80, .. "Socket"u8]), Utf8Bytes([.. "Throw"u8, 0xED, 0xB0, 0x80]) },
        { "100 KB", "System.Net." + new string('S', 100_000), "Throw" + new string('x', 100_000) },
        { "100 KB of NUL", "System.Net." + new string('\0', 100_000), "Throw" + new string('\0', 100_000) },
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public void A_throw_helper_with_a_hostile_name_keeps_a_bounded_fingerprint_that_is_the_same_each_time(string what, object type, object function)
    {
        var frames = new object?[]
        {
            Map(("function", function), ("type", type), ("module", "System.Net.Sockets"), ("in_app", false)),
            CheckoutFrame(1),
        };

        var grouped = Grouper.Group(DecodeWithFrames(frames));

        grouped.Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$", what);
        Grouper.Counted(grouped.Components).Should().HaveCount(3, what).And.AllSatisfy(c => c.Length.Should().BeLessThan(NameLimit + 20, what));
        Grouper.Counted(grouped.Components).Should().Contain(c => c.StartsWith("throw:", StringComparison.Ordinal), what);
        Grouper.Group(DecodeWithFrames(frames)).Fingerprint.Should().Be(grouped.Fingerprint, what);
    }

    [Fact]
    public void Throw_helpers_whose_names_differ_only_past_the_name_limit_are_one_issue()
    {
        WireMap Helper(char last) => Map(("function", "ThrowIfDisposed"), ("type", "System.Net." + new string('S', 100_000) + last), ("in_app", false));

        Grouper.Group(DecodeWithFrames([Helper('a'), CheckoutFrame(1)])).Fingerprint
            .Should().Be(Grouper.Group(DecodeWithFrames([Helper('b'), CheckoutFrame(1)])).Fingerprint);
    }

    /// <summary>The sample checkout event with one exception of <paramref name="frames"/>, encoded and decoded as ingest does.</summary>
    private static IncomingEvent DecodeWithFrames(object?[] frames)
    {
        var errorEvent = CheckoutEvent().With("exceptions", Array(
            Map(("type", "System.InvalidOperationException"), ("value", "Not connected."), ("frames", frames))));
        return new EventBatchDecoder(new IngestLimits()).Decode(Encode(Batch(errorEvent))).Events.Single();
    }
}
