using ErrorHub.Storage.Events;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>The limits table of docs/protocol.md: soft limits cut or drop, hard limits refuse and name the field.</summary>
public sealed class DecoderLimitTests
{
    private static readonly IngestLimits Limits = new();

    public static TheoryData<string, int> SoftLimitedFields => new()
    {
        { "message", 8192 },
        { "exception value", 8192 },
        { "request url", 2048 },
        { "request query_string", 2048 },
        { "header value", 2048 },
        { "frame file", 1024 },
        { "header name", 256 },
        { "logger", 256 },
        { "release", 256 },
        { "environment", 256 },
        { "server_name", 256 },
        { "platform", 256 },
        { "exception type", 256 },
        { "exception module", 256 },
        { "frame function", 256 },
        { "frame type", 256 },
        { "frame module", 256 },
        { "request method", 256 },
        { "user id", 256 },
        { "user username", 256 },
        { "user email", 256 },
        { "user ip_address", 256 },
        { "tag key", 256 },
        { "tag value", 256 },
        { "fingerprint part", 256 },
        { "sdk name", 256 },
        { "runtime version", 256 },
        { "os name", 256 },
    };

    [Theory]
    [MemberData(nameof(SoftLimitedFields))]
    public void A_value_longer_than_its_soft_limit_is_cut_to_the_limit_and_the_event_is_kept(string field, int limit)
    {
        var value = Pattern(limit + 500);

        Decoded(field, value).Should().Be(value[..limit]);
        Decoded(field, value[..limit]).Should().Be(value[..limit], "a value exactly at the limit is kept whole");
    }

    [Theory]
    [MemberData(nameof(SoftLimitedFields))]
    public void Cutting_never_splits_a_surrogate_pair(string field, int limit)
    {
        // The pair straddles the limit: its high half would be the last kept character.
        var straddling = new string('a', limit - 1) + "😀" + "tail";
        var fitting = new string('a', limit - 2) + "😀" + "tail";

        Decoded(field, straddling).Should().Be(new string('a', limit - 1));
        Decoded(field, fitting).Should().Be(new string('a', limit - 2) + "😀");
    }

    [Fact]
    public void Exceptions_past_32_are_dropped_keeping_the_outermost()
    {
        var exceptions = Enumerable.Range(0, 40).Select(i => (object?)Map(("type", $"E{i}"))).ToArray();

        var decoded = Decode(OneEvent(e => e.With("exceptions", exceptions))).Events[0].Event;

        decoded.Exceptions.Select(e => e.Type).Should().Equal(Enumerable.Range(0, Limits.MaxExceptions).Select(i => $"E{i}"));
    }

    [Fact]
    public void Frames_past_250_are_dropped_keeping_the_frames_nearest_the_throw()
    {
        var frames = Enumerable.Range(0, 300).Select(i => (object?)Map(("function", $"F{i}"), ("in_app", true))).ToArray();

        var decoded = Decode(OneEvent(e => e.With("exceptions", Array(Map(("type", "E"), ("frames", frames)))))).Events[0].Event;

        decoded.Exceptions[0].Frames.Select(f => f.Function).Should().Equal(Enumerable.Range(0, Limits.MaxFramesPerException).Select(i => $"F{i}"));
    }

    [Fact]
    public void Headers_past_100_tags_past_50_and_fingerprint_parts_past_16_are_dropped_in_wire_order()
    {
        var headers = new WireMap(Enumerable.Range(0, 150).Select(i => ((object)$"H{i:000}", (object?)$"v{i}")));
        var tags = new WireMap(Enumerable.Range(0, 80).Select(i => ((object)$"t{i:000}", (object?)i)));
        var fingerprint = Enumerable.Range(0, 20).Select(i => (object?)$"p{i}").ToArray();

        var decoded = Decode(OneEvent(e => e
            .With("request", Map(("headers", headers)))
            .With("tags", tags)
            .With("fingerprint", fingerprint))).Events[0];

        decoded.Event.Request!.Headers.Keys.Should().BeEquivalentTo(Enumerable.Range(0, Limits.MaxHeaders).Select(i => $"H{i:000}"));
        decoded.Event.Tags.Keys.Should().BeEquivalentTo(Enumerable.Range(0, Limits.MaxTags).Select(i => $"t{i:000}"));
        decoded.ClientFingerprint.Should().Equal(Enumerable.Range(0, Limits.MaxFingerprintParts).Select(i => $"p{i}"));
    }

