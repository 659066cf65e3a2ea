using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Microsoft.Extensions.Options;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Ingest groups a failure once per insert and gives its result to every event with the same grouping inputs
/// (<see cref="GroupingCache"/>). What a user would notice if it keyed on too little: an event filed in another
/// failure's issue, or titled or placed (culprit) by it. Each case below is two events that differ in one thing grouping
/// reads, and each must get what grouping alone gives it, whichever came first.
/// </summary>
public sealed class GroupingCacheTests
{
    private static readonly Dictionary<string, string> RouteA = new() { ["route"] = "POST /checkout/{bundle}" };
    private static readonly Dictionary<string, string> RouteB = new() { ["route"] = "POST /refund/{bundle}" };
    private static readonly Dictionary<string, string> EndpointA = new() { ["endpoint"] = "HTTP: POST /checkout/{bundle}" };
    private static readonly Dictionary<string, string> EndpointB = new() { ["endpoint"] = "HTTP: POST /refund/{bundle}" };

    private static readonly Dictionary<string, (IncomingEvent First, IncomingEvent Second)> Cases = new()
    {
        ["the root cause's type"] = (Checkout(), Checkout(type: "System.ArgumentException")),
        ["the root cause's message (the title)"] = (Checkout(), Checkout(message: "Sequence contains more than one element")),
        ["an app frame's method"] = (Checkout(), WithFrame(Checkout(), 2, f => f with { Function = "ReserveStock" })),
        ["an app frame's type"] = (Checkout(), WithFrame(Checkout(), 2, f => f with { Type = "Shop.Inventory.WarehouseService" })),
        ["a frame's in-app flag"] = (Checkout(), WithFrame(Checkout(), 2, f => f with { InApp = false })),
        ["a frame's package flag (what version 8, the legacy fingerprint, reads)"] =
            (WithFrame(Checkout(), 2, f => f with { InApp = false }), WithFrame(Checkout(), 2, f => f with { InApp = false, Package = true })),
        ["a frame's module when it has no type"] = (Typeless("Shop"), Typeless("Billing")),
        ["one more frame"] = (Checkout(), Event(Exception("System.InvalidOperationException", "Sequence contains no elements", [InApp("Shop.Orders.OrderService", "Place"), .. Checkout().Exceptions[0].Frames]))),
        ["an inner exception"] = (Checkout(), Checkout() with { Exceptions = [.. Checkout().Exceptions, Exception("System.TimeoutException", "The operation has timed out.")] }),
        ["the SDK's fingerprint"] = (Checkout() with { Fingerprint = ["checkout"] }, Checkout() with { Fingerprint = ["payment"] }),
        ["an SDK fingerprint or none"] = (Checkout(), Checkout() with { Fingerprint = ["checkout"] }),
        ["the message of an event without an exception"] = (Message("Payment provider refused the card"), Message("Payment provider is down")),
        ["the logger of an event without an exception"] = (Message("Payment failed", "Shop.Payments"), Message("Payment failed", "Shop.Refunds")),
        ["the logger of an exception without frames (the culprit)"] = (Event(Exception("Shop.PaymentException", "declined")) with { Logger = "Shop.Payments" }, Event(Exception("Shop.PaymentException", "declined")) with { Logger = "Shop.Refunds" }),
        ["the message of an exception without frames"] = (Event(Exception("System.Exception", "Billing.Api did not answer")), Event(Exception("System.Exception", "Shipping.Api did not answer"))),
        ["the route a handler lambda's culprit names"] = (MinimalApiCrash() with { Tags = RouteA }, MinimalApiCrash() with { Tags = RouteB }),
        ["the endpoint a handler lambda's culprit names"] = (MinimalApiCrash() with { Tags = EndpointA }, MinimalApiCrash() with { Tags = EndpointB }),
        ["the handler method version 11 counts for an inlined handler"] = (InlinedHandlerCrash("Shop.Api.CheckoutHandlers.Place"), InlinedHandlerCrash("Shop.Api.CheckoutHandlers.Refund")),
    };

