using ErrorHub.Storage.Events;
using ErrorHub.Storage;
using ErrorHub.Testing.Events;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.SystemTests.Browser;

/// <summary>
/// What the dashboard under test shows: a web shop with enough issues for two pages, one issue with
/// every detail filled in, and an empty project. Times are relative to the moment of seeding.
/// </summary>
internal sealed class DashboardSeed
{
    public const int PageSize = 25;

    public const string AdminEmail = "admin@example.com";
    public const string AdminPassword = "admin password 123";
    public const string MemberEmail = "dev@example.com";
    public const string MemberPassword = "member password 123";

    public static readonly Project Shop = new(1, "Web shop", "shop-public-key", DateTimeOffset.UtcNow.AddDays(-30));
    public static readonly Project Worker = new(2, "Billing worker", "worker-public-key", DateTimeOffset.UtcNow.AddDays(-2));

    /// <summary>The most recently seen issue: first in the default order, with a full event.</summary>
    public static readonly string CheckoutFingerprint = Fingerprint("checkout-bundle");
    public const string CheckoutTitle = "InvalidOperationException: Bundle 'summer-kit' cannot be checked out";
    public const string CheckoutExceptionType = "System.InvalidOperationException";
    public const string CheckoutInAppFrame = "Shop.Checkout.CheckoutService.PlaceOrderAsync";
    public const string CheckoutInAppFrameLocation = "src/Shop/Checkout/CheckoutService.cs:42";
    public const string CheckoutFrameworkFrame = "Microsoft.AspNetCore.Routing.EndpointMiddleware.Invoke";
    public const string CheckoutRequestUrl = "https://shop.example/checkout/bundles/summer-kit";
    public const string LatestUserEmail = "alice@example.com";
    public const string OlderUserEmail = "bob@example.com";

    /// <summary>The issue with the most events, seen hours ago: first only when sorted by events.</summary>
    public static readonly string ProfileFingerprint = Fingerprint("null-profile");
    public const string ProfileTitle = "NullReferenceException: Object reference not set to an instance of an object.";
    public const int ProfileEventCount = 40;

    public const int FillerIssueCount = 30;
    public const int ShopIssueCount = FillerIssueCount + 2;

    public Guid LatestCheckoutEventId { get; } = Guid.NewGuid();
    public Guid OlderCheckoutEventId { get; } = Guid.NewGuid();

    /// <summary>Writes the seed through the store a host registered (<c>AddErrorHubStore</c>).</summary>
    public async Task WriteAsync(IServiceProvider store, CancellationToken cancellationToken = default)
    {
        await store.GetRequiredService<IStoreSchema>().EnsureSchemaAsync(cancellationToken);
        var projects = store.GetRequiredService<IProjectStore>();
        await projects.UpsertProjectAsync(Shop, cancellationToken);
        await projects.UpsertProjectAsync(Worker, cancellationToken);

        // A member of the worker project only (the admin comes from the dashboard's configuration).
        var access = store.GetRequiredService<IAccessStore>();
        var member = new UserAccount(Guid.NewGuid(), MemberEmail, "Dana Developer", "", UserRole.Member, Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow);
        await access.CreateUserAsync(member with { PasswordHash = new PasswordHasher<UserAccount>().HashPassword(member, MemberPassword) }, cancellationToken);
        await access.AddMemberAsync(Worker.Id, member.Id, cancellationToken);
        await store.GetRequiredService<IEventWriter>().InsertEventsAsync(Events(DateTimeOffset.UtcNow), cancellationToken);
    }

