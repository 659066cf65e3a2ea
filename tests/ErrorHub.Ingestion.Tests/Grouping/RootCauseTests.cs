using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>Version 2 groups by the root cause: the innermost exception, whatever it came wrapped in.</summary>
public sealed class RootCauseTests
{
    private static ExceptionRecord ForeignKey(string method = "PlaceAsync") => Exception(
        "Microsoft.Data.Sqlite.SqliteException", "SQLite Error 19: 'FOREIGN KEY constraint failed'.",
        Framework("Microsoft.Data.Sqlite.SqliteException", "ThrowExceptionForRC"),
        Framework("Microsoft.Data.Sqlite.SqliteDataReader", "NextResult"),
        Framework("Microsoft.EntityFrameworkCore.Update.ReaderModificationCommandBatch", "ExecuteAsync"),
        Framework("Microsoft.EntityFrameworkCore.DbContext", "SaveChangesAsync"),
        InApp("Shop.Orders.OrderService", method));

    private static ExceptionRecord DbUpdate(string method = "PlaceAsync") => Exception(
        "Microsoft.EntityFrameworkCore.DbUpdateException", "An error occurred while saving the entity changes. See the inner exception for details.",
        Framework("Microsoft.EntityFrameworkCore.Update.ReaderModificationCommandBatch", "ExecuteAsync"),
        Framework("Microsoft.EntityFrameworkCore.DbContext", "SaveChangesAsync"),
        InApp("Shop.Orders.OrderService", method),
        InApp("Shop.Api.OrdersController", "Post"));

    [Fact]
    public void The_same_failure_thrown_directly_or_inside_wrappers_is_one_issue()
    {
        var direct = Fingerprint(Event(ForeignKey()));

        Fingerprint(Event(DbUpdate(), ForeignKey())).Should().Be(direct, "DbUpdateException only says 'see the inner exception'");
        Fingerprint(Event(
            Exception("System.Reflection.TargetInvocationException", "Exception has been thrown by the target of an invocation.",
                Framework("System.RuntimeMethodHandle", "InvokeMethod"), InApp("Shop.Jobs.JobRunner", "Run")),
            DbUpdate(), ForeignKey())).Should().Be(direct, "nor does reflection's wrapper");
        Fingerprint(Event(
            Exception("Shop.Orders.OrderFailedException", "Order 4711 could not be placed", InApp("Shop.Orders.OrderService", "PlaceAsync")),
            ForeignKey())).Should().Be(direct, "nor does the app's own wrapper");
    }

    [Fact]
    public void The_wrappers_are_shown_but_not_counted()
    {
        var components = Grouper.Group(Event(DbUpdate(), ForeignKey())).Components;

        components.Should().Contain(new GroupingComponent(GroupingComponent.Wrapper, "DbUpdateException", Counts: false));
        components.Where(c => c.Counts).Should().Equal(
            new GroupingComponent(GroupingComponent.Type, "SqliteException"),
            new GroupingComponent(GroupingComponent.ThrowSite, "SqliteDataReader"),
            new GroupingComponent(GroupingComponent.AppFrame, "Shop.Orders.OrderService.PlaceAsync"));
    }

    [Fact]
    public void Different_failures_in_the_same_wrapper_are_different_issues()
    {
        // EF's retry strategy wraps whatever failed in one InvalidOperationException: "likely due to a transient failure".
        static IncomingEvent Retried(ExceptionRecord inner) => Event(
            Exception("System.InvalidOperationException", "An exception has been raised that is likely due to a transient failure.",
                Framework("Microsoft.EntityFrameworkCore.Storage.ExecutionStrategy", "ExecuteImplementationAsync"),
                InApp("Shop.Orders.OrderService", "ListAsync")),
            inner);

        var timeout = Retried(Exception("System.TimeoutException", "Timeout during reading attempt",
            Framework("Npgsql.Internal.NpgsqlConnector", "ReadMessageLong")));
        var refused = Retried(Exception("System.Net.Sockets.SocketException", "Connection refused",
            Framework("System.Net.Sockets.Socket", "Connect")));

        Fingerprint(timeout).Should().NotBe(Fingerprint(refused));
        Grouper.Group(timeout).Culprit.Should().Be("Shop.Orders.OrderService.ListAsync", "the app frame comes from the wrapper when the root cause has none");
    }

