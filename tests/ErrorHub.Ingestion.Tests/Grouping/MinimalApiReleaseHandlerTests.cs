using System.Text.Json;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Grouping versions 10 and 11 on the frames a real minimal API app built in Release sent (MinimalApi/release-handlers.json, its README says
/// how they were recorded): a handler the JIT inlined into its endpoint's request delegate leaves no frame of the app's code, and the frames
/// beyond the delegate change when the runtime promotes the endpoint middleware, so version 9 made one issue of every inlined handler's
/// failure of one type, and two of one handler's (docs/grouping.md, "Version 10"); version 10 keyed a method handler by its route where it was
/// inlined and by its frame where the frame was kept, two issues across runtime settings, which version 11 makes one by the method the
/// endpoint's metadata names (docs/grouping.md, "Version 11"). Recorded frames, not a Release app in the test: whether a handler is inlined
/// depends on the JIT and its settings, as the recording shows.
/// </summary>
public sealed class MinimalApiReleaseHandlerTests
{
    private static readonly IReadOnlyList<Recorded> Stacks = Load();

    [Fact]
    public void Every_recorded_stack_of_one_lambda_handler_is_one_issue_and_each_endpoint_its_own()
    {
        var byRoute = Stacks.GroupBy(s => s.Route).ToList();

        byRoute.Should().HaveCount(8);
        foreach (var route in byRoute.Where(r => r.Key.StartsWith("GET /lambda/", StringComparison.Ordinal)))
        {
            route.Select(s => Grouper.Group(s.Event).Fingerprint).Distinct().Should().ContainSingle(
                $"{route.Key}: with and without the handler's frame, before and after the endpoint middleware shows, under every runtime setting");
        }

        byRoute.Select(r => Grouper.Group(r.First().Event).Fingerprint).Distinct().Should().HaveCount(8, "eight handlers, eight issues");
    }

    [Fact]
    public void A_method_handler_is_one_issue_with_and_without_its_frame_keyed_by_the_method()
    {
        foreach (var handler in Stacks.Where(s => s.Route.StartsWith("GET /static/", StringComparison.Ordinal)).GroupBy(s => s.Route))
        {
            handler.Select(s => Grouper.Group(s.Event).Fingerprint).Distinct().Should().ContainSingle(
                $"{handler.Key}: with and without the method's frame, before and after the endpoint middleware shows, under every runtime setting");
        }

        // The method is the key, kept or inlined: the same method may be called by another handler too, and is one issue whoever called it.
        var kept = Stacks.First(s => s.Route == "GET /static/stock" && s.Event.Exceptions[0].Frames[0].InApp);
        var inlined = Stacks.First(s => s.Route == "GET /static/stock" && !s.Event.Exceptions[0].Frames[0].InApp);
        Grouper.Counted(Grouper.Group(kept.Event).Components).Should().Equal("type:InvalidOperationException", "app:Handlers.Stock");
        Grouper.Counted(Grouper.Group(inlined.Event).Components).Should().Equal("type:InvalidOperationException", "app:Handlers.Stock");
        Grouper.Group(inlined.Event).Culprit.Should().Be("Handlers.Stock");
    }

    [Fact]
    public void Version_10_made_a_method_handler_two_issues_across_runtime_settings_and_an_older_sdks_events_still_group_so()
    {
        var stock = Stacks.Where(s => s.Route == "GET /static/stock").ToList();

        stock.Select(s => Grouper.Group(s.Event, GroupingRules.V10).Fingerprint).Distinct().Should().HaveCount(2, "the frame where it was kept, the route where it was inlined");
        stock.Select(s => Grouper.Group(WithoutHandlerTag(s.Event)).Fingerprint).Distinct().Should().HaveCount(2, "an SDK that sends no handler tag");
    }

    [Fact]
    public void Version_9_made_one_issue_of_every_inlined_handlers_null_dereference_and_split_one_handler_when_the_endpoint_middleware_showed()
    {
        var profile = Stacks.Where(s => s.Route == "GET /lambda/profile" && s.Run.StartsWith("Release, runtime defaults", StringComparison.Ordinal)).ToList();
        var staticProfile = Stacks.First(s => s.Route == "GET /static/profile" && s.Run.StartsWith("Release, runtime defaults", StringComparison.Ordinal));

        profile.Should().HaveCount(2, "the stack changed once, when the endpoint middleware was promoted");
        var first = Grouper.Group(profile[0].Event, GroupingRules.V9);
        Grouper.Group(profile[1].Event, GroupingRules.V9).Fingerprint.Should().NotBe(first.Fingerprint);
        Grouper.Group(staticProfile.Event, GroupingRules.V9).Fingerprint.Should().Be(first.Fingerprint, "another handler, the same middleware");
        first.Culprit.Should().Be("Microsoft.AspNetCore.Authorization.AuthorizationMiddleware.Invoke");
        Grouper.Counted(first.Components).Should().Equal("type:NullReferenceException", "throw:AuthorizationMiddleware.Invoke");
    }

    [Fact]
    public void An_inlined_handlers_issue_counts_its_route_shows_where_it_threw_and_is_named_after_the_route()
    {
        var stack = Stacks.First(s => s.Route == "GET /lambda/profile");

        var grouped = Grouper.Group(stack.Event);

        grouped.Version.Should().Be(17);
        grouped.Components.Should().Equal(
            new GroupingComponent(GroupingComponent.Type, "NullReferenceException"),
            new GroupingComponent(GroupingComponent.ThrowSite, Grouper.InlinedHandlerSite, Counts: false),
            new GroupingComponent(GroupingComponent.Endpoint, "GET /lambda/profile"));
        grouped.Culprit.Should().Be("GET /lambda/profile");
    }

    [Fact]
    public void A_lambda_handlers_frame_where_it_was_not_inlined_is_shown_and_the_route_counts_in_its_place()
    {
        var lambda = Stacks.First(s => s.Route == "GET /lambda/stock" && s.Event.Exceptions[0].Frames[0].InApp);

        Grouper.Group(lambda.Event).Components.Should().Contain(new GroupingComponent(GroupingComponent.AppFrame, "Program.Main.<lambda>", Counts: false));
        Grouper.Counted(Grouper.Group(lambda.Event).Components).Should().Equal("type:InvalidOperationException", "endpoint:GET /lambda/stock");
    }

    [Fact]
    public void Every_recorded_stack_version_10_groups_otherwise_carries_version_9s_fingerprint_so_version_9s_issues_keep_their_events()
    {
        var changed = 0;
        var methodFrameKept = 0;
        foreach (var stack in Stacks)
        {
            var current = Grouper.Group(stack.Event, GroupingRules.V10);
            var versionNine = Grouper.Group(stack.Event, GroupingRules.V9).Fingerprint;
            if (current.Fingerprint != versionNine)
            {
                changed++;
                GroupingRules.V10.MayDifferFromPrevious(stack.Event).Should().BeTrue();
                current.LegacyFingerprint.Should().Be(versionNine, $"{stack.Route}, calls {stack.FirstCall}-{stack.LastCall}, {stack.Run}");
            }
            else
            {
                stack.Event.Exceptions[0].Frames[0].InApp.Should().BeTrue();
                stack.Route.Should().StartWith("GET /static/", "only a method handler whose frame was kept groups as in version 9");
                methodFrameKept++;
            }
        }

        changed.Should().Be(24, "every lambda handler's stack and every inlined method's: version 10 keys each by its route");
        methodFrameKept.Should().Be(16);
    }

    [Fact]
    public void Every_recorded_stack_version_11_groups_otherwise_is_an_inlined_method_and_carries_version_10s_fingerprint()
    {
        var changed = 0;
        foreach (var stack in Stacks)
        {
            var current = Grouper.Group(stack.Event);
            var versionTen = Grouper.Group(stack.Event, GroupingRules.V10).Fingerprint;
            if (current.Fingerprint != versionTen)
            {
                changed++;
                stack.Route.Should().StartWith("GET /static/");
                stack.Event.Exceptions[0].Frames[0].InApp.Should().BeFalse("only an inlined method handler is keyed otherwise");
                GroupingRules.V11.MayDifferFromPrevious(stack.Event).Should().BeTrue();
                current.LegacyFingerprint.Should().Be(versionTen, $"{stack.Route}, calls {stack.FirstCall}-{stack.LastCall}, {stack.Run}");
            }
        }

        changed.Should().Be(4, "the method handlers' stacks without their frame (the static profile and stock under the runtime's defaults, before and after the endpoint middleware shows)");
    }

    [Fact]
    public void A_service_method_an_inlined_handler_called_is_the_app_frame_and_counts_no_route()
    {
        var crash = Request("GET /orders/{id}", "HTTP: GET /orders/{id}",
            InApp("Shop.Orders.OrderService", "Load"), Delegate(), Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"));

        Grouper.Counted(Grouper.Group(crash).Components).Should().Equal("type:NullReferenceException", "app:Shop.Orders.OrderService.Load");
        Grouper.Group(crash).Fingerprint.Should().Be(Grouper.Group(crash, GroupingRules.V9).Fingerprint);
    }

    [Fact]
    public void A_compiled_lambda_under_a_librarys_frames_is_not_the_request_delegate()
    {
        // EF Core's materializer is compiled from an expression tree too; what follows it is EF's, not ASP.NET Core's.
        var crash = Request("GET /orders/{id}", "HTTP: GET /orders/{id}",
            Delegate("lambda_method3"), Framework("Microsoft.EntityFrameworkCore.Query.Internal.SingleQueryingEnumerable`1+Enumerator", "MoveNext"),
            Framework("System.Linq.Enumerable", "ToList"), Framework("Microsoft.AspNetCore.Authorization.AuthorizationMiddleware", "Invoke"));

        Grouper.Group(crash).Components.Should().NotContain(c => c.Kind == GroupingComponent.Endpoint);
        Grouper.Group(crash).Fingerprint.Should().Be(Grouper.Group(crash, GroupingRules.V9).Fingerprint);
    }

    [Fact]
    public void Without_a_route_an_inlined_handlers_stack_groups_as_version_9_and_computes_no_older_version()
    {
        var stack = Stacks.First(s => s.Route == "GET /lambda/profile").Event with { Tags = new Dictionary<string, string>() };

        GroupingRules.V10.MayDifferFromPrevious(stack).Should().BeFalse();
        Grouper.Group(stack).Fingerprint.Should().Be(Grouper.Group(stack, GroupingRules.V9).Fingerprint);
    }

    private static FrameRecord Delegate(string name = "lambda_method9") => new(name, null, "Anonymously Hosted DynamicMethods Assembly", null, null, null, InApp: false);

    private static IncomingEvent Request(string route, string endpoint, params FrameRecord[] frames) =>
        Event(Exception("System.NullReferenceException", "Object reference not set to an instance of an object.", frames)) with
        {
            Tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = endpoint },
        };

    private static IncomingEvent WithoutHandlerTag(IncomingEvent e) => e with { Tags = e.Tags.Where(t => t.Key != "handler").ToDictionary() };

    private sealed record Recorded(string Run, string Route, int FirstCall, int LastCall, IncomingEvent Event);

    private static List<Recorded> Load()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(
            RepositoryPaths.Root, "tests", "ErrorHub.Ingestion.Tests", "Grouping", "MinimalApi", "release-handlers.json")));
        var stacks = new List<Recorded>();
        foreach (var entry in json.RootElement.EnumerateArray())
        {
            var frames = entry.GetProperty("frames").EnumerateArray().Select(f => new FrameRecord(
                f.GetProperty("function").GetString()!, f.GetProperty("type").GetString(), f.GetProperty("module").GetString(), null, null, null,
                InApp: f.GetProperty("in_app").GetBoolean())).ToArray();
            var route = entry.GetProperty("route").GetString()!;
            var endpoint = entry.GetProperty("endpoint").GetString()!;
            var tags = new Dictionary<string, string> { ["route"] = route, ["endpoint"] = endpoint, ["http.method"] = "GET" };

            // The recording predates the SDK's handler tag: ReproApp maps the static endpoints to Handlers' methods, which the display name ends
            // with ("=> Stock"), and the SDK sends them as it names their frames (RequestCapture.HandlerName); the lambdas get none.
            var arrow = endpoint.IndexOf(" => ", StringComparison.Ordinal);
            if (arrow > 0)
            {
                tags["handler"] = "Handlers." + endpoint[(arrow + 4)..];
            }

            var e = Event(Exception(entry.GetProperty("type").GetString()!, entry.GetProperty("value").GetString()!, frames)) with { Tags = tags };
            stacks.Add(new Recorded(entry.GetProperty("run").GetString()!, route, entry.GetProperty("first_call").GetInt32(), entry.GetProperty("last_call").GetInt32(), e));
        }

        return stacks;
    }
}
