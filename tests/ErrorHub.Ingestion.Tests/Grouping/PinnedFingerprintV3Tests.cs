using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 3, and what its events carry as legacy fingerprints (version 4,
/// the current one, groups these events as version 3 did: nothing in them is touched by its additions). Issues are keyed by these values: if one of these tests fails, a rule changed and
/// existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV3Tests
{
    [Fact]
    public void Version_3_follows_version_2()
    {
        GroupingRules.V3.Version.Should().Be(3);
        GroupingRules.V3.Previous.Should().BeSameAs(GroupingRules.V2);
    }

    [Fact]
    public void Events_version_3_groups_as_version_2_keep_their_fingerprint_and_fall_back_to_version_1s_issue()
    {
        var grouped = Grouper.Group(Checkout(), GroupingRules.V3);

        grouped.Fingerprint.Should().Be("96e132e3b9a12d8780d5b681d3563597", "the value version 2 pinned");
        grouped.LegacyFingerprint.Should().Be(GroupingV1.Fingerprint(Checkout()));
        GroupingRules.V3.MayDifferFromPrevious(Checkout()).Should().BeFalse("nothing in it is touched by version 3's additions");
    }

    [Fact]
    public void A_ui_frameworks_thread_check_is_a_guard_and_the_app_frame_below_the_framework_is_the_key()
    {
        var grouped = Grouper.Group(WrongThread(), GroupingRules.V3);

        Grouper.Counted(grouped.Components).Should().Equal("type:InvalidOperationException", "app:Shop.Desktop.Views.OrderList.OnOrdersChanged");
        grouped.Components.Should().Contain(c => c.Kind == "guard" && c.Value == "Dispatcher.VerifyAccess.ThrowVerifyAccess" && !c.Counts);
        grouped.Fingerprint.Should().Be("e752bf15a8235695436e30877b03ea29");
    }

    [Fact]
    public void The_same_thread_check_before_the_framework_moved_its_throw_into_a_local_function_is_the_same_issue()
    {
        var older = Event(Exception("System.InvalidOperationException", "Call from invalid thread",
            InApp("Avalonia.Threading.Dispatcher", "VerifyAccess"),
            InApp("Avalonia.AvaloniaObject", "SetValue"),
            InApp("Shop.Desktop.Views.OrderList", "OnOrdersChanged")));

        Grouper.Group(older, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(WrongThread(), GroupingRules.V3).Fingerprint);
        Grouper.Group(older, GroupingRules.V2).Fingerprint.Should().NotBe(Grouper.Group(WrongThread(), GroupingRules.V2).Fingerprint, "version 2 keyed both by the framework's frame");
    }

    [Fact]
    public void A_thread_check_without_an_app_frame_is_keyed_by_the_framework_component_that_called_it()
    {
        var notification = Event(Exception("System.InvalidOperationException", "Call from invalid thread",
            InApp("Avalonia.Threading.Dispatcher", "<VerifyAccess>g__ThrowVerifyAccess|16_0"),
            InApp("Avalonia.Controls.Notifications.WindowNotificationManager", "Show"),
            Framework("System.Threading.Tasks.Task+<>c", "<ThrowAsync>b__128_1"),
            Framework("System.Threading.ThreadPoolWorkQueue", "Dispatch")));

        Grouper.Counted(Grouper.Group(notification, GroupingRules.V3).Components).Should().Equal("type:InvalidOperationException", "throw:WindowNotificationManager");
    }

    [Fact]
    public void A_local_function_named_Throw_is_a_throw_helper()
    {
        var grouped = Grouper.Group(LocalThrowHelper(), GroupingRules.V3);

        Grouper.Counted(grouped.Components).Should().Equal("type:Shop.Import.CatalogFormatException", "app:Shop.Import.CatalogReader.ReadItem");
        Grouper.Counted(Grouper.Group(LocalThrowHelper(), GroupingRules.V2).Components).Should().Equal(
            "type:Shop.Import.CatalogFormatException", "app:Shop.Import.CatalogReader.ReadItem.ThrowUnexpected");
        grouped.Fingerprint.Should().Be("a9293dc51498dc46924a2fe07b6d729d");
    }

    [Fact]
    public void A_library_version_2_took_for_the_app_is_framework_code()
    {
        var grouped = Grouper.Group(RealmFailure(), GroupingRules.V3);

        Grouper.Counted(grouped.Components).Should().Equal("type:RealmException", "throw:SharedRealmHandle", "app:Shop.Data.LocalStore.Open");
        grouped.Fingerprint.Should().Be("dc6629f856da42123fb301901d82cf96");
    }

    [Fact]
    public void An_event_version_3_groups_otherwise_carries_its_version_2_fingerprint_so_version_2s_issue_keeps_it()
    {
        foreach (var changed in new[] { WrongThread(), LocalThrowHelper(), RealmFailure() })
        {
            var grouped = Grouper.Group(changed, GroupingRules.V3);
            var versionTwo = Grouper.Group(changed, GroupingRules.V2).Fingerprint;

            versionTwo.Should().NotBe(grouped.Fingerprint);
            grouped.LegacyFingerprint.Should().Be(versionTwo);
            GroupingRules.V3.MayDifferFromPrevious(changed).Should().BeTrue();
        }
    }

    [Fact]
    public void An_event_version_3_groups_otherwise_carries_version_1s_fingerprint_after_version_2s_so_an_issue_version_1_made_keeps_it()
    {
        // An issue version 1 made kept version 1's fingerprint while version 2 fed it, so only that finds it.
        foreach (var changed in new[] { WrongThread(), LocalThrowHelper(), RealmFailure() })
        {
            var grouped = Grouper.Group(changed, GroupingRules.V3);
            var versionOne = GroupingV1.Fingerprint(changed);

            versionOne.Should().NotBe(grouped.Fingerprint).And.NotBe(grouped.LegacyFingerprint);
            grouped.EarlierLegacyFingerprints.Should().Equal(versionOne);
        }

        Grouper.Group(Checkout(), GroupingRules.V3).EarlierLegacyFingerprints.Should().BeNull("an event version 3 groups as version 2 carries version 1's as its legacy one already");
    }

    [Fact]
    public void A_version_after_3_that_groups_an_event_as_version_3_still_carries_version_2s_fingerprint()
    {
        // A next version adds a framework namespace of its own. An event it groups as version 3 did (nothing in it is
        // touched by the addition) must still carry what version 2 made of it, or version 2's issue would lose it then.
        var next = new GroupingRules(4, GroupingRules.V3, ["Volo"], localThrowHelpers: true, threadChecksAreGuards: true);
        foreach (var changedByVersion3 in new[] { WrongThread(), RealmFailure() })
        {
            var grouped = Grouper.Group(changedByVersion3, next);

            next.MayDifferFromPrevious(changedByVersion3).Should().BeFalse("only version 3's additions touch it");
            grouped.Fingerprint.Should().Be(Grouper.Group(changedByVersion3, GroupingRules.V3).Fingerprint, "version 3's rules are the next version's too");
            grouped.LegacyFingerprint.Should().Be(Grouper.Group(changedByVersion3, GroupingRules.V2).Fingerprint);
            grouped.EarlierLegacyFingerprints.Should().Equal(GroupingV1.Fingerprint(changedByVersion3));
        }

        var inTheNextFramework = Event(Exception("Volo.Abp.Domain.Entities.EntityNotFoundException", "There is no such an entity.",
            InApp("Volo.Abp.Domain.Repositories.EntityFrameworkCore.EfCoreRepository`2", "GetAsync"),
            InApp("Shop.Orders.OrderAppService", "GetAsync")));
        var byNext = Grouper.Group(inTheNextFramework, next);
        Grouper.Counted(byNext.Components).Should().Equal("type:EntityNotFoundException", "throw:EfCoreRepository", "app:Shop.Orders.OrderAppService.GetAsync");
        byNext.LegacyFingerprint.Should().Be(Grouper.Group(inTheNextFramework, GroupingRules.V3).Fingerprint, "version 3 keyed it by the framework's frame");
    }

    [Fact]
    public void Names_the_SDK_sends_normalized_are_grouped_alike_and_carry_the_same_legacy_fingerprint()
    {
        // The .NET SDK sends the names as written: "VerifyAccess.ThrowVerifyAccess", not the compiler's "<VerifyAccess>g__ThrowVerifyAccess|16_0".
        var normalized = Event(Exception("System.InvalidOperationException", "Call from invalid thread",
            InApp("Avalonia.Threading.Dispatcher", "VerifyAccess.ThrowVerifyAccess"),
            InApp("Avalonia.AvaloniaObject", "GetValue"),
            InApp("Shop.Desktop.Views.OrderList", "OnOrdersChanged"),
            InApp("Shop.Desktop.App", "Main")));
        var localHelper = Event(Exception("Shop.Import.CatalogFormatException", "Unexpected token at line 3",
            InApp("Shop.Import.CatalogReader", "ReadItem.ThrowUnexpected"),
            InApp("Shop.Import.CatalogReader", "ReadItem")));

        Grouper.Group(normalized, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(WrongThread(), GroupingRules.V3).Fingerprint);
        Grouper.Group(normalized, GroupingRules.V3).LegacyFingerprint.Should().Be(Grouper.Group(WrongThread(), GroupingRules.V2).Fingerprint);
        Grouper.Group(localHelper, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(LocalThrowHelper(), GroupingRules.V3).Fingerprint);
        Grouper.Group(localHelper, GroupingRules.V3).LegacyFingerprint.Should().Be(Grouper.Group(localHelper, GroupingRules.V2).Fingerprint);
    }

    private static IncomingEvent WrongThread() => Event(Exception("System.InvalidOperationException", "Call from invalid thread",
        InApp("Avalonia.Threading.Dispatcher", "<VerifyAccess>g__ThrowVerifyAccess|16_0"),
        InApp("Avalonia.AvaloniaObject", "GetValue"),
        InApp("Shop.Desktop.Views.OrderList", "OnOrdersChanged"),
        InApp("Shop.Desktop.App", "Main")));

    private static IncomingEvent LocalThrowHelper() => Event(Exception("Shop.Import.CatalogFormatException", "Unexpected token at line 3",
        InApp("Shop.Import.CatalogReader", "<ReadItem>g__ThrowUnexpected|4_0"),
        InApp("Shop.Import.CatalogReader", "ReadItem"),
        InApp("Shop.Import.CatalogImport", "RunAsync")));

    private static IncomingEvent RealmFailure() => Event(Exception("Realms.Exceptions.RealmException", "flock() failed: Function not implemented (38)",
        InApp("Realms.NativeException", "ThrowIfNecessary"),
        InApp("Realms.SharedRealmHandle", "Open"),
        InApp("Realms.Realm", "GetInstance"),
        InApp("Shop.Data.LocalStore", "Open")));
}