    [Fact]
    public void A_batch_of_exactly_1000_events_is_accepted_and_1001_is_refused()
    {
        var events = Enumerable.Range(0, 1001).Select(i => (object?)Map(("message", $"m{i}"))).ToArray();

        Decode(Map(("events", events[..1000]))).Events.Should().HaveCount(1000);
        var refused = Map(("events", events)).ShouldBeRefused("events");
        refused.Problem.Should().Contain("1001").And.Contain("1000");
    }

    [Fact]
    public void A_string_over_256_KiB_is_refused_naming_its_exact_path()
    {
        var frames = Array(CheckoutFrame(0), CheckoutFrame(1), CheckoutFrame(2), CheckoutFrame(3).With("file", new string('f', 256 * 1024 + 1)));
        var batch = Batch(MessageEvent(), CheckoutEvent().With("exceptions", Array(Map(("type", "E"), ("frames", frames)))));

        var refused = batch.ShouldBeRefused("events[1].exceptions[0].frames[3].file");

        refused.Problem.Should().Contain("262145").And.Contain("exceeds Max");
    }

    [Fact]
    public void A_string_of_exactly_256_KiB_is_accepted_and_cut_to_its_soft_limit()
    {
        var decoded = Decode(OneEvent(e => e.With("message", new string('m', 256 * 1024)))).Events[0].Event;

        decoded.Message.Should().HaveLength(8192);
    }

    [Theory]
    [InlineData("binary")]
    [InlineData("extension")]
    [InlineData("string key")]
    public void Over_256_KiB_of_binary_extension_or_key_in_an_unknown_field_is_refused(string kind)
    {
        var big = new byte[256 * 1024 + 1];
        var batch = kind switch
        {
            "binary" => Batch(MessageEvent(), MessageEvent().With("attachment", big)),
            "extension" => Batch(MessageEvent(), MessageEvent().With("attachment", Ext(7, big))),
            _ => Batch(MessageEvent(), MessageEvent().With(new string('k', 256 * 1024 + 1), 1)),
        };

        var refused = batch.ShouldBeRefused(kind == "string key" ? "events[1]" : "events[1].attachment");

        refused.Problem.Should().Contain("exceeds Max");
    }

    [Fact]
    public void Unknown_values_nested_deeper_than_32_levels_are_refused()
    {
        var refused = Batch(MessageEvent(), MessageEvent().With("deep", NestedArrays(33))).ShouldBeRefused("events[1].deep");

        refused.Problem.Should().Contain("nesting exceeds MaxDepth (32)");
    }

    [Fact]
    public void A_collection_declaring_more_than_100000_entries_is_refused()
    {
        var hugeArray = Raw(0xdd, 0x00, 0x01, 0x86, 0xa1); // array32 of 100,001
        var frames = Batch(MessageEvent(), CheckoutEvent().With("exceptions", Array(Map(("type", "E"), ("frames", hugeArray)))));

        frames.ShouldBeRefused("events[1].exceptions[0].frames").Problem.Should().Contain("100001").And.Contain("exceeds Max");
    }

