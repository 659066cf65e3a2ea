using ErrorHub.Ingestion.Decoding;
using ErrorHub.Storage.Events;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

public sealed class FingerprintTests
{
    [Fact]
    public void A_fingerprint_is_32_lowercase_hex_digits_and_records_the_grouping_version()
    {
        var grouped = Grouper.Group(Checkout());

        grouped.Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$");
        grouped.Version.Should().Be(17);
    }

    [Fact]
    public void The_fingerprint_is_the_hash_of_the_counted_components_which_the_event_carries()
    {
        var grouped = Grouper.Group(Checkout());

        grouped.Fingerprint.Should().Be(Grouper.Hash(Grouper.Counted(grouped.Components)));
        grouped.Components.Should().Contain(c => !c.Counts, "the framework guard that threw is shown but not counted");
    }

    [Fact]
    public void Line_numbers_columns_files_and_messages_do_not_change_the_fingerprint_of_an_exception_with_in_app_frames()
    {
        var original = Fingerprint(Checkout());

        Fingerprint(Checkout(line: 91)).Should().Be(original, "a line moves with every edit above it");
        Fingerprint(Checkout(file: @"C:\build\agent\Shop\Inventory\StockService.cs")).Should().Be(original, "build paths differ between machines");
        Fingerprint(Checkout(message: "Sequence contains more than one element")).Should().Be(original, "the message is not part of a stack-based fingerprint");
        Fingerprint(WithFrames(Checkout(), frames => frames.Select(f => f with { Column = null, Line = null, File = null }))).Should().Be(original);
        Fingerprint(WithFrames(Checkout(), frames => frames.Select(f => f with { Module = "Shop.Renamed" }))).Should().Be(original);
    }

    [Fact]
    public void A_different_exception_type_is_a_different_issue()
    {
        Fingerprint(Checkout(type: "System.ArgumentException")).Should().NotBe(Fingerprint(Checkout()));
    }

    [Fact]
    public void Another_app_method_at_the_throw_is_another_issue_but_callers_above_it_are_not()
    {
        var original = Fingerprint(Checkout());

        Fingerprint(WithFrames(Checkout(), frames => frames.Select(f => f.Function == "ValidateStock" ? f with { Function = "ReserveStock" } : f)))
            .Should().NotBe(original, "another app method called the framework");
        Fingerprint(WithFrames(Checkout(), frames => frames.Select(f => f.Type == "Shop.Inventory.StockService" ? f with { Type = "Shop.Inventory.Warehouse" } : f)))
            .Should().NotBe(original, "another app type");
        Fingerprint(WithFrames(Checkout(), frames => frames.Select(f => f.Function == "Checkout" ? f with { Function = "Reorder" } : f)))
            .Should().Be(original, "a caller above the app frame nearest the throw");
        Fingerprint(WithFrames(Checkout(), frames => frames.Where(f => f.Function != "Checkout")))
            .Should().Be(original, "one app frame fewer above it");
        Fingerprint(WithFrames(Checkout(), frames => frames.Append(InApp("Shop.Api.CheckoutEndpoints", "Post"))))
            .Should().Be(original, "one app frame more above it");
    }

    [Fact]
    public void Framework_frames_above_the_app_frame_do_not_matter()
    {
        var original = Fingerprint(Checkout());

        Fingerprint(WithFrames(Checkout(), frames => frames.Where(f => f.Type != "Microsoft.AspNetCore.Routing.EndpointMiddleware"))).Should().Be(original);
        Fingerprint(WithFrames(Checkout(), frames => frames.Append(Framework("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpProtocol", "ProcessRequests"))))
            .Should().Be(original);
    }

