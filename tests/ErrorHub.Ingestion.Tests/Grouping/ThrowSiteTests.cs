using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>Where the root cause was thrown: the first frame that is not a throw helper, the framework's included.</summary>
public sealed class ThrowSiteTests
{
    private static IncomingEvent InOrderService(string type, string message, params FrameRecord[] frameworkFrames) =>
        Event(Exception(type, message, [.. frameworkFrames, InApp("Shop.Orders.OrderService", "UpdateAsync"), InApp("Shop.Api.OrdersController", "Put")]));

    [Fact]
    public void A_failure_inside_EF_Core_and_one_inside_LINQ_from_the_same_app_method_are_two_issues()
    {
        var tracked = InOrderService("System.InvalidOperationException",
            "The instance of entity type 'Order' cannot be tracked because another instance with the same key value for {'Id'} is already being tracked.",
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "ThrowIdentityConflict"),
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1", "Add"),
            Framework("Microsoft.EntityFrameworkCore.ChangeTracking.Internal.StateManager", "StartTracking"),
            Framework("Microsoft.EntityFrameworkCore.DbContext", "Update"));
        var empty = InOrderService("System.InvalidOperationException", "Sequence contains no elements",
            Framework("System.Linq.ThrowHelper", "ThrowNoElementsException"),
            Framework("System.Linq.Enumerable", "First"));

