namespace ErrorHub.Samples.Shop;

internal sealed record Product(string Sku, string Name, decimal Price, bool IsPrimary);

internal sealed record Bundle(string Slug, string Name, IReadOnlyList<Product> Items, decimal Discount);

internal sealed record PricedOrder(string Bundle, decimal Subtotal, decimal Discount, decimal Total, string HeadlineProduct);

internal sealed class Catalog
{
    public IReadOnlyList<Bundle> Bundles { get; } =
    [
        new("starter-kit", "Starter kit",
        [
            new("KB-01", "Keyboard", 49m, IsPrimary: true),
            new("MS-01", "Mouse", 19m, IsPrimary: false),
        ], Discount: 0.10m),
        // Data entry mistake in the back office: two primary products. Checking this bundle out
        // fails in PriceBundle, as such bugs do, only for the customers who pick it.
        new("holiday-bundle", "Holiday bundle",
        [
            new("TV-55", "Television 55\"", 599m, IsPrimary: true),
            new("SB-02", "Soundbar", 199m, IsPrimary: true),
            new("HD-01", "HDMI cable", 9m, IsPrimary: false),
        ], Discount: 0.15m),
    ];

    public PricedOrder PriceBundle(string slug)
    {
        var bundle = Bundles.FirstOrDefault(b => b.Slug == slug)
            ?? throw new KeyNotFoundException($"No bundle '{slug}'.");
        var subtotal = bundle.Items.Sum(i => i.Price);
        var headline = bundle.Items.Single(i => i.IsPrimary);
        var discount = Math.Round(subtotal * bundle.Discount, 2);
        return new PricedOrder(bundle.Slug, subtotal, discount, subtotal - discount, headline.Name);
    }
}

internal sealed record Profile(string DisplayName, bool Newsletter);

internal sealed class ProfileStore
{
    // Only users who finished onboarding have a profile; everyone else gets null.
    private readonly Dictionary<string, Profile> _profiles = new() { ["user-0"] = new("Zoe", Newsletter: true) };

    public Profile? Find(string userId) => _profiles.GetValueOrDefault(userId);
}

internal sealed class ShippingClient
{
    private static readonly TimeSpan ProviderTimeout = TimeSpan.FromMilliseconds(200);

    public async Task<object> GetStatusAsync(int orderId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProviderTimeout);
        try
        {
            // The shipping provider is slow today.
            await Task.Delay(TimeSpan.FromSeconds(5), timeout.Token);
            return new { orderId, status = "shipped" };
        }
        catch (OperationCanceledException inner) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Shipping provider did not answer for order {orderId} within {ProviderTimeout.TotalMilliseconds} ms.", inner);
        }
    }
}
