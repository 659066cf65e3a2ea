using ErrorHub.Protocol.Tests.Writing;
using FluentAssertions;
using Xunit;
using static ErrorHub.Protocol.Tests.Decoding.ExpectedEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Protocol.Tests.Decoding;

/// <summary>
/// The optional fields added for the SDK's context (breadcrumbs, extra, request form, wrapper frames): what the SDK
/// writes, the server reads back; older servers skip them; hostile values are refused or bounded like the rest.
/// </summary>
public sealed class SdkContextFieldTests
{
    [Fact]
    public void Breadcrumbs_extra_and_form_written_by_the_SDK_are_read_back_by_the_server()
    {
        var e = WireSnapshotTests.FullEvent();
        e.Extra["process.uptime"] = "42 s";
        e.Request!.Form["plan"] = "pro";
        e.Breadcrumbs.Add(new Breadcrumb(DateTimeOffset.FromUnixTimeSeconds(1_763_599_990), "Pricing bundle holiday", "Shop.Checkout", ErrorHubLevel.Info));
        e.Breadcrumbs.Add(new Breadcrumb(DateTimeOffset.FromUnixTimeSeconds(1_763_599_995), "Stock is low", null, ErrorHubLevel.Warning));

        var decoded = Decode(WireSnapshotTests.Encode(e)).Events[0].Event;

        decoded.Extra.Should().Equal(new Dictionary<string, string> { ["process.uptime"] = "42 s" });
        decoded.Request!.Form.Should().Equal(new Dictionary<string, string> { ["plan"] = "pro" });
        decoded.Breadcrumbs.Should().Equal(
            new Storage.Events.BreadcrumbRecord(DateTimeOffset.FromUnixTimeSeconds(1_763_599_990), "info", "Shop.Checkout", "Pricing bundle holiday"),
            new Storage.Events.BreadcrumbRecord(DateTimeOffset.FromUnixTimeSeconds(1_763_599_995), "warning", null, "Stock is low"));
    }

    [Fact]
    public void Breadcrumbs_that_go_with_every_event_are_read_back_the_same_in_each()
    {
        // The process's breadcrumbs (the host's start, the app's own at start) go with every event of a storm: the writer
        // writes them straight the first time and keeps their bytes from the second on. Every event still reads back its
        // own breadcrumbs, the shared ones and those of its request, in order.
        var started = new Breadcrumb(DateTimeOffset.FromUnixTimeSeconds(1_763_599_980), "Application started", "Microsoft.Hosting.Lifetime", ErrorHubLevel.Info);
        var listening = new Breadcrumb(DateTimeOffset.FromUnixTimeSeconds(1_763_599_981), "Now listening on: http://127.0.0.1:5000", null, ErrorHubLevel.Warning);
        for (var i = 0; i < 4; i++)
        {
            var e = WireSnapshotTests.FullEvent();
            e.Breadcrumbs.Add(started);
            e.Breadcrumbs.Add(listening);
            e.Breadcrumbs.Add(new Breadcrumb(DateTimeOffset.FromUnixTimeSeconds(1_763_599_990 + i), $"loading order {i}", "Shop.Orders", ErrorHubLevel.Error));

            var decoded = Decode(WireSnapshotTests.Encode(e)).Events[0].Event;

            decoded.Breadcrumbs.Should().Equal(
                [
                    new Storage.Events.BreadcrumbRecord(DateTimeOffset.FromUnixTimeSeconds(1_763_599_980), "info", "Microsoft.Hosting.Lifetime", "Application started"),
                    new Storage.Events.BreadcrumbRecord(DateTimeOffset.FromUnixTimeSeconds(1_763_599_981), "warning", null, "Now listening on: http://127.0.0.1:5000"),
                    new Storage.Events.BreadcrumbRecord(DateTimeOffset.FromUnixTimeSeconds(1_763_599_990 + i), "error", "Shop.Orders", $"loading order {i}"),
                ],
                $"event {i + 1} of the storm");
        }
    }

    [Fact]
    public void A_frame_marked_wrapper_is_shown_but_not_in_app_so_grouping_and_the_culprit_skip_it()
    {
        var e = WireSnapshotTests.FullEvent();
        foreach (var frame in e.Exceptions[0].Frames)
        {
            frame.InApp = true;
        }

        e.Exceptions[0].Frames[0].Wrapper = true;

        var frames = Decode(WireSnapshotTests.Encode(e)).Events[0].Event.Exceptions[0].Frames;

        frames[0].InApp.Should().BeFalse();
        frames.Skip(1).Should().OnlyContain(f => f.InApp);
    }

    [Fact]
    public void An_event_without_the_new_fields_has_none_of_them()
    {
        var decoded = Decode(WireSnapshotTests.Encode(WireSnapshotTests.FullEvent())).Events[0].Event;

        decoded.Extra.Should().BeNull();
        decoded.Breadcrumbs.Should().BeNull();
        decoded.Request!.Form.Should().BeNull();
    }

    [Fact]
    public void Only_the_newest_100_breadcrumbs_are_kept_and_long_messages_are_cut()
    {
        var crumbs = Enumerable.Range(0, 1000).Select(i => (object?)Map(("message", $"step {i}"), ("level", "info"))).ToArray();
        crumbs[999] = Map(("message", new string('x', 100_000)));

        var decoded = Decode(OneEvent(e => e.With("breadcrumbs", crumbs))).Events[0].Event;

        decoded.Breadcrumbs.Should().HaveCount(100);
        decoded.Breadcrumbs![0].Message.Should().Be("step 900");
        decoded.Breadcrumbs[^1].Message.Should().HaveLength(2048);
    }

    [Theory]
    [InlineData("breadcrumbs", "events[0].breadcrumbs")]
    [InlineData("extra", "events[0].extra")]
    public void A_field_of_the_wrong_type_is_refused_naming_it(string field, string path)
    {
        OneEvent(e => e.With(field, 17)).ShouldBeRefused(path);
    }

    [Fact]
    public void A_breadcrumb_with_a_wrong_timestamp_is_refused_naming_it()
    {
        OneEvent(e => e.With("breadcrumbs", Array(Map(("message", "m"), ("timestamp", "yesterday")))))
            .ShouldBeRefused("events[0].breadcrumbs[0].timestamp");
    }
}
