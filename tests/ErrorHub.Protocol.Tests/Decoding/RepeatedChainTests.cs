using ErrorHub.Ingestion;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// An exception chain sent again as the same bytes is not read again (<see cref="DecodedChains"/>): the event gets the chain
/// read before. What a user must not notice: every event decodes to what it decodes to alone, a chain that differs in any
/// byte is read on its own, and a batch is refused (or accepted) exactly as it was before; validating agrees throughout
/// (<see cref="DecoderModes"/>).
/// </summary>
public sealed class RepeatedChainTests
{
    private static WireMap Failure(int variant) => CheckoutEvent().With("exceptions", Array(
        Map(("type", "System.InvalidOperationException"), ("value", $"Checkout failed for bundle 'kit-{variant % 3}'"),
            ("frames", Array(CheckoutFrame(1), CheckoutFrame(variant % 2 == 0 ? 2 : 3), CheckoutFrame(3)))),
        Map(("type", "Shop.Inventory.OutOfStockException"), ("value", "Item 4711 is out of stock"),
            ("frames", Array(CheckoutFrame(0), CheckoutFrame(1))))));

    [Fact]
    public void Events_whose_chains_repeat_decode_to_what_each_decodes_to_alone()
    {
        var events = Enumerable.Range(0, 60).Select(Failure).ToArray();
        var decoder = new EventBatchDecoder(new IngestLimits());

        var batch = decoder.DecodeAndValidate(Encode(Batch(events)));

        batch.Events.Should().HaveCount(60);
        for (var i = 0; i < events.Length; i++)
        {
            var alone = decoder.DecodeAndValidate(Encode(Batch(events[i]))).Events[0];
            batch.Events[i].Exceptions.Should().BeEquivalentTo(alone.Exceptions, options => options.WithStrictOrdering(), $"event {i}");
        }

        // Six different chains (three messages × two frame lists): the repeats share the chain read first.
        batch.Events.Select(e => e.Exceptions).Distinct(ReferenceEqualityComparer.Instance).Should().HaveCount(6);
    }

    [Fact]
    public void A_chain_that_differs_from_a_known_one_in_its_last_byte_is_read_on_its_own()
    {
        var known = Failure(0);
        var changed = CheckoutEvent().With("exceptions", Array(
            Map(("type", "System.InvalidOperationException"), ("value", "Checkout failed for bundle 'kit-0'"),
                ("frames", Array(CheckoutFrame(1), CheckoutFrame(2), CheckoutFrame(3)))),
            Map(("type", "Shop.Inventory.OutOfStockException"), ("value", "Item 4711 is out of stock"),
                ("frames", Array(CheckoutFrame(0), CheckoutFrame(1).With("in_app", false))))));

        var batch = new EventBatchDecoder(new IngestLimits()).DecodeAndValidate(Encode(Batch(known, known, changed, known)));

        batch.Events.Select(e => e.Exceptions[1].Frames[1].InApp).Should().Equal(true, true, false, true);
    }

    [Fact]
    public void Chains_of_an_earlier_batch_are_taken_only_for_the_same_bytes_even_after_its_buffer_is_reused()
    {
        // The journal's flusher decodes an insert's batches with one cache, from a pooled buffer it reuses for the next batch.
        var chains = new DecodedChains();
        var decoder = new EventBatchDecoder(new IngestLimits());
        var buffer = new byte[64 * 1024];
        var first = Encode(Batch(Failure(0), Failure(1)));
        first.CopyTo(buffer, 0);
        var firstBatch = decoder.Decode(buffer.AsMemory(0, first.Length), chains);

        var second = Encode(Batch(Failure(1), Failure(2), Failure(0)));
        System.Array.Clear(buffer);
        second.CopyTo(buffer, 0);
        var secondBatch = decoder.Decode(buffer.AsMemory(0, second.Length), chains);

        secondBatch.Events[0].Exceptions.Should().BeSameAs(firstBatch.Events[1].Exceptions);
        secondBatch.Events[2].Exceptions.Should().BeSameAs(firstBatch.Events[0].Exceptions);
        secondBatch.Events[1].Exceptions[0].Value.Should().Be("Checkout failed for bundle 'kit-2'");
        chains.Hits.Should().Be(2);
    }

    [Fact]
    public void A_repeated_chain_too_deep_to_skip_whole_is_read_field_by_field_and_accepted_as_before()
    {
        // The look-up skips the whole array first, counting its depth from the array; reading it counts an unknown field's
        // depth from that field. A frame with an unknown field nested 5 deep passes MaxDepth 6 when read, not when skipped whole.
        var limits = new IngestLimits { MaxDepth = 6 };
        var deep = CheckoutEvent().With("exceptions", Array(
            Map(("type", "System.InvalidOperationException"), ("value", "deep"),
                ("frames", Array(CheckoutFrame(1).With("future", NestedArrays(5)))))));

        var batch = new EventBatchDecoder(limits).DecodeAndValidate(Encode(Batch(deep, deep, deep)));

        batch.Events.Should().HaveCount(3);
        batch.Events.Should().AllSatisfy(e => e.Exceptions.Single().Frames.Single().Function.Should().Be("Checkout"));
    }

    [Fact]
    public void A_batch_cut_inside_a_repeated_chain_is_refused_where_reading_stops()
    {
        var chainOnly = Map(("exceptions", Failure(0)["exceptions"]));
        var decoder = new EventBatchDecoder(new IngestLimits());
        var whole = Encode(Batch(chainOnly, chainOnly));
        decoder.Compare(whole).Should().BeNull();

        // The second event's chain is the batch's last value: cut, its first bytes are the first chain's, then the body ends.
        var refused = decoder.Compare(whole.AsMemory(0, whole.Length - 20));

        refused.Should().NotBeNull();
        refused!.Field.Should().StartWith("events[1].exceptions[1].frames[1]");
    }
}
