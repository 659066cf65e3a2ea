using System.Runtime.CompilerServices;

namespace Microsoft.Contoso.Storefront;

/// <summary>
/// The app's own code under a Microsoft namespace that is no Microsoft product, as eShopOnContainers' (Microsoft.eShopOnContainers)
/// and Git Credential Manager's (Microsoft.Alm) are: before grouping version 8 neither the SDK nor ingest took it for the app's.
/// </summary>
internal static class CatalogService
{
    private static readonly Dictionary<string, decimal> Prices = new(StringComparer.Ordinal) { ["spring-kit"] = 12m };

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static decimal PriceOf(string sku) => Prices[sku];
}

internal static class BasketService
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static decimal Total(string sku) => CatalogService.PriceOf(sku) * 2;
}
