using System.Net;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>
/// A NuGet package's frame above the app's own (the frame's <c>package</c> field, docs/protocol.md), posted over real HTTP into a
/// real SQLite store: what grouping version 9 makes of it, and that the issues version 8 made keep their events.
/// </summary>
public sealed class PackageFrameIngestTests(IngestHostFixture fixture) : IClassFixture<IngestHostFixture>
{
    private IngestHost Host => fixture.Host;

    [Fact]
    public async Task Two_places_of_the_app_reaching_one_packages_failure_are_two_issues_each_named_after_the_apps_frame()
    {
        var run = Guid.NewGuid().ToString("N");
        var magnet = Refusal(run, "AddMagnet", package: true);
        var file = Refusal(run, "AddFile", package: true);

        using var response = await Host.PostAsync(Encode(Batch(magnet.Event, file.Event)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var first = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, magnet.Id))!;
        var second = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, file.Id))!;
        first.Fingerprint.Should().NotBe(second.Fingerprint);
        first.Culprit.Should().Be($"RdtClient{run}.RealDebridTorrentClient.AddMagnet");
        second.Culprit.Should().Be($"RdtClient{run}.RealDebridTorrentClient.AddFile");
        first.Exceptions[0].Frames.Select(f => f.InApp).Should().Equal([false, true], "the dashboard's app frames are the app's, not the package's");
    }

    [Fact]
    public async Task An_old_sdks_event_without_the_package_field_groups_exactly_as_version_8_did()
    {
        var run = Guid.NewGuid().ToString("N");
        var old = Refusal(run, "AddMagnet", package: false);
        var decoded = new EventBatchDecoder(new IngestLimits()).Decode(Encode(Batch(old.Event))).Events[0];

        using var response = await Host.PostAsync(Encode(Batch(old.Event)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var stored = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, old.Id))!;
        stored.Fingerprint.Should().Be(Grouper.Group(decoded, GroupingRules.V8).Fingerprint);
        stored.Culprit.Should().Be("RDNET.Requests.Request.Send", "without the fact, the library's frame is the first the client marked in-app, as before");
    }

    [Fact]
    public async Task An_issue_version_8_made_keeps_receiving_the_upgraded_sdks_events_and_no_issue_splits_off()
    {
        var run = Guid.NewGuid().ToString("N");
        var before = Refusal(run, "AddMagnet", package: false);
        var after = Refusal(run, "AddMagnet", package: true);
        var decodedAfter = new EventBatchDecoder(new IngestLimits()).Decode(Encode(Batch(after.Event))).Events[0];
        var versionEight = Grouper.Group(decodedAfter, GroupingRules.V8).Fingerprint;

        // The issue as an ingest of the previous release made it from the old SDK's event.
        await Host.Events.InsertEventsAsync(
        [
            TestEvents.Create(IngestHost.ProjectId, versionEight, CheckoutTime.AddDays(-1), title: "RealDebridException: infringing_file") with { GroupingVersion = 8 },
        ]);
        using (var response = await Host.PostAsync(Encode(Batch(before.Event))))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        using (var response = await Host.PostAsync(Encode(Batch(after.Event))))
        {
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        var stored = (await Host.Issues.GetEventAsync(IngestHost.ProjectId, after.Id))!;
        stored.Fingerprint.Should().Be(versionEight, "the upgraded SDK's event lands in the issue version 8 made");
        stored.GroupingVersion.Should().Be(17);
        stored.LegacyFingerprint.Should().Be(versionEight);
        (await Host.Issues.GetEventAsync(IngestHost.ProjectId, before.Id))!.Fingerprint.Should().Be(versionEight);
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, versionEight))!.EventCount.Should().Be(3);
        (await Host.Issues.GetIssueAsync(IngestHost.ProjectId, Grouper.Group(decodedAfter).Fingerprint)).Should().BeNull("no issue splits off");
    }

    /// <summary>
    /// rdt-client's refusal by Real-Debrid, thrown in the RDNET package under one of the app's methods; the app's namespace is the
    /// run's own, so no other test's issue is involved. <paramref name="package"/> false is what every SDK before version 9 sent.
    /// </summary>
    private static (WireMap Event, Guid Id) Refusal(string run, string appMethod, bool package)
    {
        var id = Guid.NewGuid();
        var library = Map(("function", "Send"), ("type", "RDNET.Requests.Request"), ("module", "RDNET"), ("in_app", true));
        var e = CheckoutEvent().With("event_id", id.ToString("N")).With("exceptions", Array(
            Map(("type", $"RDNET{run}.RealDebridException"), ("value", "infringing_file"), ("module", "RDNET"),
                ("frames", Array(
                    package ? library.With("package", true) : library,
                    Map(("function", appMethod), ("type", $"RdtClient{run}.RealDebridTorrentClient"), ("module", "RdtClient.Service"), ("in_app", true)))))));
        return (e, id);
    }
}
