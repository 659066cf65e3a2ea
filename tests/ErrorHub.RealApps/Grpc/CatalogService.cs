using Grpc.Core;
using ErrorHub.RealApps.Grpc.Catalog;

namespace ErrorHub.RealApps.Grpc;

public sealed class PriceListMissingException(string message) : Exception(message);

/// <summary>
/// A gRPC service called through its HTTP/JSON routes (JSON transcoding). A SKU that starts with <c>GONE-</c> is not
/// there (the service answers NOT_FOUND, which the route answers 404); pricing a SKU that starts with <c>RETIRED-</c>
/// fails with an exception the service does not handle.
/// </summary>
public sealed class CatalogService : Catalog.Catalog.CatalogBase
{
    public override Task<Product> GetProduct(GetProductRequest request, ServerCallContext context) =>
        request.Sku.StartsWith("GONE-", StringComparison.Ordinal)
            ? throw new RpcException(new Status(StatusCode.NotFound, $"Product {request.Sku} is not in the catalog"))
            : Task.FromResult(new Product { Sku = request.Sku, Name = "Desk lamp", Price = 39.5 });

    public override Task<Product> PriceProduct(PriceProductRequest request, ServerCallContext context)
    {
        if (request.Sku.StartsWith("RETIRED-", StringComparison.Ordinal))
        {
            throw new PriceListMissingException($"No price list has product {request.Sku}");
        }

        return Task.FromResult(new Product { Sku = request.Sku, Name = "Desk lamp", Price = 39.5 * request.Quantity });
    }
}
