using System.Runtime.CompilerServices;

namespace Microsoft.Contoso.Catalog;

/// <summary>An app whose own code lives under a Microsoft namespace that is no Microsoft product (as eShopOnContainers' does).</summary>
internal static class CatalogService
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static decimal Load(string sku) => PriceList.Find(sku);
}

internal static class PriceList
{
    private static readonly Dictionary<string, decimal> Prices = new(StringComparer.Ordinal) { ["spring-kit"] = 12m };

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static decimal Find(string sku) => Prices[sku];
}