    [Fact]
    public void A_collection_declaring_more_entries_than_bytes_left_is_refused_as_truncated()
    {
        var lyingMap = Raw(0xdf, 0xff, 0xff, 0xff, 0xff); // map32 of 4 billion entries, nothing after it
        var lyingArray = Raw(0xdc, 0x10, 0x00, 0x01); // array16 of 4096 entries, one byte after it

        Batch(MessageEvent(), MessageEvent().With("tags", lyingMap)).ShouldBeRefused("events[1].tags").Problem.Should().Contain("exceeds Max");
        var truncated = Encode(Map(("events", Array(MessageEvent(), MessageEvent().With("fingerprint", lyingArray)))));
        truncated.ShouldBeRefused("events[1].fingerprint").Problem.Should().Contain("truncated");
    }

    public static TheoryData<string, string, string> WrongTypes => new()
    {
        { "events[1].exceptions[0].frames[3].line", "\"88\"", "expected an integer but found a string" },
        { "events[1].exceptions[0].frames[3].column", "1.5", "expected an integer but found a float" },
        { "events[1].exceptions[0].frames[3].in_app", "1", "expected a boolean but found an integer" },
        { "events[1].exceptions[0].frames[3].function", "[]", "expected a string but found an array" },
        { "events[1].exceptions[0].frames[3]", "\"frame\"", "expected a map but found a string" },
        { "events[1].exceptions[0].frames", "{}", "expected an array but found a map" },
        { "events[1].exceptions[0].type", "5", "expected a string but found an integer" },
        { "events[1].exceptions[0].value", "true", "expected a string but found a boolean" },
        { "events[1].exceptions[0]", "[]", "expected a map but found an array" },
        { "events[1].exceptions", "\"x\"", "expected an array but found a string" },
        { "events[1].message", "[]", "expected a string but found an array" },
        { "events[1].level", "3", "expected a string but found an integer" },
        { "events[1].request", "\"GET\"", "expected a map but found a string" },
        { "events[1].request.headers", "[]", "expected a map but found an array" },
        { "events[1].request.headers.Accept", "{}", "expected a string but found a map" },
        { "events[1].tags", "[]", "expected a map but found an array" },
        { "events[1].tags.region", "[]", "expected a string but found an array" },
        { "events[1].user", "\"ada\"", "expected a map but found a string" },
        { "events[1].user.email", "5", "expected a string but found an integer" },
        { "events[1].fingerprint", "\"fp\"", "expected an array but found a string" },
        { "events[1].fingerprint[1]", "{}", "expected a string but found a map" },
        { "events[1].runtime.name", "true", "expected a string but found a boolean" },
        { "events[1].os", "[]", "expected a map but found an array" },
        { "events[1]", "\"event\"", "expected a map but found a string" },
        { "events", "{}", "expected an array but found a map" },
        { "sdk", "\"dotnet\"", "expected a map but found a string" },
        { "sdk.version", "1", "expected a string but found an integer" },
    };

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public void A_value_of_the_wrong_type_is_refused_naming_the_exact_field_and_what_was_found(string path, string json, string problem)
    {
        var batch = Place(path, JsonValue(json));

        var refused = batch.ShouldBeRefused(path);

        refused.Problem.Should().Contain(problem);
        refused.Problem.Should().MatchRegex(@"at byte \d+");
        refused.Message.Should().Be($"{path}: {refused.Problem}");
    }

    [Fact]
    public void A_map_key_that_is_not_a_string_is_refused_naming_the_map()
    {
        var batch = Batch(MessageEvent(), new WireMap([("message", "x"), (5, "five")]));

        batch.ShouldBeRefused("events[1]").Problem.Should().Contain("expected a string but found an integer");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(99)]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_protocol_version_the_server_does_not_know_is_refused(int version)
    {
        var refused = Batch().With("v", version).ShouldBeRefused("v");

        refused.Problem.Should().Contain($"version {version}").And.Contain("not supported");
    }

    [Theory]
    [InlineData("\"1\"")]
    [InlineData("1.5")]
    [InlineData("true")]
    [InlineData("5000000000")]
    public void A_protocol_version_that_is_not_a_small_integer_is_refused(string json)
    {
        Batch().With("v", JsonValue(json)).ShouldBeRefused("v");
    }

