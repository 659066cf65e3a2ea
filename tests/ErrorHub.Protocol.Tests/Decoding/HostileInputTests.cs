using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// Bytes crafted to hurt a MessagePack reader: lengths and counts far beyond the body (including the 2^31 and more
/// that MessagePack-CSharp reads as negative numbers), nesting far beyond any stack, reserved codes, broken UTF-8 and
/// timestamps. The decoder refuses each with a <see cref="BatchFormatException"/> naming the field, never another
/// exception, never by allocating what a header claims, never by overflowing the stack.
/// </summary>
public sealed class HostileInputTests
{
    /// <summary>
    /// What a refused body may allocate: the decoder, its path, the exceptions with their messages and stack traces.
    /// Far below the declared sizes used here (up to 4 GiB) and below what honouring even a 64 KiB claim would take.
    /// </summary>
    private const long SmallAllocation = 24 * 1024;

    private static readonly IngestLimits Permissive = new()
    {
        MaxDepth = int.MaxValue,
        MaxRawStringBytes = int.MaxValue,
        MaxCollectionEntries = int.MaxValue,
        MaxEventsPerBatch = int.MaxValue,
    };

    public static TheoryData<string, string, string> HugeDeclaredLengths() => new()
    {
        { "array32 of 2^32-1 entries", "dd ff ff ff ff", "exceptions" },
        { "array32 of 2^31 entries", "dd 80 00 00 00 01 02", "exceptions" },
        { "array32 of 2^31-1 entries", "dd 7f ff ff ff 01 02", "fingerprint" },
        { "array16 of 65535 entries", "dc ff ff 01 02 03", "fingerprint" },
        { "fixarray of 15 entries", "9f 01", "exceptions" },
        { "map32 of 2^32-1 entries", "df ff ff ff ff", "tags" },
        { "map32 of 2^31 entries", "df 80 00 00 00 a1 61 01", "tags" },
        { "map16 of 65535 entries", "de ff ff a1 61 01", "request" },
        { "map of 3 entries holding 5 bytes", "83 01 02 03 04 05", "user" },
        { "str32 of 4 GiB", "db ff ff ff ff 61 62", "message" },
        { "str32 of 2 GiB", "db 80 00 00 00 61 62", "message" },
        { "str32 of 2 GiB less a byte", "db 7f ff ff ff 61 62", "logger" },
        { "str16 of 64 KiB", "da ff ff 61", "message" },
        { "str8 of 255 bytes", "d9 ff 61", "release" },
        { "fixstr of 31 bytes", "bf 61", "message" },
        { "bin32 of 4 GiB", "c6 ff ff ff ff 00", "event_id" },
        { "bin32 of 2 GiB", "c6 80 00 00 00 00", "event_id" },
        { "bin16 of 64 KiB", "c5 ff ff 00", "event_id" },
        { "ext32 of 4 GiB", "c9 ff ff ff ff ff 00", "timestamp" },
        { "ext32 of 2 GiB", "c9 80 00 00 00 ff 00", "timestamp" },
        { "ext16 of 64 KiB", "c8 ff ff ff 00", "timestamp" },
        { "fixext16 with 3 bytes", "d8 ff 00 00", "timestamp" },
        { "an array whose second entry declares 4 GiB", "92 a1 61 db ff ff ff ff", "fingerprint" },
    };

    [Theory]
    [MemberData(nameof(HugeDeclaredLengths))]
    public void Lengths_and_counts_larger_than_the_body_are_refused_without_allocating_them(string name, string hex, string field)
    {
        // The hostile value ends the body, so that whatever it claims runs past the end.
        var value = RawHex(hex);
        var inField = Map(("events", Array(Map(("message", "m"), ("exceptions", Array(Map(("type", "E"))))).Without(field).With(field, value))));
        var inUnknownField = Map(("events", Array(MessageEvent())), ("future", value));

        foreach (var (body, path) in new[] { (Encode(inField), $"events[0].{field}"), (Encode(inUnknownField), "future") })
        {
            foreach (var limits in new[] { new IngestLimits(), Permissive })
            {
                Refuse(body, limits); // once to load and compile everything involved, then measured

                var before = GC.GetAllocatedBytesForCurrentThread();
                var refused = Refuse(body, limits);
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

                allocated.Should().BeLessThan(SmallAllocation, $"{name} in {path}: refusing it must not allocate what it claims");
                refused.Field.Should().StartWith(path, name);
                refused.Problem.Should().MatchRegex("truncated|exceeds Max", name);
            }
        }
    }

