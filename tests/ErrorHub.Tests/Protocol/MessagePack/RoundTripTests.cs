using ErrorHub.Protocol.MessagePack;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>Values written by <see cref="MessagePackWriter"/> come back equal from <see cref="MessagePackReader"/>.</summary>
public sealed class RoundTripTests
{
    private static readonly MessagePackReaderLimits Unlimited = new()
    {
        MaxDepth = 64,
        MaxStringBytes = int.MaxValue,
        MaxBinaryBytes = int.MaxValue,
        MaxCollectionCount = int.MaxValue,
    };

    [Fact]
    public void Structured_document_round_trips()
    {
        var document = SampleDocuments.ErrorEvent();

        var bytes = MpCodec.Encode(document);

        MpCodec.Decode(bytes).ToString().Should().Be(document.ToString());
    }

    [Fact]
    public void Nested_maps_and_arrays_round_trip()
    {
        var document = MpValue.Map(
            (MpValue.Str("empty array"), MpValue.Array()),
            (MpValue.Str("empty map"), MpValue.Map()),
            (MpValue.Int(1), MpValue.Array(MpValue.Array(MpValue.Array(MpValue.Map((MpValue.Nil, MpValue.Bool(false))))))),
            (MpValue.Array(MpValue.Int(-1)), MpValue.Str("an array as a key")),
            (MpValue.Str("sixteen"), MpValue.Array(Enumerable.Range(0, 16).Select(i => MpValue.Int(i)).ToArray())),
            (MpValue.Str("map16"), MpValue.Map(Enumerable.Range(0, 16).Select(i => (MpValue.Int(i), MpValue.Str(new string('v', i)))).ToArray())));

        MpCodec.Decode(MpCodec.Encode(document)).ToString().Should().Be(document.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(200_000)]
    public void Strings_of_every_size_round_trip(int byteCount)
    {
        var ascii = new string('s', byteCount);
        var mixed = string.Concat(Enumerable.Repeat("aé€😀", (byteCount / 10) + 1));

        foreach (var text in new[] { ascii, mixed })
        {
            var value = MpValue.Str(text);
            MpCodec.Decode(MpCodec.Encode(value)).ToString().Should().Be(value.ToString());
        }
    }

    [Fact]
    public void Integers_across_every_range_round_trip_through_each_read_method()
    {
        var values = new List<Int128>();
        for (var bit = 0; bit < 64; bit++)
        {
            var power = (Int128)1 << bit;
            values.AddRange([power - 1, power, power + 1, -power + 1, -power, -power - 1]);
        }

        values.Add(ulong.MaxValue);
        values.Add((Int128)ulong.MaxValue - 1);
        values.Add(long.MinValue);
        foreach (var value in values.Where(v => v >= long.MinValue && v <= ulong.MaxValue).Distinct())
        {
            var bytes = value >= 0
                ? MessagePackTestSupport.Encode((ref w) => w.Write((ulong)value))
                : MessagePackTestSupport.Encode((ref w) => w.Write((long)value));

            if (value >= long.MinValue && value <= long.MaxValue)
            {
                new MessagePackReader(bytes).ReadInt64().Should().Be((long)value);
                MessagePackTestSupport.Encode((ref w) => w.Write((long)value)).Should().Equal(bytes, "Write(long) and Write(ulong) agree");
            }

            if (value >= 0)
            {
                new MessagePackReader(bytes).ReadUInt64().Should().Be((ulong)value);
            }

            if (value >= int.MinValue && value <= int.MaxValue)
            {
                new MessagePackReader(bytes).ReadInt32().Should().Be((int)value);
            }

            new MessagePackReader(bytes).ReadDouble().Should().Be((double)value);
        }
    }

    [Fact]
    public void Floats_round_trip_bit_for_bit()
    {
        var random = new Random(20261121);
        for (var index = 0; index < 2000; index++)
        {
            var bits = random.NextInt64(long.MinValue, long.MaxValue);
            var value = BitConverter.Int64BitsToDouble(bits);
            var reader = new MessagePackReader(MessagePackTestSupport.Encode((ref w) => w.Write(value)));
            BitConverter.DoubleToInt64Bits(reader.ReadDouble()).Should().Be(bits);
        }
    }

    [Fact]
    public void Timestamps_round_trip_to_the_tick()
    {
        var random = new Random(1970);
        var values = new List<DateTimeOffset>
        {
            DateTimeOffset.MinValue,
            DateTimeOffset.MaxValue,
            DateTimeOffset.UnixEpoch,
            DateTimeOffset.UnixEpoch.AddTicks(-1),
            DateTimeOffset.UnixEpoch.AddTicks(1),
            DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue),
            DateTimeOffset.FromUnixTimeSeconds(1L << 34).AddTicks(-1),
            DateTimeOffset.FromUnixTimeSeconds(1L << 34),
        };
        for (var index = 0; index < 1000; index++)
        {
            values.Add(new DateTimeOffset(random.NextInt64(DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks + 1), TimeSpan.Zero));
        }

        foreach (var value in values)
        {
            var reader = new MessagePackReader(MessagePackTestSupport.Encode((ref w) => w.WriteTimestamp(value)));
            reader.ReadTimestamp().UtcTicks.Should().Be(value.UtcTicks, value.ToString("o"));
            reader.End.Should().BeTrue();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_values_round_trip(int seed)
    {
        var generator = new RandomValueGenerator(seed);
        for (var index = 0; index < 150; index++)
        {
            var value = generator.Next();
            var bytes = MpCodec.Encode(value);

            MpCodec.Decode(bytes, Unlimited).ToString().Should().Be(value.ToString(), $"value {index} of seed {seed}");

            var reader = new MessagePackReader(bytes, Unlimited);
            reader.Skip();
            reader.End.Should().BeTrue("Skip passes over exactly the value");
        }
    }
}