    public static TheoryData<string, string, string, string> CompilerNames => new()
    {
        { "async state machine", "Shop.Cart.CartService+<CheckoutAsync>d__4", "MoveNext", "CheckoutAsync" },
        { "async state machine after an edit", "Shop.Cart.CartService+<CheckoutAsync>d__17", "MoveNext", "CheckoutAsync" },
        { "iterator", "Shop.Cart.CartService+<Items>d__9", "MoveNext", "Items" },
        { "lambda in a display class", "Shop.Cart.CartService+<>c__DisplayClass5_0", "<CheckoutAsync>b__0", "CheckoutAsync.<lambda>" },
        { "lambda after an edit", "Shop.Cart.CartService+<>c__DisplayClass7_1", "<CheckoutAsync>b__3", "CheckoutAsync.<lambda>" },
        { "static lambda", "Shop.Cart.CartService+<>c", "<CheckoutAsync>b__5_0", "CheckoutAsync.<lambda>" },
        { "async lambda", "Shop.Cart.CartService+<>c__DisplayClass5_0+<<CheckoutAsync>b__0>d", "MoveNext", "CheckoutAsync.<lambda>" },
        { "local function", "Shop.Cart.CartService", "<CheckoutAsync>g__Validate|4_0", "CheckoutAsync.Validate" },
        { "async local function", "Shop.Cart.CartService+<<CheckoutAsync>g__Validate|4_0>d", "MoveNext", "CheckoutAsync.Validate" },
        { "local function in a lambda", "Shop.Cart.CartService+<>c", "<<CheckoutAsync>b__5_0>g__Check|0", "CheckoutAsync.<lambda>.Check" },
    };

    [Theory]
    [MemberData(nameof(CompilerNames))]
    public void Compiler_generated_names_group_with_the_names_the_developer_wrote(string what, string rawType, string rawFunction, string plainFunction)
    {
        var raw = Event(Exception("System.InvalidOperationException", "x", InApp(rawType, rawFunction)));
        var plain = Event(Exception("System.InvalidOperationException", "x", InApp("Shop.Cart.CartService", plainFunction)));

        Fingerprint(raw).Should().Be(Fingerprint(plain), what);
        Grouper.Group(raw).Culprit.Should().Be("Shop.Cart.CartService." + plainFunction, what);
    }

    public static TheoryData<string, string, string> TypeNames => new()
    {
        { "generic arity", "Shop.Data.Repository`1", "Shop.Data.Repository" },
        { "generic arguments from Type.FullName", "Shop.Data.Repository`1[[System.Int32, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]", "Shop.Data.Repository" },
        { "nested type", "Shop.Cart.CartService+Pricing", "Shop.Cart.CartService.Pricing" },
        { "nested generic with a nested generic argument", "Shop.Data.Repository`1+Cache`2[[Shop.Model+Order, Shop, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null],[System.String, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]", "Shop.Data.Repository.Cache" },
    };

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void Generic_arity_arguments_and_nesting_normalize_to_the_plain_type_name(string what, string rawType, string plainType)
    {
        var raw = Event(Exception("System.InvalidOperationException", "x", InApp(rawType, "Get")));
        var plain = Event(Exception("System.InvalidOperationException", "x", InApp(plainType, "Get")));

        Fingerprint(raw).Should().Be(Fingerprint(plain), what);
    }

    [Fact]
    public void An_async_method_of_a_generic_type_with_a_nested_type_argument_normalizes()
    {
        var raw = InApp("Shop.Data.Repository`1+<GetAsync>d__3[[Shop.Model+Order, Shop, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null]]", "MoveNext");

        Grouper.FrameKey(raw).Should().Be("Shop.Data.Repository.GetAsync");
    }

    [Fact]
    public void Generic_exception_types_group_across_runtime_versions()
    {
        const string V9 = "Shop.ValidationException`1[[System.String, System.Private.CoreLib, Version=9.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]";
        const string V10 = "Shop.ValidationException`1[[System.String, System.Private.CoreLib, Version=10.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e]]";

        Fingerprint(Checkout(type: V9)).Should().Be(Fingerprint(Checkout(type: V10)));
        Fingerprint(Event(Exception(V9, "Order 1 invalid"))).Should().Be(Fingerprint(Event(Exception(V10, "Order 2 invalid"))));
    }

    [Fact]
    public void Normalizing_plain_names_changes_nothing()
    {
        var frame = InApp("Shop.Cart.CartService", "CheckoutAsync.<lambda>");

        Grouper.FrameKey(frame).Should().Be("Shop.Cart.CartService.CheckoutAsync.<lambda>");
        Grouper.FrameKey(InApp("Shop.Cart.CartService", "Checkout")).Should().Be("Shop.Cart.CartService.Checkout");
    }

