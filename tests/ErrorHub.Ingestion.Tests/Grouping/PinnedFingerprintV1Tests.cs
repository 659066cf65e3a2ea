using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping v1. Issues are keyed by these values: if one of these tests fails,
/// a rule changed and every existing issue would silently split or merge. Either undo the change, or
/// make it grouping version 2 (docs/grouping.md) and pin the new values next to these.
/// </summary>
public sealed class PinnedFingerprintV1Tests
{
    [Fact]
    public void Version_1_is_still_numbered_1()
    {
        GroupingV1.Version.Should().Be(1);
    }

    [Fact]
    public void An_exception_with_in_app_frames()
    {
        V1(Checkout()).Should().Be("5a8de5ad5d6d2118f47fed6b951e4825");
    }

    [Fact]
    public void An_async_exception_chain_with_compiler_generated_names()
    {
        V1(AsyncChain()).Should().Be("9df9353e3962ba16e073ca3c47653de8");
    }

    [Fact]
    public void An_exception_without_in_app_frames()
    {
        var errorEvent = Event(Exception("System.Threading.Tasks.TaskCanceledException",
            "The request to https://api.example.com/orders/42 was canceled after 100 seconds.",
            Framework("System.Net.Http.HttpClient", "SendAsync")));

        V1(errorEvent).Should().Be("5f3ef94444bb7aad71fc5dd1c8cd2382");
    }

    [Fact]
    public void A_message()
    {
        V1(Message("Payment provider answered 502 for order 99812")).Should().Be("4e39cd9375b6cc658059ff267f9e9133");
    }

    [Fact]
    public void A_client_fingerprint_with_the_default()
    {
        V1(Checkout() with { Fingerprint = ["payments", "{{ default }}"] }).Should().Be("d26f70d0ad895d625047e41cc2da3dfe");
    }

    [Fact]
    public void The_components_behind_the_pinned_values_are_as_documented()
    {
        GroupingV1.DefaultComponents(Checkout()).Should().Equal(
            "type:System.InvalidOperationException",
            "frame:Shop.Inventory.StockService.ValidateStock",
            "frame:Shop.Cart.CartService.Checkout");
        GroupingV1.DefaultComponents(AsyncChain()).Should().Equal(
            "type:System.InvalidOperationException",
            "frame:Shop.Cart.CartService.CheckoutAsync",
            "frame:Shop.Cart.CartService.CheckoutAsync.<lambda>",
            "type:Shop.Data.NotFoundException",
            "frame:Shop.Data.Repository.FindAsync.Load");
        GroupingV1.DefaultComponents(Message("Payment provider answered 502 for order 99812")).Should().Equal(
            "message", "Shop.Payments", "Payment provider answered <int> for order <int>");
        Grouper.Hash(["a", "b"]).Should().Be(Convert.ToHexStringLower(
            System.Security.Cryptography.SHA256.HashData("1:a\n1:b\n"u8)).Substring(0, 32));
    }

    private static string V1(IncomingEvent errorEvent) => GroupingV1.Fingerprint(errorEvent);

    private static IncomingEvent AsyncChain() => Event(
        Exception("System.InvalidOperationException", "Checkout failed",
            InApp("Shop.Cart.CartService+<CheckoutAsync>d__4", "MoveNext"),
            InApp("Shop.Cart.CartService+<>c__DisplayClass5_0", "<CheckoutAsync>b__0")),
        Exception("Shop.Data.NotFoundException`1[[Shop.Model+Order, Shop, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null]]", "Order 7",
            InApp("Shop.Data.Repository`1", "<FindAsync>g__Load|3_0")));
}
