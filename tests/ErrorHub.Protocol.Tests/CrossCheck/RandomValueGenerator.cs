using System.Text;
using ErrorHub.Testing.Batches;

namespace ErrorHub.Protocol.Tests.CrossCheck;

/// <summary>
/// Deterministic random <see cref="Wire"/> value trees (bounded depth, width and string sizes) that JavaScript can
/// express, for unknown fields the decoder must skip whatever @msgpack/msgpack made of them. Values lean towards the
/// edges: encoding boundaries of integers, strings, binaries, containers, special floats and timestamps before 1970
/// or with sub-second parts.
/// </summary>
internal sealed class RandomValueGenerator(int seed)
{
    private static readonly Int128[] IntegerEdges =
    [
        0, 1, 31, 32, 127, 128, 255, 256, 32767, 32768, 65535, 65536, int.MaxValue, (Int128)int.MaxValue + 1,
        uint.MaxValue, (Int128)uint.MaxValue + 1, long.MaxValue, (Int128)long.MaxValue + 1, ulong.MaxValue,
        -1, -31, -32, -33, -127, -128, -129, -32768, -32769, int.MinValue, (Int128)int.MinValue - 1, long.MinValue,
        (Int128)1 << 53, -((Int128)1 << 53),
    ];

    private static readonly int[] LengthEdges = [0, 1, 15, 16, 31, 32, 33, 255, 256];

    private static readonly double[] SpecialDoubles =
    [
        0.0, -0.0, 1.0, -1.5, 0.1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon,
        -double.Epsilon, double.MaxValue, double.MinValue, 9007199254740993.0, 1e300, 5e-324,
    ];

    private static readonly string[] TextUnits = ["a", "Z", "0", " ", "\"", "\\", "\n", "\0", "é", "ß", "€", "日", "語", "😀", "🚀", "\U0010FFFF", "\uFFFD"];

    private readonly Random _random = new(seed);

    /// <summary>A value at most <paramref name="maxDepth"/> containers deep.</summary>
    public object? Next(int maxDepth = 4)
    {
        var kind = _random.Next(maxDepth > 0 ? 12 : 9);
        return kind switch
        {
            0 => null,
            1 => _random.Next(2) == 0,
            2 or 3 => AsClrInteger(NextInteger()),
            4 => NextFloat(),
            5 => NextString(),
            6 => NextBytes(NextLength()),
            7 => NextExtension(),
            8 => NextTimestamp(),
            9 or 10 => Enumerable.Range(0, NextCount()).Select(_ => Next(maxDepth - 1)).ToArray(),
            _ => NextMap(maxDepth - 1),
        };
    }

    public Int128 NextInteger()
    {
        switch (_random.Next(4))
        {
            case 0:
                return IntegerEdges[_random.Next(IntegerEdges.Length)];
            case 1:
            {
                var value = IntegerEdges[_random.Next(IntegerEdges.Length)] + _random.Next(-2, 3);
                return Int128.Clamp(value, long.MinValue, ulong.MaxValue);
            }

            case 2:
                return _random.Next(-1000, 1000);
            default:
                return _random.Next(2) == 0 ? _random.NextInt64(long.MinValue, long.MaxValue) : (ulong)_random.NextInt64() * 2;
        }
    }

    public string NextString()
    {
        var targetBytes = NextLength();
        var builder = new StringBuilder();
        var bytes = 0;
        var unitPool = _random.Next(3) == 0 ? TextUnits.AsSpan(0, 3) : TextUnits.AsSpan();
        while (bytes < targetBytes)
        {
            var unit = unitPool[_random.Next(unitPool.Length)];
            builder.Append(unit);
            bytes += Encoding.UTF8.GetByteCount(unit);
        }

        return builder.ToString();
    }

    private static object AsClrInteger(Int128 value) => value <= long.MaxValue ? (long)value : (ulong)value;

    private double NextFloat() => _random.Next(2) == 0
        ? SpecialDoubles[_random.Next(SpecialDoubles.Length)]
        : BitConverter.Int64BitsToDouble(_random.NextInt64(long.MinValue, long.MaxValue));

    private Extension NextExtension()
    {
        // -1 is the timestamp type, which has its own generator.
        var type = (sbyte)_random.Next(-128, 127);
        if (type == -1)
        {
            type = 0;
        }

        var length = _random.Next(4) == 0 ? new[] { 1, 2, 4, 8, 16 }[_random.Next(5)] : NextLength();
        return new Extension(type, NextBytes(length));
    }

    private DateTimeOffset NextTimestamp()
    {
        long ticks = _random.Next(4) switch
        {
            0 => DateTimeOffset.UnixEpoch.UtcTicks + (_random.NextInt64(0, uint.MaxValue) * TimeSpan.TicksPerSecond),
            1 => DateTimeOffset.UnixEpoch.UtcTicks + _random.NextInt64(-(1L << 40), 1L << 40),
            2 => _random.NextInt64(DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks + 1),
            _ => DateTimeOffset.UnixEpoch.UtcTicks + (_random.NextInt64(-100, (1L << 34) + 100) * TimeSpan.TicksPerSecond),
        };
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    private WireMap NextMap(int maxDepth)
    {
        var count = NextCount();
        var entries = new (object, object?)[count];
        for (var index = 0; index < count; index++)
        {
            // JavaScript objects hold maps there: keys are unique strings that do not look like array indexes.
            entries[index] = ("k" + index + "_" + NextString(), Next(maxDepth));
        }

        return Wire.Map(entries);
    }

    private int NextLength() => _random.Next(10) switch
    {
        < 4 => LengthEdges[_random.Next(LengthEdges.Length)],
        < 9 => _random.Next(0, 64),
        _ => _random.Next(40) == 0 ? 65536 + _random.Next(3) : _random.Next(200, 1200),
    };

    private int NextCount() => _random.Next(6) == 0 ? _random.Next(15, 18) : _random.Next(0, 6);

    private byte[] NextBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }
}
