using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 2, which stays computable: version 3's events carry them as
/// legacy fingerprints where the two versions differ, so the issues version 2 made keep their events.
/// If one of these tests fails, version 2's rules changed and its issues would silently split or merge.
/// Version 3's values are pinned in <see cref="PinnedFingerprintV3Tests"/> (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintTests
{
    [Fact]
    public void Version_2_rules_are_kept_beside_the_current_ones()
    {
        GroupingRules.V2.Version.Should().Be(2);
        GroupingRules.V2.Previous.Should().BeNull("version 1 is frozen apart, in GroupingV1");
    }

    [Fact]
    public void An_exception_thrown_by_a_framework_guard_called_from_the_app()
    {
        Fingerprint(Checkout()).Should().Be("96e132e3b9a12d8780d5b681d3563597");
    }

    [Fact]
    public void A_database_failure_wrapped_by_EF_Core()
    {
        Fingerprint(ForeignKey()).Should().Be("cf7949df65820d96201d9866b997ffb3");
    }

    [Fact]
    public void An_exception_thrown_in_the_apps_own_code_with_compiler_generated_names()
    {
        Fingerprint(AsyncChain()).Should().Be("91cf2dfddc07a99647be7a4cccfe215e");
    }

    [Fact]
    public void An_exception_without_frames()
    {
        var errorEvent = Event(Exception("System.Threading.Tasks.TaskCanceledException",
            "The request to https://api.example.com/orders/42 was canceled after 100 seconds."));

        Fingerprint(errorEvent).Should().Be("4c9e3ba38f4bffdb0b63b4ce3fc8e91d");
    }

    [Fact]
    public void A_message()
    {
        Fingerprint(Message("Payment provider answered 502 for order 99812")).Should().Be("5882651803f389f8edb8f0c045d56031");
    }

    [Fact]
    public void A_client_fingerprint_with_the_default()
    {
        Fingerprint(Checkout(), ["payments", "{{ default }}"]).Should().Be("d6ad15f522b299f0a7e19b5c31ff79a7");
    }

    [Fact]
    public void The_components_behind_the_pinned_values_are_as_documented()
    {
        Counted(Checkout()).Should().Equal("type:InvalidOperationException", "app:Shop.Inventory.StockService.ValidateStock");
        Counted(ForeignKey()).Should().Equal("type:SqliteException", "throw:SqliteDataReader", "app:Shop.Orders.OrderService.PlaceAsync");
        Counted(AsyncChain()).Should().Equal("type:Shop.Data.NotFoundException", "app:Shop.Data.Repository.FindAsync.Load");
        Counted(Message("Payment provider answered 502 for order 99812")).Should().Equal(
            "logger:Shop.Payments", "message:Payment provider answered <int> for order <int>");
        Counted(Checkout() with { Fingerprint = ["payments", "{{ default }}"] }).Should().Equal(
            "client:payments", "type:InvalidOperationException", "app:Shop.Inventory.StockService.ValidateStock");
    }

    private static List<string> Counted(IncomingEvent errorEvent) => Grouper.Counted(Grouper.Group(errorEvent, GroupingRules.V2).Components);

    private static string Fingerprint(IncomingEvent errorEvent, IReadOnlyList<string>? clientFingerprint = null) =>
        Grouper.Group(clientFingerprint is null ? errorEvent : errorEvent with { Fingerprint = clientFingerprint }, GroupingRules.V2).Fingerprint;

    private static IncomingEvent ForeignKey() => Event(
        Exception("Microsoft.EntityFrameworkCore.DbUpdateException", "An error occurred while saving the entity changes. See the inner exception for details.",
            Framework("Microsoft.EntityFrameworkCore.Update.ReaderModificationCommandBatch", "ExecuteAsync"),
            Framework("Microsoft.EntityFrameworkCore.DbContext", "SaveChangesAsync"),
            InApp("Shop.Orders.OrderService+<PlaceAsync>d__7", "MoveNext")),
        Exception("Microsoft.Data.Sqlite.SqliteException", "SQLite Error 19: 'FOREIGN KEY constraint failed'.",
            Framework("Microsoft.Data.Sqlite.SqliteException", "ThrowExceptionForRC"),
            Framework("Microsoft.Data.Sqlite.SqliteDataReader", "NextResult"),
            Framework("Microsoft.Data.Sqlite.SqliteCommand", "ExecuteReaderAsync"),
            Framework("Microsoft.EntityFrameworkCore.Storage.RelationalCommand", "ExecuteReaderAsync"),
            Framework("Microsoft.EntityFrameworkCore.Update.ReaderModificationCommandBatch", "ExecuteAsync")));

    private static IncomingEvent AsyncChain() => Event(
        Exception("System.InvalidOperationException", "Checkout failed",
            InApp("Shop.Cart.CartService+<CheckoutAsync>d__4", "MoveNext"),
            InApp("Shop.Cart.CartService+<>c__DisplayClass5_0", "<CheckoutAsync>b__0")),
        Exception("Shop.Data.NotFoundException`1[[Shop.Model+Order, Shop, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null]]", "Order 7",
            InApp("Shop.Data.Repository`1", "<FindAsync>g__Load|3_0")));
}
