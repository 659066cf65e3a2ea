using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 17, the current one, and what its events carry as legacy fingerprints: beside a frame of the app's
/// code, a COM error counts the HRESULT its message reports, so one app method's interop call failing with two error codes is two issues, and
/// one failure reported from runtimes in two languages is one. The frames are an Excel add-in's write of its store sheet as the .NET SDK sends
/// them (assemblies, the app's frames in-app). Issues are keyed by these values: if one of these tests fails, a rule changed and existing
/// issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV17Tests
{
    private const string Com = "System.Runtime.InteropServices.COMException";

    [Fact]
    public void Grouping_version_is_17_and_follows_version_16()
    {
        Grouper.Version.Should().Be(17);
        GroupingRules.Current.Should().BeSameAs(GroupingRules.V17);
        GroupingRules.V17.Previous.Should().BeSameAs(GroupingRules.V16);
    }

    [Fact]
    public void One_app_methods_interop_call_failing_with_two_error_codes_is_two_issues_and_carries_version_16s_fingerprint()
    {
        var refused = Grouper.Group(StoreSheetWrite("Exception from HRESULT: 0x800A03EC"));
        var refusedInGerman = Grouper.Group(StoreSheetWrite("Ausnahme von HRESULT: 0x800A03EC"));
        var dispatch = Grouper.Group(StoreSheetWrite("发生意外。 (Exception from HRESULT: 0x80020009 (DISP_E_EXCEPTION))"));

        Grouper.Counted(refused.Components).Should().Equal(
            "type:COMException", "throw:RuntimeType", "app:XLToolbox.WorkbookStorage.Store.PrepareStoreSheet", "hresult:0x800A03EC");
        Grouper.Counted(dispatch.Components).Should().Equal(
            "type:COMException", "throw:RuntimeType", "app:XLToolbox.WorkbookStorage.Store.PrepareStoreSheet", "hresult:0x80020009");
        refused.Fingerprint.Should().Be("6500f53382d80bfadad3dc243e0c7c6b");
        dispatch.Fingerprint.Should().Be("7637d6a106e675dea8c2292f0b517a0c");
        refusedInGerman.Fingerprint.Should().Be(refused.Fingerprint, "the code is printed alike in every language");
        refused.Culprit.Should().Be("XLToolbox.WorkbookStorage.Store.PrepareStoreSheet");

        var v16 = Grouper.Group(StoreSheetWrite("Exception from HRESULT: 0x800A03EC"), GroupingRules.V16);
        Grouper.Counted(v16.Components).Should().Equal("type:COMException", "throw:RuntimeType", "app:XLToolbox.WorkbookStorage.Store.PrepareStoreSheet");
        v16.Fingerprint.Should().Be("415cb5eb55cdf24b83f0853975f14b4f", "version 16 keyed both error codes by the frames alone");
        refused.LegacyFingerprint.Should().Be(v16.Fingerprint, "version 16's issue keeps receiving its events");
        dispatch.LegacyFingerprint.Should().Be(v16.Fingerprint);
    }

    [Fact]
    public void E_FAIL_named_or_numbered_is_one_code()
    {
        var named = Grouper.Group(StoreSheetWrite("Error HRESULT E_FAIL has been returned from a call to a COM component."));
        var numbered = Grouper.Group(StoreSheetWrite("Unspecified error (0x80004005 (E_FAIL))"));

        Grouper.Counted(named.Components).Should().EndWith("hresult:0x80004005");
        numbered.Fingerprint.Should().Be(named.Fingerprint);
    }

    [Theory]
    [InlineData(Com, "Unable to set the Value property of the Range class", "a COM error whose message names no code (the component's own description)")]
    [InlineData("System.ComponentModel.Win32Exception", "Error creating window handle. (0x80004005)", "no COM error")]
    [InlineData("System.InvalidOperationException", "Handle 0x0000ABCD is closed.", "no COM error")]
    public void An_event_with_no_COM_error_code_is_keyed_as_in_version_16_and_costs_no_second_fingerprint(string type, string message, string because)
    {
        var incoming = Event(new ExceptionRecord(type, message, null, StoreSheetFrames()));

        Grouper.Group(incoming).Fingerprint.Should().Be(Grouper.Group(incoming, GroupingRules.V16).Fingerprint, because);
        GroupingRules.V17.MayDifferFromPrevious(incoming).Should().BeFalse(because);
    }

    [Fact]
    public void A_COM_error_without_an_app_frame_is_keyed_as_in_version_16()
    {
        // Cut above the app's code: the framework's frames are the same in every application, and the message is read as before.
        var cut = Event(new ExceptionRecord(Com, "Exception from HRESULT: 0x800A03EC", null, StoreSheetFrames()[..2]));

        Grouper.Counted(Grouper.Group(cut).Components).Should().NotContain(c => c.StartsWith("hresult:", StringComparison.Ordinal));
        Grouper.Group(cut).Fingerprint.Should().Be(Grouper.Group(cut, GroupingRules.V16).Fingerprint);
    }

    private static IncomingEvent StoreSheetWrite(string message) => Event(new ExceptionRecord(Com, message, null, StoreSheetFrames()));

    /// <summary>Excel's cell write through the interop assembly, called by the add-in's store, as the SDK sends it.</summary>
    private static FrameRecord[] StoreSheetFrames() =>
    [
        Framework("System.RuntimeType", "ForwardCallToInvokeMember", "mscorlib"),
        Framework("Microsoft.Office.Interop.Excel.Range", "set__Default", "Microsoft.Office.Interop.Excel"),
        App("XLToolbox.WorkbookStorage.Store", "PrepareStoreSheet"),
        App("XLToolbox.WorkbookStorage.Store", "WriteToWorksheet"),
        App("XLToolbox.Export.ViewModels.SingleExportSettingsViewModel", "DoExport"),
    ];

    private static FrameRecord Framework(string type, string function, string module) => new(function, type, module, null, null, null, InApp: false);

    private static FrameRecord App(string type, string function) => new(function, type, "XLToolbox", null, null, null, InApp: true);

    private static IncomingEvent Event(ExceptionRecord exception) => new() { EventId = Guid.NewGuid(), Exceptions = [exception] };
}
