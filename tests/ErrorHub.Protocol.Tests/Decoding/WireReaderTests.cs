using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using MessagePack;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// Ingest reads MessagePack's formats itself (the format codes and types are MessagePack-CSharp's; the reading of
/// headers, lengths and values is its own, in one pass with the checks). MessagePack-CSharp's reader is the reference
/// here: every encoding of every type is skipped to exactly where the library's reader ends it, and read as the same
/// value; every cut inside one is refused as truncated input naming the field, never answered by the safety net.
/// </summary>
public sealed class WireReaderTests
{
    /// <summary>One value of every format the specification has, with lengths that use each header's width.</summary>
    public static TheoryData<string, string> EveryFormat => new()
    {
        { "positive fixint", "7f" }, { "negative fixint", "e0" }, { "nil", "c0" }, { "false", "c2" }, { "true", "c3" },
        { "uint8", "cc ff" }, { "uint16", "cd ff ff" }, { "uint32", "ce ff ff ff ff" }, { "uint64", "cf ff ff ff ff ff ff ff ff" },
        { "int8", "d0 80" }, { "int16", "d1 80 00" }, { "int32", "d2 80 00 00 00" }, { "int64", "d3 80 00 00 00 00 00 00 00" },
        { "float32", "ca 3f c0 00 00" }, { "float64", "cb 3f f8 00 00 00 00 00 00" },
        { "fixstr", "a3 61 62 63" }, { "str8", "d9 03 61 62 63" }, { "str16", "da 00 03 61 62 63" }, { "str32", "db 00 00 00 03 61 62 63" },
        { "bin8", "c4 02 01 02" }, { "bin16", "c5 00 02 01 02" }, { "bin32", "c6 00 00 00 02 01 02" },
        { "fixext1", "d4 05 01" }, { "fixext2", "d5 05 01 02" }, { "fixext4", "d6 05 01 02 03 04" },
        { "fixext8", "d7 05 01 02 03 04 05 06 07 08" }, { "fixext16", "d8 05 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10" },
        { "ext8", "c7 03 05 01 02 03" }, { "ext16", "c8 00 03 05 01 02 03" }, { "ext32", "c9 00 00 00 03 05 01 02 03" },
        { "fixarray", "92 01 a1 78" }, { "array16", "dc 00 02 01 a1 78" }, { "array32", "dd 00 00 00 02 01 a1 78" },
        { "fixmap", "81 a1 6b c3" }, { "map16", "de 00 01 a1 6b c3" }, { "map32", "df 00 00 00 01 a1 6b c3" },
        { "nested", "82 a1 61 dc 00 02 d7 05 00 00 00 00 00 00 00 00 c5 00 01 ff a1 62 81 a0 91 90" },
    };

    [Theory]
    [MemberData(nameof(EveryFormat))]
    public void Every_format_is_skipped_to_exactly_where_the_librarys_reader_ends_it(string format, string hex)
    {
        var value = RawHex(hex);
        var library = new MessagePackReader(value.Bytes);
        library.Skip();
        library.Consumed.Should().Be(value.Bytes.Length, $"the {format} sample is one whole value to the library too");

        // Unknown fields before a known one at every level the decoder reads: a skip that ends one byte early or late
        // would read the next key from the wrong place.
        var frame = Map(("unknown", value), ("function", "F"), ("x", value), ("line", 7));
        var decoded = Decode(OneEvent(e => e
            .With("a_first_unknown", value)
            .With("exceptions", Array(Map(("u", value), ("type", "E"), ("frames", Array(frame)))))
            .With("z_last_unknown", value))).Events[0].Event;

        decoded.Exceptions.Should().ContainSingle().Which.Frames.Should().ContainSingle().Which.Should().Match<Storage.Events.FrameRecord>(
            f => f.Function == "F" && f.Line == 7, format);
    }

    [Theory]
    [MemberData(nameof(EveryFormat))]
    public void Every_format_cut_anywhere_inside_is_refused_as_truncated_naming_the_field(string format, string hex)
    {
        var value = RawHex(hex).Bytes;
        var field = Encode("unknown");

        // The value is the last thing in the body: a map of one entry, its value cut after each of its bytes.
        for (var length = 0; length < value.Length; length++)
        {
            byte[] body = [0x81, .. field, .. value.AsSpan(0, length)];
            var refused = body.ShouldBeRefused("unknown", new IngestLimits());
            refused.Problem.Should().Contain("truncated", $"{format} cut to {length} of {value.Length} bytes ({refused.Problem})");
        }
    }

    public static TheoryData<string, string, double> Numbers => new()
    {
        { "float32", "ca 3f c0 00 00", 1.5 },
        { "float64", "cb 3f f8 00 00 00 00 00 00", 1.5 },
        { "float64 negative", "cb bf f8 00 00 00 00 00 00", -1.5 },
    };

    [Theory]
    [MemberData(nameof(Numbers))]
    public void Floats_are_read_as_the_librarys_reader_reads_them(string format, string hex, double expected)
    {
        var bytes = RawHex(hex).Bytes;
        new MessagePackReader(bytes).ReadDouble().Should().Be(expected, "the sample means what the test says");

        var tag = Decode(OneEvent(e => e.With("tags", Map(("n", RawHex(hex)))))).Events[0].Event.Tags["n"];

        tag.Should().Be(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), format);
    }

    public static TheoryData<string, string, long> Integers => new()
    {
        { "positive fixint", "7f", 127 }, { "negative fixint", "e0", -32 }, { "negative fixint -1", "ff", -1 },
        { "uint8", "cc ff", 255 }, { "uint16", "cd ff ff", 65535 }, { "uint32", "ce ff ff ff ff", uint.MaxValue },
        { "uint64", "cf 7f ff ff ff ff ff ff ff", long.MaxValue },
        { "int8", "d0 80", sbyte.MinValue }, { "int16", "d1 80 00", short.MinValue }, { "int32", "d2 80 00 00 00", int.MinValue },
        { "int64", "d3 80 00 00 00 00 00 00 00", long.MinValue }, { "int16 positive", "d1 7f ff", short.MaxValue },
    };

    [Theory]
    [MemberData(nameof(Integers))]
    public void Integers_of_every_width_and_sign_are_read_as_the_librarys_reader_reads_them(string format, string hex, long expected)
    {
        var bytes = RawHex(hex).Bytes;
        new MessagePackReader(bytes).ReadInt64().Should().Be(expected, "the sample means what the test says");

        var decoded = Decode(OneEvent(e => e.With("tags", Map(("n", RawHex(hex)))).With("user", Map(("id", RawHex(hex)))))).Events[0].Event;

        decoded.Tags["n"].Should().Be(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), format);
        decoded.User!.Id.Should().Be(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), format);
    }

    [Theory]
    [InlineData("c2", false)]
    [InlineData("c3", true)]
    public void Booleans_are_read_from_their_format_byte(string hex, bool expected)
    {
        var frame = Map(("function", "F"), ("in_app", RawHex(hex)));

        var decoded = Decode(OneEvent(e => e.With("exceptions", Array(Map(("type", "E"), ("frames", Array(frame))))))).Events[0].Event;

        decoded.Exceptions[0].Frames[0].InApp.Should().Be(expected);
    }
}