    [Theory]
    [InlineData("dd 80 00 00 00", "array", "2147483648")]
    [InlineData("dd ff ff ff ff", "array", "4294967295")]
    [InlineData("df 80 00 00 00", "map", "2147483648")]
    [InlineData("df ff ff ff ff", "map", "4294967295")]
    public void A_count_of_2_to_the_31_or_more_is_read_as_the_unsigned_number_the_specification_means(string hex, string kind, string count)
    {
        // MessagePack-CSharp hands such a count over as a negative int, and its own Skip then "skips" -1 values and
        // succeeds. Even with every limit at its largest, the count must be the number the header states.
        var body = Encode(Map(("events", Array(MessageEvent())), ("future", RawHex(hex))));

        var refused = Refuse(body, Permissive);

        refused.Field.Should().Be("future");
        refused.Problem.Should().Contain($"{kind} of {count} entries exceeds MaxCollectionEntries");
    }

    [Theory]
    [InlineData("db 80 00 00 00 61", "string", "2147483648")]
    [InlineData("c6 ff ff ff ff 61", "binary value", "4294967295")]
    public void A_length_of_2_to_the_31_or_more_is_read_as_the_unsigned_number_the_specification_means(string hex, string kind, string length)
    {
        var body = Encode(Map(("events", Array(MessageEvent())), ("future", RawHex(hex))));

        var refused = Refuse(body, Permissive);

        refused.Problem.Should().Contain($"{kind} of {length} bytes exceeds MaxRawStringBytes");
    }

    [Theory]
    [InlineData(0x91)] // [[[...]]]
    [InlineData(0x81)] // {{{...}: nil}: nil}: each map's key is the next map
    public void An_unknown_value_nested_100000_deep_is_refused_at_the_depth_limit_without_crashing(byte container)
    {
        var body = Encode(Batch(MessageEvent().With("deep", Raw(Repeated(container, 100_000)))));

        var refused = Refuse(body, new IngestLimits());

        refused.Field.Should().Be("events[0].deep");
        refused.Problem.Should().Contain("nesting exceeds MaxDepth (32)");
    }

    [Theory]
    [InlineData(0x91)]
    [InlineData(0x81)]
    public void Without_a_depth_limit_100000_nested_containers_are_skipped_without_overflowing_the_stack(byte container)
    {
        // Nesting is then bounded only by the body: the skip must not recurse per level (a stack overflow would kill
        // the whole process, not fail one request).
        var nested = Repeated(container, 100_000);
        byte[] complete = container == 0x81 ? [.. nested, 0xc0, .. Repeated(0xc0, 100_000)] : [.. nested, 0xc0];
        var valid = Encode(Batch(MessageEvent().With("deep", Raw(complete)), MessageEvent()));

        Decode(valid, Permissive).Events.Should().HaveCount(2);

        var cut = Encode(Map(("events", Array(MessageEvent())), ("deep", Raw(nested))));
        Refuse(cut, Permissive).Problem.Should().Contain("truncated");
    }

    [Fact]
    public void Deep_nesting_with_a_sibling_at_every_level_is_skipped_to_its_exact_end()
    {
        // [[[... [nil] ..., 1], 1], 1]: after the innermost closes, every level still has a sibling to skip; the next
        // field must then be read from exactly the right byte.
        const int Depth = 50_000;
        byte[] value = [.. Repeated(0x92, Depth), 0x91, 0xc0, .. Repeated(0x01, Depth)];
        var body = Encode(Batch(MessageEvent().Without("logger").With("deep", Raw(value)).With("logger", "after the deep value")));

        Decode(body, Permissive).Events[0].Event.Logger.Should().Be("after the deep value");
    }

