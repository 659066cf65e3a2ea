using System.Text;
using ErrorHub.Protocol.MessagePack;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Protocol.MessagePack.MessagePackTestSupport;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// The reader against exact bytes from the MessagePack specification. Unlike the writer it must accept every
/// encoding of a value, including the non-minimal ones other implementations produce (5 as uint32, "" as str32).
/// </summary>
public sealed class ReaderSpecTests
{
    [Fact]
    public void Reader_classifies_every_format_byte_as_the_specification_does()
    {
        for (var code = 0; code <= 0xff; code++)
        {
            MessagePackType? expected = code switch
            {
                <= 0x7f => MessagePackType.Integer, // positive fixint
                <= 0x8f => MessagePackType.Map, // fixmap
                <= 0x9f => MessagePackType.Array, // fixarray
                <= 0xbf => MessagePackType.String, // fixstr
                0xc0 => MessagePackType.Nil,
                0xc1 => null, // never used
                0xc2 or 0xc3 => MessagePackType.Boolean,
                0xc4 or 0xc5 or 0xc6 => MessagePackType.Binary,
                0xc7 or 0xc8 or 0xc9 => MessagePackType.Extension,
                0xca or 0xcb => MessagePackType.Float,
                >= 0xcc and <= 0xd3 => MessagePackType.Integer, // uint 8..64, int 8..64
                >= 0xd4 and <= 0xd8 => MessagePackType.Extension, // fixext 1..16
                0xd9 or 0xda or 0xdb => MessagePackType.String,
                0xdc or 0xdd => MessagePackType.Array,
                0xde or 0xdf => MessagePackType.Map,
                _ => MessagePackType.Integer, // negative fixint
            };

            var input = new[] { (byte)code };
            if (expected is { } type)
            {
                var reader = new MessagePackReader(input);
                reader.PeekType().Should().Be(type, $"byte 0x{code:x2}");
                reader.Position.Should().Be(0, "peeking consumes nothing");
            }
            else
            {
                ReadFails(input, (ref r) => r.PeekType()).Message.Should().Contain("0xc1");
            }
        }
    }

    [Fact]
    public void Reader_reads_nil_and_booleans()
    {
        var reader = new MessagePackReader(Hex("c0 c2 c3 c0"));

        reader.ReadNil();
        reader.ReadBoolean().Should().BeFalse();
        reader.ReadBoolean().Should().BeTrue();
        reader.TryReadNil().Should().BeTrue();
        reader.End.Should().BeTrue();
        reader.Position.Should().Be(4);
    }

    [Fact]
    public void Reader_TryReadNil_returns_false_and_consumes_nothing_for_other_values()
    {
        var reader = new MessagePackReader(Hex("01"));

        reader.TryReadNil().Should().BeFalse();
        reader.Position.Should().Be(0);
        reader.ReadInt32().Should().Be(1);
    }