    private List<ErrorEvent> Events(DateTimeOffset now)
    {
        var events = new List<ErrorEvent>
        {
            CheckoutEvent(LatestCheckoutEventId, now.AddMinutes(-2), LatestUserEmail, "u-1001"),
            CheckoutEvent(OlderCheckoutEventId, now.AddMinutes(-50), OlderUserEmail, "u-1002"),
            CheckoutEvent(Guid.NewGuid(), now.AddHours(-5), OlderUserEmail, "u-1002"),
        };

        for (var i = 0; i < ProfileEventCount; i++)
        {
            events.Add(SimpleEvent(
                ProfileFingerprint,
                ProfileTitle,
                "Shop.Accounts.ProfilePage.OnGetAsync",
                "System.NullReferenceException",
                "Object reference not set to an instance of an object.",
                now.AddHours(-3).AddMinutes(-i * 7),
                userId: "u-" + (2000 + (i % 9))));
        }

        // Fillers: one or two events each, spread over the last days, never newer than the checkout issue.
        for (var i = 0; i < FillerIssueCount; i++)
        {
            var fingerprint = Fingerprint("timeout-" + i);
            var title = $"TimeoutException: The operation 'sync-{i:00}' timed out after 30 seconds";
            var lastSeen = now.AddMinutes(-10 - (i * 97));
            for (var n = 0; n <= i % 2; n++)
            {
                events.Add(SimpleEvent(
                    fingerprint,
                    title,
                    "Shop.Inventory.SyncJob.RunAsync",
                    "System.TimeoutException",
                    $"The operation 'sync-{i:00}' timed out after 30 seconds",
                    lastSeen.AddMinutes(-n * 30),
                    userId: null));
            }
        }

        return events;
    }

    private static ErrorEvent CheckoutEvent(Guid eventId, DateTimeOffset timestamp, string email, string userId) => new()
    {
        EventId = eventId,
        ProjectId = Shop.Id,
        Timestamp = timestamp,
        ReceivedAt = timestamp.AddSeconds(1),
        Fingerprint = CheckoutFingerprint,
        GroupingVersion = 1,
        Level = "error",
        Title = CheckoutTitle,
        Culprit = CheckoutInAppFrame,
        Message = null,
        Logger = "Shop.Checkout",
        Platform = "dotnet",
        Release = "shop@2.4.1",
        Environment = "production",
        ServerName = "shop-web-02",
        Exceptions =
        [
            new ExceptionRecord(
                CheckoutExceptionType,
                "Bundle 'summer-kit' cannot be checked out",
                "Shop",
                [
                    new FrameRecord("PlaceOrderAsync", "Shop.Checkout.CheckoutService", "Shop", "src/Shop/Checkout/CheckoutService.cs", 42, 17, InApp: true),
                    new FrameRecord("MoveNext", "System.Runtime.CompilerServices.AsyncMethodBuilderCore", "System.Private.CoreLib", null, null, null, InApp: false),
                    new FrameRecord("Invoke", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Microsoft.AspNetCore.Routing", null, null, null, InApp: false),
                    new FrameRecord("Post", "Shop.Checkout.CheckoutController", "Shop", "src/Shop/Checkout/CheckoutController.cs", 31, 9, InApp: true),
                ]),
            new ExceptionRecord(
                "System.Collections.Generic.KeyNotFoundException",
                "The given key 'summer-kit' was not present in the dictionary.",
                "System.Private.CoreLib",
                [
                    new FrameRecord("get_Item", "System.Collections.Generic.Dictionary`2", "System.Private.CoreLib", null, null, null, InApp: false),
                    new FrameRecord("PriceOf", "Shop.Catalog.BundlePrices", "Shop", "src/Shop/Catalog/BundlePrices.cs", 18, 13, InApp: true),
                ]),
        ],
        Request = new RequestRecord(
            "POST",
            CheckoutRequestUrl,
            "coupon=SUMMER&currency=EUR",
            new Dictionary<string, string>
            {
                ["Accept"] = "text/html",
                ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64)",
                ["Referer"] = "https://shop.example/cart",
            }),
        User = new UserRecord(userId, email[..email.IndexOf('@', StringComparison.Ordinal)], email, "203.0.113.24"),
        Tags = new Dictionary<string, string> { ["region"] = "eu-west", ["feature"] = "bundles" },
        Runtime = new NameVersion(".NET", "10.0.12"),
        Os = new NameVersion("Linux", "6.1.0"),
        Sdk = new NameVersion("ErrorHub.AspNetCore", "0.1.0"),
    };

    private static ErrorEvent SimpleEvent(
        string fingerprint, string title, string culprit, string type, string message, DateTimeOffset timestamp, string? userId) =>
        TestEvents.Create(Shop.Id, fingerprint, timestamp, userId is null ? null : TestEvents.User(userId), title, culprit, type: type, message: message);

    private static string Fingerprint(string name) => TestEvents.Fingerprint(name);
}
