using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// Untrusted bytes either decode or fail with a <see cref="BatchFormatException"/>: no other exception, ever (it would
/// be a 500), and never by allocating what a header claims. The fuzz is seeded and its case counts are fixed, so a
/// run takes the same bounded time every time; what a case may allocate is bounded by its own size.
/// </summary>
public sealed class DecoderRobustnessTests
{
    /// <summary>Limits small enough that mutations hit every one of them.</summary>
    private static readonly IngestLimits Tight = new() { MaxDepth = 4, MaxRawStringBytes = 64, MaxCollectionEntries = 8, MaxEventsPerBatch = 2 };

    /// <summary>No limit but the input itself: what stops hostile input then is the decoder's own care.</summary>
    private static readonly IngestLimits Permissive = new()
    {
        MaxDepth = int.MaxValue,
        MaxRawStringBytes = int.MaxValue,
        MaxCollectionEntries = int.MaxValue,
        MaxEventsPerBatch = int.MaxValue,
    };

    private static readonly string[] LimitSetNames = ["default", "tight", "permissive"];

    public static TheoryData<string> LimitSets => new(LimitSetNames);

    [Theory]
    [MemberData(nameof(LimitSets))]
    public void A_realistic_batch_cut_at_every_offset_is_refused_with_a_batch_format_exception(string limitSet)
    {
        var body = Bytes();
        var decoder = new EventBatchDecoder(Limits(limitSet));
        var fields = new HashSet<string>();

        for (var length = 0; length < body.Length; length++)
        {
            try
            {
                decoder.DecodeAndValidate(body.AsMemory(0, length));
                Assert.Fail($"a body cut to {length} of {body.Length} bytes was accepted");
            }
            catch (BatchFormatException refused)
            {
                refused.Problem.Should().NotBeNullOrWhiteSpace();
                refused.Problem.Should().NotContain("runs past the end", "every length is checked before it is read; the safety net must never be what answers");
                fields.Add(refused.Field);
            }
            catch (Exception other)
            {
                Assert.Fail($"a body cut to {length} of {body.Length} bytes threw {other.GetType().Name}: {other}");
            }
        }

        if (limitSet != "tight")
        {
            // The errors point into the batch where it was cut, not just at the body as a whole.
            fields.Should().Contain("events[0].exceptions[1].frames[2].module")
                .And.Contain("events[1].event_id")
                .And.Contain("events[2].fingerprint[1]");
        }
    }

    [Fact]
    public void The_sdks_own_batch_cut_at_every_offset_is_refused_as_truncated()
    {
        var body = Writing.WireSnapshotTests.Encode(Writing.WireSnapshotTests.FullEvent());
        Decode(body).Events.Should().ContainSingle("the whole batch is valid");

        for (var length = 0; length < body.Length; length++)
        {
            var decode = () => Decode(body.AsMemory(0, length));
            var refused = decode.Should().ThrowExactly<BatchFormatException>($"the batch cut to {length} of {body.Length} bytes").Which;
            refused.Problem.Should().MatchRegex("truncated|empty", $"the batch cut to {length} bytes ({refused.Message})");
        }
    }

    [Theory]
    [InlineData(20261121)]
    [InlineData(101)]
    [InlineData(202)]
    public void Seeded_mutations_of_a_valid_body_only_ever_decode_or_give_a_batch_format_exception(int seed)
    {
        const int Cases = 1500;
        var original = Bytes();
        var random = new Random(seed);
        var outcomes = new Dictionary<string, int> { ["decoded"] = 0, ["refused"] = 0 };

        for (var i = 0; i < Cases; i++)
        {
            var mutated = BodyMutations.Mutate(original, random);
            foreach (var limitSet in LimitSetNames)
            {
                outcomes[Run(mutated, limitSet, $"case {i} of seed {seed}")]++;
            }
        }

        // A fuzzer that never gets past the decoder's front door tests nothing: both outcomes must occur often.
        outcomes["decoded"].Should().BeGreaterThan(Cases / 10, "mutations should often still decode (outcomes: {0})", string.Join(", ", outcomes));
        outcomes["refused"].Should().BeGreaterThan(Cases / 2);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_a_batch_format_exception()
    {
        var random = new Random(7);

        for (var i = 0; i < 3000; i++)
        {
            var body = new byte[random.Next(0, 64)];
            random.NextBytes(body);
            if (body.Length > 0 && random.Next(2) == 0)
            {
                body[0] = (byte)(0x81 + random.Next(15)); // a map header, so decoding gets further
            }

            foreach (var limitSet in LimitSetNames)
            {
                Run(body, limitSet, $"random body {i}");
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
            Ext(-1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Ext(-1), Ext(-128, 1), NestedArrays(40),
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
                        decoder.DecodeAndValidate(body);
                    }
                    catch (BatchFormatException refused)
                    {
                        refused.Problem.Should().NotContain("runs past the end", "every length is checked before it is read; the safety net must never be what answers");
                    }
                    catch (Exception other)
                    {
                        Assert.Fail($"{field} = {Wire.Describe(value)} threw {other.GetType().Name}: {other.Message}");
                    }
                }
            }
        }
    }

    /// <summary>Decodes and grades one input; anything but success or a <see cref="BatchFormatException"/> fails the test.</summary>
    private static string Run(byte[] body, string limitSet, string what)
    {
        var decoder = new EventBatchDecoder(Limits(limitSet));
        var before = GC.GetAllocatedBytesForCurrentThread();
        string outcome;
        try
        {
            var batch = decoder.DecodeAndValidate(body);
            foreach (var decoded in batch.Events)
            {
                Grouper.Group(decoded).Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$");
            }

            outcome = "decoded";
        }
        catch (BatchFormatException refused)
        {
            refused.Problem.Should().NotBeNullOrWhiteSpace();
            refused.Problem.Should().NotContain("runs past the end", $"{what}: every length is checked before it is read; the safety net must never be what answers");
            outcome = "refused";
        }
        catch (Exception other)
        {
            throw new Xunit.Sdk.XunitException(
                $"{what} with {limitSet} limits threw {other.GetType().Name}: {other}\nbody: {Convert.ToHexString(body)}");
        }

        // Decoded text takes two bytes a character, plus lists, records and the exception of a refusal; a header's
        // claim (up to 4 GiB) never shows up here.
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().BeLessThan((32L * body.Length) + (256 * 1024), $"{what} with {limitSet} limits must not allocate what its headers claim");
        return outcome;
    }

    private static IngestLimits Limits(string limitSet) => limitSet switch
    {
        "tight" => Tight,
        "permissive" => Permissive,
        _ => new IngestLimits(),
    };
}