    [Fact]
    public void The_never_used_byte_0xc1_is_refused_wherever_it_stands()
    {
        Refuse([0xc1], new IngestLimits()).Problem.Should().Contain("0xc1").And.Contain("not a valid MessagePack format");

        foreach (var field in new[] { "event_id", "timestamp", "level", "message", "exceptions", "request", "user", "tags", "unknown" })
        {
            var refused = Refuse(Encode(Batch(MessageEvent(), MessageEvent().With(field, Raw(0xc1)))), new IngestLimits());
            refused.Field.Should().Be($"events[1].{field}");
            refused.Problem.Should().Contain("0xc1");
        }

        var inKey = Refuse(Encode(Batch(MessageEvent().With(Raw(0xc1), 1))), new IngestLimits());
        inKey.Field.Should().Be("events[0]");
        var nested = Refuse(Encode(Batch(MessageEvent().With("unknown", Raw(0x93, 0x01, 0xa1, 0x61, 0xc1)))), new IngestLimits());
        nested.Field.Should().Be("events[0].unknown");
        nested.Problem.Should().Contain("0xc1");
    }

    [Fact]
    public void An_error_names_the_byte_where_the_bad_value_starts()
    {
        var body = Encode(Batch(Map(("message", "m"), ("logger", Raw(0xd9, 0x05, 0x61)))));

        var refused = Refuse(body, new IngestLimits());

        refused.Field.Should().Be("events[0].logger");
        refused.Problem.Should().Contain($"at byte {body.Length - 3}").And.Contain("truncated");
    }

