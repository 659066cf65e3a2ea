using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 9, the current one, and what its events carry as legacy fingerprints. Issues are
/// keyed by these values: if one of these tests fails, a rule changed and existing issues would silently split or merge
/// (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV9Tests
{
    [Fact]
    public void Grouping_version_is_9_and_follows_version_8()
    {
        Grouper.Version.Should().Be(9);
        GroupingRules.Current.Should().BeSameAs(GroupingRules.V9);
        GroupingRules.V9.Previous.Should().BeSameAs(GroupingRules.V8);
    }

    [Fact]
    public void A_packages_frame_above_the_apps_own_is_passed_over_and_the_apps_frame_is_the_key_and_the_culprit()
    {
        var grouped = Grouper.Group(Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet"));

        Grouper.Counted(grouped.Components).Should().Equal(
            "type:RDNET.RealDebridException", "throw:Request", "app:RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient.AddMagnet");
        grouped.Fingerprint.Should().Be("69862422589ce18f2ae6cdecdb3cbd2a");
        grouped.Culprit.Should().Be("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient.AddMagnet");
        Grouper.Counted(Grouper.Group(Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet"), GroupingRules.V8).Components)
            .Should().Equal("type:RDNET.RealDebridException", "app:RDNET.Requests.Request.Send");
    }

    [Fact]
    public void Two_places_of_the_app_reaching_one_packages_failure_are_two_issues_where_version_8_made_one()
    {
        var magnet = Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet");
        var file = Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddFile");

        Grouper.Group(magnet).Fingerprint.Should().NotBe(Grouper.Group(file).Fingerprint);
        Grouper.Group(magnet, GroupingRules.V8).Fingerprint.Should().Be(Grouper.Group(file, GroupingRules.V8).Fingerprint,
            "version 8 read the library's frame, which the client marked in-app, as the app's first frame");
    }

    [Fact]
    public void An_event_version_9_groups_otherwise_carries_version_8s_fingerprint_then_the_older_ones()
    {
        var changed = Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet");
        var grouped = Grouper.Group(changed);
        var versionEight = Grouper.Group(changed, GroupingRules.V8).Fingerprint;

        GroupingRules.V9.MayDifferFromPrevious(changed).Should().BeTrue();
        versionEight.Should().NotBe(grouped.Fingerprint);
        grouped.LegacyFingerprint.Should().Be(versionEight, "version 8's issue keeps the event: the upgrade splits no issue");
        grouped.EarlierLegacyFingerprints.Should().Equal([GroupingV1.Fingerprint(changed)], "versions 2 to 8 group it alike, version 1 otherwise");
        GroupingV1.Fingerprint(changed).Should().Be(GroupingV1.Fingerprint(AsOldSdkSent(changed)), "version 1 reads the client's mark as sent");
    }

    [Fact]
    public void An_event_without_the_package_field_groups_exactly_as_version_8_and_computes_no_older_version_again()
    {
        // What every SDK before this one sends: the library's frame marked in-app, no package field.
        var oldSdk = AsOldSdkSent(Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet"));
        var grouped = Grouper.Group(oldSdk);
        var versionEight = Grouper.Group(oldSdk, GroupingRules.V8);

        GroupingRules.V9.MayDifferFromPrevious(oldSdk).Should().BeFalse();
        grouped.Fingerprint.Should().Be(versionEight.Fingerprint);
        grouped.Components.Should().Equal(versionEight.Components);
        grouped.Culprit.Should().Be(versionEight.Culprit);
        grouped.LegacyFingerprint.Should().Be(versionEight.LegacyFingerprint);
        Grouper.Counted(grouped.Components).Should().Equal("type:RDNET.RealDebridException", "app:RDNET.Requests.Request.Send");
    }

    [Fact]
    public void A_packages_frame_that_throws_with_no_app_frame_below_is_keyed_by_its_component_as_a_librarys()
    {
        var alone = Event(Exception("NvAPIWrapper.Native.Exceptions.NVIDIAApiException", "NVAPI_NOT_SUPPORTED",
            FromPackage("NvAPIWrapper.Native.GPU.GPUApi", "GetClientFanCoolersStatus", "NvAPIWrapper"),
            FromPackage("NvAPIWrapper.GPU.GPUCooler", "get_CurrentLevel", "NvAPIWrapper")));

        // The exception type is named by its namespace as before (grouping knows no package of a type), the throw site by its component.
        Grouper.Counted(Grouper.Group(alone).Components).Should().Equal("type:NvAPIWrapper.Native.Exceptions.NVIDIAApiException", "throw:GPUApi");
        Grouper.Counted(Grouper.Group(alone, GroupingRules.V8).Components).Should().Equal(
            "type:NvAPIWrapper.Native.Exceptions.NVIDIAApiException", "app:NvAPIWrapper.Native.GPU.GPUApi.GetClientFanCoolersStatus");
    }

    /// <summary>rdt-client's refusal of an infringing torrent (held-out-12), thrown in its maintainer's RDNET package.</summary>
    private static IncomingEvent Refused(string appType, string appMethod) => Event(Exception(
        "RDNET.RealDebridException", "infringing_file",
        FromPackage("RDNET.Requests.Request", "Send", "RDNET"),
        FromPackage("RDNET.TorrentsApi", "AddMagnetAsync", "RDNET"),
        InApp(appType, appMethod),
        InApp("RdtClient.Service.Services.Torrents", "AddQueued")));

    /// <summary>The same event as an SDK before version 9's field sent it: every frame the namespaces mark in-app is in-app.</summary>
    private static IncomingEvent AsOldSdkSent(IncomingEvent incoming) => new()
    {
        EventId = incoming.EventId,
        Timestamp = incoming.Timestamp,
        Exceptions = [.. incoming.Exceptions.Select(e => e with { Frames = [.. e.Frames.Select(f => f with { InApp = f.InApp || f.Package, Package = false })] })],
    };
}
