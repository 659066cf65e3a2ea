using ErrorHub.Storage.Events;
using ErrorHub.Ingestion;
using FluentAssertions;
using FluentAssertions.Equivalency;

namespace ErrorHub.Ingestion.Tests;

internal static class EventAssertions
{
    /// <summary>Field by field, lists in order (records compare their lists by reference, which says nothing).</summary>
    public static void ShouldMatch(this IEnumerable<ErrorEvent> actual, params ErrorEvent[] expected) =>
        actual.Should().BeEquivalentTo(expected, ByMembers);

    public static void ShouldMatch(this ErrorEvent actual, ErrorEvent expected) =>
        actual.Should().BeEquivalentTo(expected, ByMembers);

    public static EquivalencyAssertionOptions<T> ByMembers<T>(EquivalencyAssertionOptions<T> options) => options
        .ComparingByMembers<ErrorEvent>()
        .ComparingByMembers<ExceptionRecord>()
        .ComparingByMembers<FrameRecord>()
        .ComparingByMembers<RequestRecord>()
        .ComparingByMembers<UserRecord>()
        .ComparingByMembers<NameVersion>()
        .WithStrictOrdering();
}
