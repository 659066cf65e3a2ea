using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 9 and what its events carry as legacy fingerprints. Issues are
/// keyed by these values: if one of these tests fails, a rule changed and existing issues would silently split or merge
/// (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV9Tests
{
    [Fact]
    public void Grouping_version_9_follows_version_8()
    {
        GroupingRules.V9.Version.Should().Be(9);
        GroupingRules.V9.Previous.Should().BeSameAs(GroupingRules.V8);
    }

    [Fact]
    public void A_packages_frame_above_the_apps_own_is_passed_over_and_the_apps_frame_is_the_key_and_the_culprit()
    {
        var grouped = Grouper.Group(Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet"), GroupingRules.V9);

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

        Grouper.Group(magnet, GroupingRules.V9).Fingerprint.Should().NotBe(Grouper.Group(file, GroupingRules.V9).Fingerprint);
        Grouper.Group(magnet, GroupingRules.V8).Fingerprint.Should().Be(Grouper.Group(file, GroupingRules.V8).Fingerprint,
            "version 8 read the library's frame, which the client marked in-app, as the app's first frame");
    }

    [Fact]
    public void An_event_version_9_groups_otherwise_carries_version_8s_fingerprint_then_the_older_ones()
    {
        var changed = Refused("RdtClient.Service.Services.TorrentClients.RealDebridTorrentClient", "AddMagnet");
        var grouped = Grouper.Group(changed, GroupingRules.V9);
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
        var grouped = Grouper.Group(oldSdk, GroupingRules.V9);
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
        Grouper.Counted(Grouper.Group(alone, GroupingRules.V9).Components).Should().Equal("type:NvAPIWrapper.Native.Exceptions.NVIDIAApiException", "throw:GPUApi");
        Grouper.Counted(Grouper.Group(alone, GroupingRules.V8).Components).Should().Equal(
            "type:NvAPIWrapper.Native.Exceptions.NVIDIAApiException", "app:NvAPIWrapper.Native.GPU.GPUApi.GetClientFanCoolersStatus");
    }

    [Fact]
    public void Two_minimal_api_handlers_of_top_level_statements_are_two_issues_each_keyed_by_its_route()
    {
        var profile = Grouper.Group(HandlerCrash("GET /account/profile", InApp("Program+<>c", "<<Main>$>b__0_3", 41, "/src/Shop/Program.cs", 9)), GroupingRules.V9);
        var order = Grouper.Group(HandlerCrash("GET /orders/{id}", InApp("Program+<>c", "<<Main>$>b__0_5", 52, "/src/Shop/Program.cs", 9)), GroupingRules.V9);

        Grouper.Counted(profile.Components).Should().Equal("type:NullReferenceException", "app:Program.Main.<lambda>", "endpoint:GET /account/profile");
        profile.Fingerprint.Should().Be("c588a38077535e771a35ebce27ef9101");
        Grouper.Counted(order.Components).Should().Equal("type:NullReferenceException", "app:Program.Main.<lambda>", "endpoint:GET /orders/{id}");
        order.Fingerprint.Should().Be("f5b4e62d8869ba3db42589b02ae72bde");
        profile.Culprit.Should().Be("GET /account/profile");
    }

    [Fact]
    public void One_handler_whose_lambda_ordinal_shifted_between_builds_stays_one_issue()
    {
        var before = HandlerCrash("GET /account/profile", InApp("Program+<>c", "<<Main>$>b__0_3", 41, "/src/Shop/Program.cs", 9));
        var after = HandlerCrash("GET /account/profile", InApp("Program+<>c__DisplayClass0_0", "<<Main>$>b__7", 44, "/src/Shop/Program.cs", 9));

        Grouper.Group(after, GroupingRules.V9).Fingerprint.Should().Be(Grouper.Group(before, GroupingRules.V9).Fingerprint, "a lambda added above the handler renumbers it; the route does not move");
    }

    [Theory]
    [InlineData("Program+<>c", "<<Main>$>b__0_3", "top-level statements' lambda")]
    [InlineData("Shop.Api.Program+<>c", "<Main>b__0_1", "a Program.Main's lambda")]
    [InlineData("Program+<>c+<<<Main>$>b__0_4>d", "MoveNext", "an async lambda's state machine")]
    [InlineData("Program", "<<Main>$>g__GetProfile|0_2", "a local function of top-level statements")]
    [InlineData("Program", "Main.<lambda>", "the .NET SDK's normalized name")]
    [InlineData("Program", "Main.GetProfile", "the .NET SDK's normalized local function")]
    public void Every_form_of_an_entry_points_lambda_or_local_function_counts_the_route(string type, string function, string form)
    {
        var grouped = Grouper.Group(HandlerCrash("GET /account/profile", InApp(type, function)), GroupingRules.V9);

        grouped.Components.Should().ContainSingle(c => c.Kind == GroupingComponent.Endpoint, form)
            .Which.Should().Be(new GroupingComponent(GroupingComponent.Endpoint, "GET /account/profile"));
    }

    [Theory]
    [InlineData("Program", "Main", "the entry point itself")]
    [InlineData("Program+<<Main>$>d__0", "MoveNext", "an async entry point's state machine")]
    [InlineData("Shop.Jobs.Sync+<>c", "<Run>b__12_0", "another method's lambda")]
    [InlineData("Shop.Menu+<>c", "<MainMenu>b__0_1", "a lambda of a method whose name starts with Main")]
    public void Other_frames_count_no_route(string type, string function, string form)
    {
        var crash = HandlerCrash("GET /account/profile", InApp(type, function));

        Grouper.Group(crash, GroupingRules.V9).Components.Should().NotContain(c => c.Kind == GroupingComponent.Endpoint, form);
        Grouper.Group(crash, GroupingRules.V9).Fingerprint.Should().Be(Grouper.Group(crash, GroupingRules.V8).Fingerprint, form);
    }

    [Fact]
    public void A_service_method_two_handlers_call_is_one_issue_the_route_not_counted()
    {
        var service = InApp("Shop.Orders.OrderService", "Load", 30, "/src/Shop/Orders/OrderService.cs");
        var profile = Grouper.Group(HandlerCrash("GET /account/profile", service, InApp("Program+<>c", "<<Main>$>b__0_3", 41, "/src/Shop/Program.cs", 9)), GroupingRules.V9);
        var order = Grouper.Group(HandlerCrash("GET /orders/{id}", service, InApp("Program+<>c", "<<Main>$>b__0_5", 52, "/src/Shop/Program.cs", 9)), GroupingRules.V9);

        order.Fingerprint.Should().Be(profile.Fingerprint, "the failure is the service's, whichever endpoint reached it");
        Grouper.Counted(profile.Components).Should().Equal("type:NullReferenceException", "app:Shop.Orders.OrderService.Load");
    }

    [Fact]
    public void Without_a_route_an_entry_points_lambda_groups_as_version_8_and_computes_no_older_version()
    {
        // A background job started from top-level statements: no request, no route tag.
        var job = HandlerCrash(route: null, InApp("Program+<>c", "<<Main>$>b__0_7", 60, "/src/Shop/Program.cs", 9));
        var grouped = Grouper.Group(job, GroupingRules.V9);
        var versionEight = Grouper.Group(job, GroupingRules.V8);

        GroupingRules.V9.MayDifferFromPrevious(job).Should().BeFalse();
        grouped.Components.Should().Equal(versionEight.Components);
        grouped.Fingerprint.Should().Be(versionEight.Fingerprint);
        grouped.LegacyFingerprint.Should().Be(versionEight.LegacyFingerprint);
        Grouper.Counted(grouped.Components).Should().Equal("type:NullReferenceException", "app:Program.Main.<lambda>");
    }

    [Fact]
    public void The_endpoints_display_name_counts_when_no_route_was_sent()
    {
        var crash = HandlerCrash(route: null, InApp("Program+<>c", "<<Main>$>b__0_3")) with
        {
            Tags = new Dictionary<string, string> { ["endpoint"] = "HTTP: GET /account/profile" },
        };

        Grouper.Counted(Grouper.Group(crash, GroupingRules.V9).Components).Should().Contain("endpoint:HTTP: GET /account/profile");
    }

    [Fact]
    public void Both_handlers_events_carry_version_8s_one_fingerprint_so_the_issue_version_8_made_keeps_them()
    {
        var profile = HandlerCrash("GET /account/profile", InApp("Program+<>c", "<<Main>$>b__0_3", 41, "/src/Shop/Program.cs", 9));
        var order = HandlerCrash("GET /orders/{id}", InApp("Program+<>c", "<<Main>$>b__0_5", 52, "/src/Shop/Program.cs", 9));
        var versionEight = Grouper.Group(profile, GroupingRules.V8).Fingerprint;

        GroupingRules.V9.MayDifferFromPrevious(profile).Should().BeTrue();
        Grouper.Group(order, GroupingRules.V8).Fingerprint.Should().Be(versionEight, "version 8 made one issue of every handler");
        Grouper.Group(profile, GroupingRules.V9).LegacyFingerprint.Should().Be(versionEight);
        Grouper.Group(order, GroupingRules.V9).LegacyFingerprint.Should().Be(versionEight);
        Grouper.Group(profile, GroupingRules.V9).EarlierLegacyFingerprints.Should().Equal([GroupingV1.Fingerprint(profile)]);
    }

    /// <summary>
    /// A NullReferenceException thrown in a minimal API app's request (the <c>route</c> tag as the ASP.NET Core SDK sets it; none when
    /// <paramref name="route"/> is null), the app's frames given nearest the throw first, under ASP.NET Core's request delegate.
    /// </summary>
    private static IncomingEvent HandlerCrash(string? route, params FrameRecord[] appFrames) => Event(
        Exception("System.NullReferenceException", "Object reference not set to an instance of an object.",
        [
            .. appFrames,
            new FrameRecord("lambda_method12", null, null, null, null, null, InApp: false),
            Framework("Microsoft.AspNetCore.Http.RequestDelegateFactory", "ExecuteWriteStringResponseAsync"),
        ])) with
    {
        Tags = route is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["route"] = route, ["endpoint"] = $"HTTP: {route}" },
    };

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
