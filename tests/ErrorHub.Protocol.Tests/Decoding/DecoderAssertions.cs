using ErrorHub.Storage.Events;
using ErrorHub.Ingestion;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using FluentAssertions.Equivalency;

namespace ErrorHub.Protocol.Tests.Decoding;

internal static class DecoderAssertions
{
    /// <summary>Field by field, lists in order (records compare their lists by reference, which says nothing).</summary>
    public static void ShouldMatch(this IEnumerable<ErrorEvent> actual, params ErrorEvent[] expected) =>
        actual.Should().BeEquivalentTo(expected, ByMembers);

    public static void ShouldMatch(this ErrorEvent actual, ErrorEvent expected) =>
        actual.Should().BeEquivalentTo(expected, ByMembers);

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

    /// <summary>Grouping has tests of its own: here only what decoding and normalizing decide is compared.</summary>
    private static EquivalencyAssertionOptions<T> ByMembers<T>(EquivalencyAssertionOptions<T> options) => options
        .Excluding(member => member.DeclaringType == typeof(ErrorEvent)
            && (member.Name == nameof(ErrorEvent.Fingerprint) || member.Name == nameof(ErrorEvent.GroupingVersion)
                || member.Name == nameof(ErrorEvent.Title) || member.Name == nameof(ErrorEvent.Culprit)))
        .ComparingByMembers<ErrorEvent>()
        .ComparingByMembers<ExceptionRecord>()
        .ComparingByMembers<FrameRecord>()
        .ComparingByMembers<RequestRecord>()
        .ComparingByMembers<UserRecord>()
        .ComparingByMembers<NameVersion>()
        .WithStrictOrdering();
}
