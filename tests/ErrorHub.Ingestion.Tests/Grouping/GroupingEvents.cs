using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Grouping;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>Small events as decoded, for grouping tests: only what grouping reads is set.</summary>
internal static class GroupingEvents
{
    public static readonly DateTimeOffset Time = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);

    public static FrameRecord InApp(string type, string function, int? line = 10, string? file = "/src/Shop/File.cs", int? column = 5) =>
        new(function, type, "Shop", file, line, column, InApp: true);

    /// <summary>A NuGet package's frame, as decoded from the SDK's <c>in_app: true, package: true</c> (docs/protocol.md).</summary>
    public static FrameRecord FromPackage(string type, string function, string module) =>
        new(function, type, module, null, null, null, InApp: false, Package: true);

    public static FrameRecord Framework(string type, string function) =>
        new(function, type, "System.Private.CoreLib", null, null, null, InApp: false);

    public static ExceptionRecord Exception(string type, string value, params FrameRecord[] frames) => new(type, value, null, frames);

    public static IncomingEvent Event(params ExceptionRecord[] exceptions) => new()
    {
        EventId = Guid.NewGuid(),
        Timestamp = Time,
        Exceptions = exceptions,
    };

    public static IncomingEvent Message(string message, string? logger = "Shop.Payments") => new()
    {
        EventId = Guid.NewGuid(),
        Timestamp = Time,
        Message = message,
        Logger = logger,
    };

    /// <summary>A checkout crash: an exception thrown in StockService, called from CartService, under ASP.NET Core.</summary>
    public static IncomingEvent Checkout(
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

    public static string Fingerprint(IncomingEvent errorEvent, IReadOnlyList<string>? clientFingerprint = null) =>
        Grouper.Group(clientFingerprint is null ? errorEvent : errorEvent with { Fingerprint = clientFingerprint }).Fingerprint;
}
