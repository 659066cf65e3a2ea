using ErrorHub.Storage.Events;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Events;
using FluentAssertions;

namespace ErrorHub.Protocol.Tests.Decoding;

internal static class DecoderAssertions
{
    /// <summary>Decoding and normalizing decide every field but the grouping's, which has tests of its own.</summary>
    public static void ShouldMatch(this IEnumerable<ErrorEvent> actual, params ErrorEvent[] expected) =>
        actual.ShouldMatchApartFromGrouping(expected);

    public static void ShouldMatch(this ErrorEvent actual, ErrorEvent expected) =>
        actual.ShouldMatchApartFromGrouping(expected);

    /// <summary>Decoding must fail with a <see cref="BatchFormatException"/> (and nothing else) naming <paramref name="field"/>.</summary>
    public static BatchFormatException ShouldBeRefused(this byte[] body, string field, IngestLimits? limits = null)
    {
        var decode = () => ExpectedEvents.Decode(body, limits);
        var exception = decode.Should().ThrowExactly<BatchFormatException>().Which;
        exception.Field.Should().Be(field, "the error must name the offending field (message: {0})", exception.Message);
        exception.Problem.Should().NotBeNullOrWhiteSpace();
        return exception;
    }

    public static BatchFormatException ShouldBeRefused(this WireMap batch, string field, IngestLimits? limits = null) =>
        Wire.Encode(batch).ShouldBeRefused(field, limits);
}
