using System.Buffers;
using System.Text.Json.Nodes;
using ErrorHub.Protocol.Tests.Decoding;
using ErrorHub.Protocol.Tests.Writing;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using ErrorHub.Transport;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.CrossCheck;

/// <summary>
/// Both ends of the protocol against @msgpack/msgpack, an implementation independent of MessagePack-CSharp, run with
/// Node (see <see cref="NodeCrossCheck"/>; prepare it with <c>npm ci --prefix tests/tools/msgpack-crosscheck</c>):
/// what the SDK writes, JavaScript reads as the fields and values the event holds; what JavaScript writes, with its
/// own choices of encodings, ingest decodes to the events it describes.
/// </summary>
public sealed class CrossCheckTests
{
    [Fact]
    public void Msgpack_js_reads_the_sdks_batch_as_the_fields_and_values_of_the_event()
    {
        var body = WireSnapshotTests.Encode(WireSnapshotTests.FullEvent());

        var decoded = NodeCrossCheck.DecodeOne(body);

        var expected = Map(
            ("v", 1),
            ("sdk", Map(("name", "errorhub.dotnet"), ("version", "1.0.0"))),
            ("events", Array(Map(
                ("event_id", "6f1c2b3a4d5e4f608a7b9c0d1e2f3a4b"),
                ("timestamp", DateTimeOffset.FromUnixTimeMilliseconds(1_763_600_000_123)),
                ("level", "error"),
                ("platform", "csharp"),
                ("message", "checkout failed"),
                ("logger", "Shop.Checkout"),
                ("release", "Shop@1.4.2"),
                ("environment", "production"),
                ("server_name", "web-1"),
                ("fingerprint", Array("checkout", "{{ default }}")),
                ("exceptions", Array(
                    Map(("type", "System.InvalidOperationException"), ("value", "Sequence contains more than one matching element"),
                        ("module", "System.Linq"), ("frames", Array(
                            Map(("function", "Single"), ("type", "System.Linq.Enumerable"), ("module", "System.Linq"), ("in_app", false)),
                            Map(("function", "PriceBundle"), ("type", "Shop.Catalog"), ("module", "Shop"), ("file", "/src/Shop/Catalog.cs"),
                                ("line", 31), ("column", 9), ("in_app", true))))),
                    Map(("type", "System.TimeoutException"), ("value", "élan ✓ 🚀"), ("frames", Array())))),
                ("request", Map(("method", "POST"), ("url", "https://shop.example/checkout"), ("query_string", "bundle=holiday"),
                    ("headers", Map(("Accept", "text/html"), ("Authorization", "[Filtered]"))))),
                ("user", Map(("id", "42"), ("username", "alice"), ("email", "alice@shop.example"), ("ip_address", "203.0.113.7"))),
                ("tags", Map(("region", "eu"))),
                ("runtime", Map(("name", ".NET"), ("version", "10.0.12"))),
                ("os", Map(("name", "Linux"), ("version", "6.1.0")))))));
        Describe(decoded).Should().Be(Describe(expected));
    }

    public static TheoryData<string> EdgeTexts => new()
    {
        "",
        new string('a', 31),
        new string('b', 32),
        new string('c', 255),
        new string('d', 256),
        new string('e', 65535),
        new string('f', 65536),
        string.Concat(Enumerable.Repeat("€", 86)), // 258 bytes in 86 characters: the header follows bytes, not characters
        "日本語のテキスト 😀🚀👩‍👩‍👧 \0\t\n\"\\",
    };

    [Theory]
    [MemberData(nameof(EdgeTexts))]
    public void Msgpack_js_reads_every_string_the_sdk_writes_whatever_its_header(string text)
    {
        var e = Event();
        e.Message = text;
        e.Tags["key " + text] = text;

        var decoded = ReadBack(e);

        Describe(decoded["message"]).Should().Be(Describe(text));
        Describe(decoded["tags"]).Should().Be(Describe(Map((Sent("key " + text), text))));
    }

    /// <summary>A string as the SDK sends it: cut to what ingest takes in one value (the longest tag key here is).</summary>
    private static string Sent(string value) =>
        value.Length <= ErrorHub.Transport.EventWireWriter.MaxStringChars ? value : value[..ErrorHub.Transport.EventWireWriter.MaxStringChars];