    [Fact]
    public void An_aggregate_exception_with_one_inner_exception_is_that_exception()
    {
        Fingerprint(Event(
            Exception("System.AggregateException", "One or more errors occurred. (SQLite Error 19: 'FOREIGN KEY constraint failed'.)",
                Framework("System.Threading.Tasks.Task", "Wait"), InApp("Shop.Program", "Main")),
            ForeignKey())).Should().Be(Fingerprint(Event(ForeignKey())));
    }

    [Fact]
    public void Several_inner_exceptions_each_count_with_their_own_key_in_any_order_and_once_each()
    {
        var stock = Exception("Shop.Inventory.OutOfStockException", "Item 4711", InApp("Shop.Inventory.Warehouse", "Reserve"));
        var payment = Exception("Shop.Payments.PaymentDeclinedException", "Card declined", InApp("Shop.Payments.Gateway", "Charge"));
        static ExceptionRecord Aggregate(params ExceptionRecord[] inner) =>
            Exception("System.AggregateException", "One or more errors occurred. " + string.Join(' ', inner.Select(i => $"({i.Value})")),
                Framework("System.Threading.Tasks.Task", "WhenAll"), InApp("Shop.Checkout.CheckoutService", "CompleteAsync"));

        var both = Fingerprint(Event(Aggregate(stock, payment), stock, payment));

        Fingerprint(Event(Aggregate(payment, stock), payment, stock)).Should().Be(both, "the order the tasks failed in does not matter");
        both.Should().NotBe(Fingerprint(Event(stock)), "two failures are not one of them");
        Fingerprint(Event(Aggregate(stock, stock), stock, stock)).Should().Be(Fingerprint(Event(stock)), "the same failure twice counts once");
    }

    [Fact]
    public void An_inner_exceptions_own_chain_is_told_apart_from_the_next_inner_exception_of_an_aggregate()
    {
        // [aggregate, A, A's inner, B]: A's inner is the root cause of A's branch, B the other root cause.
        var a = Exception("Shop.Orders.OrderFailedException", "Order 1 failed", InApp("Shop.Orders.OrderService", "Place"));
        var aInner = Exception("System.Collections.Generic.KeyNotFoundException", "The given key 'x' was not present in the dictionary.",
            Framework("System.Collections.Generic.Dictionary`2", "get_Item"), InApp("Shop.Orders.PriceList", "Price"));
        var b = Exception("System.TimeoutException", "The operation has timed out.", InApp("Shop.Payments.Gateway", "Charge"));
        var aggregate = Exception("System.AggregateException", "One or more errors occurred. (Order 1 failed) (The operation has timed out.)");

        var components = Grouper.Group(Event(aggregate, a, aInner, b)).Components.Where(c => c.Kind == GroupingComponent.Type).Select(c => c.Value);

        components.Should().BeEquivalentTo("KeyNotFoundException", "TimeoutException");
    }

    [Fact]
    public void An_aggregate_that_does_not_list_its_inner_messages_is_read_as_one_chain()
    {
        // .NET Framework's AggregateException says only "One or more errors occurred."
        var inner = Exception("Shop.Orders.OrderFailedException", "Order 1 failed", InApp("Shop.Orders.OrderService", "Place"));
        var innermost = Exception("System.TimeoutException", "The operation has timed out.", InApp("Shop.Payments.Gateway", "Charge"));

        Fingerprint(Event(Exception("System.AggregateException", "One or more errors occurred."), inner, innermost))
            .Should().Be(Fingerprint(Event(innermost)));
    }

