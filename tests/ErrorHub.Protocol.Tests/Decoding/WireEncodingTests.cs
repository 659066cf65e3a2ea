using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// The decoder reads every encoding the MessagePack specification allows for a value, not only the smallest one the
/// .NET SDK writes: other clients and libraries choose differently (a uint64 for a small number, str32 for a short
/// string, ext8 for a 4-byte timestamp) and must be understood all the same.
/// </summary>
public sealed class WireEncodingTests
{
    public static TheoryData<string, string, int?> LineEncodings => new()
    {
        { "positive fixint", "1f", 31 },
        { "uint8", "cc 80", 128 },
        { "uint8 of a fixint value", "cc 05", 5 },
        { "uint16", "cd 01 00", 256 },
        { "uint32", "ce 00 01 00 00", 65536 },
        { "uint32 at int.MaxValue", "ce 7f ff ff ff", int.MaxValue },
        { "uint64 of a small value", "cf 00 00 00 00 00 00 00 2a", 42 },
        { "int8 of a positive value", "d0 05", 5 },
        { "int16 of a positive value", "d1 01 00", 256 },
        { "int32 of a positive value", "d2 00 01 00 00", 65536 },
        { "int64 of a positive value", "d3 00 00 00 00 00 00 00 05", 5 },
        { "uint32 past int.MaxValue (unknown)", "ce 80 00 00 00", null },
        { "negative fixint (unknown)", "ff", null },
        { "int8 negative (unknown)", "d0 80", null },
        { "int64 at long.MinValue (unknown)", "d3 80 00 00 00 00 00 00 00", null },
    };

    [Theory]
    [MemberData(nameof(LineEncodings))]
    public void Every_integer_encoding_is_read_as_a_frame_line(string encoding, string hex, int? expected)
    {
        var frame = Map(("function", "F"), ("line", RawHex(hex)));

        var decoded = Decode(OneEvent(e => e.With("exceptions", Array(Map(("type", "E"), ("frames", Array(frame))))))).Events[0].Event;

        decoded.Exceptions[0].Frames[0].Line.Should().Be(expected, encoding);
    }

    public static TheoryData<string, int> StringLengths => new()
    {
        { "a0", 0 }, { "d9 00", 0 }, { "da 00 00", 0 }, { "db 00 00 00 00", 0 },
        { "a3", 3 }, { "d9 03", 3 }, { "da 00 03", 3 }, { "db 00 00 00 03", 3 },
        { "bf", 31 }, { "d9 20", 32 }, { "d9 ff", 255 }, { "da 01 00", 256 }, { "da ff ff", 65535 }, { "db 00 01 00 00", 65536 },
    };

    [Theory]
    [MemberData(nameof(StringLengths))]
    public void Every_string_header_is_read_whatever_length_it_is_used_for(string header, int length)
    {
        var text = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));
        var value = Raw([.. RawHex(header).Bytes, .. System.Text.Encoding.UTF8.GetBytes(text)]);

        var decoded = Decode(OneEvent(e => e.With("environment", value).With("tags", Map((value, value))))).Events[0].Event;

        decoded.Environment.Should().Be(text[..Math.Min(length, 256)], $"a string of {length} bytes under {header}");
        decoded.Tags.Keys.Should().Equal(text[..Math.Min(length, 256)]);
    }

    [Theory]
    [InlineData("c4 10")]
    [InlineData("c5 00 10")]
    [InlineData("c6 00 00 00 10")]
    public void A_binary_event_id_is_read_under_every_binary_header(string header)
    {
        var id = Raw([.. RawHex(header).Bytes, .. CheckoutEventId.ToByteArray(bigEndian: true)]);

        Decode(OneEvent(e => e.With("event_id", id))).Events[0].Event.EventId.Should().Be(CheckoutEventId);
    }

    [Fact]
    public void Arrays_and_maps_are_read_under_their_16_and_32_bit_headers()
    {
        // One event as map32, its exceptions as array16, its frames as array32, its tags as map16.
        var frame = Map(("function", "F"));
        var exception = Raw([.. RawHex("82").Bytes, .. Encode("type"), .. Encode("E"), .. Encode("frames"), .. RawHex("dd 00 00 00 01").Bytes, .. Encode(frame)]);
        var eventMap = Raw(
        [
            .. RawHex("df 00 00 00 03").Bytes,
            .. Encode("message"), .. Encode("m"),
            .. Encode("exceptions"), .. RawHex("dc 00 01").Bytes, .. exception.Bytes,
            .. Encode("tags"), .. RawHex("de 00 01").Bytes, .. Encode("k"), .. Encode("v"),
        ]);

        var decoded = Decode(Map(("events", Array(eventMap)))).Events.Should().ContainSingle().Subject.Event;

        decoded.Message.Should().Be("m");
        decoded.Exceptions.Should().ContainSingle().Which.Frames.Should().ContainSingle().Which.Function.Should().Be("F");
        decoded.Tags.Should().Equal(new Dictionary<string, string> { ["k"] = "v" });
    }

    public static TheoryData<string, string, string> TimestampEncodings => new()
    {
        { "fixext4 (timestamp 32)", "d6 ff", "6a1fe910" },
        { "fixext8 (timestamp 64)", "d7 ff", "1d6f32f06a1fe910" },
        { "ext8 of 12 (timestamp 96)", "c7 0c ff", "075bccbc000000006a1fe910" },
        { "ext8 of 4", "c7 04 ff", "6a1fe910" },
        { "ext8 of 8", "c7 08 ff", "1d6f32f06a1fe910" },
        { "ext16 of 12", "c8 00 0c ff", "075bccbc000000006a1fe910" },
        { "ext32 of 12", "c9 00 00 00 0c ff", "075bccbc000000006a1fe910" },
    };

    [Theory]
    [MemberData(nameof(TimestampEncodings))]
    public void The_timestamp_extension_is_read_under_every_extension_header(string encoding, string header, string data)
    {
        var timestamp = Raw([.. RawHex(header).Bytes, .. RawHex(data).Bytes]);
        var seconds = DateTimeOffset.FromUnixTimeSeconds(0x6a1fe910);
        var expected = data.Length == 8 ? seconds : seconds.AddTicks(1_234_567); // 123,456,700 ns in the longer forms

        SentTime(OneEvent(e => e.With("timestamp", timestamp))).Should().Be(expected, encoding);
    }

    [Theory]
    [InlineData("ca 4e 6e 6b 28", 1_000_000_000L * 1000)]
    [InlineData("cb 41 cd cd 65 00 00 00 00", 1_000_000_000L * 1000)]
    [InlineData("cf 00 00 01 8b cf e5 68 00", 1_700_000_000_000L)]
    [InlineData("d3 00 00 01 8b cf e5 68 00", 1_700_000_000_000L)]
    public void Timestamps_as_numbers_are_read_under_every_number_encoding(string hex, long expectedMilliseconds)
    {
        SentTime(OneEvent(e => e.With("timestamp", RawHex(hex))))
            .Should().Be(DateTimeOffset.FromUnixTimeMilliseconds(expectedMilliseconds));
    }
}
