using System.Text;
using Grpc.Core;

namespace ErrorHub.RealApps.Grpc;

/// <summary>
/// A gRPC service as protoc's generated base class binds one, without the code generator: unary and streaming methods
/// whose messages are UTF-8 strings. The test's client calls the same <see cref="Method{TRequest,TResponse}"/>s.
/// </summary>
public static class Inventory
{
    private const string Service = "inventory.Inventory";

    private static readonly Marshaller<string> Text = Marshallers.Create(Encoding.UTF8.GetBytes, Encoding.UTF8.GetString);

    /// <summary>Reserves stock; answers NOT_FOUND for an unknown SKU (the app's chosen status: handled).</summary>
    public static readonly Method<string, string> Reserve = new(MethodType.Unary, Service, "Reserve", Text, Text);

    /// <summary>Counts stock; fails with an exception the service does not handle.</summary>
    public static readonly Method<string, string> Count = new(MethodType.Unary, Service, "Count", Text, Text);

    /// <summary>Server streaming: a SKU's stock levels, one message per change.</summary>
    public static readonly Method<string, string> Watch = new(MethodType.ServerStreaming, Service, "Watch", Text, Text);

    /// <summary>Client streaming: deliveries of SKUs, answered with how many were booked.</summary>
    public static readonly Method<string, string> Restock = new(MethodType.ClientStreaming, Service, "Restock", Text, Text);

    /// <summary>Bidirectional: each SKU sent is answered with its shelf.</summary>
    public static readonly Method<string, string> Locate = new(MethodType.DuplexStreaming, Service, "Locate", Text, Text);

    [BindServiceMethod(typeof(Inventory), nameof(BindService))]
    public class InventoryBase
    {
        public virtual Task<string> Reserve(string sku, ServerCallContext context) => throw new RpcException(new Status(StatusCode.Unimplemented, ""));

        public virtual Task<string> Count(string sku, ServerCallContext context) => throw new RpcException(new Status(StatusCode.Unimplemented, ""));

        public virtual Task Watch(string sku, IServerStreamWriter<string> levels, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.Unimplemented, ""));

        public virtual Task<string> Restock(IAsyncStreamReader<string> deliveries, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.Unimplemented, ""));

        public virtual Task Locate(IAsyncStreamReader<string> skus, IServerStreamWriter<string> shelves, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.Unimplemented, ""));
    }

    public static void BindService(ServiceBinderBase binder, InventoryBase service)
    {
        binder.AddMethod(Reserve, service == null ? null : new UnaryServerMethod<string, string>(service.Reserve));
        binder.AddMethod(Count, service == null ? null : new UnaryServerMethod<string, string>(service.Count));
        binder.AddMethod(Watch, service == null ? null : new ServerStreamingServerMethod<string, string>(service.Watch));
        binder.AddMethod(Restock, service == null ? null : new ClientStreamingServerMethod<string, string>(service.Restock));
        binder.AddMethod(Locate, service == null ? null : new DuplexStreamingServerMethod<string, string>(service.Locate));
    }
}

public sealed class InventoryService : Inventory.InventoryBase
{
    public override Task<string> Reserve(string sku, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.NotFound, $"SKU {sku} does not exist"));

    public override async Task<string> Count(string sku, ServerCallContext context)
    {
        await Task.Yield();
        throw new InvalidDataException($"Stock ledger for {sku} is unreadable");
    }

    /// <summary>
    /// "closed-*" fails before the first message, "gone-*" after one; "live-*" streams until the caller
    /// cancels (which is the caller's choice, never an error); "retired-*" ends the stream with a status the app chose (NOT_FOUND).
    /// </summary>
    public override async Task Watch(string sku, IServerStreamWriter<string> levels, ServerCallContext context)
    {
        if (sku.StartsWith("closed-", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Warehouse of {sku} is closed");
        }

        if (sku.StartsWith("retired-", StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"SKU {sku} is retired"));
        }

        await levels.WriteAsync($"{sku}: 12", context.CancellationToken);
        if (sku.StartsWith("gone-", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Stock feed of {sku} broke off");
        }

        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), context.CancellationToken);
            await levels.WriteAsync($"{sku}: 12", context.CancellationToken);
        }
    }

    /// <summary>Counts deliveries until one names "lost-*", which it cannot book (after the first message).</summary>
    public override async Task<string> Restock(IAsyncStreamReader<string> deliveries, ServerCallContext context)
    {
        var booked = 0;
        await foreach (var sku in deliveries.ReadAllAsync(context.CancellationToken))
        {
            if (sku.StartsWith("lost-", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Delivery {sku} has no purchase order");
            }

            booked++;
        }

        return $"{booked} booked";
    }

    /// <summary>Answers each SKU with a shelf; the floor plan fails on "attic-*" (before or after answers were sent).</summary>
    public override async Task Locate(IAsyncStreamReader<string> skus, IServerStreamWriter<string> shelves, ServerCallContext context)
    {
        await foreach (var sku in skus.ReadAllAsync(context.CancellationToken))
        {
            if (sku.StartsWith("attic-", StringComparison.Ordinal))
            {
                throw new KeyNotFoundException($"Floor plan has no shelf for {sku}");
            }

            await shelves.WriteAsync($"{sku}: aisle 4", context.CancellationToken);
        }
    }
}
