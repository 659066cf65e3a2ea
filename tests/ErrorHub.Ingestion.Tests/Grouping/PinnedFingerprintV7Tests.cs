using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 7 (version 8 is current), and what its events carry as legacy
/// fingerprints. Issues are keyed by these values: if one of these tests fails, a rule changed and
/// existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV7Tests
{
    [Fact]
    public void Grouping_version_7_follows_version_6()
    {
        GroupingRules.V7.Version.Should().Be(7);
        GroupingRules.V7.Previous.Should().BeSameAs(GroupingRules.V6);
    }

    [Fact]
    public void A_null_dereference_inside_a_library_without_an_app_frame_is_keyed_by_the_method_that_dereferenced()
    {
        var columnHash = Grouper.Group(LibraryNullDereference("GetColumnHash"), GroupingRules.V7);
        var queryImpl = Grouper.Group(LibraryNullDereference("QueryImpl"), GroupingRules.V7);

        Grouper.Counted(columnHash.Components).Should().Equal("type:NullReferenceException", "throw:SqlMapper.GetColumnHash");
        columnHash.Fingerprint.Should().Be("d3d6ef63e6eaa9daa9d47171b1daade1");
        queryImpl.Fingerprint.Should().NotBe(columnHash.Fingerprint, "two nulls in two methods of one library type are two bugs");
        Grouper.Group(LibraryNullDereference("GetColumnHash"), GroupingRules.V6).Fingerprint
            .Should().Be(Grouper.Group(LibraryNullDereference("QueryImpl"), GroupingRules.V6).Fingerprint, "version 6 keyed both by the type alone");
    }

    [Fact]
    public void The_compiler_generated_name_of_the_dereferencing_method_does_not_split_it()
    {
        // An async method's state machine is renumbered when a method is added above it (d__33 in one release, d__35 in the next).
        var before = Grouper.Group(LibraryNullDereference("MoveNext", type: "Dapper.SqlMapper+<QueryAsync>d__33`1"), GroupingRules.V7);
        var after = Grouper.Group(LibraryNullDereference("MoveNext", type: "Dapper.SqlMapper+<QueryAsync>d__35`1"), GroupingRules.V7);

        Grouper.Counted(before.Components).Should().Equal("type:NullReferenceException", "throw:SqlMapper.QueryAsync");
        after.Fingerprint.Should().Be(before.Fingerprint);
    }

    [Fact]
    public void A_null_dereference_with_an_app_frame_and_other_exceptions_without_one_are_keyed_as_in_version_6()
    {
        var withApp = Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
            Framework("Dapper.SqlMapper", "GetColumnHash"),
            InApp("Shop.Orders.OrderRepository", "LoadAsync")));
        var otherType = Event(Exception("System.InvalidOperationException", "The connection was not closed.",
            Framework("Dapper.SqlMapper", "GetColumnHash"),
            Framework("Dapper.SqlMapper", "QueryImpl")));

        Grouper.Counted(Grouper.Group(withApp, GroupingRules.V7).Components).Should().Equal("type:NullReferenceException", "throw:SqlMapper", "app:Shop.Orders.OrderRepository.LoadAsync");
        Grouper.Counted(Grouper.Group(otherType, GroupingRules.V7).Components).Should().Equal("type:InvalidOperationException", "throw:SqlMapper");
        foreach (var unchanged in new[] { withApp, otherType, Checkout() })
        {
            Grouper.Group(unchanged, GroupingRules.V7).Fingerprint.Should().Be(Grouper.Group(unchanged, GroupingRules.V6).Fingerprint);
            GroupingRules.V7.MayDifferFromPrevious(unchanged).Should().BeFalse("neither a null dereference without an app frame nor a setter");
        }
    }

    [Fact]
    public void A_guard_reached_through_a_property_setter_is_keyed_by_what_set_the_property()
    {
        var throughSetter = Grouper.Group(ConsoleRefusal(throughSetter: true), GroupingRules.V7);
        var direct = Grouper.Group(ConsoleRefusal(throughSetter: false), GroupingRules.V7);

        Grouper.Counted(throughSetter.Components).Should().Equal("type:ArgumentOutOfRangeException", "throw:PSConsoleReadLine");
        throughSetter.Fingerprint.Should().Be("0a2cd585040b544646f480e1fa9aed28");
        direct.Fingerprint.Should().Be(throughSetter.Fingerprint);
        Grouper.Group(ConsoleRefusal(throughSetter: true), GroupingRules.V6).Fingerprint.Should().NotBe(
            Grouper.Group(ConsoleRefusal(throughSetter: false), GroupingRules.V6).Fingerprint, "version 6 keyed the setter's type");
    }

    [Fact]
    public void A_setter_is_still_the_guards_caller_when_nothing_above_it_is_and_an_app_frame_still_wins()
    {
        var cut = Event(Exception("System.ArgumentOutOfRangeException", "The value must be greater than or equal to zero.",
            Framework("System.Console", "SetCursorPosition"),
            Framework("Microsoft.PowerShell.Internal.VirtualTerminal", "set_CursorLeft")));
        var app = Event(Exception("System.ArgumentOutOfRangeException", "The value must be greater than or equal to zero.",
            Framework("System.Console", "SetCursorPosition"),
            Framework("Microsoft.PowerShell.Internal.VirtualTerminal", "set_CursorLeft"),
            InApp("Shop.Cli.Prompt", "Render")));

        Grouper.Counted(Grouper.Group(cut, GroupingRules.V7).Components).Should().Equal("type:ArgumentOutOfRangeException", "throw:VirtualTerminal");
        Grouper.Counted(Grouper.Group(app, GroupingRules.V7).Components).Should().Equal("type:ArgumentOutOfRangeException", "app:Shop.Cli.Prompt.Render");
        Grouper.Group(cut, GroupingRules.V7).Fingerprint.Should().Be(Grouper.Group(cut, GroupingRules.V6).Fingerprint);
        Grouper.Group(app, GroupingRules.V7).Fingerprint.Should().Be(Grouper.Group(app, GroupingRules.V6).Fingerprint);
        GroupingRules.V7.MayDifferFromPrevious(app).Should().BeFalse("the app frame is the key in both versions: version 6 is not computed again");
    }

    [Fact]
    public void An_event_version_7_groups_otherwise_carries_every_older_versions_fingerprint_newest_first()
    {
        foreach (var changed in new[] { LibraryNullDereference("GetColumnHash"), ConsoleRefusal(throughSetter: true) })
        {
            var grouped = Grouper.Group(changed, GroupingRules.V7);
            var versionSix = Grouper.Group(changed, GroupingRules.V6).Fingerprint;

            GroupingRules.V7.MayDifferFromPrevious(changed).Should().BeTrue();
            versionSix.Should().NotBe(grouped.Fingerprint);
            grouped.LegacyFingerprint.Should().Be(versionSix, "version 6's issue keeps the event");
            grouped.EarlierLegacyFingerprints.Should().Equal(GroupingV1.Fingerprint(changed));
        }
    }

    private static IncomingEvent LibraryNullDereference(string method, string type = "Dapper.SqlMapper") => Event(Exception(
        "System.NullReferenceException", "Object reference not set to an instance of an object.",
        Framework(type, method),
        Framework("Dapper.SqlMapper", "QueryAsync"),
        Framework("System.Runtime.CompilerServices.TaskAwaiter", "ThrowForNonSuccess")));

    private static IncomingEvent ConsoleRefusal(bool throughSetter)
    {
        List<Storage.Events.FrameRecord> frames = [Framework("System.Console", "SetCursorPosition")];
        if (throughSetter)
        {
            frames.Add(Framework("Microsoft.PowerShell.Internal.VirtualTerminal", "set_CursorLeft"));
        }

        frames.Add(Framework("Microsoft.PowerShell.PSConsoleReadLine", "ReallyRender"));
        frames.Add(Framework("Microsoft.PowerShell.PSConsoleReadLine", "ForceRender"));
        return Event(Exception("System.ArgumentOutOfRangeException",
            "The value must be greater than or equal to zero and less than the console's buffer size in that dimension.", [.. frames]));
    }
}
