using System.Text.Json.Serialization;
using ErrorHub;

namespace ErrorHub.Benchmarks;

/// <summary>An event shaped like the ones a web shop reports: two exceptions, 20 frames, headers, a user.</summary>
internal static partial class RealisticEvent
{
    public static ErrorHubEvent Create()
    {
        var e = new ErrorHubEvent
        {
            Level = ErrorHubLevel.Error,
            Release = "Shop@1.4.2+8c1f0e2",
            Environment = "production",
            ServerName = "shop-web-02",
            Runtime = new NameAndVersion(".NET", "10.0.12"),
            OperatingSystem = new NameAndVersion("Linux", "6.1.0"),
            User = new UserInfo { Id = "user-48213", Username = "alice", Email = "alice@shop.example" },
            Request = new RequestInfo { Method = "POST", Url = "https://shop.example/checkout/bundles/holiday-bundle", QueryString = "coupon=XMAS&currency=EUR" },
        };
        string[] headers = ["Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Length", "Content-Type", "Host", "Origin", "Referer", "User-Agent", "X-Request-Id", "Traceparent"];
        foreach (var header in headers)
        {
            e.Request.Headers[header] = header == "User-Agent" ? "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36" : $"value-of-{header.ToLowerInvariant()}";
        }

        e.Tags["http.method"] = "POST";
        e.Tags["endpoint"] = "HTTP: POST /checkout/bundles/{slug}";
        e.Tags["region"] = "eu-west";

        var outer = new ExceptionEntry { Type = "System.InvalidOperationException", Value = "Sequence contains more than one matching element", Module = "System.Linq" };
        var inner = new ExceptionEntry { Type = "System.Collections.Generic.KeyNotFoundException", Value = "The given key 'holiday-bundle' was not present in the dictionary.", Module = "System.Private.CoreLib" };
        for (var i = 0; i < 12; i++)
        {
            outer.Frames.Add(Frame(i));
        }

        for (var i = 0; i < 8; i++)
        {
            inner.Frames.Add(Frame(i + 100));
        }

        e.Exceptions.Add(outer);
        e.Exceptions.Add(inner);
        return e;
    }

    private static StackFrameEntry Frame(int i) => i % 3 == 0
        ? new StackFrameEntry { Function = "MoveNext", Type = "Microsoft.AspNetCore.Routing.EndpointMiddleware", Module = "Microsoft.AspNetCore.Routing", InApp = false }
        : new StackFrameEntry { Function = $"PlaceOrder{i}Async", Type = "Shop.Checkout.CheckoutService", Module = "Shop", File = "/src/Shop/Checkout/CheckoutService.cs", Line = 40 + i, Column = 17, InApp = true };

    [JsonSerializable(typeof(ErrorHubEvent))]
    internal sealed partial class JsonContext : JsonSerializerContext;
}