    [Fact]
    public void A_newer_version_is_refused_even_when_it_comes_after_the_events()
    {
        var batch = Map(("events", Array(MessageEvent())), ("v", 2));

        batch.ShouldBeRefused("v");
    }

    [Theory]
    [InlineData(new byte[] { 0xc0 })]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x80 })]
    public void Bytes_after_the_batch_are_refused(byte[] trailer)
    {
        var body = Bytes().Concat(trailer).ToArray();

        body.ShouldBeRefused("").Problem.Should().Contain("after the batch").And.Contain($"byte {Bytes().Length}");
    }

    [Fact]
    public void Two_batches_in_one_body_are_refused()
    {
        Bytes().Concat(Bytes()).ToArray().ShouldBeRefused("");
    }

    [Theory]
    [InlineData("empty body", new byte[0], "empty")]
    [InlineData("an array", new byte[] { 0x91, 0x80 }, "must be a MessagePack map")]
    [InlineData("an integer", new byte[] { 0x05 }, "must be a MessagePack map")]
    [InlineData("nil", new byte[] { 0xc0 }, "must be a MessagePack map")]
    [InlineData("JSON text", new byte[] { 0x7b, 0x22, 0x65, 0x22, 0x3a, 0x5b, 0x5d, 0x7d }, "must be a MessagePack map")]
    [InlineData("the never-used code", new byte[] { 0xc1 }, "not a valid MessagePack format")]
    [InlineData("an empty map", new byte[] { 0x80 }, "missing")]
    public void A_body_that_is_not_a_batch_is_refused(string what, byte[] body, string problem)
    {
        var refused = body.ShouldBeRefused(problem == "missing" ? "events" : "");

        refused.Problem.Should().Contain(problem, what);
    }

    /// <summary>A value from a JSON literal, so theory data stays readable.</summary>
    private static object? JsonValue(string json) => json switch
    {
        "[]" => Array(),
        "{}" => Map(),
        "true" => true,
        "1.5" => 1.5,
        "5000000000" => 5_000_000_000L,
        _ when json.StartsWith('"') => json.Trim('"'),
        _ => int.Parse(json, System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The sample batch (message event first, checkout event second) with the value at <paramref name="path"/> replaced.</summary>
    private static WireMap Place(string path, object? value)
    {
        var exceptions = (object?[])CheckoutEvent()["exceptions"]!;
        var batch = Batch(MessageEvent(), CheckoutEvent().With("exceptions", Array(exceptions[1], exceptions[0])));
        var segments = System.Text.RegularExpressions.Regex.Matches(path, @"[^.\[\]]+|\[\d+\]").Select(m => m.Value).ToList();
        return (WireMap)Replace(batch, segments, 0, value)!;
    }

    private static object? Replace(object? node, List<string> segments, int index, object? value)
    {
        if (index == segments.Count)
        {
            return value;
        }

        var segment = segments[index];
        if (segment.StartsWith('['))
        {
            var i = int.Parse(segment[1..^1], System.Globalization.CultureInfo.InvariantCulture);
            var items = node is null ? Enumerable.Repeat<object?>("part", i + 1).ToArray() : ((object?[])node).ToArray();
            items[i] = Replace(items[i], segments, index + 1, value);
            return items;
        }

        var map = (WireMap)node!;
        var child = map.Entries.Any(e => Equals(e.Key, segment)) ? map[segment] : null;
        return map.With(segment, Replace(child, segments, index + 1, value));
    }

    private static string Pattern(int length) =>
        string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));

    /// <summary>Sends <paramref name="value"/> in <paramref name="field"/> and reads back what the decoder kept.</summary>
    private static string? Decoded(string field, string value)
    {
        var frame = (Func<WireMap, WireMap>)(f => Map(("function", "F"), ("in_app", true)).Merge(f));
        WireMap Event(Func<WireMap, WireMap> change) => change(Map(("message", "m"), ("exceptions", Array(Map(("type", "E"))))));
        WireMap Exception(WireMap exception) => Map(("message", "m"), ("exceptions", Array(exception)));

        var (eventMap, read) = field switch
        {
            "message" => (Event(e => e.With("message", value)), (Func<NormalizedForTests, string?>)(d => d.Event.Message)),
            "exception value" => (Exception(Map(("type", "E"), ("value", value))), d => d.Event.Exceptions[0].Value),
            "exception type" => (Exception(Map(("type", value))), d => d.Event.Exceptions[0].Type),
            "exception module" => (Exception(Map(("type", "E"), ("module", value))), d => d.Event.Exceptions[0].Module),
            "frame file" => (Exception(Map(("type", "E"), ("frames", Array(frame(Map(("file", value))))))), d => d.Event.Exceptions[0].Frames[0].File),
            "frame function" => (Exception(Map(("type", "E"), ("frames", Array(frame(Map(("function", value))))))), d => d.Event.Exceptions[0].Frames[0].Function),
            "frame type" => (Exception(Map(("type", "E"), ("frames", Array(frame(Map(("type", value))))))), d => d.Event.Exceptions[0].Frames[0].Type),
            "frame module" => (Exception(Map(("type", "E"), ("frames", Array(frame(Map(("module", value))))))), d => d.Event.Exceptions[0].Frames[0].Module),
            "request url" => (Event(e => e.With("request", Map(("url", value)))), d => d.Event.Request!.Url),
            "request query_string" => (Event(e => e.With("request", Map(("query_string", value)))), d => d.Event.Request!.QueryString),
            "request method" => (Event(e => e.With("request", Map(("method", value)))), d => d.Event.Request!.Method),
            "header value" => (Event(e => e.With("request", Map(("headers", Map(("X-Long", value)))))), d => d.Event.Request!.Headers["X-Long"]),
            "header name" => (Event(e => e.With("request", Map(("headers", Map((value, "v")))))), d => d.Event.Request!.Headers.Keys.Single()),
            "tag key" => (Event(e => e.With("tags", Map((value, "v")))), d => d.Event.Tags.Keys.Single()),
            "tag value" => (Event(e => e.With("tags", Map(("k", value)))), d => d.Event.Tags["k"]),
            "user id" => (Event(e => e.With("user", Map(("id", value)))), d => d.Event.User!.Id),
            "user username" => (Event(e => e.With("user", Map(("username", value)))), d => d.Event.User!.Username),
            "user email" => (Event(e => e.With("user", Map(("email", value)))), d => d.Event.User!.Email),
            "user ip_address" => (Event(e => e.With("user", Map(("ip_address", value)))), d => d.Event.User!.IpAddress),
            "fingerprint part" => (Event(e => e.With("fingerprint", Array(value))), d => d.ClientFingerprint![0]),
            "sdk name" => (Event(e => e.With("sdk", Map(("name", value)))), d => d.Event.Sdk!.Name),
            "runtime version" => (Event(e => e.With("runtime", Map(("version", value)))), d => d.Event.Runtime!.Version),
            "os name" => (Event(e => e.With("os", Map(("name", value)))), d => d.Event.Os!.Name),
            _ => (Event(e => e.With(field, value)), d => field switch
            {
                "logger" => d.Event.Logger,
                "release" => d.Event.Release,
                "environment" => d.Event.Environment,
                "server_name" => d.Event.ServerName,
                "platform" => d.Event.Platform,
                _ => throw new ArgumentException(field),
            }),
        };

        return read(Decode(Batch(eventMap)).Events[0]);
    }
}

internal static class WireMapExtensions
{
    public static WireMap Merge(this WireMap map, WireMap other) =>
        other.Entries.Aggregate(map, (current, entry) => current.With(entry.Key, entry.Value));
}
