using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.SampleBatch;
using static ErrorHub.Ingestion.Tests.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>Untrusted bytes either decode or fail with a <see cref="BatchFormatException"/>: no other exception, ever.</summary>
public sealed class DecoderRobustnessTests
{
    [Fact]
    public void A_realistic_batch_cut_at_every_offset_is_refused_with_a_batch_format_exception()
    {
        var body = Bytes();
        var decoder = new EventBatchDecoder(new IngestLimits());
        var fields = new HashSet<string>();

        for (var length = 0; length < body.Length; length++)
        {
            try
            {
                decoder.Decode(body.AsSpan(0, length), ProjectId, ReceivedAt);
                Assert.Fail($"a body cut to {length} of {body.Length} bytes was accepted");
            }
            catch (BatchFormatException refused)
            {
                refused.Problem.Should().NotBeNullOrWhiteSpace();
                fields.Add(refused.Field);
            }
        }

        // The errors point into the batch where it was cut, not just at the body as a whole.
        fields.Should().Contain("events[0].exceptions[1].frames[2].module")
            .And.Contain("events[1].event_id")
            .And.Contain("events[2].fingerprint[1]");
    }

    [Fact]
    public void Seeded_mutations_of_a_valid_body_only_ever_decode_or_give_a_batch_format_exception()
    {
        const int Seed = 20261121;
        const int Cases = 4000;
        var original = Bytes();
        var random = new Random(Seed);
        var decoder = new EventBatchDecoder(new IngestLimits());
        var outcomes = new Dictionary<string, int> { ["decoded"] = 0, ["refused"] = 0 };

        for (var i = 0; i < Cases; i++)
        {
            var mutated = Mutate(original, random);
            try
            {
                var batch = decoder.Decode(mutated, ProjectId, ReceivedAt);
                foreach (var decoded in batch.Events)
                {
                    var grouped = Grouper.Group(decoded.Event, decoded.ClientFingerprint);
                    grouped.Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$");
                }

                outcomes["decoded"]++;
            }
            catch (BatchFormatException)
            {
                outcomes["refused"]++;
            }
            catch (Exception other)
            {
                Assert.Fail($"case {i} (seed {Seed}) threw {other.GetType().Name}: {other.Message}\nbody: {Convert.ToHexString(mutated)}");
            }
        }

        // A fuzzer that never gets past the decoder's front door tests nothing: both outcomes must occur often.
        outcomes["decoded"].Should().BeGreaterThan(Cases / 20, "mutations should often still decode (outcomes: {0})", string.Join(", ", outcomes));
        outcomes["refused"].Should().BeGreaterThan(Cases / 5);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_a_batch_format_exception()
    {
        var random = new Random(7);
        var decoder = new EventBatchDecoder(new IngestLimits());

        for (var i = 0; i < 2000; i++)
        {
            var body = new byte[random.Next(0, 64)];
            random.NextBytes(body);
            if (body.Length > 0 && random.Next(2) == 0)
            {
                body[0] = (byte)(0x81 + random.Next(15)); // a map header, so decoding gets further
            }

            var decode = () => decoder.Decode(body, ProjectId, ReceivedAt);
            try
            {
                decode();
            }
            catch (BatchFormatException)
            {
            }
            catch (Exception other)
            {
                Assert.Fail($"random body {Convert.ToHexString(body)} threw {other.GetType().Name}: {other.Message}");
            }
        }
    }

    [Fact]
    public void Hostile_shapes_are_refused_or_decoded_without_any_other_exception()
    {
        object?[] hostileValues =
        [
            Raw(0xc1), Raw(0xdb, 0xff, 0xff, 0xff, 0xff), Raw(0xc6, 0x7f, 0xff, 0xff, 0xff), Raw(0xc9, 0xff, 0xff, 0xff, 0xff, 0xff),
            Raw(0xdd, 0xff, 0xff, 0xff, 0xff), Raw(0xdf, 0x7f, 0xff, 0xff, 0xff), Raw(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
            Raw(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), Raw(0xca, 0x7f, 0xc0, 0, 0), Raw(0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0),
            Ext(-1, new byte[12] { 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 }), Ext(-1, new byte[12] { 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }),
            Ext(-1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Ext(-1), Ext(-128, 1), EventBatchDecoderTests.Nested(40),
            long.MinValue, ulong.MaxValue, double.NaN, double.NegativeInfinity, float.NaN, "", "\uD800", "\uDFFF\uD800", new byte[0],
            Map(), Array(), Map((1, 2)), Map((Array(), Map())), null, true,
        ];
        string[] fields = ["event_id", "timestamp", "level", "message", "logger", "fingerprint", "exceptions", "request", "user", "tags", "runtime", "sdk"];
        var decoder = new EventBatchDecoder(new IngestLimits());

        foreach (var field in fields)
        {
            foreach (var value in hostileValues)
            {
                foreach (var body in new[]
                {
                    Encode(Batch(MessageEvent().With(field, value))),
                    Encode(Batch(CheckoutEvent().With("exceptions", Array(Map(("type", "E"), (field == "message" ? "value" : field, value)))))),
                    Encode(Batch(CheckoutEvent().With("exceptions", Array(Map(("type", "E"), ("frames", Array(Map((field == "message" ? "line" : field, value))))))))),
                })
                {
                    try
                    {
                        decoder.Decode(body, ProjectId, ReceivedAt);
                    }
                    catch (BatchFormatException)
                    {
                    }
                    catch (Exception other)
                    {
                        Assert.Fail($"{field} = {Describe(value)} threw {other.GetType().Name}: {other.Message}");
                    }
                }
            }
        }
    }

    /// <summary>One to four edits of a kind that finds decoder bugs: flips, special bytes, inserts, deletes, copies, cuts.</summary>
    internal static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = original.ToList();
        byte[] interesting = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];
        var edits = random.Next(1, 5);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: bytes[at] = interesting[random.Next(interesting.Length)]; break;
                case 2: bytes.Insert(at, interesting[random.Next(interesting.Length)]); break;
                case 3: bytes.RemoveRange(at, Math.Min(random.Next(1, 9), bytes.Count - at)); break;
                case 4:
                    var from = random.Next(bytes.Count);
                    var slice = bytes.GetRange(from, Math.Min(random.Next(1, 64), bytes.Count - from));
                    bytes.InsertRange(at, slice);
                    break;
                case 5: bytes.RemoveRange(at, bytes.Count - at); break;
                default: bytes[at] = (byte)random.Next(256); break;
            }
        }

        return [.. bytes];
    }

    private static string Describe(object? value) => value switch
    {
        RawBytes raw => "raw " + Convert.ToHexString(raw.Bytes),
        Extension ext => $"ext {ext.Type} {Convert.ToHexString(ext.Data)}",
        null => "nil",
        _ => value.ToString() ?? "",
    };
}
