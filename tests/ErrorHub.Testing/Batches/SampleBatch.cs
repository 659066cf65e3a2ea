using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Testing.Batches;

/// <summary>
/// A realistic batch as the .NET SDK sends it (a checkout crash with an inner exception and request, a timeout
/// without in-app frames, a log message with a custom fingerprint), as wire values. Tests change one field of it
/// and compare against the rest; the events it must decode to live with the decoder's tests.
/// </summary>
public static class SampleBatch
{
    public static readonly Guid CheckoutEventId = Guid.Parse("6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4c13");
    public static readonly Guid TimeoutEventId = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
    public static readonly Guid MessageEventId = Guid.Parse("a3b4c5d6-e7f8-4901-8234-56789abcdef0");

    public static readonly DateTimeOffset CheckoutTime = new DateTimeOffset(2026, 11, 21, 9, 58, 30, TimeSpan.Zero).AddTicks(1_234_567);

    public static WireMap CheckoutFrame(int index) => index switch
    {
        0 => Map(("function", "ValidateStock"), ("type", "Shop.Inventory.StockService"), ("module", "Shop"),
            ("file", "/src/Shop/Inventory/StockService.cs"), ("line", 88), ("column", 17), ("in_app", true)),
        1 => Map(("function", "Checkout"), ("type", "Shop.Cart.CartService"), ("module", "Shop"),
            ("file", "/src/Shop/Cart/CartService.cs"), ("line", 142), ("column", 9), ("in_app", true)),
        2 => Map(("function", "Invoke"), ("type", "Microsoft.AspNetCore.Routing.EndpointMiddleware"),
            ("module", "Microsoft.AspNetCore.Routing"), ("in_app", false)),
        _ => Map(("function", "PostCheckout"), ("type", "Shop.Api.CheckoutEndpoints"), ("module", "Shop"),
            ("file", "/src/Shop/Api/CheckoutEndpoints.cs"), ("line", 31), ("column", 5), ("in_app", true)),
    };

    public static WireMap CheckoutEvent() => Map(
        ("event_id", "6f1c9a0e3b7d4c2a9e510d8f2b6a4c13"),
        ("timestamp", CheckoutTime),
        ("level", "fatal"),
        ("platform", "csharp"),
        ("logger", "Shop.Cart.CartService"),
        ("release", "Shop@1.4.2+abc123"),
        ("environment", "production"),
        ("server_name", "web-01"),
        ("exceptions", Array(
            Map(("type", "System.InvalidOperationException"), ("value", "Checkout failed for bundle 'summer-kit'"),
                ("module", "System.Private.CoreLib"),
                ("frames", Array(CheckoutFrame(1), CheckoutFrame(2), CheckoutFrame(3)))),
            Map(("type", "Shop.Inventory.OutOfStockException"), ("value", "Item 4711 is out of stock\nwarehouse: north"),
                ("module", "Shop"),
                ("frames", Array(CheckoutFrame(0), CheckoutFrame(1), CheckoutFrame(2), CheckoutFrame(3)))))),
        ("request", Map(
            ("method", "POST"),
            ("url", "https://shop.example.com/api/checkout"),
            ("query_string", "bundle=summer-kit&token=[Filtered]"),
            ("headers", Map(("User-Agent", "Mozilla/5.0"), ("Authorization", "[Filtered]"), ("Accept", "application/json"))))),
        ("user", Map(("id", "u-1001"), ("username", "ada"), ("email", "ada@example.com"), ("ip_address", "203.0.113.9"))),
        ("tags", Map(("region", "eu-west"), ("bundle", "summer-kit"))),
        ("runtime", Map(("name", ".NET"), ("version", "10.0.12"))),
        ("os", Map(("name", "Linux"), ("version", "6.1.0"))));

    public static WireMap TimeoutEvent() => Map(
        ("event_id", (new byte[] { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff })),
        ("timestamp", 1_795_255_000_250L), // int: ms since 1970
        ("level", "error"),
        ("platform", "csharp"),
        ("exceptions", Array(
            Map(("type", "System.Threading.Tasks.TaskCanceledException"),
                ("value", "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing."),
                ("frames", Array(
                    Map(("function", "SendAsync"), ("type", "System.Net.Http.HttpClient"), ("module", "System.Net.Http"), ("in_app", false))))))),
        ("user", Map(("id", 42))),
        ("tags", Map(("attempt", 3), ("cached", false), ("ratio", 0.5))),
        ("sdk", Map(("name", "errorhub.worker"), ("version", "0.0.9"))));

    public static WireMap MessageEvent() => Map(
        ("event_id", "A3B4C5D6-E7F8-4901-8234-56789ABCDEF0"),
        ("timestamp", "2026-11-21T09:59:00.5+01:00"),
        ("level", "warning"),
        ("logger", "Shop.Payments"),
        ("message", "Payment provider answered 502 for order 99812"),
        ("fingerprint", Array("payments", "{{ default }}")));

    public static WireMap Batch(params WireMap[] events) => Map(
        ("v", 1),
        ("sdk", Map(("name", "errorhub.dotnet"), ("version", "0.1.0"))),
        ("events", events.Length == 0 ? Array(CheckoutEvent(), TimeoutEvent(), MessageEvent()) : events));

    public static byte[] Bytes() => Encode(Batch());

    /// <summary>A batch of one event: the checkout event changed by <paramref name="change"/>.</summary>
    public static WireMap OneEvent(Func<WireMap, WireMap> change) => Batch(change(CheckoutEvent()));

    /// <summary>
    /// <paramref name="copies"/> times the sample's three events (two issues and a message), each with a new id, and the
    /// ids: tests sharing one store, or checking that every acknowledged event arrived, do not see each other's events.
    /// </summary>
    public static (WireMap Batch, Guid[] Ids) WithFreshIds(int copies = 1)
    {
        var events = new List<object?>();
        var ids = new List<Guid>();
        for (var i = 0; i < copies; i++)
        {
            foreach (var e in new[] { CheckoutEvent(), TimeoutEvent(), MessageEvent() })
            {
                var id = Guid.NewGuid();
                ids.Add(id);
                events.Add(e.With("event_id", id.ToString("N")));
            }
        }

        return (Batch().With("events", events.ToArray()), [.. ids]);
    }
}