    public static TheoryData<string> GroupedInputs() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(GroupedInputs))]
    public void Two_events_differing_in_one_grouped_input_never_share_a_result(string input)
    {
        var (first, second) = Cases[input];
        var alone = (First: Grouper.Group(first), Second: Grouper.Group(second));
        Describe(alone.First).Should().NotBe(Describe(alone.Second), $"the case must differ in what grouping gives ({input})");

        foreach (var (a, b, expectedA, expectedB) in new[] { (first, second, alone.First, alone.Second), (second, first, alone.Second, alone.First) })
        {
            var cache = new GroupingCache();
            Describe(cache.Group(a)).Should().Be(Describe(expectedA));
            Describe(cache.Group(b)).Should().Be(Describe(expectedB), $"the events differ in {input}");
            cache.Hits.Should().Be(0);
        }
    }

    [Fact]
    public void The_same_failure_in_batches_decoded_apart_is_grouped_once_and_each_event_gets_what_grouping_alone_gives()
    {
        var preparer = new BatchPreparer(Options.Create(new IngestLimits()), Options.Create(new ScrubbingOptions()));
        var body = Encode(Batch(CheckoutEvent(), TimeoutEvent(), MessageEvent(), CheckoutEvent().With("event_id", Guid.NewGuid().ToString("N"))));
        var receivedAt = new DateTimeOffset(2026, 12, 4, 3, 0, 0, TimeSpan.Zero);

        var uncached = preparer.Prepare(1, body, receivedAt, out _);
        var cache = new GroupingCache();
        var first = preparer.Prepare(1, body, receivedAt, cache, out _);
        var again = preparer.Prepare(1, body, receivedAt, cache, out _);

        cache.Hits.Should().Be(5, "the second checkout of the first batch and all four events of the second were grouped before");
        foreach (var events in new[] { first, again })
        {
            events.Select(Describe).Should().Equal(uncached.Select(Describe));
        }
    }

    [Fact]
    public void Past_its_bound_the_cache_keeps_nothing_more_and_still_groups_every_event_as_grouping_alone_does()
    {
        var cache = new GroupingCache();
        var events = Enumerable.Range(0, GroupingCache.MaxEntries + 50).Select(i => Checkout(message: $"Item {i} is out of stock")).ToList();

        foreach (var e in events)
        {
            Describe(cache.Group(e)).Should().Be(Describe(Grouper.Group(e)));
        }

        cache.Count.Should().Be(GroupingCache.MaxEntries);
        cache.Group(events[^1]);
        cache.Hits.Should().Be(0, "the events past the bound were grouped without being kept");
        cache.Group(events[0]);
        cache.Hits.Should().Be(1);
    }

    private static string Describe(EventGrouping g) =>
        $"{g.Fingerprint} v{g.Version} | {g.Title} | {g.TitleWrapper} | {g.Culprit} | {string.Join(", ", g.Components)} | {g.LegacyFingerprint} | {string.Join(", ", g.EarlierLegacyFingerprints ?? [])}";

    private static string Describe(ErrorEvent e) =>
        $"{e.Fingerprint} v{e.GroupingVersion} | {e.Title} | {e.TitleWrapper} | {e.Culprit} | {string.Join(", ", e.GroupingComponents)} | {e.LegacyFingerprint} | {string.Join(", ", e.EarlierLegacyFingerprints ?? [])}";

    private static IncomingEvent WithFrame(IncomingEvent e, int index, Func<FrameRecord, FrameRecord> change)
    {
        var exception = e.Exceptions[0];
        var frames = exception.Frames.ToArray();
        frames[index] = change(frames[index]);
        return e with { Exceptions = [exception with { Frames = frames }] };
    }

    /// <summary>A client that sends no declaring types (not the .NET SDK): methods are told apart by their module.</summary>
    private static IncomingEvent Typeless(string module) =>
        Event(Exception("Error", "boom", new FrameRecord("charge", null, module, null, null, null, InApp: true)));

    /// <summary>A minimal API method handler the JIT inlined into its endpoint's request delegate: version 11 keys it by the handler tag.</summary>
    private static IncomingEvent InlinedHandlerCrash(string handler) => Event(
        Exception("System.InvalidOperationException", "Bundle 'summer-kit' cannot be checked out",
            new FrameRecord("lambda_method9", null, "Anonymously Hosted DynamicMethods Assembly", null, null, null, InApp: false),
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke"))) with
    {
        Tags = new Dictionary<string, string> { ["route"] = "POST /checkout/{bundle}", ["handler"] = handler },
    };

    /// <summary>A minimal API handler's lambda: its culprit is the route or endpoint the SDK tagged.</summary>
    private static IncomingEvent MinimalApiCrash() => Event(
        Exception("System.InvalidOperationException", "Bundle 'summer-kit' cannot be checked out",
            Framework("System.Linq.ThrowHelper", "ThrowNoElementsException"),
            InApp("Program+<>c", "<<Main>$>b__0_3", 41, "/src/Shop/Program.cs", 9),
            Framework("Microsoft.AspNetCore.Http.RequestDelegateFactory", "ExecuteTaskResult")));
}