    [Fact]
    public void Pathological_names_made_of_the_characters_the_normalizer_parses_never_throw()
    {
        const string Alphabet = "<>+`[]|._dbg0Ab,= ";
        var random = new Random(1337);
        string Name() => new(Enumerable.Range(0, random.Next(0, 257)).Select(_ => Alphabet[random.Next(Alphabet.Length)]).ToArray());

        for (var i = 0; i < 3000; i++)
        {
            var (type, function, exceptionType) = (Name(), Name(), Name());
            var errorEvent = Event(Exception(exceptionType.Trim().Length == 0 ? "E" : exceptionType, Name(),
                InApp(type, function), new FrameRecord(function, null, type, null, null, null, true)));

            var grouped = Grouper.Group(errorEvent);

            grouped.Fingerprint.Should().MatchRegex("^[0-9a-f]{32}$", "type {0}, function {1}", type, function);
            grouped.Title.Length.Should().BeLessThanOrEqualTo(200);
        }
    }

    [Fact]
    public void Deeply_nested_generated_names_are_normalized()
    {
        var function = string.Concat(Enumerable.Repeat("<", 100)) + "Run" + string.Concat(Enumerable.Repeat(">b__0", 100));

        Grouper.FrameKey(InApp("Shop.Worker", function)).Should().StartWith("Shop.Worker.Run.<lambda>");
    }

    [Fact]
    public void Frames_without_a_type_are_told_apart_by_module()
    {
        var a = Event(Exception("Error", "x", new FrameRecord("render", null, "app/views/cart.js", null, 3, null, true)));
        var b = Event(Exception("Error", "x", new FrameRecord("render", null, "app/views/profile.js", null, 3, null, true)));

        Fingerprint(a).Should().NotBe(Fingerprint(b));
    }

    [Fact]
    public void Without_in_app_frames_the_type_and_the_parameterized_message_group()
    {
        static IncomingEvent Timeout(string type, string message, string frameFunction = "SendAsync") =>
            Event(Exception(type, message, Framework("System.Net.Http.HttpClient", frameFunction)));
        const string Type = "System.Threading.Tasks.TaskCanceledException";
        var original = Fingerprint(Timeout(Type, "Request to https://api.example.com/orders/42 timed out after 100 seconds"));

        Fingerprint(Timeout(Type, "Request to https://api.example.com/orders/43 timed out after 30 seconds")).Should().Be(original);
        Fingerprint(Timeout(Type, "Request to https://api.example.com/orders/42 timed out after 100 seconds", "GetAsync"))
            .Should().Be(original, "frames that are not in-app do not count in the fallback either");
        Fingerprint(Timeout("System.TimeoutException", "Request to https://api.example.com/orders/42 timed out after 100 seconds")).Should().NotBe(original);
        Fingerprint(Timeout(Type, "The operation was canceled.")).Should().NotBe(original);
        Fingerprint(Event(Exception(Type, "Request to https://x.example/1 timed out after 5 seconds"))).Should().Be(original, "no frames at all is the same fallback");
    }

    [Fact]
    public void Without_frames_the_root_causes_type_and_message_count_not_the_wrappers()
    {
        static IncomingEvent Refused(string outerMessage, string innerMessage) => Event(
            Exception("System.Net.Http.HttpRequestException", outerMessage),
            Exception("System.Net.Sockets.SocketException", innerMessage));

        Fingerprint(Refused("Connection refused (db.internal:5432)", "Connection refused"))
            .Should().Be(Fingerprint(Refused("Connection refused (cache.internal:6379)", "Connection refused")));
        Fingerprint(Refused("Connection refused (db.internal:5432)", "Connection refused"))
            .Should().NotBe(Fingerprint(Refused("Connection refused (db.internal:5432)", "No route to host")));
    }

    [Fact]
    public void An_exception_thrown_in_the_framework_is_keyed_by_the_component_that_threw_not_by_its_message()
    {
        static IncomingEvent Refused(string message, string component) => Event(
            Exception("System.Net.Sockets.SocketException", message,
                Framework(component, "Connect"),
                Framework("System.Net.Sockets.TcpClient", "Connect")));

        Fingerprint(Refused("No connection could be made because the target machine actively refused it.", "System.Net.Sockets.Socket"))
            .Should().Be(Fingerprint(Refused("Es konnte keine Verbindung hergestellt werden, da der Zielcomputer die Verbindung verweigerte.", "System.Net.Sockets.Socket")),
                "the message's language does not matter when frames say where it failed");
        Fingerprint(Refused("Connection refused", "System.Net.Sockets.Socket"))
            .Should().NotBe(Fingerprint(Refused("Connection refused", "System.Net.Dns")));
    }