        Fingerprint(tracked).Should().NotBe(Fingerprint(empty));
        GroupingV1.Fingerprint(tracked).Should().Be(GroupingV1.Fingerprint(empty), "version 1 merged them: same type, same app frames");
    }

    [Fact]
    public void The_same_framework_guard_failure_in_two_app_methods_is_two_issues()
    {
        static IncomingEvent Modified(string method) => Event(Exception("System.InvalidOperationException",
            "Collection was modified; enumeration operation may not execute.",
            Framework("System.Collections.Generic.List`1+Enumerator", "MoveNext"),
            InApp("Shop.Cart.CartService", method)));

        Fingerprint(Modified("Total")).Should().NotBe(Fingerprint(Modified("Validate")));
    }

    [Fact]
    public void Which_internal_method_of_a_guard_noticed_does_not_matter()
    {
        // The same bug on .NET Framework, on .NET 8 and with the enumerator inlined into the app's method.
        static IncomingEvent Modified(params FrameRecord[] guardFrames) => Event(Exception("System.InvalidOperationException",
            "Collection was modified; enumeration operation may not execute.",
            [.. guardFrames, InApp("Shop.Cart.CartService", "Total"), InApp("Shop.Api.CartController", "Get")]));

        var netFramework = Modified(
            Framework("System.ThrowHelper", "ThrowInvalidOperationException"),
            Framework("System.Collections.Generic.List`1+Enumerator", "MoveNextRare"),
            Framework("System.Collections.Generic.List`1+Enumerator", "MoveNext"),
            Framework("System.Linq.Enumerable", "FirstOrDefault"));
        var net8 = Modified(
            Framework("System.Linq.Enumerable", "TryGetFirst"),
            Framework("System.Linq.Enumerable", "FirstOrDefault"));
        var inlined = Modified();

        Fingerprint(net8).Should().Be(Fingerprint(netFramework));
        Fingerprint(inlined).Should().Be(Fingerprint(netFramework));
    }

    [Fact]
    public void The_guard_is_shown_but_only_where_the_app_called_it_counts()
    {
        var components = Grouper.Group(Checkout()).Components;

        components.Should().Equal(
            new GroupingComponent(GroupingComponent.Type, "InvalidOperationException"),
            new GroupingComponent(GroupingComponent.Guard, "Enumerable.First", Counts: false),
            new GroupingComponent(GroupingComponent.AppFrame, "Shop.Inventory.StockService.ValidateStock"));
    }

    [Fact]
    public void Parsing_argument_checks_and_lookups_are_guards_too()
    {
        static IncomingEvent Failed(string type, string method, params FrameRecord[] frames) =>
            Event(Exception(type, "x", [.. frames, InApp("Shop.Import.CsvImporter", method)]));

        // A guard: which internal method threw does not count, the app method does.
        Fingerprint(Failed("System.FormatException", "ReadLine", Framework("System.Number", "ThrowOverflowOrFormatException"), Framework("System.Int32", "Parse")))
            .Should().Be(Fingerprint(Failed("System.FormatException", "ReadLine", Framework("System.Number", "ParseBinaryInteger"), Framework("System.Number", "ParseInt32"))));
        Fingerprint(Failed("System.ArgumentOutOfRangeException", "ReadLine", Framework("System.String", "Substring")))
            .Should().Be(Fingerprint(Failed("System.ArgumentOutOfRangeException", "ReadLine", Framework("System.ArgumentOutOfRangeException", "ThrowIfNegative"), Framework("System.String", "ThrowSubstringArgumentOutOfRange"), Framework("System.String", "Substring"))));
        Fingerprint(Failed("System.Globalization.CultureNotFoundException", "ReadLine", Framework("System.Globalization.CultureInfo", "GetCultureInfo")))
            .Should().NotBe(Fingerprint(Failed("System.Globalization.CultureNotFoundException", "ReadHeader", Framework("System.Globalization.CultureInfo", "GetCultureInfo"))));
    }

    [Fact]
    public void Throw_helpers_are_never_the_throw_site_the_apps_own_included()
    {
        static IncomingEvent NotFound(params FrameRecord[] helpers) =>
            Event(Exception("Shop.NotFoundException", "Order 7 not found", [.. helpers, InApp("Shop.Orders.OrderService", "Get"), InApp("Shop.Api.OrdersController", "Get")]));

        var direct = Fingerprint(NotFound());

        Fingerprint(NotFound(InApp("Shop.Common.ThrowHelper", "ThrowNotFound"))).Should().Be(direct);
        Fingerprint(NotFound(InApp("Shop.Common.Guard", "AgainstMissing"))).Should().Be(direct);
        Fingerprint(NotFound(InApp("Shop.Orders.OrderService", "ThrowIfMissing"))).Should().Be(direct);
        Fingerprint(NotFound(Framework("System.ArgumentNullException", "ThrowIfNull"))).Should().Be(direct);
    }

    [Fact]
    public void Async_and_rethrow_plumbing_is_never_the_throw_site()
    {
        var plain = Fingerprint(Event(Exception("System.InvalidOperationException", "x",
            Framework("Microsoft.EntityFrameworkCore.Internal.ConcurrencyDetector", "EnterCriticalSection"),
            InApp("Shop.Orders.OrderService", "ListAsync"))));

        Fingerprint(Event(Exception("System.InvalidOperationException", "x",
            Framework("Microsoft.EntityFrameworkCore.Internal.ConcurrencyDetector", "EnterCriticalSection"),
            Framework("System.Runtime.ExceptionServices.ExceptionDispatchInfo", "Throw"),
            Framework("System.Runtime.CompilerServices.TaskAwaiter", "HandleNonSuccessAndDebuggerNotification"),
            InApp("Shop.Orders.OrderService+<ListAsync>d__3", "MoveNext")))).Should().Be(plain);
    }

    [Fact]
    public void A_framework_component_keeps_its_key_when_its_namespace_moves_or_its_methods_change()
    {
        static IncomingEvent Deadlock(string sqlClient, string method) => InOrderService("System.Data.SqlClient.SqlException",
            "Transaction (Process ID 57) was deadlocked on lock resources with another process and has been chosen as the deadlock victim.",
            Framework(sqlClient + ".SqlConnection", method),
            Framework(sqlClient + ".TdsParser", "ThrowExceptionAndWarning"),
            Framework(sqlClient + ".SqlCommand", "ExecuteReader"));

        Fingerprint(Deadlock("System.Data.SqlClient", "OnError"))
            .Should().Be(Fingerprint(Deadlock("Microsoft.Data.SqlClient", "OnError")), "System.Data.SqlClient became Microsoft.Data.SqlClient")
            .And.Be(Fingerprint(Deadlock("Microsoft.Data.SqlClient", "OnErrorAsync")));
        Fingerprint(InOrderService("Microsoft.Data.SqlClient.SqlException", "x", Framework("Microsoft.Data.SqlClient.SqlConnection", "OnError")))
            .Should().Be(Fingerprint(InOrderService("System.Data.SqlClient.SqlException", "y", Framework("System.Data.SqlClient.SqlConnection", "OnError"))),
                "a framework exception type counts by its short name");
    }

    [Fact]
    public void Frames_of_well_known_libraries_are_not_the_apps_even_when_marked_in_app()
    {
        // The SDK excludes System and Microsoft by default; Newtonsoft.Json frames arrive marked in-app.
        static IncomingEvent Unreadable(string method) => Event(Exception("Newtonsoft.Json.JsonReaderException",
            "Unexpected character encountered while parsing value: <. Path '', line 0, position 0.",
            InApp("Newtonsoft.Json.JsonTextReader", "ParseValue"),
            InApp("Newtonsoft.Json.JsonConvert", "DeserializeObject"),
            InApp("Shop.Shipping.CarrierClient", method)));

        Grouper.Group(Unreadable("Track")).Culprit.Should().Be("Shop.Shipping.CarrierClient.Track");
        Fingerprint(Unreadable("Track")).Should().NotBe(Fingerprint(Unreadable("Book")));
    }

    [Fact]
    public void WPFs_own_shell_code_is_the_frameworks_whichever_WPF_path_reached_it()
    {
        // WPF (PresentationFramework) keeps its shell interop in the top-level namespace Standard; the SDK marks it in-app.
        static IncomingEvent CompositionOff(string caller, string method) => Event(Exception("System.Runtime.InteropServices.COMException",
            "{Desktop composition is disabled} The operation could not be completed because desktop composition is disabled. (0x80263001)",
            InApp("Standard.NativeMethods", "DwmExtendFrameIntoClientArea"),
            Framework(caller, method)));

        var chrome = Grouper.Group(CompositionOff("System.Windows.Shell.WindowChromeWorker", "_ExtendGlassFrame"));

        chrome.Components.Should().NotContain(c => c.Kind == GroupingComponent.AppFrame);
        chrome.Components.Should().Contain(new GroupingComponent(GroupingComponent.ThrowSite, "NativeMethods"));
        Fingerprint(CompositionOff("System.Windows.Appearance.WindowBackdropManager", "UpdateGlassFrame")).Should().Be(chrome.Fingerprint);
    }

    [Fact]
    public void A_guard_called_only_by_framework_code_is_keyed_by_that_code()
    {
        static IncomingEvent Modified(string caller) => Event(Exception("System.InvalidOperationException",
            "Collection was modified; enumeration operation may not execute.",
            Framework("System.Collections.Generic.List`1+Enumerator", "MoveNextRare"),
            Framework("System.Linq.Enumerable+WhereEnumerableIterator`1", "MoveNext"),
            Framework(caller, "LoadSnapshotCore"),
            Framework("System.Windows.Controls.ItemCollection", "SetItemsSource")));

        Fingerprint(Modified("MS.Internal.Data.EnumerableCollectionView"))
            .Should().NotBe(Fingerprint(Modified("MS.Internal.Data.CollectionViewGroupRoot")));
    }

    [Fact]
    public void The_message_and_its_language_do_not_matter_when_frames_exist()
    {
        static IncomingEvent NullIn(string message) => Event(Exception("System.NullReferenceException", message,
            InApp("Shop.Profile.ProfileService", "LoadAsync"), InApp("Shop.Api.ProfileController", "Get")));

        Fingerprint(NullIn("Object reference not set to an instance of an object."))
            .Should().Be(Fingerprint(NullIn("Der Objektverweis wurde nicht auf eine Objektinstanz festgelegt.")))
            .And.Be(Fingerprint(NullIn("La référence d'objet n'est pas définie à une instance d'un objet.")));
    }

    [Fact]
    public void Without_an_app_frame_the_names_the_message_quotes_say_what_failed()
    {
        // A missing registration fails inside the DI container: no frame of the app's code.
        static IncomingEvent Unresolved(string message) => Event(Exception("System.InvalidOperationException", message,
            Framework("Microsoft.Extensions.DependencyInjection.ServiceLookup.CallSiteFactory", "CreateArgumentCallSites"),
            Framework("Microsoft.Extensions.DependencyInjection.ServiceLookup.CallSiteFactory", "CreateConstructorCallSite")));

        var slack = Fingerprint(Unresolved("Unable to resolve service for type 'Shop.Config.SlackOptions' while attempting to activate 'Shop.Services.SlackNotifier'."));

        slack.Should().NotBe(Fingerprint(Unresolved("Unable to resolve service for type 'Shop.Data.IOrderStore' while attempting to activate 'Shop.Services.Checkout'.")));
        slack.Should().Be(Fingerprint(Unresolved("Der Dienst für den Typ 'Shop.Config.SlackOptions' konnte beim Aktivieren von 'Shop.Services.SlackNotifier' nicht aufgelöst werden.")),
            "names are not translated");
        Fingerprint(Event(Exception("System.InvalidOperationException", "Key 'a' missing"))).Should().Be(
            Fingerprint(Event(Exception("System.InvalidOperationException", "Key 'b' missing"))), "without any frame the parameterized message counts");
    }
}
