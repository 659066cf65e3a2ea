using System.Text;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// A request with the journal on only validates its batch (<see cref="EventBatchDecoder.Validate"/>); the journal's flusher
/// decodes it later. A batch validating accepts and decoding refuses would be acknowledged and then lost; one it refuses and
/// decoding accepts would be a client's valid events refused. So on every input here both must agree: accept with the same
/// count and drop report, or refuse with the same field and problem (<see cref="DecoderModes"/>; every other decoding test
/// compares the two too). The inputs are seeded and their counts fixed: batches generated field by field with every type in
/// every place, text at the soft limits' edges, duplicate keys, maps and lists past their limits, invalid UTF-8; each of
/// them also mutated and cut.
/// </summary>
public sealed class ValidateAgreesWithDecodeTests
{
    /// <summary>Soft limits small enough that the generated text and collections cross each of them often.</summary>
    private static readonly IngestLimits Small = new()
    {
        MaxShortChars = 4, MaxMessageChars = 4, MaxUrlChars = 4, MaxFileChars = 4, MaxHeaderValueChars = 4,
        MaxExceptions = 1, MaxFramesPerException = 1, MaxHeaders = 2, MaxTags = 2, MaxFingerprintParts = 1, MaxEventsPerBatch = 3,
    };

    /// <summary>The hard limits small: depth, raw string length, collection entries, events.</summary>
    private static readonly IngestLimits Tight = new() { MaxDepth = 4, MaxRawStringBytes = 24, MaxCollectionEntries = 6, MaxEventsPerBatch = 2 };

    private static readonly IngestLimits[] LimitSets = [new IngestLimits(), Small, Tight];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Generated_mutated_and_cut_batches_are_refused_by_validating_exactly_when_decoding_refuses_them(int seed)
    {
        const int Batches = 700;
        var random = new Random(seed);
        var generator = new BatchGenerator(random);
        var accepted = 0;
        var problems = new Dictionary<string, int>();

        for (var i = 0; i < Batches; i++)
        {
            var body = Encode(generator.Batch());
            byte[][] variants = [body, BodyMutations.Mutate(body, random), body[..random.Next(body.Length + 1)]];
            foreach (var variant in variants)
            {
                foreach (var limits in LimitSets)
                {
                    var refused = new EventBatchDecoder(limits).Compare(variant);
                    if (refused is null)
                    {
                        accepted++;
                    }
                    else
                    {
                        var kind = refused.Field.StartsWith("dropped", StringComparison.Ordinal) ? "dropped" : Kind(refused.Problem);
                        problems[kind] = problems.GetValueOrDefault(kind) + 1;
                    }
                }
            }
        }

        // The comparison means something only if both outcomes, and the refusals that depend on a value's text or on a
        // limit, come up often.
        var cases = Batches * 3 * LimitSets.Length;
        var summary = string.Join(", ", problems.OrderByDescending(p => p.Value).Select(p => $"{p.Key}: {p.Value}"));
        accepted.Should().BeGreaterThan(cases / 15, summary);
        foreach (var kind in new[] { "an event needs", "every exception needs a type", "expected", "truncated", "exceeds", "not a timestamp", "not a UUID", "dropped" })
        {
            problems.GetValueOrDefault(kind).Should().BeGreaterThan(10, $"refusals '{kind}' should come up ({summary})");
        }
    }

