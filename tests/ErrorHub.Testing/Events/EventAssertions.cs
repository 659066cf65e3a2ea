using ErrorHub.Storage.Events;
using FluentAssertions;
using FluentAssertions.Equivalency;

namespace ErrorHub.Testing.Events;

/// <summary>Stored events compared field by field, lists in order (records compare their lists by reference, which says nothing).</summary>
public static class EventAssertions
{
    public static void ShouldMatch(this IEnumerable<ErrorEvent> actual, params ErrorEvent[] expected) =>
        actual.Should().BeEquivalentTo(expected, ByMembers);

    public static void ShouldMatch(this ErrorEvent actual, ErrorEvent expected) =>
        actual.Should().BeEquivalentTo(expected, ByMembers);

    /// <summary>The same, leaving out what grouping decides (fingerprints, version, components, title, culprit): for tests of the other steps.</summary>
    public static void ShouldMatchApartFromGrouping(this IEnumerable<ErrorEvent> actual, params ErrorEvent[] expected) =>
        actual.Should().BeEquivalentTo(expected, options => ByMembers(options).Excluding(member => IsGrouping(member)));

    /// <inheritdoc cref="ShouldMatchApartFromGrouping(IEnumerable{ErrorEvent}, ErrorEvent[])"/>
    public static void ShouldMatchApartFromGrouping(this ErrorEvent actual, ErrorEvent expected) =>
        actual.Should().BeEquivalentTo(expected, options => ByMembers(options).Excluding(member => IsGrouping(member)));

    private static EquivalencyAssertionOptions<T> ByMembers<T>(EquivalencyAssertionOptions<T> options) => options
        .ComparingByMembers<ErrorEvent>()
        .ComparingByMembers<ExceptionRecord>()
        .ComparingByMembers<FrameRecord>()
        .ComparingByMembers<RequestRecord>()
        .ComparingByMembers<UserRecord>()
        .ComparingByMembers<NameVersion>()
        .WithStrictOrdering();

    private static bool IsGrouping(IMemberInfo member) =>
        member.DeclaringType == typeof(ErrorEvent)
        && member.Name is nameof(ErrorEvent.Fingerprint) or nameof(ErrorEvent.GroupingVersion) or nameof(ErrorEvent.LegacyFingerprint) or nameof(ErrorEvent.EarlierLegacyFingerprints)
            or nameof(ErrorEvent.GroupingComponents) or nameof(ErrorEvent.Title) or nameof(ErrorEvent.TitleWrapper) or nameof(ErrorEvent.Culprit);
}
