using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// The batch's optional <c>dropped</c> map (docs/protocol.md): what an SDK tells the server it gave up on. It comes from
/// clients, so it is bounded: known reasons only (the rest summed as "other"), counts capped, negative ones refused.
/// </summary>
public sealed class DroppedCountsTests
{
    [Fact]
    public void A_batch_without_dropped_decodes_as_before_with_no_counts()
    {
        Decode(Batch(MessageEvent())).Dropped.Should().BeNull();
    }

    [Fact]
    public void Known_reasons_keep_their_names_and_counts()
    {
        var dropped = Decode(Batch(MessageEvent()).With("dropped", Map(("queue_full", 1200), ("before_send", 3), ("spool_full", 0)))).Dropped;

        dropped.Should().BeEquivalentTo(new Dictionary<string, long> { ["queue_full"] = 1200, ["before_send"] = 3, ["spool_full"] = 0 });
    }

    [Fact]
    public void Unknown_reasons_are_summed_as_other_so_a_client_cannot_invent_rows()
    {
        var dropped = Decode(Batch(MessageEvent()).With("dropped", Map(("x' OR 1=1 --", 2), ("made_up", 5), (new string('r', 5000), 1)))).Dropped;

        dropped.Should().BeEquivalentTo(new Dictionary<string, long> { ["other"] = 8 });
    }

    [Fact]
    public void A_huge_count_is_capped()
    {
        var dropped = Decode(Batch(MessageEvent()).With("dropped", Map(("queue_full", long.MaxValue), ("a", long.MaxValue), ("b", long.MaxValue)))).Dropped;

        dropped!["queue_full"].Should().Be(100_000_000);
        dropped["other"].Should().Be(100_000_000, "the sum of capped counts is capped too, and never overflows");
    }

    [Fact]
    public void A_negative_count_is_refused_naming_the_reason()
    {
        Batch(MessageEvent()).With("dropped", Map(("queue_full", -5))).ShouldBeRefused("dropped.queue_full");
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_dropped_field_is_refused_naming_it(object? dropped, string field)
    {
        Batch(MessageEvent()).With("dropped", dropped).ShouldBeRefused(field);
    }

    public static TheoryData<object?, string> Malformed() => new()
    {
        { "queue_full", "dropped" },
        { Array(1, 2), "dropped" },
        { Map(("queue_full", "many")), "dropped.queue_full" },
        { Map(("queue_full", 1.5)), "dropped.queue_full" },
        { Map(("queue_full", ulong.MaxValue)), "dropped.queue_full" },
        { Map((7, 1)), "dropped" },
    };

    [Fact]
    public void More_reasons_than_the_limit_are_refused()
    {
        var many = Map(Enumerable.Range(0, 33).Select(i => ((object)$"r{i}", (object?)1)).ToArray());

        Batch(MessageEvent()).With("dropped", many).ShouldBeRefused("dropped");
    }

    [Fact]
    public void A_dropped_field_that_is_nil_is_absent()
    {
        Decode(Batch(MessageEvent()).With("dropped", null)).Dropped.Should().BeNull();
    }

    private static IncomingBatch Decode(WireMap batch) => new EventBatchDecoder(new IngestLimits()).DecodeAndValidate(Wire.Encode(batch));
}
