using ErrorHub.Storage.ClickHouse;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Storage.Tests.ClickHouse;

/// <summary>Byte vectors from ClickHouse's RowBinary format description; the server checks agree in <see cref="ClickHouseClientTests"/>.</summary>
public sealed class RowBinaryWriterTests
{
    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7F")]
    [InlineData(128UL, "8001")]
    [InlineData(300UL, "AC02")]
    [InlineData(16384UL, "808001")]
    [InlineData(ulong.MaxValue, "FFFFFFFFFFFFFFFFFF01")]
    public void Lengths_are_unsigned_leb128(ulong value, string expectedHex)
    {
        Encode(w => w.WriteVarUInt(value)).Should().Be(expectedHex);
    }

    [Fact]
    public void Integers_are_little_endian_of_their_width()
    {
        Encode(w => w.WriteUInt8(0xAB)).Should().Be("AB");
        Encode(w => w.WriteUInt16(0x1234)).Should().Be("3412");
        Encode(w => w.WriteUInt32(0x12345678)).Should().Be("78563412");
        Encode(w => w.WriteUInt64(0x0102030405060708)).Should().Be("0807060504030201");
        Encode(w => w.WriteInt8(-1)).Should().Be("FF");
        Encode(w => w.WriteInt16(-2)).Should().Be("FEFF");
        Encode(w => w.WriteInt32(-2)).Should().Be("FEFFFFFF");
        Encode(w => w.WriteInt64(long.MinValue)).Should().Be("0000000000000080");
        Encode(w => w.WriteBool(true)).Should().Be("01");
    }

    [Fact]
    public void Strings_are_a_byte_length_then_utf8()
    {
        Encode(w => w.WriteString("")).Should().Be("00");
        Encode(w => w.WriteString(null)).Should().Be("00");
        Encode(w => w.WriteString("ab")).Should().Be("026162");
        Encode(w => w.WriteString("é")).Should().Be("02C3A9", "the length counts bytes, not characters");
        Encode(w => w.WriteString("🎉")).Should().Be("04F09F8E89");
        Encode(w => w.WriteString(new string('x', 200))).Should().StartWith("C801" + "7878");
    }

    [Fact]
    public void DateTime_is_uint32_seconds_clamped_to_the_types_range()
    {
        Encode(w => w.WriteDateTime(DateTimeOffset.FromUnixTimeSeconds(0x5E0BE100))).Should().Be("00E10B5E");
        Encode(w => w.WriteDateTime(new DateTimeOffset(2020, 1, 1, 1, 0, 0, TimeSpan.FromHours(1)))).Should().Be("00E10B5E", "offsets are normalized to UTC");
        Encode(w => w.WriteDateTime(new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero))).Should().Be("00000000");
        Encode(w => w.WriteDateTime(new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero))).Should().Be("FFFFFFFF");
    }

    [Fact]
    public void Uuid_is_the_high_then_the_low_half_each_little_endian()
    {
        Encode(w => w.WriteUuid(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff")))
            .Should().Be("7766554433221100FFEEDDCCBBAA9988");
    }

    [Fact]
    public void Arrays_and_nullables_prefix_their_items()
    {
        Encode(w => w.WriteArray(new[] { "a", "bc" }, (w, s) => w.WriteString(s))).Should().Be("02" + "0161" + "026263");
        Encode(w => w.WriteArray(Array.Empty<int>(), (w, i) => w.WriteInt32(i))).Should().Be("00");
        Encode(w =>
        {
            if (w.WriteNullMarker<string>("x"))
            {
                w.WriteString("x");
            }

            w.WriteNullMarker<string>(null);
        }).Should().Be("00" + "0178" + "01");
    }

    [Fact]
    public void The_buffer_grows_past_its_initial_size_and_clears_for_reuse()
    {
        using var writer = new RowBinaryWriter(initialCapacity: 4);
        for (var i = 0; i < 1000; i++)
        {
            writer.WriteUInt64((ulong)i);
        }

        writer.WrittenCount.Should().Be(8000);
        BitConverter.ToUInt64(writer.WrittenMemory.Span[7992..]).Should().Be(999);
        writer.Clear();
        writer.WriteUInt8(7);
        Convert.ToHexString(writer.WrittenMemory.Span).Should().Be("07");
    }

    private static string Encode(Action<RowBinaryWriter> write)
    {
        using var writer = new RowBinaryWriter();
        write(writer);
        return Convert.ToHexString(writer.WrittenMemory.Span);
    }
}