    [Fact]
    public void An_inner_exception_that_was_never_thrown_is_placed_where_its_wrapper_was()
    {
        // SocketException and Win32Exception are often attached to an IOException without being thrown: no frames.
        static IncomingEvent Reset(string method) => Event(
            Exception("System.IO.IOException", "Unable to read data from the transport connection: Connection reset by peer.",
                Framework("System.Net.Security.SslStream", "ReadAsyncInternal"),
                InApp("Shop.Shipping.CarrierClient", method)),
            Exception("System.Net.Sockets.SocketException", "Connection reset by peer"));

        Fingerprint(Reset("Track")).Should().NotBe(Fingerprint(Reset("Book")));
        Grouper.Group(Reset("Track")).Components.Where(c => c.Counts).Select(c => c.Value)
            .Should().Equal("SocketException", "SslStream", "Shop.Shipping.CarrierClient.Track");
    }

    [Fact]
    public void A_cancellation_is_a_root_cause_of_its_own_and_where_it_was_noticed_does_not_count()
    {
        // HttpClient's timeout: what is inside depends on where the request was when the time ran out.
        static IncomingEvent Timeout(params ExceptionRecord[] inner) => Event([
            Exception("System.Threading.Tasks.TaskCanceledException", "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.",
                Framework("System.Net.Http.HttpClient", "HandleFailure"),
                Framework("System.Net.Http.HttpClient", "GetStringAsyncCore"),
                InApp("Shop.Shipping.CarrierClient", "Track")),
            .. inner]);

        var waiting = Timeout(
            Exception("System.TimeoutException", "A task was canceled."),
            Exception("System.Threading.Tasks.TaskCanceledException", "A task was canceled.",
                Framework("System.Net.Http.HttpConnectionPool", "GetConnectionAsync")));
        var reading = Timeout(
            Exception("System.TimeoutException", "The operation was canceled."),
            Exception("System.IO.IOException", "Unable to read data from the transport connection: Operation canceled.",
                Framework("System.Net.Sockets.Socket+AwaitableSocketAsyncEventArgs", "ThrowException")),
            Exception("System.Net.Sockets.SocketException", "Operation canceled"));
        var netFramework = Event(Exception("System.Threading.Tasks.TaskCanceledException", "A task was canceled.",
            Framework("System.Runtime.CompilerServices.TaskAwaiter", "ThrowForNonSuccess"),
            InApp("Shop.Shipping.CarrierClient", "Track")));

        Fingerprint(waiting).Should().Be(Fingerprint(reading));
        Fingerprint(waiting).Should().Be(Fingerprint(netFramework), ".NET Framework throws it from the awaiter in the app's method");
        Fingerprint(waiting).Should().NotBe(Fingerprint(Timeout() with { Exceptions = [Timeout().Exceptions[0] with { Frames = [InApp("Shop.Shipping.CarrierClient", "Book")] }] }));
    }

    [Fact]
    public void A_cancellation_the_app_rethrew_as_its_own_exception_is_that_exception()
    {
        // The app says what the cancellation meant; "A task was canceled." says nothing.
        static IncomingEvent Late(string order) => Event(
            Exception("System.TimeoutException", $"Shipping provider did not answer for order {order} within 200 ms.",
                InApp("Shop.Shipping.ShippingClient", "GetStatusAsync")),
            Exception("System.Threading.Tasks.TaskCanceledException", "A task was canceled.",
                InApp("Shop.Shipping.ShippingClient", "GetStatusAsync")));

        var grouped = Grouper.Group(Late("1042"));

        grouped.Title.Should().Be("TimeoutException: Shipping provider did not answer for order 1042 within 200 ms.");
        grouped.TitleWrapper.Should().BeNull();
        Fingerprint(Late("7")).Should().Be(grouped.Fingerprint);
        Fingerprint(Event(
            Exception("System.AggregateException", "One or more errors occurred. (A task was canceled.)"),
            Exception("System.Threading.Tasks.TaskCanceledException", "A task was canceled.", InApp("Shop.Shipping.ShippingClient", "GetStatusAsync"))))
            .Should().NotBe(grouped.Fingerprint, "inside a mere wrapper the cancellation is the root cause");
    }
}
