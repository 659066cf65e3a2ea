using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 6 (version 7 is current), and what its events carry as legacy
/// fingerprints. Issues are keyed by these values: if one of these tests fails, a rule changed and
/// existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV6Tests
{
    [Fact]
    public void Grouping_version_6_follows_version_5()
    {
        GroupingRules.V6.Version.Should().Be(6);
        GroupingRules.V6.Previous.Should().BeSameAs(GroupingRules.V5);
    }

    [Fact]
    public void A_window_failure_is_one_issue_whether_the_report_shows_the_entry_point_below_the_message_loop_or_not()
    {
        var withMain = Grouper.Group(WindowFailure(withMain: true), GroupingRules.V6);
        var cut = Grouper.Group(WindowFailure(withMain: false), GroupingRules.V6);

        Grouper.Counted(withMain.Components).Should().Equal("type:Win32Exception", "throw:NativeWindow");
        withMain.Fingerprint.Should().Be("7819e2ed9cfe56a56a057d78ae01cfd9");
        cut.Fingerprint.Should().Be(withMain.Fingerprint);
        Grouper.Group(WindowFailure(withMain: true), GroupingRules.V5).Fingerprint.Should().NotBe(
            Grouper.Group(WindowFailure(withMain: false), GroupingRules.V5).Fingerprint, "version 5 counted Main as the app frame");
        withMain.Culprit.Should().Be("System.Windows.Forms.NativeWindow.CreateHandle");
    }

    [Fact]
    public void A_main_that_calls_the_framework_itself_is_still_the_app_frame()
    {
        var console = Event(Exception("System.IO.FileNotFoundException", "Could not find file 'settings.json'.",
            Framework("System.IO.FileSystem", "ReadAllText"),
            InApp("Shop.Tools.Program", "Main")));
        var below = Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
            InApp("Shop.Desktop.OrderForm", "OnLoad"),
            Framework("System.Windows.Forms.Form", "OnCreateControl"),
            Framework("System.Windows.Forms.Application", "Run"),
            InApp("Shop.Desktop.Program", "Main")));

        Grouper.Counted(Grouper.Group(console, GroupingRules.V6).Components).Should().Contain("app:Shop.Tools.Program.Main");
        Grouper.Counted(Grouper.Group(below, GroupingRules.V6).Components).Should().Contain("app:Shop.Desktop.OrderForm.OnLoad");
        foreach (var unchanged in new[] { console, below, Checkout() })
        {
            Grouper.Group(unchanged, GroupingRules.V6).Fingerprint.Should().Be(Grouper.Group(unchanged, GroupingRules.V5).Fingerprint);
        }

        GroupingRules.V6.MayDifferFromPrevious(below).Should().BeFalse("the app's own frame comes before Main");
        GroupingRules.V6.MayDifferFromPrevious(Checkout()).Should().BeFalse();
    }

    [Fact]
    public void A_type_name_printed_without_quotes_names_what_failed_where_no_app_frame_does()
    {
        var button = Grouper.Group(DisposedView("Microsoft.Maui.Platform.MauiMaterialButton"), GroupingRules.V6);
        var page = Grouper.Group(DisposedView("Microsoft.Maui.Platform.ContentViewGroup"), GroupingRules.V6);

        Grouper.Counted(button.Components).Should().Equal(
            "type:ObjectDisposedException", "throw:JniPeerMembers", "subject:Microsoft.Maui.Platform.MauiMaterialButton");
        button.Fingerprint.Should().Be("0baa42037defa9d123a6f066e734a779");
        page.Fingerprint.Should().NotBe(button.Fingerprint);
        Grouper.Group(DisposedView("Microsoft.Maui.Platform.MauiMaterialButton"), GroupingRules.V5).Fingerprint
            .Should().Be(Grouper.Group(DisposedView("Microsoft.Maui.Platform.ContentViewGroup"), GroupingRules.V5).Fingerprint);
    }

    [Fact]
    public void A_name_read_without_quotes_never_merges_what_the_message_told_apart()
    {
        // Thrown and noticed inside System.Text.Json (a guard with no caller of the app's): version 5 counted the message, and still does.
        var deep = Event(Exception("System.Text.Json.JsonException",
            "A possible object cycle was detected. Consider using ReferenceHandler.Preserve on JsonSerializerOptions to support cycles. Path: $.Order.Lines.Order.",
            Framework("System.Text.Json.ThrowHelper", "ThrowJsonException_SerializerCycleDetected"),
            Framework("System.Text.Json.Serialization.JsonConverter`1", "TryWrite")));
        var shallow = Event(Exception("System.Text.Json.JsonException",
            "A possible object cycle was detected. Consider using ReferenceHandler.Preserve on JsonSerializerOptions to support cycles.",
            Framework("System.Text.Json.ThrowHelper", "ThrowJsonException_SerializerCycleDetected"),
            Framework("System.Text.Json.Serialization.JsonConverter`1", "TryWrite")));

        Grouper.Counted(Grouper.Group(shallow, GroupingRules.V6).Components).Should().Equal("type:JsonException",
            "message:A possible object cycle was detected. Consider using ReferenceHandler.Preserve on JsonSerializerOptions to support cycles.");
        Grouper.Group(deep, GroupingRules.V6).Fingerprint.Should().NotBe(Grouper.Group(shallow, GroupingRules.V6).Fingerprint, "version 5 kept them apart by their messages");
        Grouper.Group(shallow, GroupingRules.V6).Fingerprint.Should().Be(Grouper.Group(shallow, GroupingRules.V5).Fingerprint, "the name is in the message that counts already");
    }

    [Fact]
    public void Host_names_file_names_and_version_numbers_are_not_read_as_type_names()
    {
        foreach (var message in new[] { "No such host is known. (api.example.com:443)", "Could not load Shop.Plugins.dll", "Expected version 2.1.0 of the schema" })
        {
            var failure = Event(Exception("System.InvalidOperationException", message, Framework("System.Net.Http.HttpConnectionPool", "ConnectAsync")));
            Grouper.Group(failure, GroupingRules.V6).Fingerprint.Should().Be(Grouper.Group(failure, GroupingRules.V5).Fingerprint, message);
        }
    }

    [Fact]
    public void Without_frames_a_short_name_after_the_word_type_counts_and_other_short_quoted_words_do_not()
    {
        var orders = Grouper.Group(Event(Exception("System.InvalidOperationException", Tracked("Order"))), GroupingRules.V6);
        var items = Grouper.Group(Event(Exception("System.InvalidOperationException", Tracked("OrderItem"))), GroupingRules.V6);
        var keyA = Event(Exception("System.Collections.Generic.KeyNotFoundException", "The given key 'a' was not present in the dictionary."));
        var keyB = Event(Exception("System.Collections.Generic.KeyNotFoundException", "The given key 'b' was not present in the dictionary."));

        Grouper.Counted(orders.Components).Should().StartWith(["type:InvalidOperationException", "subject:Order, DbContextOptionsBuilder.EnableSensitiveDataLogging"]);
        orders.Fingerprint.Should().Be("1eeeb1dedf65e06b6d9cbb5489b5ad15");
        items.Fingerprint.Should().NotBe(orders.Fingerprint);
        Grouper.Group(keyA, GroupingRules.V6).Fingerprint.Should().Be(Grouper.Group(keyB, GroupingRules.V6).Fingerprint, "a key is data, not a type's name");
        Grouper.Group(keyA, GroupingRules.V6).Fingerprint.Should().Be(Grouper.Group(keyA, GroupingRules.V5).Fingerprint);
    }

    [Fact]
    public void An_event_version_6_groups_otherwise_carries_every_older_versions_fingerprint_newest_first()
    {
        var changed = WindowFailure(withMain: true);
        var grouped = Grouper.Group(changed, GroupingRules.V6);
        var versionFive = Grouper.Group(changed, GroupingRules.V5).Fingerprint;

        GroupingRules.V6.MayDifferFromPrevious(changed).Should().BeTrue();
        versionFive.Should().NotBe(grouped.Fingerprint);
        grouped.LegacyFingerprint.Should().Be(versionFive, "version 5's issue keeps the event");
        grouped.EarlierLegacyFingerprints.Should().Equal(GroupingV1.Fingerprint(changed));
    }

    private static string Tracked(string entity) =>
        $"The instance of entity type '{entity}' cannot be tracked because another instance with the same key value for {{'Id'}} is already being tracked. "
        + "When attaching existing entities, ensure that only one entity instance with a given key value is attached. "
        + "Consider using 'DbContextOptionsBuilder.EnableSensitiveDataLogging' to see the conflicting key values.";

    private static IncomingEvent WindowFailure(bool withMain)
    {
        FrameRecord[] frames =
        [
            Framework("System.Windows.Forms.NativeWindow", "CreateHandle"),
            Framework("System.Windows.Forms.Control", "CreateHandle"),
            Framework("System.Windows.Forms.NativeWindow", "Callback"),
            Framework("System.Windows.Forms.Application+ThreadContext", "RunMessageLoopInner"),
            Framework("System.Windows.Forms.Application+ThreadContext", "RunMessageLoop"),
            InApp("Shop.Desktop.Program", "Main"),
        ];
        return Event(Exception("System.ComponentModel.Win32Exception", "Error creating window handle.", withMain ? frames : frames[..^1]));
    }

    private static IncomingEvent DisposedView(string view) => Event(Exception("System.ObjectDisposedException",
        $"ObjectDisposed_Generic\nObjectDisposed_ObjectName_Name, {view}",
        Framework("Java.Interop.JniPeerMembers", "AssertSelf"),
        Framework("Android.Views.View", "get_Context")));
}
