using System.Text;
using System.Text.Json.Nodes;
using ErrorHub.Protocol.MessagePack;
using FluentAssertions;
using Xunit;
using static ErrorHub.Tests.Protocol.MessagePack.MessagePackTestSupport;

namespace ErrorHub.Tests.Protocol.MessagePack;

/// <summary>
/// Our codec against @msgpack/msgpack, an independent implementation run with Node (see
/// <see cref="NodeCrossCheck"/>; prepare it with <c>npm ci --prefix tests/tools/msgpack-crosscheck</c>).
/// (a) What our writer produces, it decodes to the expected values; (b) what it encodes, our reader decodes to
/// the expected values; and where both choose the smallest encoding, the bytes are identical.
/// </summary>
public sealed class CrossCheckTests
{
    private static readonly MessagePackReaderLimits Unlimited = new()
    {
        MaxDepth = 64,
        MaxStringBytes = int.MaxValue,
        MaxBinaryBytes = int.MaxValue,
        MaxCollectionCount = int.MaxValue,
    };

    internal static IEnumerable<MpValue> EdgeValues()
    {
        yield return MpValue.Nil;
        yield return MpValue.Bool(false);
        yield return MpValue.Bool(true);

        Int128[] integers =
        [
            0, 1, 127, 128, 255, 256, 65535, 65536, int.MaxValue, (Int128)int.MaxValue + 1, uint.MaxValue,
            (Int128)uint.MaxValue + 1, long.MaxValue, (Int128)long.MaxValue + 1, ulong.MaxValue,
            -1, -32, -33, -128, -129, -32768, -32769, int.MinValue, (Int128)int.MinValue - 1, long.MinValue,
        ];
        foreach (var integer in integers)
        {
            yield return MpValue.Int(integer);
        }

        foreach (var value in new[] { 0.5, -0.0, 0.0, 1.0, 0.1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, -1e-300 })
        {
            yield return MpValue.Float64(value);
        }

        foreach (var value in new[] { 1.5f, -0f, 0.1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue })
        {
            yield return MpValue.Float32(value);
        }

        foreach (var length in new[] { 0, 1, 31, 32, 255, 256, 65535, 65536 })
        {
            yield return MpValue.Str(new string('a', length));
            yield return MpValue.Bin(Enumerable.Range(0, length).Select(i => (byte)(i * 31)).ToArray());
        }

        foreach (var text in new[] { "héllo wörld", "日本語のテキスト", "😀🚀👩‍👩‍👧", string.Concat(Enumerable.Repeat("😀", 8)), "\0\t\n\"\\", "\uFFFD\U0010FFFF", "a\uD800b", "\uDC00" })
        {
            yield return MpValue.Str(text);
        }

        foreach (var count in new[] { 0, 1, 15, 16, 65535, 65536 })
        {
            yield return MpValue.Array(Enumerable.Range(0, count).Select(i => MpValue.Int(i % 300)).ToArray());
        }

        foreach (var count in new[] { 0, 1, 15, 16, 70000 })
        {
            yield return MpValue.Map(Enumerable.Range(0, count).Select(i => (MpValue.Str("key" + i), MpValue.Int(-i))).ToArray());
        }

        foreach (var length in new[] { 0, 1, 2, 3, 4, 8, 16, 17, 255, 256, 65535, 65536 })
        {
            yield return MpValue.Ext(42, Enumerable.Range(0, length).Select(i => (byte)i).ToArray());
        }

        yield return MpValue.Ext(sbyte.MinValue, [1]);
        yield return MpValue.Ext(sbyte.MaxValue, [1, 2]);

        DateTimeOffset[] timestamps =
        [
            DateTimeOffset.UnixEpoch,
            DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue),
            DateTimeOffset.FromUnixTimeSeconds(1L << 32),
            DateTimeOffset.FromUnixTimeSeconds((1L << 34) - 1).AddTicks(9_999_999),
            DateTimeOffset.FromUnixTimeSeconds(1L << 34),
            new DateTimeOffset(2026, 11, 21, 9, 30, 15, 123, TimeSpan.Zero).AddTicks(4567),
            DateTimeOffset.UnixEpoch.AddTicks(-1),
            new DateTimeOffset(1969, 7, 20, 20, 17, 40, 500, TimeSpan.Zero),
            DateTimeOffset.MinValue,
            DateTimeOffset.MaxValue,
        ];
        foreach (var timestamp in timestamps)
        {
            yield return MpValue.Timestamp(timestamp);
        }
    }

    [Fact]
    public void Msgpack_js_decodes_what_our_writer_writes_for_every_edge_value()
    {
        var values = EdgeValues().Append(SampleDocuments.ErrorEvent()).ToArray();

        var decoded = NodeCrossCheck.Decode(values.Select(MpCodec.Encode).ToArray());

        decoded.Should().HaveCount(values.Length);
        for (var index = 0; index < values.Length; index++)
        {
            SameText(decoded[index], JsView.ExpectedFromOurWriter(values[index]), $"value {index}");
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Msgpack_js_decodes_what_our_writer_writes_for_random_values(int seed)
    {
        var generator = new RandomValueGenerator(seed, javaScriptCompatible: true);
        var values = Enumerable.Range(0, 150).Select(_ => generator.Next()).ToArray();

        var decoded = NodeCrossCheck.Decode(values.Select(MpCodec.Encode).ToArray());

        for (var index = 0; index < values.Length; index++)
        {
            SameText(decoded[index], JsView.ExpectedFromOurWriter(values[index]), $"value {index} of seed {seed}");
        }
    }

    internal static IEnumerable<(string Name, JsonObject? Options, JsonNode Desc, MpValue Expected)> JsEncodedCases()
    {
        static (string, JsonObject?, JsonNode, MpValue) Case(string name, JsonNode desc, MpValue expected, JsonObject? options = null) =>
            (name, options, desc, expected);

        yield return Case("null", JsDesc.Nil(), MpValue.Nil);
        yield return Case("false", JsDesc.Bool(false), MpValue.Bool(false));
        yield return Case("true", JsDesc.Bool(true), MpValue.Bool(true));

        Int128[] integers =
        [
            0, 1, 127, 128, 255, 256, 65535, 65536, int.MaxValue, uint.MaxValue, (Int128)uint.MaxValue + 1,
            long.MaxValue, ulong.MaxValue, -1, -32, -33, -128, -129, -32768, -32769, int.MinValue,
            (Int128)int.MinValue - 1, long.MinValue,
        ];
        foreach (var integer in integers)
        {
            yield return Case($"integer {integer}", JsDesc.Int(integer), MpValue.Int(integer));
        }

        // BigInts are always written as uint64/int64: non-minimal encodings for the reader.
        foreach (var integer in new Int128[] { 0, 5, 200, -1, -200, int.MinValue, uint.MaxValue })
        {
            yield return Case($"bigint {integer}", JsDesc.BigInt(integer), MpValue.Int(integer));
        }

        var floatsAsFloat64 = new JsonObject { ["forceIntegerToFloat"] = true };
        foreach (var value in new[] { 0.5, 1.0, -0.0, 0.1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, 1e300, -123456789.0 })
        {
            yield return Case($"float64 {value:R}", JsDesc.Number(value), MpValue.Float64(value), floatsAsFloat64);
        }

        var floatsAsFloat32 = new JsonObject { ["forceIntegerToFloat"] = true, ["forceFloat32"] = true };
        foreach (var value in new[] { 0.5, 1.0, -0.0, 0.1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 3.4028234663852886e38 })
        {
            yield return Case($"float32 {value:R}", JsDesc.Number(value), MpValue.Float32((float)value), floatsAsFloat32);
        }

        yield return Case("a non-integral number by default", JsDesc.Number(2.75), MpValue.Float64(2.75));
        yield return Case("an integral number by default is an int", JsDesc.Number(3.0), MpValue.Int(3));

        foreach (var length in new[] { 0, 1, 31, 32, 255, 256, 65535, 65536 })
        {
            var text = new string('x', length);
            yield return Case($"string of {length} bytes", JsDesc.Str(text), MpValue.Str(text));
            var bytes = Enumerable.Range(0, length).Select(i => (byte)(255 - i)).ToArray();
            yield return Case($"binary of {length} bytes", JsDesc.Bin(bytes), MpValue.Bin(bytes));
        }

        foreach (var text in new[] { "héllo wörld", "日本語のテキスト", "😀🚀👩‍👩‍👧", string.Concat(Enumerable.Repeat("€", 86)), "\0\t\n\"\\", "\uFFFD\U0010FFFF" })
        {
            yield return Case($"string {text}", JsDesc.Str(text), MpValue.Str(text));
        }

        foreach (var count in new[] { 0, 1, 15, 16, 65535, 65536 })
        {
            yield return Case(
                $"array of {count}",
                JsDesc.Array(Enumerable.Range(0, count).Select(i => JsDesc.Int(i % 200)).ToArray()),
                MpValue.Array(Enumerable.Range(0, count).Select(i => MpValue.Int(i % 200)).ToArray()));
        }

        foreach (var count in new[] { 0, 1, 15, 16, 65536 })
        {
            yield return Case(
                $"map of {count}",
                JsDesc.Map(Enumerable.Range(0, count).Select(i => ("k" + i, JsDesc.Str("v" + i))).ToArray()),
                MpValue.Map(Enumerable.Range(0, count).Select(i => (MpValue.Str("k" + i), MpValue.Str("v" + i))).ToArray()));
        }

        yield return Case(
            "nested",
            JsDesc.Map(
                ("list", JsDesc.Array(JsDesc.Int(1), JsDesc.Array(), JsDesc.Map(("deep", JsDesc.Array(JsDesc.Nil()))))),
                ("ünïcödé kéy 🔑", JsDesc.Bool(true))),
            MpValue.Map(
                (MpValue.Str("list"), MpValue.Array(MpValue.Int(1), MpValue.Array(), MpValue.Map((MpValue.Str("deep"), MpValue.Array(MpValue.Nil))))),
                (MpValue.Str("ünïcödé kéy 🔑"), MpValue.Bool(true))));

        foreach (var length in new[] { 0, 1, 2, 3, 4, 8, 16, 17, 256, 65536 })
        {
            var data = Enumerable.Range(0, length).Select(i => (byte)(i * 3)).ToArray();
            yield return Case($"extension of {length} bytes", JsDesc.Ext(7, data), MpValue.Ext(7, data));
        }

        yield return Case("extension type -128", JsDesc.Ext(sbyte.MinValue, [9]), MpValue.Ext(sbyte.MinValue, 9));
        yield return Case("extension type 127", JsDesc.Ext(sbyte.MaxValue, [9, 9, 9]), MpValue.Ext(sbyte.MaxValue, 9, 9, 9));

        (long Seconds, uint Nanoseconds)[] timeSpecs =
        [
            (0, 0), (1, 0), (uint.MaxValue, 0), // timestamp 32
            (0, 100), (1L << 32, 0), ((1L << 34) - 1, 999_999_900), (1_700_000_000, 123_456_700), // timestamp 64
            (1L << 34, 0), (-1, 0), (-1, 500_000_000), (-14_182_940, 0), // timestamp 96
            (-62_135_596_800, 0), (253_402_300_799, 999_999_900),
        ];
        foreach (var (seconds, nanoseconds) in timeSpecs)
        {
            yield return Case(
                $"timestamp {seconds}s {nanoseconds}ns",
                JsDesc.Timestamp(seconds, nanoseconds),
                MpValue.Timestamp(DateTimeOffset.UnixEpoch.AddSeconds(seconds).AddTicks(nanoseconds / 100)));
        }

        foreach (var milliseconds in new long[] { 0, 1_700_000_000_123, -1, -86_400_000_001, 253_402_300_799_999 })
        {
            yield return Case($"Date {milliseconds} ms", JsDesc.Date(milliseconds), MpValue.Timestamp(DateTimeOffset.FromUnixTimeMilliseconds(milliseconds)));
        }
    }

    [Fact]
    public void Our_reader_decodes_what_msgpack_js_encodes()
    {
        var cases = JsEncodedCases().ToArray();

        var encoded = NodeCrossCheck.Encode(cases.Select(c => (c.Options, c.Desc)).ToArray());

        encoded.Should().HaveCount(cases.Length);
        for (var index = 0; index < cases.Length; index++)
        {
            var decoded = MpCodec.Decode(encoded[index], Unlimited);
            SameText(decoded.ToString(), cases[index].Expected.ToString(), $"{cases[index].Name} encoded by @msgpack/msgpack");
        }
    }

    [Fact]
    public void Msgpack_js_produces_the_non_minimal_encodings_our_reader_is_tested_with()
    {
        // Guards the test above: BigInts really arrive as 9-byte integers, forced floats as floats.
        var encoded = NodeCrossCheck.Encode(
        [
            (null, JsDesc.BigInt(5)),
            (null, JsDesc.BigInt(-1)),
            (new JsonObject { ["forceIntegerToFloat"] = true }, JsDesc.Number(1.0)),
            (new JsonObject { ["forceIntegerToFloat"] = true, ["forceFloat32"] = true }, JsDesc.Number(1.0)),
            (null, JsDesc.Timestamp(-1, 0)),
        ]);

        encoded.Select(e => ToHex(e)).Should().Equal(
            "cf0000000000000005",
            "d3ffffffffffffffff",
            "cb3ff0000000000000",
            "ca3f800000",
            "c70cff00000000ffffffffffffffff");
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    public void Our_reader_decodes_random_values_msgpack_js_encodes_and_our_writer_produces_the_same_bytes(int seed)
    {
        var generator = new RandomValueGenerator(seed, javaScriptCompatible: true);
        var cases = Enumerable.Range(0, 150).Select(_ => JsDesc.FromValue(WithoutNaN(generator.Next()))).ToArray();

        var encoded = NodeCrossCheck.Encode(cases.Select(c => ((JsonObject?)null, c.Desc)).ToArray());

        for (var index = 0; index < cases.Length; index++)
        {
            var expected = cases[index].Expected;
            SameText(MpCodec.Decode(encoded[index], Unlimited).ToString(), expected.ToString(), $"value {index} of seed {seed}");

            // Both implementations pick the smallest encoding of every value JavaScript can express, so the
            // bytes must be identical: this checks our writer's choices against an independent one.
            SameText(ToHex(MpCodec.Encode(expected)), ToHex(encoded[index]), $"our bytes for value {index} of seed {seed}");
        }
    }

    [Fact]
    public void Our_writer_and_msgpack_js_produce_identical_bytes_for_the_edge_values_both_can_express()
    {
        var values = EdgeValues()
            .Where(v => !(v is MpFloat f && double.IsNaN(f.Value)) && !(v is MpStr s && !IsWellFormed(s.Value)))
            .Select(v => JsDesc.FromValue(v))
            .ToArray();

        var encoded = NodeCrossCheck.Encode(values.Select(v => ((JsonObject?)null, v.Desc)).ToArray());

        for (var index = 0; index < values.Length; index++)
        {
            SameText(ToHex(MpCodec.Encode(values[index].Expected)), ToHex(encoded[index]), $"our bytes for edge value {index}");
        }
    }

    [Fact]
    public void Both_implementations_reject_every_truncation_of_a_document()
    {
        var document = MpCodec.Encode(SampleDocuments.ErrorEvent());
        var prefixes = Enumerable.Range(0, document.Length).Select(length => document[..length]).ToArray();

        var decoded = NodeCrossCheck.Decode(prefixes);

        for (var length = 0; length < prefixes.Length; length++)
        {
            decoded[length].Should().StartWith("error:", $"@msgpack/msgpack must reject the document cut to {length} bytes");
            var reader = new MessagePackReader(prefixes[length]);
            var threw = false;
            try
            {
                reader.Skip();
            }
            catch (MessagePackDecodeException)
            {
                threw = true;
            }

            threw.Should().BeTrue($"our reader must reject the document cut to {length} bytes");
        }

        NodeCrossCheck.Decode([document]).Single().Should().NotStartWith("error:");
    }

    private static MpValue WithoutNaN(MpValue value) => value switch
    {
        MpFloat f when double.IsNaN(f.Value) => MpValue.Float64(0.25),
        MpArray a => MpValue.Array(a.Items.Select(WithoutNaN).ToArray()),
        MpMap m => MpValue.Map(m.Entries.Select(e => (e.Key, WithoutNaN(e.Value))).ToArray()),
        _ => value,
    };

    private static bool IsWellFormed(string text) =>
        Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)) == text;
}
