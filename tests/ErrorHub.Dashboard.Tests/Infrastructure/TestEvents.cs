using System.Security.Cryptography;
using System.Text;
using ErrorHub.Storage.Events;
using ErrorHub.Storage;

namespace ErrorHub.Dashboard.Tests.Infrastructure;

/// <summary>Events as ingest hands them to the store, relative to the tests' fixed clock.</summary>
internal static class TestEvents
{
    public static readonly Project Shop = new(1, "Web shop", "shop-public-key", DashboardTestContext.Now.AddDays(-30));
    public static readonly Project Worker = new(2, "Billing worker", "worker-public-key", DashboardTestContext.Now.AddDays(-2));

    public static string Fingerprint(string name) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..32];

    public static ErrorEvent Event(
        string fingerprint,
        string title,
        DateTimeOffset timestamp,
        string culprit = "Shop.Checkout.CheckoutService.PlaceOrderAsync",
        string? userId = null,
        string level = "error",
        int projectId = 1,
        Guid? eventId = null) => new()
        {
            EventId = eventId ?? Guid.NewGuid(),
            ProjectId = projectId,
            Timestamp = timestamp,
            ReceivedAt = timestamp.AddSeconds(1),
            Fingerprint = fingerprint,
            GroupingVersion = 1,
            Level = level,
            Title = title,
            Culprit = culprit,
            User = userId is null ? null : new UserRecord(userId, null, null, null),
            Exceptions =
            [
                new ExceptionRecord("System.InvalidOperationException", title, "Shop",
                [
                    new FrameRecord("PlaceOrderAsync", "Shop.Checkout.CheckoutService", "Shop", "src/Shop/Checkout/CheckoutService.cs", 42, 17, InApp: true),
                ]),
            ],
        };

    /// <summary><paramref name="count"/> events of one issue, one minute apart, the newest at <paramref name="lastSeen"/>, each from another user.</summary>
    public static IEnumerable<ErrorEvent> Events(string fingerprint, string title, DateTimeOffset lastSeen, int count, string culprit = "Shop.Jobs.Run") =>
        Enumerable.Range(0, count).Select(i => Event(fingerprint, title, lastSeen.AddMinutes(-i), culprit, userId: "u-" + i));
}