    [Fact]
    public void Required_text_is_blank_to_validating_exactly_when_decoding_makes_it_blank()
    {
        // The question validating asks of a message's or an exception type's bytes, against the text decoding makes of them.
        var random = new Random(4);
        string[] pieces = [" ", "\t", "\n", "\u00a0", "\u3000", "\u2028", "\u200b", "x", "é", "😀", "\ufeff"];
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = random.Next(3) == 0 ? RandomBytes(random) : Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, random.Next(0, 8)).Select(_ => pieces[random.Next(pieces.Length)])));
            var maxChars = random.Next(0, 10);

            var decoded = new Utf8StringTable().Get(bytes, maxChars);

            Utf8StringTable.HasNonWhiteSpace(bytes, maxChars).Should().Be(!string.IsNullOrWhiteSpace(decoded),
                $"{Convert.ToHexString(bytes)} cut to {maxChars} characters is '{decoded}'");
        }
    }

    [Theory]
    [InlineData(" ", 2, "events[0]")]            // a blank message within the cut
    [InlineData("  x", 2, "events[0]")]          // blank once cut to the limit
    [InlineData(" 😀", 2, "events[0]")]          // blank once cut: the emoji's first half is dropped at the cut
    [InlineData(" \u00a0\u3000", 8, "events[0]")] // white space beyond ASCII
    [InlineData(" \u200b", 8, null)]             // a zero-width space is not white space
    [InlineData(" \ufffd", 8, null)]             // nor is the replacement character
    public void A_message_blank_only_after_the_cut_is_refused_by_both(string message, int maxMessageChars, string? refusedField)
    {
        var limits = new IngestLimits { MaxMessageChars = maxMessageChars };
        var body = Encode(Batch(MessageEvent().With("message", message)));

        var refused = new EventBatchDecoder(limits).Compare(body);

        refused?.Field.Should().Be(refusedField);
        (refused is null).Should().Be(refusedField is null);
    }

    [Fact]
    public void Past_its_limit_a_map_skips_values_after_as_many_distinct_keys_as_decoding_counts()
    {
        // With MaxTags 2, values past the second distinct key are skipped unread (a map passes); keys that repeat, or that
        // are the same once cut or once invalid UTF-8 is replaced, count once. Which values are skipped is what decides.
        var limits = new IngestLimits { MaxTags = 2, MaxShortChars = 16 };
        var invalidA = Utf8Bytes([0xff]);
        var invalidB = Utf8Bytes([0xfe]);
        (object Key, object? Value)[][] cases =
        [
            [("a", "1"), ("b", "2"), ("c", Map())],                                  // skipped: accepted
            [("a", "1"), ("a", "2"), ("c", Map())],                                  // 'a' twice: 'c' read, refused
            [(new string('k', 16) + "1", "1"), (new string('k', 16) + "2", "2"), ("c", Map())], // one key once cut: refused
            [(invalidA, "1"), (invalidB, "2"), ("c", Map())],                        // both U+FFFD: refused
            [("a", null), ("b", "2"), ("c", Map())],                                 // a nil value adds nothing: refused
        ];

        var outcomes = cases.Select(tags => new EventBatchDecoder(limits).Compare(Encode(Batch(MessageEvent().With("tags", Map(tags)))))?.Field).ToList();

        outcomes.Should().Equal(null, "events[0].tags.c", "events[0].tags.c", "events[0].tags.c", "events[0].tags.c");
    }

    [Fact]
    public void Validating_allocates_nothing_per_event()
    {
        // What a request with the journal on saves: the events it would make only to count them. Ten times the events
        // (with messages, exceptions, frames, a request's headers, tags, an ISO timestamp) must not allocate more.
        WireMap Event(int i) => CheckoutEvent().With("timestamp", "2026-11-21T10:00:00Z").With("tags", Map(("route", $"/orders/{i}"), ("attempt", i)));
        var ten = Encode(Batch([.. Enumerable.Range(0, 10).Select(Event)]));
        var hundred = Encode(Batch([.. Enumerable.Range(0, 100).Select(Event)]));
        var decoder = new EventBatchDecoder(new IngestLimits());
        decoder.Validate(ten).EventCount.Should().Be(10);
        decoder.Validate(hundred).EventCount.Should().Be(100);

        long Allocated(byte[] body)
        {
            // The least of a few runs: the runtime's own one-off allocations (tiered compilation's) are not the decoder's.
            var least = long.MaxValue;
            for (var run = 0; run < 5; run++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                decoder.Validate(body);
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            return least;
        }

        var forTen = Allocated(ten);
        var forHundred = Allocated(hundred);

        forHundred.Should().Be(forTen, "90 more events must cost nothing (ten events: {0} B)", forTen);
        forTen.Should().BeLessThan(2048, "what a batch costs: its path, its string table");
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 10)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Kind(string problem) =>
        new[] { "an event needs", "every exception needs a type", "not a timestamp", "not a UUID", "truncated", "exceeds", "expected", "protocol version", "events in one batch", "missing", "unexpected data" }
            .FirstOrDefault(problem.Contains) ?? "other";

    /// <summary>Batches built field by field: mostly the right type in the right place, often not; text and collections around the limits.</summary>
    private sealed class BatchGenerator(Random random)
    {
        private static readonly string[] Texts =
        [
            "", " ", "  ", "\t\n", "x", "abc", "abcd", "abcde", "   x", "    x", " \u00a0\u3000", "\u200b", "é", "  é", "   😀", "😀😀😀", "Shop.Cart.CartService",
            "System.InvalidOperationException", "a much longer piece of text than any small limit",
        ];

        private static readonly string[] EventKeys =
            ["event_id", "timestamp", "level", "message", "logger", "platform", "release", "environment", "server_name", "fingerprint", "exceptions", "request", "user", "tags", "runtime", "os", "sdk", "extra", "breadcrumbs", "future"];

        private bool Chance(int percent) => random.Next(100) < percent;

        public WireMap Batch()
        {
            var entries = new List<(object, object?)>();
            if (Chance(20))
            {
                entries.Add(("v", random.Next(4) switch { 0 => 0, 1 => 2, 2 => "1", _ => 1 }));
            }

            if (Chance(30))
            {
                entries.Add(("sdk", NameVersion()));
            }

            if (Chance(25))
            {
                entries.Add(("dropped", Dropped()));
            }

            if (Chance(95))
            {
                entries.Add(("events", Enumerable.Range(0, random.Next(0, 4)).Select(_ => (object?)Event()).ToArray()));
            }

            if (Chance(10))
            {
                entries.Add((Chance(50) ? "events" : "future", Chance(50) ? Array() : Any(2)));
            }

            return new WireMap(Shuffle(entries));
        }

        private object? Event()
        {
            if (Chance(1))
            {
                return Any(2);
            }

            var entries = new List<(object, object?)>();
            if (Chance(70))
            {
                entries.Add(("message", Chance(95) ? Text() : Any(1)));
            }

            if (Chance(60))
            {
                entries.Add(("exceptions", Chance(96) ? Enumerable.Range(0, random.Next(0, 3)).Select(_ => Exception()).ToArray() : Any(1)));
            }

            foreach (var key in EventKeys.Where(_ => Chance(15)))
            {
                entries.Add((key, Value(key)));
            }

            if (Chance(10))
            {
                entries.Add(entries.Count > 0 && Chance(70) ? (entries[0].Item1, Chance(30) ? null : Value((string)entries[0].Item1)) : (Text(), Any(1)));
            }

            return new WireMap(Shuffle(entries));
        }

        private object? Value(string key) => key switch
        {
            _ when Chance(4) => Any(2),
            "event_id" => random.Next(5) switch { 0 => Id().ToByteArray(), 1 => Id().ToString("N"), 2 => Id().ToString("D"), 3 => new byte[15], _ => Text() },
            "timestamp" => random.Next(6) switch
            {
                0 => Ext(-1, 0, 0, 0, 1),
                1 => Ext(-1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
                2 => random.Next(2) == 0 ? 1_700_000_000_000L : -1L,
                3 => random.Next(2) == 0 ? 1.7e9 : double.NaN,
                4 => random.Next(2) == 0 ? "2026-11-21T10:00:00Z" : "not a time",
                _ => Ext(5, 1),
            },
            "fingerprint" => Enumerable.Range(0, random.Next(0, 3)).Select(_ => Scalar()).ToArray(),
            "exceptions" => Enumerable.Range(0, random.Next(0, 3)).Select(_ => Exception()).ToArray(),
            "request" => Map(("method", Text()), ("url", Text()), ("query_string", Text()), ("headers", StringMap()), ("form", StringMap())),
            "user" => Map(("id", Scalar()), ("username", Text()), ("email", Text()), ("ip_address", Text())),
            "tags" or "extra" => StringMap(),
            "runtime" or "os" or "sdk" => NameVersion(),
            "breadcrumbs" => Enumerable.Range(0, random.Next(0, 3)).Select(_ => (object?)Map(("timestamp", Value("timestamp")), ("level", Text()), ("category", Text()), ("message", Text()))).ToArray(),
            _ => Text(),
        };

        private Guid Id()
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            return new Guid(bytes);
        }

        private object? Exception()
        {
            if (Chance(2))
            {
                return Any(1);
            }

            var entries = new List<(object, object?)>();
            if (Chance(90))
            {
                entries.Add(("type", Chance(95) ? Text() : Any(1)));
            }

            if (Chance(10))
            {
                entries.Add(("type", Chance(50) ? null : Text())); // a second type: the last one counts
            }

            entries.Add(("value", Text()));
            if (Chance(60))
            {
                entries.Add(("frames", Enumerable.Range(0, random.Next(0, 3)).Select(_ => Frame()).ToArray()));
            }

            return new WireMap(Shuffle(entries));
        }

        private object? Frame() => Chance(2) ? Any(1) : Map(
            ("function", Text()), ("type", Text()), ("module", Text()), ("file", Text()),
            ("line", Chance(97) ? random.Next(-5, 500) : Any(1)), ("in_app", Chance(97) ? Chance(50) : Any(1)), ("wrapper", Chance(50)));

        private object? NameVersion() => Chance(3) ? Any(1) : Map(("name", Text()), ("version", Text()));

        private object? Dropped()
        {
            if (Chance(4))
            {
                return Any(1);
            }

            var reasons = new[] { "queue_full", "rate_limited", "invented", "" };
            return new WireMap(Enumerable.Range(0, Chance(5) ? 40 : random.Next(0, 4))
                .Select(_ => ((object)reasons[random.Next(reasons.Length)], (object?)(Chance(95) ? random.Next(-1, 8) : Any(0)))));
        }

        private object? StringMap()
        {
            if (Chance(2))
            {
                return Any(1);
            }

            object[] keys = ["a", "b", "a", "kkkkk1", "kkkkk2", "abcd", Utf8Bytes([0xff]), Utf8Bytes([0xfe]), "é"];
            return new WireMap(Enumerable.Range(0, random.Next(0, 6)).Select(_ => (Chance(95) ? keys[random.Next(keys.Length)] : random.Next(5), Chance(15) ? null : Chance(95) ? Scalar() : Any(1))));
        }

        private object? Scalar() => random.Next(6) switch
        {
            0 => random.Next(-3, 3),
            1 => 1.5,
            2 => Chance(50),
            3 => Chance(20) ? ulong.MaxValue : long.MaxValue,
            _ => Text(),
        };

        private object Text()
        {
            if (Chance(10))
            {
                var bytes = new byte[random.Next(0, 6)];
                random.NextBytes(bytes);
                return Utf8Bytes(bytes);
            }

            return Chance(3) ? new string(' ', random.Next(20, 40)) : Texts[random.Next(Texts.Length)];
        }

        private object? Any(int depth) => random.Next(depth > 0 ? 12 : 9) switch
        {
            0 => null,
            1 => Chance(50),
            2 => random.Next(-100, 100),
            3 => ulong.MaxValue,
            4 => 2.5,
            5 => Text(),
            6 => new byte[random.Next(0, 20)],
            7 => Ext((sbyte)random.Next(-2, 2), new byte[random.Next(0, 13)]),
            8 => Raw(0xc1),
            9 => Enumerable.Range(0, random.Next(0, 3)).Select(_ => Any(depth - 1)).ToArray(),
            10 => new WireMap(Enumerable.Range(0, random.Next(0, 3)).Select(_ => ((object)Texts[random.Next(Texts.Length)], Any(depth - 1)))),
            _ => NestedArrays(random.Next(1, 8)),
        };

        private List<(object, object?)> Shuffle(List<(object, object?)> entries)
        {
            for (var i = entries.Count - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (entries[i], entries[j]) = (entries[j], entries[i]);
            }

            return entries;
        }
    }
}