    public static TheoryData<string, string, string> InvalidUtf8 => new()
    {
        { "a lone invalid byte", "61 ff 62", "a\uFFFDb" },
        { "a two-byte sequence cut at the end", "61 c3", "a\uFFFD" },
        { "a three-byte sequence cut at the end", "61 e2 82", "a\uFFFD" },
        { "a four-byte sequence cut at the end", "f0 9f 98", "\uFFFD" },
        { "a bad continuation byte", "e2 28 a1", "\uFFFD(\uFFFD" },
        { "an overlong NUL", "c0 80", "\uFFFD\uFFFD" },
        { "an encoded surrogate", "ed a0 80", "\uFFFD\uFFFD\uFFFD" },
        { "a code point past U+10FFFF", "f4 90 80 80", "\uFFFD\uFFFD\uFFFD\uFFFD" },
        { "valid text around an invalid byte", "c3 a9 ff f0 9f 9a 80", "é\uFFFD🚀" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public void Invalid_utf8_becomes_the_replacement_character_in_values_and_keys(string what, string hex, string expected)
    {
        var text = Utf8Bytes(RawHex(hex).Bytes);
        var body = Encode(Batch(Map(
            ("message", text),
            ("exceptions", Array(Map(("type", text), ("frames", Array(Map(("function", text))))))),
            ("tags", Map((text, text))))));

        var decoded = Decode(body).Events[0].Event;

        decoded.Message.Should().Be(expected, what);
        decoded.Exceptions[0].Type.Should().Be(expected, what);
        decoded.Exceptions[0].Frames[0].Function.Should().Be(expected, what);
        decoded.Tags.Should().Equal(new Dictionary<string, string> { [expected] = expected });
    }

    public static TheoryData<string, object, string> BadTimestamps => new()
    {
        { "64-bit with 1,000,000,000 nanoseconds", Ext(-1, EventBatchDecoderTests.Packed64(nanoseconds: 1_000_000_000, seconds: 1)), "1000000000 nanoseconds" },
        { "64-bit with the largest 30-bit nanoseconds", Ext(-1, EventBatchDecoderTests.Packed64(nanoseconds: (1 << 30) - 1, seconds: 1)), "nanoseconds" },
        { "96-bit with 2^32-1 nanoseconds", Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: uint.MaxValue, seconds: 1)), "4294967295 nanoseconds" },
        { "96-bit past year 9999", Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: 0, seconds: 253_402_300_800)), "range" },
        { "96-bit before year 1", Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: 0, seconds: -62_135_596_801)), "range" },
        { "96-bit at long.MinValue seconds", Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: 0, seconds: long.MinValue)), "range" },
        { "96-bit at long.MaxValue seconds", Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: 0, seconds: long.MaxValue)), "range" },
        { "type -1 of 0 bytes", Raw(0xc7, 0x00, 0xff), "extension type -1 of 0 bytes" },
        { "type -1 of 5 bytes", Ext(-1, 0, 0, 0, 0, 1), "extension type -1 of 5 bytes" },
        { "type -1 of 16 bytes", Ext(-1, new byte[16]), "extension type -1 of 16 bytes" },
        { "another type of 8 bytes", Ext(5, new byte[8]), "extension type 5 of 8 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadTimestamps))]
    public void A_bad_timestamp_extension_is_refused_saying_what_is_wrong(string what, object timestamp, string problem)
    {
        var refused = Batch(MessageEvent(), CheckoutEvent().With("timestamp", timestamp)).ShouldBeRefused("events[1].timestamp");

        refused.Problem.Should().Contain(problem, what);
    }

    [Fact]
    public void Timestamps_at_the_edges_of_what_is_valid_are_read_to_the_tick()
    {
        var latest = Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: 999_999_999, seconds: 253_402_300_799));
        var earliest = Ext(-1, EventBatchDecoderTests.Packed96(nanoseconds: 0, seconds: -62_135_596_800));
        var largest64 = Ext(-1, EventBatchDecoderTests.Packed64(nanoseconds: 999_999_999, seconds: (1L << 34) - 1));

        // Decoding reads the time as sent; what the server believes of it is normalizing's decision, tested with it.
        var decoder = new EventBatchDecoder(new IngestLimits());
        var events = decoder.DecodeAndValidate(Encode(Batch(MessageEvent().With("timestamp", latest), MessageEvent().With("timestamp", earliest),
            MessageEvent().With("timestamp", largest64)))).Events;

        events[0].Timestamp.Should().Be(DateTimeOffset.MaxValue);
        events[1].Timestamp.Should().Be(DateTimeOffset.MinValue);
        events[2].Timestamp.Should().Be(DateTimeOffset.FromUnixTimeSeconds((1L << 34) - 1).AddTicks(9_999_999));
    }

    [Fact]
    public void An_unsigned_64_bit_integer_past_long_MaxValue_is_refused_where_an_integer_is_read()
    {
        var frame = Map(("function", "F"), ("line", ulong.MaxValue));

        var refused = Batch(MessageEvent(), CheckoutEvent().With("exceptions", Array(Map(("type", "E"), ("frames", Array(frame))))))
            .ShouldBeRefused("events[1].exceptions[0].frames[0].line");

        refused.Problem.Should().Contain("expected a signed 64-bit integer but found integer 18446744073709551615");
        Decode(OneEvent(e => e.With("tags", Map(("big", long.MaxValue))))).Events[0].Event.Tags["big"].Should().Be("9223372036854775807");
    }

    private static BatchFormatException Refuse(byte[] body, IngestLimits limits)
    {
        try
        {
            Decode(body, limits);
        }
        catch (BatchFormatException refused)
        {
            return refused;
        }
        catch (Exception other)
        {
            throw new Xunit.Sdk.XunitException($"expected a BatchFormatException but got {other.GetType().Name}: {other}");
        }

        throw new Xunit.Sdk.XunitException("expected a BatchFormatException but the body decoded");
    }

    private static byte[] Repeated(byte value, int count)
    {
        var bytes = new byte[count];
        bytes.AsSpan().Fill(value);
        return bytes;
    }
}