    [Fact]
    public void Messages_group_by_logger_and_parameterized_message()
    {
        var original = Fingerprint(Message("Payment provider answered 502 for order 99812"));

        Fingerprint(Message("Payment provider answered 503 for order 10")).Should().Be(original);
        Fingerprint(Message("Payment provider answered 502 for order 99812", logger: "Shop.Shipping")).Should().NotBe(original);
        Fingerprint(Message("Payment provider answered 502 for order 99812", logger: null)).Should().NotBe(original);
        Fingerprint(Message("Payment provider refused order 99812")).Should().NotBe(original);
    }

    [Fact]
    public void A_message_event_never_groups_with_an_exception_event()
    {
        var message = Message("System.InvalidOperationException", logger: null);
        var exception = Event(Exception("System.InvalidOperationException", ""));

        Fingerprint(message).Should().NotBe(Fingerprint(exception));
    }

    [Fact]
    public void A_client_fingerprint_wins_over_the_default()
    {
        string[] client = ["checkout-stock"];

        Fingerprint(Checkout(), client).Should().Be(Fingerprint(Checkout(type: "System.ArgumentException"), client));
        Fingerprint(Checkout(), client).Should().Be(Fingerprint(Message("anything"), client));
        Fingerprint(Checkout(), client).Should().NotBe(Fingerprint(Checkout()));
        Fingerprint(Checkout(), ["Checkout-Stock"]).Should().NotBe(Fingerprint(Checkout(), client), "parts are compared exactly");
    }

    [Fact]
    public void The_default_placeholder_expands_to_the_default_fingerprint_components()
    {
        string[] client = ["tenant-a", "{{ default }}"];

        Fingerprint(Checkout(line: 1), client).Should().Be(Fingerprint(Checkout(line: 500), client), "the default part ignores lines as always");
        Fingerprint(Checkout(), client).Should().NotBe(Fingerprint(Checkout(type: "System.ArgumentException"), client), "the default part differs");
        Fingerprint(Checkout(), client).Should().NotBe(Fingerprint(Checkout(), ["tenant-b", "{{ default }}"]));
        Fingerprint(Checkout(), client).Should().NotBe(Fingerprint(Checkout(), ["tenant-a"]));
        Fingerprint(Checkout(), ["tenant-a", "{{default}}"]).Should().Be(Fingerprint(Checkout(), client), "spacing inside the braces does not matter");
        Fingerprint(Checkout(), ["tenant-a", "{{  default }}"]).Should().Be(Fingerprint(Checkout(), client));
    }

    [Fact]
    public void Only_the_default_placeholder_or_no_parts_is_the_default_fingerprint()
    {
        var original = Fingerprint(Checkout());

        Fingerprint(Checkout(), ["{{ default }}"]).Should().Be(original);
        Fingerprint(Checkout(), []).Should().Be(original);
        Fingerprint(Checkout(), ["{{ default }}", "{{default}}"]).Should().Be(original);
    }

    [Fact]
    public void Fingerprint_parts_cannot_collide_by_containing_the_separator()
    {
        Fingerprint(Checkout(), ["a\nb"]).Should().NotBe(Fingerprint(Checkout(), ["a", "b"]));
        Fingerprint(Checkout(), ["a", ""]).Should().NotBe(Fingerprint(Checkout(), ["a"]));
        Fingerprint(Message("x", logger: "a\nmessage")).Should().NotBe(Fingerprint(Message("message\nx", logger: "a")));
    }

    [Fact]
    public void The_same_event_always_gets_the_same_fingerprint()
    {
        var fingerprints = Enumerable.Range(0, 5).Select(_ => Fingerprint(Checkout())).Distinct();

        fingerprints.Should().ContainSingle();
    }

    private static IncomingEvent WithFrames(IncomingEvent errorEvent, Func<IEnumerable<FrameRecord>, IEnumerable<FrameRecord>> change) => errorEvent with
    {
        Exceptions = errorEvent.Exceptions.Select(e => e with { Frames = change(e.Frames).ToList() }).ToList(),
    };
}
