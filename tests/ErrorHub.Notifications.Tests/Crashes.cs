using ErrorHub.Storage.Events;

namespace ErrorHub.Notifications.Tests;

/// <summary>Crashes as the sample shop makes them: a user at checkout, with a URL and a browser.</summary>
internal static class Crashes
{
    public const string Firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0";

    public static ErrorEvent Checkout(int projectId, DateTimeOffset at, string fingerprint = "fp-checkout", string? release = "shop@2.4.1", string environment = "production", string level = "error", string userId = "joe") => new()
    {
        EventId = Guid.NewGuid(),
        ProjectId = projectId,
        Timestamp = at,
        ReceivedAt = at,
        Fingerprint = fingerprint,
        GroupingVersion = 1,
        Level = level,
        Title = "NullReferenceException: Object reference not set to an instance of an object.",
        Culprit = "Shop.Checkout.CheckoutService.Complete",
        Release = release,
        Environment = environment,
        ServerName = "web-1",
        User = new UserRecord(userId, userId == "joe" ? "Joe Smith" : userId, userId == "joe" ? "joe.smith@example.com" : null, "203.0.113.7"),
        Request = new RequestRecord("POST", "https://shop.example.com/checkout?bundle=team", "bundle=team", new Dictionary<string, string> { ["User-Agent"] = Firefox }),
        Tags = new Dictionary<string, string> { ["browser"] = "Firefox 120", ["client_os"] = "Windows 10" }, // as the SDK reads Firefox
        Exceptions =
        [
            new ExceptionRecord(
                "System.NullReferenceException",
                "Object reference not set to an instance of an object.",
                "Shop",
                [
                    new FrameRecord("Complete", "Shop.Checkout.CheckoutService", "Shop", "CheckoutService.cs", 42, 13, InApp: true),
                    new FrameRecord("Post", "Shop.Checkout.CheckoutEndpoint", "Shop", "CheckoutEndpoint.cs", 17, 9, InApp: true),
                    new FrameRecord("InvokeAsync", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Microsoft.AspNetCore.Routing", null, null, null, InApp: false),
                ]),
        ],
    };
}
