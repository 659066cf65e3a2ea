using System.Text;
using Grpc.Core;

namespace ErrorHub.RealApps.Grpc;

/// <summary>
/// A gRPC service as protoc's generated base class binds one, without the code generator: two unary methods whose
/// messages are UTF-8 strings. The test's client calls the same <see cref="Method{TRequest,TResponse}"/>s.
/// </summary>
public static class Inventory
{
    private static readonly Marshaller<string> Text = Marshallers.Create(Encoding.UTF8.GetBytes, Encoding.UTF8.GetString);

    /// <summary>Reserves stock; answers NOT_FOUND for an unknown SKU (the app's chosen status: handled).</summary>
    public static readonly Method<string, string> Reserve = new(MethodType.Unary, "inventory.Inventory", "Reserve", Text, Text);

    /// <summary>Counts stock; fails with an exception the service does not handle.</summary>
    public static readonly Method<string, string> Count = new(MethodType.Unary, "inventory.Inventory", "Count", Text, Text);

    [BindServiceMethod(typeof(Inventory), nameof(BindService))]
    public class InventoryBase
    {
        public virtual Task<string> Reserve(string sku, ServerCallContext context) => throw new RpcException(new Status(StatusCode.Unimplemented, ""));

        public virtual Task<string> Count(string sku, ServerCallContext context) => throw new RpcException(new Status(StatusCode.Unimplemented, ""));
    }

    public static void BindService(ServiceBinderBase binder, InventoryBase service)
    {
        binder.AddMethod(Reserve, service == null ? null : new UnaryServerMethod<string, string>(service.Reserve));
        binder.AddMethod(Count, service == null ? null : new UnaryServerMethod<string, string>(service.Count));
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
}
