using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Shop;

/// <summary>
/// Failures an app meets in the framework, each its own method of the app's code. The methods are not inlined into the loop that calls
/// them: what is measured is which of the framework's frames are left, and the app's frame that grouping keys each failure by must stay put.
/// </summary>
internal static class Failures
{
    public static readonly (string Name, Func<Task> Run)[] All =
    [
        ("http-context-after-response", Sync(Requests.LogAfterResponse)),
        ("disposed-service-provider", Sync(Cart.ResolveFromDisposedProvider)),
        ("disposed-cancellation-source", Sync(Checkout.TokenOfDisposedSource)),
        ("disposed-stream", Sync(Export.WriteToDisposedStream)),
        ("disposed-db-context", Sync(Orders.FindInDisposedContext)),
        ("ef-already-tracked", Sync(() => Orders.Handle(alreadyTracked: true))),
        ("linq-first-empty", Sync(() => Orders.Handle(alreadyTracked: false))),
        ("linq-single-many", Sync(Catalog.SingleBySku)),
        ("dictionary-key-missing", Sync(Catalog.PriceOf)),
        ("int-parse", Sync(Import.ParseQuantity)),
        ("json-deserialize", Sync(Import.ReadOrder)),
        ("list-modified-while-enumerated", Sync(Cart.RemoveExpired)),
        ("http-client-refused", Shipping.QuoteAsync),
        ("task-when-all", Inventory.ReserveAllAsync),
        ("enum-parse", Sync(Import.ParseColor)),
    ];

    private static Func<Task> Sync(Action action) => () =>
    {
        action();
        return Task.CompletedTask;
    };
}

internal sealed class Order
{
    public int Id { get; set; }

    public string Sku { get; set; } = "";
}

internal sealed class ShopDb(DbContextOptions<ShopDb> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    public static ShopDb Open() => new(new DbContextOptionsBuilder<ShopDb>().UseInMemoryDatabase("shop").Options);
}

internal static class Requests
{
    /// <summary>An <c>async void</c> handler's continuation reads the request's context after the response ended and the context was returned.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void LogAfterResponse()
    {
        var context = new DefaultHttpContext();
        context.Uninitialize();
        Console.Out.Write(context.Response.HasStarted ? "" : "");
    }
}

internal static class Cart
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ResolveFromDisposedProvider()
    {
        var services = new ServiceCollection().AddSingleton<List<Order>>().BuildServiceProvider();
        services.Dispose();
        services.GetRequiredService<List<Order>>();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void RemoveExpired()
    {
        var lines = new List<Order> { new() { Id = 1 }, new() { Id = 2 } };
        foreach (var line in lines)
        {
            lines.Remove(line);
        }
    }
}

internal static class Checkout
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void TokenOfDisposedSource()
    {
        var timeout = new CancellationTokenSource();
        timeout.Dispose();
        _ = timeout.Token;
    }
}

internal static class Export
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WriteToDisposedStream()
    {
        var stream = new MemoryStream();
        stream.Dispose();
        stream.Write("order"u8);
    }
}

internal static class Orders
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FindInDisposedContext()
    {
        var db = ShopDb.Open();
        db.Dispose();
        db.Orders.Find(7);
    }

    /// <summary>The look-alikes: two InvalidOperationExceptions in one method, one thrown inside EF Core, one by LINQ.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Handle(bool alreadyTracked)
    {
        using var db = ShopDb.Open();
        if (alreadyTracked)
        {
            db.Orders.Attach(new Order { Id = 7 });
            db.Orders.Attach(new Order { Id = 7 });
        }
        else
        {
            _ = db.Orders.Local.First(o => o.Id == 8);
        }
    }
}

internal static class Catalog
{
    private static readonly Dictionary<string, decimal> Prices = new() { ["starter-kit"] = 19.90m };
    private static readonly List<Order> Items = [new() { Sku = "kit" }, new() { Sku = "kit" }];

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void PriceOf() => _ = Prices["summer-kit"];

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SingleBySku() => _ = Items.Single(i => i.Sku == "kit");
}

internal enum Color
{
    Red,
    Blue,
}

internal static class Import
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ParseQuantity() => _ = int.Parse("12 pcs", System.Globalization.CultureInfo.InvariantCulture);

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ReadOrder() => _ = JsonSerializer.Deserialize<Order>("""{"Id": "seven"}""");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ParseColor() => _ = Enum.Parse<Color>("purple");
}

internal static class Shipping
{
    private static readonly HttpClient Client = new();
    private static readonly Uri Refused = RefusedAddress();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task QuoteAsync() => await Client.GetStringAsync(Refused);

    /// <summary>A loopback port nothing listens on: one taken and given back.</summary>
    private static Uri RefusedAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/quote");
    }
}

internal static class Inventory
{
    private static readonly Dictionary<string, int> Stock = new() { ["kit"] = 3 };

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task ReserveAllAsync() =>
        await Task.WhenAll(Task.Run(() => Stock["kit"]), Task.Run(() => Stock["bundle"]), Task.Run(() => Stock["gift"]));
}
