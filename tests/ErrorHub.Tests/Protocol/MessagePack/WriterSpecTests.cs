using System.Text;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Protocol.MessagePack.MessagePackTestSupport;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// The writer's output for every format family, as exact bytes taken from the MessagePack specification
/// (github.com/msgpack/msgpack/blob/master/spec.md). The writer must always pick the smallest encoding.
/// </summary>
public sealed class WriterSpecTests
{
    [Fact]
    public void Writer_encodes_nil_false_and_true()
    {
        ToHex(Encode((ref w) => w.WriteNil())).Should().Be("c0");
        ToHex(Encode((ref w) => w.Write(false))).Should().Be("c2");
        ToHex(Encode((ref w) => w.Write(true))).Should().Be("c3");
        ToHex(Encode((ref w) => w.Write((string?)null))).Should().Be("c0", "a null string is nil");
    }

    [Theory]
    // positive fixint
    [InlineData(0L, "00")]
    [InlineData(1L, "01")]
    [InlineData(127L, "7f")]
    // uint 8
    [InlineData(128L, "cc 80")]
    [InlineData(255L, "cc ff")]
    // uint 16
    [InlineData(256L, "cd 01 00")]
    [InlineData(65535L, "cd ff ff")]
    // uint 32
    [InlineData(65536L, "ce 00 01 00 00")]
    [InlineData(2147483647L, "ce 7f ff ff ff")]
    [InlineData(4294967295L, "ce ff ff ff ff")]
    // uint 64
    [InlineData(4294967296L, "cf 00 00 00 01 00 00 00 00")]
    [InlineData(long.MaxValue, "cf 7f ff ff ff ff ff ff ff")]
    // negative fixint
    [InlineData(-1L, "ff")]
    [InlineData(-32L, "e0")]
    // int 8
    [InlineData(-33L, "d0 df")]
    [InlineData(-128L, "d0 80")]
    // int 16
    [InlineData(-129L, "d1 ff 7f")]
    [InlineData(-32768L, "d1 80 00")]
    // int 32
    [InlineData(-32769L, "d2 ff ff 7f ff")]
    [InlineData(-2147483648L, "d2 80 00 00 00")]
    // int 64
    [InlineData(-2147483649L, "d3 ff ff ff ff 7f ff ff ff")]
    [InlineData(long.MinValue, "d3 80 00 00 00 00 00 00 00")]
    public void Writer_encodes_signed_integers_in_the_smallest_form(long value, string expectedHex)
    {
        ToHex(Encode((ref w) => w.Write(value))).Should().Be(Normalize(expectedHex));
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            ToHex(Encode((ref w) => w.Write((int)value))).Should().Be(Normalize(expectedHex), "Write(int) must agree with Write(long)");
        }
    }

    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(127UL, "7f")]
    [InlineData(128UL, "cc 80")]
    [InlineData(255UL, "cc ff")]
    [InlineData(256UL, "cd 01 00")]
    [InlineData(65535UL, "cd ff ff")]
    [InlineData(65536UL, "ce 00 01 00 00")]
    [InlineData(4294967295UL, "ce ff ff ff ff")]
    [InlineData(4294967296UL, "cf 00 00 00 01 00 00 00 00")]
    [InlineData(9223372036854775808UL, "cf 80 00 00 00 00 00 00 00")]
    [InlineData(ulong.MaxValue, "cf ff ff ff ff ff ff ff ff")]
    public void Writer_encodes_unsigned_integers_in_the_smallest_form(ulong value, string expectedHex)
    {
        ToHex(Encode((ref w) => w.Write(value))).Should().Be(Normalize(expectedHex));
    }

    public static TheoryData<string, double, string> Float64Vectors() => new()
    {
        { "1.5", 1.5, "cb 3f f8 00 00 00 00 00 00" },
        { "1.1", 1.1, "cb 3f f1 99 99 99 99 99 9a" },
        { "0.0", 0.0, "cb 00 00 00 00 00 00 00 00" },
        { "-0.0", -0.0, "cb 80 00 00 00 00 00 00 00" },
        { "+Infinity", double.PositiveInfinity, "cb 7f f0 00 00 00 00 00 00" },
        { "-Infinity", double.NegativeInfinity, "cb ff f0 00 00 00 00 00 00" },
        { "double.NaN (the runtime's NaN has the sign bit set)", double.NaN, "cb ff f8 00 00 00 00 00 00" },
        { "a positive quiet NaN", BitConverter.UInt64BitsToDouble(0x7ff8000000000000), "cb 7f f8 00 00 00 00 00 00" },
        { "a NaN with a payload", BitConverter.UInt64BitsToDouble(0x7ff0000000000001), "cb 7f f0 00 00 00 00 00 01" },
        { "double.Epsilon", double.Epsilon, "cb 00 00 00 00 00 00 00 01" },
        { "double.MaxValue", double.MaxValue, "cb 7f ef ff ff ff ff ff ff" },
        { "an integral double stays a float", 3.0, "cb 40 08 00 00 00 00 00 00" },
    };

    [Theory]
    [MemberData(nameof(Float64Vectors), DisableDiscoveryEnumeration = true)]
    public void Writer_encodes_doubles_as_float64_bit_for_bit(string name, double value, string expectedHex)
    {
        ToHex(Encode((ref w) => w.Write(value))).Should().Be(Normalize(expectedHex), name);
    }

    public static TheoryData<string, float, string> Float32Vectors() => new()
    {
        { "1.5f", 1.5f, "ca 3f c0 00 00" },
        { "0f", 0f, "ca 00 00 00 00" },
        { "-0f", -0f, "ca 80 00 00 00" },
        { "+Infinity", float.PositiveInfinity, "ca 7f 80 00 00" },
        { "-Infinity", float.NegativeInfinity, "ca ff 80 00 00" },
        { "float.NaN (the runtime's NaN has the sign bit set)", float.NaN, "ca ff c0 00 00" },
        { "a positive quiet NaN", BitConverter.UInt32BitsToSingle(0x7fc00000), "ca 7f c0 00 00" },
        { "float.Epsilon", float.Epsilon, "ca 00 00 00 01" },
        { "float.MaxValue", float.MaxValue, "ca 7f 7f ff ff" },
    };

    [Theory]
    [MemberData(nameof(Float32Vectors), DisableDiscoveryEnumeration = true)]
    public void Writer_encodes_floats_as_float32_bit_for_bit(string name, float value, string expectedHex)
    {
        ToHex(Encode((ref w) => w.Write(value))).Should().Be(Normalize(expectedHex), name);
    }

    [Theory]
    [InlineData(0, "a0")]
    [InlineData(1, "a1")]
    [InlineData(31, "bf")]
    [InlineData(32, "d9 20")]
    [InlineData(255, "d9 ff")]
    [InlineData(256, "da 01 00")]
    [InlineData(65535, "da ff ff")]
    [InlineData(65536, "db 00 01 00 00")]
    [InlineData(70000, "db 00 01 11 70")]
    public void Writer_picks_the_string_header_by_utf8_length(int byteCount, string expectedHeaderHex)
    {
        var text = new string('a', byteCount);
        var expected = HeaderThenRepeated(expectedHeaderHex, byteCount, (byte)'a');

        Encode((ref w) => w.Write(text)).Should().Equal(expected, "Write(string)");
        Encode((ref w) => w.Write(text.AsSpan())).Should().Equal(expected, "Write(ReadOnlySpan<char>)");
        Encode((ref w) => w.WriteUtf8String(Encoding.UTF8.GetBytes(text))).Should().Equal(expected, "WriteUtf8String");
    }

    [Theory]
    // The header counts UTF-8 bytes, not UTF-16 chars: these strings are short in chars but cross a byte boundary.
    [InlineData("é", 15, "be")] // 30 bytes
    [InlineData("é", 16, "d9 20")] // 32 bytes in 16 chars
    [InlineData("€", 10, "be")] // 30 bytes
    [InlineData("€", 11, "d9 21")] // 33 bytes in 11 chars
    [InlineData("€", 85, "d9 ff")] // 255 bytes
    [InlineData("€", 86, "da 01 02")] // 258 bytes
    [InlineData("😀", 7, "bc")] // 28 bytes in 14 chars (surrogate pairs)
    [InlineData("😀", 8, "d9 20")] // 32 bytes in 16 chars
    [InlineData("😀", 16384, "db 00 01 00 00")] // 65536 bytes in 32768 chars
    [InlineData("€", 21845, "da ff ff")] // 65535 bytes
    public void Writer_counts_multi_byte_utf8_when_choosing_the_string_header(string unit, int repeat, string expectedHeaderHex)
    {
        var text = string.Concat(Enumerable.Repeat(unit, repeat));
        var expected = Concat(Hex(expectedHeaderHex), Encoding.UTF8.GetBytes(text));

        Encode((ref w) => w.Write(text)).Should().Equal(expected);
        Encode((ref w) => w.WriteUtf8String(Encoding.UTF8.GetBytes(text))).Should().Equal(expected);
    }

    [Theory]
    [InlineData("héllo", "a6 68 c3 a9 6c 6c 6f")]
    [InlineData("日本", "a6 e6 97 a5 e6 9c ac")]
    [InlineData("😀", "a4 f0 9f 98 80")]
    [InlineData("a😀b", "a6 61 f0 9f 98 80 62")]
    [InlineData("\0", "a1 00")]
    [InlineData("\uFFFF", "a3 ef bf bf")]
    [InlineData("\U0010FFFF", "a4 f4 8f bf bf")]
    public void Writer_encodes_strings_as_utf8(string text, string expectedHex)
    {
        ToHex(Encode((ref w) => w.Write(text))).Should().Be(Normalize(expectedHex));
    }

    // Lone surrogates do not survive test-case serialization, so these cases are built at run time.
    public static TheoryData<string, string, string> UnpairedSurrogates() => new()
    {
        { "lone high surrogate", "\uD800", "a3 ef bf bd" },
        { "lone low surrogate", "\uDC00", "a3 ef bf bd" },
        { "high surrogate cut off at the end", "a\uD83D", "a4 61 ef bf bd" },
        { "pair in the wrong order", "\uDE00\uD83D", "a6 ef bf bd ef bf bd" },
        { "high surrogate between letters", "x\uD83Dy", "a5 78 ef bf bd 79" },
    };

    [Theory]
    [MemberData(nameof(UnpairedSurrogates), DisableDiscoveryEnumeration = true)]
    public void Writer_replaces_unpaired_surrogates_with_the_replacement_character(string name, string text, string expectedHex)
    {
        ToHex(Encode((ref w) => w.Write(text))).Should().Be(Normalize(expectedHex), name);
        ToHex(Encode((ref w) => w.Write(text.AsSpan()))).Should().Be(Normalize(expectedHex), name);
    }

    [Theory]
    [InlineData(0, "c4 00")]
    [InlineData(1, "c4 01")]
    [InlineData(255, "c4 ff")]
    [InlineData(256, "c5 01 00")]
    [InlineData(65535, "c5 ff ff")]
    [InlineData(65536, "c6 00 01 00 00")]
    public void Writer_picks_the_binary_header_by_length(int length, string expectedHeaderHex)
    {
        var data = new byte[length];
        data.AsSpan().Fill(0x5a);

        Encode((ref w) => w.WriteBinary(data)).Should().Equal(HeaderThenRepeated(expectedHeaderHex, length, 0x5a));
    }

    [Theory]
    [InlineData(0, "90")]
    [InlineData(1, "91")]
    [InlineData(15, "9f")]
    [InlineData(16, "dc 00 10")]
    [InlineData(65535, "dc ff ff")]
    [InlineData(65536, "dd 00 01 00 00")]
    [InlineData(int.MaxValue, "dd 7f ff ff ff")]
    public void Writer_picks_the_array_header_by_count(int count, string expectedHex)
    {
        ToHex(Encode((ref w) => w.WriteArrayHeader(count))).Should().Be(Normalize(expectedHex));
    }

    [Theory]
    [InlineData(0, "80")]
    [InlineData(1, "81")]
    [InlineData(15, "8f")]
    [InlineData(16, "de 00 10")]
    [InlineData(65535, "de ff ff")]
    [InlineData(65536, "df 00 01 00 00")]
    [InlineData(int.MaxValue, "df 7f ff ff ff")]
    public void Writer_picks_the_map_header_by_count(int count, string expectedHex)
    {
        ToHex(Encode((ref w) => w.WriteMapHeader(count))).Should().Be(Normalize(expectedHex));
    }

    [Fact]
    public void Writer_rejects_negative_container_counts()
    {
        var array = () => Encode((ref w) => w.WriteArrayHeader(-1));
        var map = () => Encode((ref w) => w.WriteMapHeader(-1));

        array.Should().Throw<ArgumentOutOfRangeException>();
        map.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Writer_encodes_a_small_document_exactly()
    {
        // {"compact": true, "schema": 0} — the example from the specification's front page.
        var bytes = Encode((ref w) =>
        {
            w.WriteMapHeader(2);
            w.Write("compact");
            w.Write(true);
            w.Write("schema");
            w.Write(0);
        });

        ToHex(bytes).Should().Be("82a7636f6d70616374c3a6736368656d6100");
    }

    [Theory]
    [InlineData(1, "d4")]
    [InlineData(2, "d5")]
    [InlineData(4, "d6")]
    [InlineData(8, "d7")]
    [InlineData(16, "d8")]
    public void Writer_uses_fixext_for_the_five_fixed_sizes(int length, string expectedCode)
    {
        var data = Enumerable.Range(1, length).Select(i => (byte)i).ToArray();

        Encode((ref w) => w.WriteExtension(7, data)).Should().Equal(Concat(Hex(expectedCode), [0x07], data));
    }

    [Theory]
    [InlineData(0, "c7 00")]
    [InlineData(3, "c7 03")]
    [InlineData(5, "c7 05")]
    [InlineData(15, "c7 0f")]
    [InlineData(17, "c7 11")]
    [InlineData(255, "c7 ff")]
    [InlineData(256, "c8 01 00")]
    [InlineData(65535, "c8 ff ff")]
    [InlineData(65536, "c9 00 01 00 00")]
    public void Writer_uses_ext8_16_32_for_other_sizes(int length, string expectedHeaderHex)
    {
        var data = new byte[length];
        data.AsSpan().Fill(0xee);

        Encode((ref w) => w.WriteExtension(-5, data)).Should().Equal(Concat(Hex(expectedHeaderHex), [0xfb], data));
    }

    [Theory]
    [InlineData(sbyte.MinValue, "80")]
    [InlineData((sbyte)-1, "ff")]
    [InlineData((sbyte)0, "00")]
    [InlineData(sbyte.MaxValue, "7f")]
    public void Writer_encodes_the_extension_type_as_a_signed_byte(sbyte type, string expectedTypeHex)
    {
        ToHex(Encode((ref w) => w.WriteExtension(type, [0xaa]))).Should().Be("d4" + expectedTypeHex + "aa");
    }

    public static TheoryData<string, DateTimeOffset, string> TimestampVectors() => new()
    {
        // timestamp 32: whole seconds in [0, 2^32)
        { "the epoch", DateTimeOffset.UnixEpoch, "d6 ff 00 00 00 00" },
        { "1 s", DateTimeOffset.FromUnixTimeSeconds(1), "d6 ff 00 00 00 01" },
        { "2020-01-01", new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), "d6 ff 5e 0b e1 00" },
        { "2^32-1 s (2106-02-07T06:28:15Z)", DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue), "d6 ff ff ff ff ff" },
        // timestamp 64: nanoseconds, or seconds in [2^32, 2^34)
        { "2^32 s", DateTimeOffset.FromUnixTimeSeconds(1L << 32), "d7 ff 00 00 00 01 00 00 00 00" },
        { "2^34-1 s", DateTimeOffset.FromUnixTimeSeconds((1L << 34) - 1), "d7 ff 00 00 00 03 ff ff ff ff" },
        { "1 s + 100 ns", DateTimeOffset.FromUnixTimeSeconds(1).AddTicks(1), "d7 ff 00 00 01 90 00 00 00 01" },
        { "the epoch + 100 ns", DateTimeOffset.UnixEpoch.AddTicks(1), "d7 ff 00 00 01 90 00 00 00 00" },
        { "2020-01-01T00:00:00.123Z", new DateTimeOffset(2020, 1, 1, 0, 0, 0, 123, TimeSpan.Zero), "d7 ff 1d 53 53 00 5e 0b e1 00" },
        { "2^32-1 s + 999999900 ns", DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue).AddTicks(9_999_999), "d7 ff ee 6b 26 70 ff ff ff ff" },
        // timestamp 96: negative seconds, or seconds >= 2^34
        { "2^34 s", DateTimeOffset.FromUnixTimeSeconds(1L << 34), "c7 0c ff 00 00 00 00 00 00 00 04 00 00 00 00" },
        { "-1 s", DateTimeOffset.FromUnixTimeSeconds(-1), "c7 0c ff 00 00 00 00 ff ff ff ff ff ff ff ff" },
        { "-0.5 s (1969-12-31T23:59:59.5Z)", DateTimeOffset.UnixEpoch.AddMilliseconds(-500), "c7 0c ff 1d cd 65 00 ff ff ff ff ff ff ff ff" },
        { "-100 ns", DateTimeOffset.UnixEpoch.AddTicks(-1), "c7 0c ff 3b 9a c9 9c ff ff ff ff ff ff ff ff" },
        { "1969-07-20T20:17:40Z", new DateTimeOffset(1969, 7, 20, 20, 17, 40, TimeSpan.Zero), "c7 0c ff 00 00 00 00 ff ff ff ff ff 27 95 e4" },
        { "DateTimeOffset.MinValue", DateTimeOffset.MinValue, "c7 0c ff 00 00 00 00 ff ff ff f1 88 6e 09 00" },
        { "DateTimeOffset.MaxValue", DateTimeOffset.MaxValue, "c7 0c ff 3b 9a c9 9c 00 00 00 3a ff f4 41 7f" },
        // the offset does not matter: the instant does
        { "2020-01-01T02:00:00+02:00", new DateTimeOffset(2020, 1, 1, 2, 0, 0, TimeSpan.FromHours(2)), "d6 ff 5e 0b e1 00" },
    };

    [Theory]
    [MemberData(nameof(TimestampVectors), DisableDiscoveryEnumeration = true)]
    public void Writer_encodes_timestamps_in_the_smallest_of_the_three_forms(string name, DateTimeOffset value, string expectedHex)
    {
        ToHex(Encode((ref w) => w.WriteTimestamp(value))).Should().Be(Normalize(expectedHex), name);
    }

    private static string Normalize(string hex) => hex.Replace(" ", string.Empty, StringComparison.Ordinal);
}
