using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 13 (version 14 gives the same for these events), and what its events carry as legacy fingerprints: a lambda that ASP.NET Core's
/// routing middleware awaited directly, a handler that returns a plain <c>Task</c>, is keyed by its endpoint like one the request delegate
/// called. The frames are those the SDK sent from Carter's sample app (CarterCommunity/Carter's <c>CarterSample</c>), whose modules map every
/// endpoint as a lambda of their <c>AddRoutes</c>: <c>GET /actors/download</c> opening a file that is not there. Issues are keyed by these values:
/// if one of these tests fails, a rule changed and existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV13Tests
{
    [Fact]
    public void Grouping_version_13_follows_version_12()
    {
        GroupingRules.V13.Version.Should().Be(13);
        GroupingRules.V13.Previous.Should().BeSameAs(GroupingRules.V12);
    }

    [Fact]
    public void Plain_task_lambdas_of_one_module_are_each_their_endpoints_issue_and_carry_version_12s_fingerprint()
    {
        // As the SDK sends them (names normalized, ordinals dropped): both handlers read CarterSample.Features.Actors.ActorsModule.AddRoutes.<lambda>.
        var download = ModuleLambda("GET /actors/download", "ActorsModule", "AddRoutes.<lambda>");
        var update = ModuleLambda("PUT /actors/{id:int}", "ActorsModule", "AddRoutes.<lambda>");

        var grouped = Grouper.Group(download);

        Grouper.Counted(grouped.Components).Should().Equal("type:FileNotFoundException", "throw:Interop", "endpoint:GET /actors/download");
        grouped.Components.Should().Contain(new GroupingComponent(GroupingComponent.AppFrame, "CarterSample.Features.Actors.ActorsModule.AddRoutes.<lambda>", Counts: false));
        grouped.Fingerprint.Should().Be("2ca390766d99c612f563540a5704042f");
        Grouper.Group(update).Fingerprint.Should().NotBe(grouped.Fingerprint, "two endpoints' handlers are two bugs");
        Grouper.Group(download).Fingerprint.Should().Be(grouped.Fingerprint, "twice one issue");

        // Version 12 keyed both by the module's lambda: one issue, which keeps receiving its events.
        Grouper.Group(download, GroupingRules.V12).Fingerprint.Should().Be(Grouper.Group(update, GroupingRules.V12).Fingerprint, "version 12's one issue");
        GroupingRules.V13.MayDifferFromPrevious(download).Should().BeTrue();
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(download, GroupingRules.V12).Fingerprint, "version 12's issue keeps receiving its events");
    }

    [Fact]
    public void A_plain_task_lambda_in_the_compilers_names_is_its_endpoints_as_the_sdks_normalized_names_are()
    {
        var raw = ModuleLambda("GET /actors/download", "ActorsModule+<>c+<<AddRoutes>b__1_6>d", "MoveNext",
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware+<<Invoke>g__AwaitRequestTask|7_0>d", "MoveNext"));

        Grouper.Counted(Grouper.Group(raw).Components).Should().Equal("type:FileNotFoundException", "throw:Interop", "endpoint:GET /actors/download");
        Grouper.Group(raw).Fingerprint.Should().Be(Grouper.Group(ModuleLambda("GET /actors/download", "ActorsModule", "AddRoutes.<lambda>")).Fingerprint);
    }

    [Fact]
    public void A_request_delegate_lambda_the_middleware_called_synchronously_is_its_endpoints()
    {
        // app.Map("/ping", context => ...) in a method of the app's: a RequestDelegate, which the routing middleware calls itself.
        var ping = Event(Exception("System.InvalidOperationException", "No pong configured.",
            InApp("Shop.Health.HealthRoutes+<>c", "<MapHealth>b__0_0"), Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = "/ping", ["endpoint"] = "/ping" },
        };

        Grouper.Counted(Grouper.Group(ping).Components).Should().Equal("type:InvalidOperationException", "endpoint:/ping");
    }

    [Fact]
    public void Without_a_route_or_for_a_named_handler_the_event_groups_as_version_12_and_computes_no_older_version()
    {
        var untagged = ModuleLambda("GET /actors/download", "ActorsModule", "AddRoutes.<lambda>") with { Tags = new Dictionary<string, string>() };
        var named = ModuleLambda("GET /actors/download", "ActorsModule", "Download");

        GroupingRules.V13.MayDifferFromPrevious(untagged).Should().BeFalse("version 13 reads the route tag, which the event lacks");
        Grouper.Group(untagged).Fingerprint.Should().Be(Grouper.Group(untagged, GroupingRules.V12).Fingerprint);
        Grouper.Counted(Grouper.Group(named).Components).Should().Equal("type:FileNotFoundException", "throw:Interop", "app:CarterSample.Features.Actors.ActorsModule.Download");
        Grouper.Group(named).Fingerprint.Should().Be(Grouper.Group(named, GroupingRules.V12).Fingerprint, "a named method's frame is the key in both");
    }

    /// <summary>
    /// A handler of one of CarterSample's modules opening a file that is not there, thrown before its first await (into its task), which the
    /// routing middleware awaited: as the SDK sent it from the app (Swashbuckle's middleware and ErrorHub's before the endpoint).
    /// </summary>
    private static IncomingEvent ModuleLambda(string route, string module, string function, FrameRecord? caller = null) =>
        Event(Exception("System.IO.FileNotFoundException", "Could not find file '/srv/app/earth.mp4'.",
            Framework("Interop", "ThrowExceptionForIoErrno"), Framework("Microsoft.Win32.SafeHandles.SafeFileHandle", "Open"),
            Framework("System.IO.Strategies.OSFileStreamStrategy", ".ctor"), Framework("System.IO.FileStream", ".ctor"),
            InApp("CarterSample.Features.Actors." + module, function),
            caller ?? Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke.AwaitRequestTask"),
            Framework("Swashbuckle.AspNetCore.SwaggerUI.SwaggerUIMiddleware", "Invoke"), Framework("ErrorHub.AspNetCore.ErrorHubMiddleware", "AwaitAsync"))) with
        {
            Tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = $"HTTP: {route}", ["http.method"] = route.Split(' ')[0] },
        };
}