    [Fact]
    public void Msgpack_js_reads_lone_surrogates_the_sdk_wrote_as_the_replacement_character()
    {
        var e = Event();
        e.Message = "a\uD800b\uDC00";

        Describe(ReadBack(e)["message"]).Should().Be(Describe("a\uFFFDb\uFFFD"));
    }

    public static TheoryData<int> EdgeLines => new() { 0, 1, 127, 128, 255, 256, 65535, 65536, int.MaxValue, -1, -32, -33, -128, -129, -32769, int.MinValue };

    [Theory]
    [MemberData(nameof(EdgeLines))]
    public void Msgpack_js_reads_every_integer_the_sdk_writes_whatever_its_encoding(int line)
    {
        var e = Event();
        e.Exceptions[0].Frames.Add(new StackFrameEntry { Function = "F", Line = line, Column = line });

        var frame = ReadBack(e)["exceptions"].AsList()[0].AsMap()["frames"].AsList()[0].AsMap();

        frame["line"].Should().Be((long)line);
        frame["column"].Should().Be((long)line);
    }

    public static TheoryData<string, DateTimeOffset> EdgeTimestamps => new()
    {
        { "the epoch (timestamp 32)", DateTimeOffset.UnixEpoch },
        { "the last second of timestamp 32", DateTimeOffset.FromUnixTimeSeconds(uint.MaxValue) },
        { "the first second past timestamp 32", DateTimeOffset.FromUnixTimeSeconds(1L << 32) },
        { "a fraction of a second (timestamp 64)", new DateTimeOffset(2026, 11, 21, 9, 30, 15, 123, TimeSpan.Zero).AddTicks(4567) },
        { "the last tick of timestamp 64", DateTimeOffset.FromUnixTimeSeconds((1L << 34) - 1).AddTicks(9_999_999) },
        { "the first second past timestamp 64 (timestamp 96)", DateTimeOffset.FromUnixTimeSeconds(1L << 34) },
        { "a tick before the epoch", DateTimeOffset.UnixEpoch.AddTicks(-1) },
        { "the moon landing", new DateTimeOffset(1969, 7, 20, 20, 17, 40, 500, TimeSpan.Zero) },
        { "DateTimeOffset.MinValue", DateTimeOffset.MinValue },
        { "DateTimeOffset.MaxValue", DateTimeOffset.MaxValue },
        { "a time with an offset, sent in UTC", new DateTimeOffset(2026, 11, 21, 11, 30, 0, TimeSpan.FromHours(2)) },
    };

    [Theory]
    [MemberData(nameof(EdgeTimestamps))]
    public void Msgpack_js_reads_every_timestamp_the_sdk_writes_to_the_tick(string what, DateTimeOffset timestamp)
    {
        var e = Event();
        e.Timestamp = timestamp;

        Describe(ReadBack(e)["timestamp"]).Should().Be(Describe(timestamp), what);
    }

    [Fact]
    public void Msgpack_js_reads_16_and_more_entries_under_the_sdks_16_bit_headers()
    {
        var e = Event();
        for (var i = 0; i < 20; i++)
        {
            e.Tags[$"tag{i:00}"] = $"value {i}";
            e.Exceptions[0].Frames.Add(new StackFrameEntry { Function = $"F{i}" });
        }

        var decoded = ReadBack(e);

        Describe(decoded["tags"]).Should().Be(Describe(new WireMap(Enumerable.Range(0, 20).Select(i => ((object)$"tag{i:00}", (object?)$"value {i}")))));
        Describe(decoded["exceptions"].AsList()[0].AsMap()["frames"])
            .Should().Be(Describe(Enumerable.Range(0, 20).Select(i => Map(("function", $"F{i}"), ("in_app", false))).ToArray()));
    }

    [Fact]
    public void Every_truncation_of_the_sdks_batch_is_refused_by_msgpack_js_and_by_our_decoder()
    {
        var body = WireSnapshotTests.Encode(WireSnapshotTests.FullEvent());
        var prefixes = Enumerable.Range(0, body.Length).Select(length => body[..length]).ToArray();

        var decoded = NodeCrossCheck.Decode(prefixes);

        NodeCrossCheck.Decode([body]).Single().Should().NotStartWith("error:");
        for (var length = 0; length < prefixes.Length; length++)
        {
            decoded[length].Should().StartWith("error:", $"@msgpack/msgpack must refuse the batch cut to {length} bytes");
            var decode = () => ExpectedEvents.Decode(prefixes[length]);
            decode.Should().ThrowExactly<BatchFormatException>($"our decoder must refuse the batch cut to {length} bytes");
        }
    }