    [Theory]
    // minimal encodings
    [InlineData("00", 0L)]
    [InlineData("7f", 127L)]
    [InlineData("cc 80", 128L)]
    [InlineData("cc ff", 255L)]
    [InlineData("cd 01 00", 256L)]
    [InlineData("cd ff ff", 65535L)]
    [InlineData("ce 00 01 00 00", 65536L)]
    [InlineData("ce ff ff ff ff", 4294967295L)]
    [InlineData("cf 00 00 00 01 00 00 00 00", 4294967296L)]
    [InlineData("cf 7f ff ff ff ff ff ff ff", long.MaxValue)]
    [InlineData("ff", -1L)]
    [InlineData("e0", -32L)]
    [InlineData("d0 df", -33L)]
    [InlineData("d0 80", -128L)]
    [InlineData("d1 ff 7f", -129L)]
    [InlineData("d1 80 00", -32768L)]
    [InlineData("d2 ff ff 7f ff", -32769L)]
    [InlineData("d2 80 00 00 00", -2147483648L)]
    [InlineData("d3 ff ff ff ff 7f ff ff ff", -2147483649L)]
    [InlineData("d3 80 00 00 00 00 00 00 00", long.MinValue)]
    // non-minimal encodings of small values
    [InlineData("cc 05", 5L)]
    [InlineData("cd 00 05", 5L)]
    [InlineData("ce 00 00 00 05", 5L)]
    [InlineData("cf 00 00 00 00 00 00 00 05", 5L)]
    [InlineData("d0 05", 5L)]
    [InlineData("d1 00 05", 5L)]
    [InlineData("d2 00 00 00 05", 5L)]
    [InlineData("d3 00 00 00 00 00 00 00 05", 5L)]
    [InlineData("d0 ff", -1L)]
    [InlineData("d1 ff ff", -1L)]
    [InlineData("d2 ff ff ff ff", -1L)]
    [InlineData("d3 ff ff ff ff ff ff ff ff", -1L)]
    [InlineData("d0 7f", 127L)]
    [InlineData("d1 7f ff", 32767L)]
    [InlineData("d2 7f ff ff ff", 2147483647L)]
    public void Reader_reads_every_integer_encoding_as_Int64(string hex, long expected)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.PeekType().Should().Be(MessagePackType.Integer);
        reader.ReadInt64().Should().Be(expected);
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData("00", 0UL)]
    [InlineData("7f", 127UL)]
    [InlineData("cc ff", 255UL)]
    [InlineData("cd ff ff", 65535UL)]
    [InlineData("ce ff ff ff ff", 4294967295UL)]
    [InlineData("cf 80 00 00 00 00 00 00 00", 9223372036854775808UL)]
    [InlineData("cf ff ff ff ff ff ff ff ff", ulong.MaxValue)]
    [InlineData("d0 05", 5UL)]
    [InlineData("d1 00 05", 5UL)]
    [InlineData("d2 7f ff ff ff", 2147483647UL)]
    [InlineData("d3 7f ff ff ff ff ff ff ff", 9223372036854775807UL)]
    [InlineData("cf 00 00 00 00 00 00 00 05", 5UL)]
    public void Reader_reads_every_non_negative_integer_encoding_as_UInt64(string hex, ulong expected)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.ReadUInt64().Should().Be(expected);
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData("7f", 127)]
    [InlineData("ce 7f ff ff ff", int.MaxValue)]
    [InlineData("cf 00 00 00 00 7f ff ff ff", int.MaxValue)]
    [InlineData("d2 80 00 00 00", int.MinValue)]
    [InlineData("d3 ff ff ff ff 80 00 00 00", int.MinValue)]
    [InlineData("e0", -32)]
    public void Reader_reads_integers_that_fit_as_Int32(string hex, int expected)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.ReadInt32().Should().Be(expected);
        reader.Position.Should().Be(input.Length);
    }

    public static TheoryData<string, string, double> DoubleVectors() => new()
    {
        { "float64 1.5", "cb 3f f8 00 00 00 00 00 00", 1.5 },
        { "float64 -0.0", "cb 80 00 00 00 00 00 00 00", -0.0 },
        { "float64 +Infinity", "cb 7f f0 00 00 00 00 00 00", double.PositiveInfinity },
        { "float64 -Infinity", "cb ff f0 00 00 00 00 00 00", double.NegativeInfinity },
        { "float64 MaxValue", "cb 7f ef ff ff ff ff ff ff", double.MaxValue },
        { "float64 Epsilon", "cb 00 00 00 00 00 00 00 01", double.Epsilon },
        { "float32 1.5", "ca 3f c0 00 00", 1.5 },
        { "float32 -0.0", "ca 80 00 00 00", -0.0 },
        { "float32 +Infinity", "ca 7f 80 00 00", double.PositiveInfinity },
        { "float32 -Infinity", "ca ff 80 00 00", double.NegativeInfinity },
        { "float32 0.1 widens exactly", "ca 3d cc cc cd", (double)0.1f },
        { "positive fixint", "07", 7.0 },
        { "negative fixint", "ff", -1.0 },
        { "int64 MinValue", "d3 80 00 00 00 00 00 00 00", -9223372036854775808.0 },
        { "uint64 MaxValue", "cf ff ff ff ff ff ff ff ff", 18446744073709551615.0 },
        { "uint64 2^63", "cf 80 00 00 00 00 00 00 00", 9223372036854775808.0 },
    };

    [Theory]
    [MemberData(nameof(DoubleVectors), DisableDiscoveryEnumeration = true)]
    public void Reader_reads_floats_of_both_widths_and_any_integer_as_a_double(string name, string hex, double expected)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        var value = reader.ReadDouble();

        BitConverter.DoubleToUInt64Bits(value).Should().Be(BitConverter.DoubleToUInt64Bits(expected), $"{name}: read {value:R}");
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData("cb 7f f8 00 00 00 00 00 00")]
    [InlineData("cb ff f8 00 00 00 00 00 00")]
    [InlineData("cb 7f f0 00 00 00 00 00 01")]
    [InlineData("ca 7f c0 00 00")]
    [InlineData("ca ff c0 00 00")]
    public void Reader_reads_NaN(string hex)
    {
        var reader = new MessagePackReader(Hex(hex));

        double.IsNaN(reader.ReadDouble()).Should().BeTrue();
    }

    [Fact]
    public void Reader_keeps_float64_bits_exactly()
    {
        var bits = 0x7ff0000000000001UL; // a NaN with a payload survives
        var reader = new MessagePackReader(Hex("cb 7f f0 00 00 00 00 00 01"));

        BitConverter.DoubleToUInt64Bits(reader.ReadDouble()).Should().Be(bits);
    }

    [Theory]
    [InlineData("a0", "")]
    [InlineData("a3 61 62 63", "abc")]
    [InlineData("d9 00", "")]
    [InlineData("d9 03 61 62 63", "abc")]
    [InlineData("da 00 00", "")]
    [InlineData("da 00 03 61 62 63", "abc")]
    [InlineData("db 00 00 00 00", "")]
    [InlineData("db 00 00 00 03 61 62 63", "abc")]
    [InlineData("a6 68 c3 a9 6c 6c 6f", "héllo")]
    [InlineData("a6 e6 97 a5 e6 9c ac", "日本")]
    [InlineData("a4 f0 9f 98 80", "😀")]
    [InlineData("a3 ef bf bd", "\uFFFD")]
    public void Reader_reads_every_string_encoding(string hex, string expected)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.PeekType().Should().Be(MessagePackType.String);
        reader.ReadString().Should().Be(expected);
        reader.Position.Should().Be(input.Length);

        reader = new MessagePackReader(input);
        reader.ReadStringBytes().ToArray().Should().Equal(Encoding.UTF8.GetBytes(expected));
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData(31, "bf")]
    [InlineData(32, "d9 20")]
    [InlineData(255, "d9 ff")]
    [InlineData(256, "da 01 00")]
    [InlineData(65535, "da ff ff")]
    [InlineData(65536, "db 00 01 00 00")]
    public void Reader_reads_strings_at_every_header_boundary(int byteCount, string headerHex)
    {
        var input = HeaderThenRepeated(headerHex, byteCount, (byte)'z');
        var reader = new MessagePackReader(input);

        reader.ReadString().Should().Be(new string('z', byteCount));
        reader.End.Should().BeTrue();
    }

    [Theory]
    [InlineData("a1 ff", "\uFFFD")] // a byte that never occurs in UTF-8
    [InlineData("a2 c3 28", "\uFFFD(")] // a lead byte without its continuation
    [InlineData("a3 ed a0 80", "\uFFFD\uFFFD\uFFFD")] // an encoded surrogate (CESU-8) is not UTF-8
    [InlineData("a2 c0 80", "\uFFFD\uFFFD")] // overlong NUL
    public void Reader_replaces_invalid_utf8_with_the_replacement_character(string hex, string expected)
    {
        var reader = new MessagePackReader(Hex(hex));

        reader.ReadString().Should().Be(expected);
        reader.End.Should().BeTrue();
    }

    [Fact]
    public void Reader_reads_a_nullable_string_as_null_for_nil()
    {
        var reader = new MessagePackReader(Hex("c0 a1 78"));

        reader.ReadNullableString().Should().BeNull();
        reader.ReadNullableString().Should().Be("x");
        reader.End.Should().BeTrue();
    }

    [Theory]
    [InlineData("c4 00", "")]
    [InlineData("c4 02 01 02", "0102")]
    [InlineData("c5 00 02 01 02", "0102")]
    [InlineData("c6 00 00 00 02 01 02", "0102")]
    [InlineData("c6 00 00 00 00", "")]
    public void Reader_reads_every_binary_encoding(string hex, string expectedHex)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.PeekType().Should().Be(MessagePackType.Binary);
        ToHex(reader.ReadBinary()).Should().Be(expectedHex);
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData(255, "c4 ff")]
    [InlineData(256, "c5 01 00")]
    [InlineData(65535, "c5 ff ff")]
    [InlineData(65536, "c6 00 01 00 00")]
    public void Reader_reads_binary_at_every_header_boundary(int length, string headerHex)
    {
        var input = HeaderThenRepeated(headerHex, length, 0x42);
        var reader = new MessagePackReader(input);

        var data = reader.ReadBinary();

        data.Length.Should().Be(length);
        data.IndexOfAnyExcept((byte)0x42).Should().Be(-1);
        reader.End.Should().BeTrue();
    }

    [Theory]
    [InlineData("90", 0)]
    [InlineData("93 01 02 03", 3)]
    [InlineData("9f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", 15)]
    [InlineData("dc 00 00", 0)]
    [InlineData("dc 00 03 01 02 03", 3)]
    [InlineData("dd 00 00 00 00", 0)]
    [InlineData("dd 00 00 00 03 01 02 03", 3)]
    public void Reader_reads_every_array_header_encoding(string hex, int expectedCount)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.PeekType().Should().Be(MessagePackType.Array);
        reader.ReadArrayHeader().Should().Be(expectedCount);
        for (var index = 0; index < expectedCount; index++)
        {
            reader.ReadInt32();
        }

        reader.End.Should().BeTrue();
    }

    [Theory]
    [InlineData(16, "dc 00 10")]
    [InlineData(65535, "dc ff ff")]
    [InlineData(65536, "dd 00 01 00 00")]
    public void Reader_reads_array_headers_at_the_count_boundaries(int count, string headerHex)
    {
        var input = HeaderThenRepeated(headerHex, count, 0xc0);
        var reader = new MessagePackReader(input);

        reader.ReadArrayHeader().Should().Be(count);
        reader.Position.Should().Be(Hex(headerHex).Length);
    }

    [Theory]
    [InlineData("80", 0)]
    [InlineData("81 a1 61 01", 1)]
    [InlineData("8f 00 00 01 00 02 00 03 00 04 00 05 00 06 00 07 00 08 00 09 00 0a 00 0b 00 0c 00 0d 00 0e 00", 15)]
    [InlineData("de 00 00", 0)]
    [InlineData("de 00 01 a1 61 01", 1)]
    [InlineData("df 00 00 00 00", 0)]
    [InlineData("df 00 00 00 01 a1 61 01", 1)]
    public void Reader_reads_every_map_header_encoding(string hex, int expectedCount)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.PeekType().Should().Be(MessagePackType.Map);
        reader.ReadMapHeader().Should().Be(expectedCount);
        for (var index = 0; index < expectedCount * 2; index++)
        {
            reader.Skip();
        }

        reader.End.Should().BeTrue();
    }

    [Theory]
    [InlineData(16, "de 00 10")]
    [InlineData(65535, "de ff ff")]
    [InlineData(65536, "df 00 01 00 00")]
    public void Reader_reads_map_headers_at_the_count_boundaries(int count, string headerHex)
    {
        var input = HeaderThenRepeated(headerHex, count * 2, 0xc0);
        var reader = new MessagePackReader(input);

        reader.ReadMapHeader().Should().Be(count);
        reader.Position.Should().Be(Hex(headerHex).Length);
    }

    [Theory]
    [InlineData("d4 05 aa", 5, "aa")]
    [InlineData("d5 05 aa bb", 5, "aabb")]
    [InlineData("d6 05 01 02 03 04", 5, "01020304")]
    [InlineData("d7 05 01 02 03 04 05 06 07 08", 5, "0102030405060708")]
    [InlineData("d8 80 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", -128, "000102030405060708090a0b0c0d0e0f")]
    [InlineData("c7 00 7f", 127, "")]
    [InlineData("c7 03 fe 01 02 03", -2, "010203")]
    [InlineData("c7 01 05 aa", 5, "aa")] // non-minimal: fits fixext 1
    [InlineData("c8 00 01 05 aa", 5, "aa")]
    [InlineData("c9 00 00 00 01 05 aa", 5, "aa")]
    [InlineData("c9 00 00 00 00 05", 5, "")]
    public void Reader_reads_every_extension_encoding(string hex, sbyte expectedType, string expectedData)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.PeekType().Should().Be(MessagePackType.Extension);
        ToHex(reader.ReadExtension(out var type)).Should().Be(expectedData);
        type.Should().Be(expectedType);
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData(255, "c7 ff")]
    [InlineData(256, "c8 01 00")]
    [InlineData(65536, "c9 00 01 00 00")]
    public void Reader_reads_extensions_at_the_length_boundaries(int length, string headerHex)
    {
        var input = Concat(Hex(headerHex), [0x10], new byte[length]);
        var reader = new MessagePackReader(input);

        reader.ReadExtension(out var type).Length.Should().Be(length);
        type.Should().Be(16);
        reader.End.Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(WriterSpecTests.TimestampVectors), MemberType = typeof(WriterSpecTests), DisableDiscoveryEnumeration = true)]
    public void Reader_reads_the_timestamps_the_specification_defines(string name, DateTimeOffset expected, string hex)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        var value = reader.ReadTimestamp();

        value.Should().Be(expected, name);
        value.UtcTicks.Should().Be(expected.UtcTicks, name);
        value.Offset.Should().Be(TimeSpan.Zero, "timestamps carry no offset");
        reader.Position.Should().Be(input.Length);
    }

    public static TheoryData<string, string, DateTimeOffset> NonMinimalTimestamps() => new()
    {
        { "the epoch as timestamp 64", "d7 ff 00 00 00 00 00 00 00 00", DateTimeOffset.UnixEpoch },
        { "the epoch as timestamp 96", "c7 0c ff 00 00 00 00 00 00 00 00 00 00 00 00", DateTimeOffset.UnixEpoch },
        { "1 s as timestamp 96", "c7 0c ff 00 00 00 00 00 00 00 00 00 00 00 01", DateTimeOffset.FromUnixTimeSeconds(1) },
        { "timestamp 32 in ext 8", "c7 04 ff 00 00 00 01", DateTimeOffset.FromUnixTimeSeconds(1) },
        { "timestamp 64 in ext 16", "c8 00 08 ff 00 00 01 90 00 00 00 01", DateTimeOffset.FromUnixTimeSeconds(1).AddTicks(1) },
        { "999999999 ns rounds down to whole ticks", "d7 ff ee 6b 27 fc 00 00 00 00", DateTimeOffset.UnixEpoch.AddTicks(9_999_999) },
        { "123 ns rounds down to 100 ns", "d7 ff 00 00 01 ec 00 00 00 00", DateTimeOffset.UnixEpoch.AddTicks(1) },
    };

    [Theory]
    [MemberData(nameof(NonMinimalTimestamps), DisableDiscoveryEnumeration = true)]
    public void Reader_reads_timestamps_in_any_valid_form(string name, string hex, DateTimeOffset expected)
    {
        var input = Hex(hex);
        var reader = new MessagePackReader(input);

        reader.ReadTimestamp().Should().Be(expected, name);
        reader.End.Should().BeTrue();
    }

    [Fact]
    public void Reader_reports_timestamps_as_extensions_of_type_minus_one()
    {
        var reader = new MessagePackReader(Hex("d6 ff 00 00 00 01"));

        reader.PeekType().Should().Be(MessagePackType.Extension);
        ToHex(reader.ReadExtension(out var type)).Should().Be("00000001");
        type.Should().Be(-1);
    }

    [Fact]
    public void Reader_reads_a_sequence_of_values_and_tracks_its_position()
    {
        // [1, "a", {"k": nil}, true] then a second top-level value 0xcc 0xff
        var input = Hex("94 01 a1 61 81 a1 6b c0 c3 cc ff");
        var reader = new MessagePackReader(input);

        reader.ReadArrayHeader().Should().Be(4);
        reader.Position.Should().Be(1);
        reader.ReadInt32().Should().Be(1);
        reader.ReadString().Should().Be("a");
        reader.Position.Should().Be(4);
        reader.ReadMapHeader().Should().Be(1);
        reader.ReadString().Should().Be("k");
        reader.ReadNil();
        reader.ReadBoolean().Should().BeTrue();
        reader.End.Should().BeFalse();
        reader.ReadInt32().Should().Be(255);
        reader.End.Should().BeTrue();
        reader.Position.Should().Be(input.Length);
    }

    [Theory]
    [InlineData("c0")]
    [InlineData("c3")]
    [InlineData("7f")]
    [InlineData("cf ff ff ff ff ff ff ff ff")]
    [InlineData("d3 80 00 00 00 00 00 00 00")]
    [InlineData("ca 3f c0 00 00")]
    [InlineData("cb 3f f8 00 00 00 00 00 00")]
    [InlineData("db 00 00 00 01 61")]
    [InlineData("c6 00 00 00 01 61")]
    [InlineData("dd 00 00 00 02 91 90 80")]
    [InlineData("df 00 00 00 01 a1 61 92 c0 81 01 02")]
    [InlineData("c9 00 00 00 01 05 aa")]
    [InlineData("c7 0c ff 00 00 00 00 ff ff ff ff ff ff ff ff")]
    [InlineData("82 a1 61 91 90 c0 d8 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")]
    public void Reader_skips_exactly_one_value_of_any_kind(string hex)
    {
        var value = Hex(hex);
        var input = Concat(value, Hex("a5 61 66 74 65 72"));
        var reader = new MessagePackReader(input);

        reader.Skip();

        reader.Position.Should().Be(value.Length);
        reader.ReadString().Should().Be("after");
    }
}
