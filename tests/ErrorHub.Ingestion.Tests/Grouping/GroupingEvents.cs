using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Grouping;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>Small events for grouping tests: only what grouping reads is set.</summary>
internal static class GroupingEvents
{
    public static readonly DateTimeOffset Time = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);

    public static FrameRecord InApp(string type, string function, int? line = 10, string? file = "/src/Shop/File.cs", int? column = 5) =>
        new(function, type, "Shop", file, line, column, InApp: true);

    public static FrameRecord Framework(string type, string function) =>
        new(function, type, "System.Private.CoreLib", null, null, null, InApp: false);

    public static ExceptionRecord Exception(string type, string value, params FrameRecord[] frames) => new(type, value, null, frames);

    public static ErrorEvent Event(params ExceptionRecord[] exceptions) => new()
    {
        EventId = Guid.NewGuid(),
        ProjectId = 1,
        Timestamp = Time,
        ReceivedAt = Time,
        Fingerprint = "",
        GroupingVersion = 0,
        Title = "",
        Exceptions = exceptions,
    };

    public static ErrorEvent Message(string message, string? logger = "Shop.Payments") => new()
    {
        EventId = Guid.NewGuid(),
        ProjectId = 1,
        Timestamp = Time,
        ReceivedAt = Time,
        Fingerprint = "",
        GroupingVersion = 0,
        Title = "",
        Message = message,
        Logger = logger,
    };

    /// <summary>A checkout crash: an exception thrown in StockService, called from CartService, under ASP.NET Core.</summary>
    public static ErrorEvent Checkout(
        string type = "System.InvalidOperationException",
        string message = "Sequence contains no elements",
        int line = 88,
        string file = "/src/Shop/Inventory/StockService.cs") => Event(
        Exception(type, message,
            Framework("System.Linq.ThrowHelper", "ThrowNoElementsException"),
            Framework("System.Linq.Enumerable", "First"),
            InApp("Shop.Inventory.StockService", "ValidateStock", line, file, 17),
            InApp("Shop.Cart.CartService", "Checkout", line + 54, "/src/Shop/Cart/CartService.cs", 9),
            Framework("Microsoft.AspNetCore.Routing.EndpointMiddleware", "Invoke")));

    public static string Fingerprint(ErrorEvent errorEvent, IReadOnlyList<string>? clientFingerprint = null) =>
        Grouper.Group(errorEvent, clientFingerprint).Fingerprint;
}