    [Fact]
    public void Our_decoder_reads_the_sample_batch_as_msgpack_js_encodes_it()
    {
        var body = NodeCrossCheck.Encode([Batch()]).Single();

        Decode(body).Events.Select(e => e.Event).ShouldMatch(ExpectedCheckout(), ExpectedTimeout(), ExpectedMessage());
    }

    [Fact]
    public void Our_decoder_reads_the_sample_batch_with_every_integer_written_as_a_64_bit_integer()
    {
        // BigInts make the library write uint64/int64 for every integer, however small: v, line, column, the
        // timestamp in milliseconds, the numeric user id and tags.
        var body = NodeCrossCheck.Encode([AsBigInts(Batch())]).Single();
        Convert.ToHexStringLower(body[..12]).Should().Be("83a176cf0000000000000001", "v = 1 is then a uint64");

        Decode(body).Events.Select(e => e.Event).ShouldMatch(ExpectedCheckout(), ExpectedTimeout(), ExpectedMessage());
    }

    [Fact]
    public void Our_decoder_reads_the_sample_batch_with_every_float_written_as_a_float32()
    {
        var options = new JsonObject { ["forceFloat32"] = true };

        var body = NodeCrossCheck.Encode([Batch()], options).Single();

        body.Should().Contain(0xca);
        Decode(body).Events.Select(e => e.Event).ShouldMatch(ExpectedCheckout(), ExpectedTimeout(), ExpectedMessage());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1_700_000_000_000L)]
    [InlineData(1_700_000_000_123L)]
    [InlineData(-1L)]
    [InlineData(-14_182_939_500L)]
    public void Our_decoder_reads_a_js_date_as_the_instant_it_is(long unixMilliseconds)
    {
        var body = NodeCrossCheck.Encode([Batch(MessageEvent().With("timestamp", new JsDate(unixMilliseconds)))]).Single();

        SentTime(body).Should().Be(DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds));
    }

    [Fact]
    public void Msgpack_js_writes_what_it_read_from_the_sdk_back_to_the_very_same_bytes()
    {
        // Both pick the smallest encoding of every value (str8 included, the timestamp form by its value): an
        // independent check of the encodings the SDK's writer chooses, beyond the snapshot.
        var sdkBody = WireSnapshotTests.Encode(WireSnapshotTests.FullEvent());

        var jsBody = NodeCrossCheck.EncodeDescriptions(NodeCrossCheck.DecodeToDescriptions([sdkBody])).Single();

        Convert.ToHexStringLower(jsBody).Should().Be(Convert.ToHexStringLower(sdkBody));
        Decode(jsBody).Events.Single().Event.ShouldMatch(Decode(sdkBody).Events.Single().Event);
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    public void Our_decoder_skips_unknown_values_of_every_kind_as_msgpack_js_encodes_them(int seed)
    {
        var generator = new RandomValueGenerator(seed);
        object? Unknown() => generator.Next();

        var frames = (object?[])((WireMap)((object?[])CheckoutEvent()["exceptions"]!)[1]!)["frames"]!;
        var batch = Map(
            ("future", Unknown()),
            ("v", 1),
            ("sdk", Map(("name", "errorhub.dotnet"), ("x", Unknown()), ("version", "0.1.0"))),
            ("events", Array(
                CheckoutEvent()
                    .With("contexts", Unknown())
                    .With("exceptions", Array(
                        ((WireMap)((object?[])CheckoutEvent()["exceptions"]!)[0]!).With("mechanism", Unknown()),
                        ((WireMap)((object?[])CheckoutEvent()["exceptions"]!)[1]!)
                            .With("frames", frames.Select(f => (object?)((WireMap)f!).With("vars", Unknown())).ToArray())))
                    .With("request", ((WireMap)CheckoutEvent()["request"]!).With("cookies", Unknown()))
                    .With("user", ((WireMap)CheckoutEvent()["user"]!).With("segment", Unknown()))
                    .With("os", ((WireMap)CheckoutEvent()["os"]!).With("kernel", Unknown())),
                TimeoutEvent().With("attachments", Array(Unknown(), Unknown(), Unknown())),
                MessageEvent().With("contexts", Map(("a", Unknown()), ("b", Unknown()))))),
            ("trailer", Array(EdgeValues().ToArray())));

        var body = NodeCrossCheck.Encode([batch]).Single();

        Decode(body).Events.Select(e => e.Event).ShouldMatch(ExpectedCheckout(), ExpectedTimeout(), ExpectedMessage());
    }

    [Fact]
    public void Msgpack_js_produces_the_encodings_the_tests_above_rely_on()
    {
        // Guards the tests above: BigInts really arrive as 9-byte integers, forced floats as float32, Dates as timestamps.
        var encoded = NodeCrossCheck.Encode([new JsBigInt(5), new JsBigInt(-1), 1.5, new JsDate(-1000)], new JsonObject { ["forceFloat32"] = true });

        encoded.Select(Convert.ToHexStringLower).Should().Equal(
            "cf0000000000000005",
            "d3ffffffffffffffff",
            "ca3fc00000",
            "c70cff00000000ffffffffffffffff");
    }

    /// <summary>Values at every encoding boundary @msgpack/msgpack has, for unknown fields.</summary>
    private static IEnumerable<object?> EdgeValues()
    {
        foreach (var length in new[] { 0, 1, 31, 32, 255, 256, 65535, 65536 })
        {
            yield return new string('a', length);
            yield return Enumerable.Range(0, length).Select(i => (byte)(i * 31)).ToArray();
        }

        foreach (var count in new[] { 15, 16, 65535, 65536 })
        {
            yield return Enumerable.Range(0, count).Select(i => (object?)(i % 300)).ToArray();
        }

        foreach (var count in new[] { 15, 16, 65536 })
        {
            yield return new WireMap(Enumerable.Range(0, count).Select(i => ((object)("key" + i), (object?)(-i))));
        }

        foreach (var length in new[] { 1, 2, 3, 4, 8, 16, 17, 255, 256, 65535, 65536 })
        {
            yield return Ext(42, Enumerable.Range(0, length).Select(i => (byte)i).ToArray());
        }

        yield return Ext(sbyte.MinValue, 1);
        yield return Ext(sbyte.MaxValue, 1, 2);
        foreach (var integer in new object[] { 0, 127, 128, 255, 256, 65535, 65536, uint.MaxValue, (long)uint.MaxValue + 1, long.MaxValue, ulong.MaxValue, -1, -32, -33, -128, -129, -32768, -32769, int.MinValue, long.MinValue })
        {
            yield return integer is uint u ? (long)u : integer;
        }

        foreach (var number in new[] { 0.5, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue })
        {
            yield return number;
        }

        yield return new JsBigInt(7);
        yield return new JsDate(-1);
        yield return DateTimeOffset.MinValue;
        yield return DateTimeOffset.MaxValue;
    }

    private static object? AsBigInts(object? value) => value switch
    {
        int i => new JsBigInt(i),
        long l => new JsBigInt(l),
        WireMap map => new WireMap(map.Entries.Select(e => (e.Key, AsBigInts(e.Value)))),
        object?[] items => items.Select(AsBigInts).ToArray(),
        _ => value,
    };

    private static ErrorHubEvent Event()
    {
        var e = new ErrorHubEvent
        {
            EventId = Guid.Parse("00000000-0000-0000-0000-000000000001"),
            Timestamp = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Message = "m",
        };
        e.Exceptions.Add(new ExceptionEntry { Type = "E", Value = "v" });
        return e;
    }

    /// <summary>The one event of a batch the SDK wrote, as JavaScript read it.</summary>
    private static WireMap ReadBack(ErrorHubEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventWireWriter.WriteBatch(buffer, [e], new NameAndVersion("errorhub.dotnet", "1.0.0"));
        return NodeCrossCheck.DecodeOne(buffer.WrittenSpan.ToArray()).AsMap()["events"].AsList().Single().AsMap();
    }
}
