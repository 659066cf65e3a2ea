using System.Text;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

public sealed class EventBatchDecoderTests
{
    [Fact]
    public void A_realistic_batch_decodes_to_exactly_the_expected_events()
    {
        var batch = Decode(Bytes());

        batch.Version.Should().Be(1);
        batch.Sdk.Should().Be(BatchSdk);
        batch.Events.Select(e => e.Event).ShouldMatch(ExpectedCheckout(), ExpectedTimeout(), ExpectedMessage());
        batch.Events.Select(e => e.ClientFingerprint).Should().BeEquivalentTo(
            new[] { null, null, new[] { "payments", "{{ default }}" } }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void The_batch_sdk_applies_to_events_without_their_own_even_when_it_comes_after_the_events()
    {
        var batch = Map(
            ("events", Array(CheckoutEvent(), TimeoutEvent())),
            ("sdk", Map(("name", "late"), ("version", "2.0"))));

        var events = Decode(batch).Events;

        events[0].Event.Sdk.Should().Be(new NameVersion("late", "2.0"));
        events[1].Event.Sdk.Should().Be(new NameVersion("errorhub.worker", "0.0.9"), "an event's own sdk wins");
    }

    [Fact]
    public void A_batch_without_version_or_sdk_is_version_1_and_an_empty_events_array_is_valid()
    {
        var batch = Decode(Map(("events", Array())));

        batch.Version.Should().Be(1);
        batch.Sdk.Should().BeNull();
        batch.Events.Should().BeEmpty();
    }

    [Fact]
    public void Unknown_fields_are_ignored_at_every_level_whatever_their_type()
    {
        var unknown = Map(
            ("nested", Map(("deeper", Array(1, "two", Map(("three", Array(3.0, null, true))))))),
            ("bin", new byte[] { 1, 2, 3 }),
            ("ext", Ext(42, 9, 9, 9, 9)),
            ("when", DateTimeOffset.UnixEpoch),
            ("big", ulong.MaxValue),
            ("negative", -123456789L),
            ("float32", 1.5f),
            ("nil", null),
            ("empty_map", Map()),
            ("empty_array", Array()));
        var frame = CheckoutFrame(0).With("il_offset", 12).With("vars", unknown);
        var checkout = CheckoutEvent()
            .With("contexts", unknown)
            .With("exceptions", Array(
                Map(("mechanism", unknown), ("type", "System.InvalidOperationException"), ("value", "Checkout failed for bundle 'summer-kit'"),
                    ("module", "System.Private.CoreLib"), ("frames", Array(CheckoutFrame(1).With("x", unknown), CheckoutFrame(2), CheckoutFrame(3))),
                    ("data", unknown)),
                Map(("type", "Shop.Inventory.OutOfStockException"), ("value", "Item 4711 is out of stock\nwarehouse: north"),
                    ("module", "Shop"), ("frames", Array(frame, CheckoutFrame(1), CheckoutFrame(2), CheckoutFrame(3))))))
            .With("request", ((WireMap)CheckoutEvent()["request"]!).With("cookies", unknown).With("data", Array(unknown)))
            .With("user", ((WireMap)CheckoutEvent()["user"]!).With("segment", unknown))
            .With("runtime", Map(("raw", unknown), ("name", ".NET"), ("version", "10.0.12"), ("build", 1)))
            .With("os", ((WireMap)CheckoutEvent()["os"]!).With("kernel", unknown));
        var batch = Map(
            ("future_envelope_field", unknown),
            ("v", 1),
            ("sdk", Map(("name", "errorhub.dotnet"), ("integrations", Array("aspnetcore", unknown)), ("version", "0.1.0"))),
            ("events", Array(checkout, TimeoutEvent().With("breadcrumbs", Array(unknown, unknown)), MessageEvent())),
            ("trailer", unknown));

        Decode(batch).Events.Select(e => e.Event).ShouldMatch(ExpectedCheckout(), ExpectedTimeout(), ExpectedMessage());
    }

    [Fact]
    public void Unknown_values_nested_32_levels_deep_are_skipped()
    {
        Decode(OneEvent(e => e.With("deep", NestedArrays(32)))).Events.Should().ContainSingle();
    }

    [Fact]
    public void Nil_for_an_optional_field_means_absent_at_every_level()
    {
        var allNil = Map(
            ("event_id", null), ("timestamp", null), ("level", null), ("platform", null), ("logger", null),
            ("release", null), ("environment", null), ("server_name", null), ("fingerprint", null), ("request", null),
            ("user", null), ("tags", null), ("runtime", null), ("os", null), ("sdk", null),
            ("message", "only a message"),
            ("exceptions", null));
        var nilInside = Map(
            ("message", "nils inside"),
            ("exceptions", Array(Map(("type", "E"), ("value", null), ("module", null), ("frames", null)),
                Map(("type", "F"), ("frames", Array(Map(("function", null), ("type", null), ("module", null), ("file", null),
                    ("line", null), ("column", null), ("in_app", null))))))),
            ("request", Map(("method", null), ("url", null), ("query_string", null), ("headers", null))),
            ("user", Map(("id", null), ("username", null), ("email", null), ("ip_address", null))),
            ("tags", Map(("kept", "yes"), ("dropped", null))),
            ("runtime", Map(("name", null), ("version", null))));

        var events = Decode(Map(("v", null), ("sdk", null), ("events", Array(allNil, nilInside)))).Events.Select(e => e.Event).ToList();

        var expectedFirst = new ErrorEvent
        {
            EventId = events[0].EventId,
            ProjectId = ProjectId,
            Timestamp = ReceivedAt,
            ReceivedAt = ReceivedAt,
            Fingerprint = "",
            GroupingVersion = 0,
            Title = "",
            Message = "only a message",
        };
        events[0].ShouldMatch(expectedFirst);
        events[0].EventId.Should().NotBeEmpty();
        events[1].ShouldMatch(expectedFirst with
        {
            EventId = events[1].EventId,
            Message = "nils inside",
            Exceptions =
            [
                new ExceptionRecord("E", "", null, []),
                new ExceptionRecord("F", "", null, [new FrameRecord("?", null, null, null, null, null, false)]),
            ],
            Request = new RequestRecord(null, null, null, new Dictionary<string, string>()),
            User = null,
            Tags = new Dictionary<string, string> { ["kept"] = "yes" },
            Runtime = null,
        });
    }

    public static TheoryData<string, object, DateTimeOffset> TimestampForms => new()
    {
        { "ext -1, 32-bit seconds", Ext(-1, 0x6a, 0x1f, 0xe9, 0x10), DateTimeOffset.FromUnixTimeSeconds(0x6a1fe910) },
        {
            "ext -1, 64-bit nanoseconds and seconds",
            Ext(-1, Packed64(nanoseconds: 123_456_700, seconds: 1_795_255_000)),
            DateTimeOffset.FromUnixTimeSeconds(1_795_255_000).AddTicks(1_234_567)
        },
        {
            "ext -1, 96-bit before 1970",
            Ext(-1, Packed96(nanoseconds: 500_000_000, seconds: -14_182_940)),
            new DateTimeOffset(1969, 7, 20, 20, 17, 40, 500, TimeSpan.Zero)
        },
        { "ext -1 as written by the SDK's writer", new DateTimeOffset(2026, 11, 21, 9, 30, 15, 42, TimeSpan.Zero), new DateTimeOffset(2026, 11, 21, 9, 30, 15, 42, TimeSpan.Zero) },
        { "int milliseconds", 1_795_255_000_250L, DateTimeOffset.FromUnixTimeMilliseconds(1_795_255_000_250L) },
        { "small int milliseconds", 5, DateTimeOffset.FromUnixTimeMilliseconds(5) },
        { "float64 seconds", 1_795_255_000.25, DateTimeOffset.FromUnixTimeMilliseconds(1_795_255_000_250L) },
        { "float32 seconds", 1.0e9f, DateTimeOffset.FromUnixTimeSeconds(1_000_000_000) },
        { "ISO 8601 UTC", "2026-11-21T09:59:00Z", new DateTimeOffset(2026, 11, 21, 9, 59, 0, TimeSpan.Zero) },
        { "ISO 8601 with offset and fraction", "2026-11-21T10:59:00.125+01:00", new DateTimeOffset(2026, 11, 21, 9, 59, 0, 125, TimeSpan.Zero) },
        { "ISO 8601 without offset is UTC", "2026-11-21T09:59:00", new DateTimeOffset(2026, 11, 21, 9, 59, 0, TimeSpan.Zero) },
    };

    [Theory]
    [MemberData(nameof(TimestampForms))]
    public void Every_accepted_timestamp_form_decodes_to_the_same_instant_in_utc(string form, object wire, DateTimeOffset expected)
    {
        // Decoding reads the time as sent (forms far from today included); what the server believes of it is normalizing's
        // decision, tested below and in IngestPipelineTests.
        var decoded = SentTime(OneEvent(e => e.With("timestamp", wire)));

        decoded.Should().Be(expected, form);
        decoded!.Value.Offset.Should().Be(TimeSpan.Zero);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(30, false)]
    [InlineData(60, false)]
    [InlineData(61, true)]
    [InlineData(86_400 * 365, true)]
    public void A_timestamp_more_than_a_minute_ahead_of_the_server_becomes_the_receive_time(int secondsAhead, bool replaced)
    {
        var sent = ReceivedAt.AddSeconds(secondsAhead);

        var decoded = Decode(OneEvent(e => e.With("timestamp", sent))).Events[0].Event;

        decoded.Timestamp.Should().Be(replaced ? ReceivedAt : sent);
        decoded.ReceivedAt.Should().Be(ReceivedAt);
    }

    [Fact]
    public void A_timestamp_up_to_30_days_old_is_kept_an_older_one_and_a_missing_one_are_the_receive_time()
    {
        var lastMonth = ReceivedAt.AddDays(-30);
        var lastYear = new DateTimeOffset(2025, 11, 1, 0, 0, 0, TimeSpan.Zero);

        Decode(OneEvent(e => e.With("timestamp", lastMonth))).Events[0].Event.Timestamp.Should().Be(lastMonth);
        Decode(OneEvent(e => e.With("timestamp", lastYear))).Events[0].Event.Timestamp.Should().Be(ReceivedAt);
        Decode(OneEvent(e => e.Without("timestamp"))).Events[0].Event.Timestamp.Should().Be(ReceivedAt);
    }

    public static TheoryData<string, object> InvalidTimestamps => new()
    {
        { "negative milliseconds", -1 },
        { "milliseconds after year 9999", 253_402_300_800_000L },
        { "uint64 too large for a signed value", ulong.MaxValue },
        { "negative seconds", -5.0 },
        { "NaN", double.NaN },
        { "infinity", double.PositiveInfinity },
        { "seconds after year 9999", 1e12 },
        { "text that is not a date", "yesterday" },
        { "empty text", "" },
        { "date before year 1 in UTC", "0001-01-01T00:00:00+01:00" },
        { "date after year 9999 in UTC", "9999-12-31T23:59:59-01:00" },
        { "boolean", true },
        { "map", Map(("seconds", 1)) },
        { "array", Array(1, 2) },
        { "binary", new byte[] { 1, 2, 3, 4 } },
        { "extension of another type", Ext(5, 0, 0, 0, 1) },
        { "timestamp extension of 5 bytes", Ext(-1, 0, 0, 0, 0, 1) },
        { "nanoseconds over a second", Ext(-1, Packed64(nanoseconds: 1_000_000_000, seconds: 1)) },
        { "96-bit seconds past year 9999", Ext(-1, Packed96(nanoseconds: 0, seconds: 253_402_300_800)) },
    };

    [Theory]
    [MemberData(nameof(InvalidTimestamps))]
    public void An_invalid_timestamp_is_refused_naming_the_events_timestamp(string what, object wire)
    {
        var batch = Batch(MessageEvent(), CheckoutEvent().With("timestamp", wire));

        var refused = batch.ShouldBeRefused("events[1].timestamp");

        refused.Problem.Should().NotBeEmpty(what);
    }

    public static TheoryData<object, Guid> ValidEventIds => new()
    {
        { "6f1c9a0e3b7d4c2a9e510d8f2b6a4c13", CheckoutEventId },
        { "6F1C9A0E3B7D4C2A9E510D8F2B6A4C13", CheckoutEventId },
        { "6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4c13", CheckoutEventId },
        { "6F1C9A0E-3B7D-4C2A-9E51-0D8F2B6A4C13", CheckoutEventId },
        {
            new byte[] { 0x6f, 0x1c, 0x9a, 0x0e, 0x3b, 0x7d, 0x4c, 0x2a, 0x9e, 0x51, 0x0d, 0x8f, 0x2b, 0x6a, 0x4c, 0x13 },
            CheckoutEventId
        },
    };

    [Theory]
    [MemberData(nameof(ValidEventIds))]
    public void Event_ids_are_accepted_as_32_hex_digits_dashed_or_16_bytes_in_network_order(object wire, Guid expected)
    {
        Decode(OneEvent(e => e.With("event_id", wire))).Events[0].Event.EventId.Should().Be(expected);
    }

    [Fact]
    public void Missing_nil_and_all_zero_event_ids_get_a_new_random_id_each()
    {
        var events = Decode(Batch(
            CheckoutEvent().Without("event_id"),
            CheckoutEvent().Without("event_id"),
            CheckoutEvent().With("event_id", null),
            CheckoutEvent().With("event_id", "00000000000000000000000000000000"),
            CheckoutEvent().With("event_id", new byte[16]))).Events;

        var ids = events.Select(e => e.Event.EventId).ToList();
        ids.Should().OnlyHaveUniqueItems().And.NotContain(Guid.Empty);
        ids.Should().AllSatisfy(id => id.Version.Should().Be(4, "a generated id is a random UUID"));
    }

    public static TheoryData<string, object> InvalidEventIds => new()
    {
        { "31 hex digits", "6f1c9a0e3b7d4c2a9e510d8f2b6a4c1" },
        { "33 hex digits", "6f1c9a0e3b7d4c2a9e510d8f2b6a4c13a" },
        { "not hex", "6f1c9a0e3b7d4c2a9e510d8f2b6a4cZZ" },
        { "dashes in the wrong places", "6f1c9a0e3b7d-4c2a-9e51-0d8f2b6a4c13" },
        { "braces", "{6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4c13}" },
        { "empty", "" },
        { "words", "not-a-uuid" },
        { "15 bytes", new byte[15] },
        { "17 bytes", new byte[17] },
        { "an integer", 12345 },
        { "a boolean", true },
        { "an array", Array(1) },
        { "32 hex digits with a non-ASCII letter (read from the bytes, never as text)", "6f1c9a0e3b7d4c2a9e510d8f2b6a4cé" },
        { "32 characters: hex digits in spaces, which a lenient parser would trim", "  6f1c9a0e3b7d4c2a9e510d8f2b6a  " },
        { "36 characters of UTF-8 with dashes in place", "6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4cé" },
    };

    [Theory]
    [MemberData(nameof(InvalidEventIds))]
    public void An_invalid_event_id_is_refused_naming_the_events_event_id(string what, object wire)
    {
        var refused = Batch(MessageEvent(), CheckoutEvent().With("event_id", wire)).ShouldBeRefused("events[1].event_id");

        refused.Problem.Should().NotBeEmpty(what);
    }

    [Theory]
    [InlineData("fatal", "fatal")]
    [InlineData("error", "error")]
    [InlineData("warning", "warning")]
    [InlineData("info", "info")]
    [InlineData("debug", "debug")]
    [InlineData("FATAL", "fatal")]
    [InlineData("Warning", "warning")]
    [InlineData("warn", "warning")]
    [InlineData("Information", "info")]
    [InlineData("critical", "fatal")]
    [InlineData("Trace", "debug")]
    [InlineData("verbose", "debug")]
    [InlineData("notice", "error")]
    [InlineData("", "error")]
    public void Levels_map_to_the_five_known_levels_and_anything_else_is_error(string sent, string expected)
    {
        Decode(OneEvent(e => e.With("level", sent))).Events[0].Event.Level.Should().Be(expected);
    }

    [Fact]
    public void A_missing_level_is_error()
    {
        Decode(OneEvent(e => e.Without("level"))).Events[0].Event.Level.Should().Be("error");
    }

    [Fact]
    public void An_event_needs_exceptions_or_a_message()
    {
        var neither = Batch(MessageEvent(), Map(("level", "error"), ("exceptions", Array())));

        var refused = neither.ShouldBeRefused("events[1]");

        refused.Problem.Should().Contain("exceptions").And.Contain("message");
        Batch(Map(("message", "  \n\t "))).ShouldBeRefused("events[0]");
        Decode(Batch(Map(("message", "x"), ("exceptions", Array())))).Events.Should().ContainSingle();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Every_exception_needs_a_type(string? type)
    {
        var exceptions = Array(Map(("type", "A")), Map(("value", "no type"), ("type", type)));

        var refused = Batch(MessageEvent(), CheckoutEvent().With("exceptions", exceptions)).ShouldBeRefused("events[1].exceptions[1].type");

        refused.Problem.Should().Contain("type");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(3_000_000_000L)]
    public void Unknown_or_impossible_line_and_column_numbers_are_absent(long number)
    {
        var frame = Map(("function", "F"), ("line", number), ("column", number));

        var decoded = Decode(OneEvent(e => e.With("exceptions", Array(Map(("type", "E"), ("frames", Array(frame))))))).Events[0].Event;

        decoded.Exceptions[0].Frames[0].Should().Be(new FrameRecord("F", null, null, null, null, null, false));
    }

    [Fact]
    public void Tag_values_and_user_ids_that_are_numbers_or_booleans_become_text()
    {
        var decoded = Decode(OneEvent(e => e
            .With("tags", Map(("int", -7), ("big", 9_007_199_254_740_993L), ("float", 2.5), ("yes", true), ("no", false)))
            .With("user", Map(("id", 1001))))).Events[0].Event;

        decoded.Tags.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["int"] = "-7",
            ["big"] = "9007199254740993",
            ["float"] = "2.5",
            ["yes"] = "true",
            ["no"] = "false",
        });
        decoded.User.Should().Be(new UserRecord("1001", null, null, null));
    }

    [Fact]
    public void Invalid_utf8_in_a_string_becomes_the_replacement_character()
    {
        var message = Utf8Bytes([.. "bad "u8, 0xff, 0xfe, (byte)'!', 0xe2, 0x82]);

        var decoded = Decode(Batch(Map(("message", message)))).Events[0].Event;

        decoded.Message.Should().StartWith("bad \uFFFD").And.Contain("!").And.NotContain("\0");
        decoded.Message!.Should().EndWith("\uFFFD");
    }

    [Fact]
    public void The_message_keeps_every_unicode_character_it_was_sent()
    {
        const string text = "Grüße 世界 🎉 \u202Eabc \0 NUL";

        Decode(Batch(Map(("message", text)))).Events[0].Event.Message.Should().Be(text);
    }

    internal static byte[] Packed64(uint nanoseconds, long seconds)
    {
        var packed = ((ulong)nanoseconds << 34) | (ulong)seconds;
        var bytes = BitConverter.GetBytes(packed);
        System.Array.Reverse(bytes);
        return bytes;
    }

    internal static byte[] Packed96(uint nanoseconds, long seconds)
    {
        var bytes = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, nanoseconds);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(4), seconds);
        return bytes;
    }
}
