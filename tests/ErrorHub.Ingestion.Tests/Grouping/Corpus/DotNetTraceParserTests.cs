using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping.Corpus;

/// <summary>The corpus is only as good as its reading of the traces: the event must be what the SDK would have sent.</summary>
public sealed class DotNetTraceParserTests
{
    [Fact]
    public void Inner_exceptions_come_after_their_parent_with_their_own_frames()
    {
        var parsed = DotNetTraceParser.Parse("""
            Microsoft.EntityFrameworkCore.DbUpdateException: An error occurred while saving the entity changes. See the inner exception for details.
             ---> Microsoft.Data.Sqlite.SqliteException (0x80004005): SQLite Error 19: 'FOREIGN KEY constraint failed'.
               at Microsoft.Data.Sqlite.SqliteException.ThrowExceptionForRC(Int32 rc, sqlite3 db)
               at Microsoft.Data.Sqlite.SqliteDataReader.NextResult()
               --- End of inner exception stack trace ---
               at Microsoft.EntityFrameworkCore.DbContext.SaveChanges()
               at Shop.Orders.OrderService.<PlaceAsync>d__7.MoveNext() in /src/Shop/Orders/OrderService.cs:line 42
            """);

        parsed.Exceptions.Select(e => e.Type).Should().Equal("Microsoft.EntityFrameworkCore.DbUpdateException", "Microsoft.Data.Sqlite.SqliteException");
        parsed.Exceptions[1].Value.Should().Be("SQLite Error 19: 'FOREIGN KEY constraint failed'.");
        parsed.Exceptions[1].Frames.Select(f => f.Function).Should().Equal("ThrowExceptionForRC", "NextResult");
        parsed.Exceptions[0].Frames.Should().Equal(
            new FrameRecord("SaveChanges", "Microsoft.EntityFrameworkCore.DbContext", null, null, null, null, InApp: false),
            new FrameRecord("MoveNext", "Shop.Orders.OrderService+<PlaceAsync>d__7", null, "/src/Shop/Orders/OrderService.cs", 42, null, InApp: true));
    }

    [Fact]
    public void An_aggregates_further_inner_exceptions_follow_the_first_ones_chain()
    {
        var parsed = DotNetTraceParser.Parse("""
            System.AggregateException: One or more errors occurred. (Order 1 failed) (Timed out)
             ---> Shop.OrderFailedException: Order 1 failed
             ---> System.Collections.Generic.KeyNotFoundException: The given key 'x' was not present in the dictionary.
               at System.Collections.Generic.Dictionary`2.get_Item(TKey key)
               --- End of inner exception stack trace ---
               at Shop.Orders.Place()
               --- End of inner exception stack trace ---
               at System.Threading.Tasks.Task.WaitAll(Task[] tasks)
             ---> (Inner Exception #1) System.TimeoutException: Timed out
               at Shop.Payments.Charge()<---
            """);

        parsed.Exceptions.Select(e => e.Type).Should().Equal(
            "System.AggregateException", "Shop.OrderFailedException", "System.Collections.Generic.KeyNotFoundException", "System.TimeoutException");
        parsed.Exceptions[0].Frames.Should().ContainSingle().Which.Function.Should().Be("WaitAll");
        parsed.Exceptions[3].Frames.Should().ContainSingle().Which.Type.Should().Be("Shop.Payments");
    }

    [Fact]
    public void Localized_and_Mono_frames_and_a_chain_on_one_line_are_read()
    {
        var parsed = DotNetTraceParser.Parse("""
            A.OuterException: outer ---> B.InnerException: inner
               bei Shop.Cart.Total() in C:\src\Cart.cs:Zeile 12
               在 Shop.Cart.Add(Item item)
              at Shop.Cart.Remove (Shop.Item item) [0x0001c] in <5a3c9f>:0
               bei Shop.Cart.Clear() in C:\src\Cart.cs:Zeile 40.
            """);

        parsed.Exceptions.Select(e => e.Type).Should().Equal("A.OuterException", "B.InnerException");
        parsed.Exceptions[1].Frames.Select(f => (f.Function, f.Line)).Should().Equal(("Total", 12), ("Add", null), ("Remove", null), ("Clear", 40));
    }

    [Fact]
    public void Visual_Basic_closures_and_lambdas_are_frames_not_the_message()
    {
        // Visual Basic names a closure and its lambdas with a hyphen; read as a message line, every frame of such a report joined the message.
        var parsed = DotNetTraceParser.Parse("""
            NAudio.MmException: NoDriver calling waveOutRestart
               在 PCL.ModMusic._Closure$__._Lambda$__14-0()
               在 PCL.ModBase._Closure$__111-0._Lambda$__0()
            """);

        parsed.Exceptions[0].Value.Should().Be("NoDriver calling waveOutRestart");
        parsed.Exceptions[0].Frames.Select(f => (f.Type, f.Function)).Should().Equal(
            ("PCL.ModMusic._Closure$__", "_Lambda$__14-0"), ("PCL.ModBase._Closure$__111-0", "_Lambda$__0"));
    }

    [Fact]
    public void An_explicit_interface_implementation_is_a_method_of_its_declaring_type()
    {
        // The SDK sends the declaring type and the method's own name, which for an explicit implementation is the interface's
        // full name and the method: the component that threw is the socket's event args, not the interface.
        var parsed = DotNetTraceParser.Parse("""
            System.Net.Sockets.SocketException (10061): No connection could be made because the target machine actively refused it.
               at System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ThrowException(SocketError error, CancellationToken cancellationToken)
               at System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.System.Threading.Tasks.Sources.IValueTaskSource.GetResult(Int16 token)
               at Microsoft.EntityFrameworkCore.DbContext.Microsoft.EntityFrameworkCore.Internal.IDbContextDependencies.get_StateManager()
               at Shop.Cart.Shop.Contracts.ICart.Add(Item item)
               at System.Collections.Generic.List`1.System.Collections.Generic.IEnumerable<T>.GetEnumerator()
               at Shop.Billing.InvoiceWriter.Write(Invoice invoice)
               at ABI.Microsoft.UI.Xaml.Controls.ITextBlockMethods.set_Text(IObjectReference _obj, String value)
            """);

        parsed.Exceptions[0].Frames.Select(f => (f.Type, f.Function)).Should().Equal(
            ("System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs", "ThrowException"),
            ("System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs", "System.Threading.Tasks.Sources.IValueTaskSource.GetResult"),
            ("Microsoft.EntityFrameworkCore.DbContext", "Microsoft.EntityFrameworkCore.Internal.IDbContextDependencies.get_StateManager"),
            ("Shop.Cart", "Shop.Contracts.ICart.Add"),
            ("System.Collections.Generic.List`1", "System.Collections.Generic.IEnumerable<T>.GetEnumerator"),
            ("Shop.Billing.InvoiceWriter", "Write"),
            ("ABI.Microsoft.UI.Xaml.Controls.ITextBlockMethods", "set_Text"));
    }

    [Fact]
    public void Every_trace_of_the_corpus_reads_as_an_exception_with_a_type_and_its_labels_are_complete()
    {
        var files = Directory.GetFiles(Path.Combine(TraceCorpus.Folder, "traces"), "*.txt").Select(Path.GetFileName);

        TraceCorpus.Traces.Select(t => t.File).Should().BeEquivalentTo(files, "every trace is labelled exactly once");
        TraceCorpus.Traces.Should().AllSatisfy(t =>
        {
            t.Event.Exceptions.Should().NotBeEmpty(t.File);
            t.Event.Exceptions.Should().OnlyContain(e => e.Type.Length > 0 && !e.Type.Contains(' '), t.File);
            t.Origin.Should().Match(o => o.StartsWith("https://github.com/", StringComparison.Ordinal) || o.StartsWith("variant of ", StringComparison.Ordinal), t.File);
        });
    }

    [Fact]
    public void Japanese_and_Italian_frame_lines_are_read_and_an_Italian_message_line_is_not_a_frame()
    {
        var japanese = DotNetTraceParser.Parse("""
            System.NullReferenceException: オブジェクト参照がオブジェクト インスタンスに設定されていません。
               場所 Shop.Cart.CartService.Checkout(Order order) 場所 C:\src\Shop\Cart\CartService.cs:行 42
               場所 Shop.Api.CheckoutController.Post()
            """);
        var italian = DotNetTraceParser.Parse("""
            System.InvalidOperationException: La sequenza non contiene elementi
            in attesa del carrello
               in System.Linq.Enumerable.First[TSource](IEnumerable`1 source)
               in Shop.Cart.CartService.Checkout(Order order) in C:\src\Shop\Cart\CartService.cs:riga 42
            """);

        japanese.Exceptions[0].Frames.Should().Equal(
            new FrameRecord("Checkout", "Shop.Cart.CartService", null, @"C:\src\Shop\Cart\CartService.cs", 42, null, InApp: true),
            new FrameRecord("Post", "Shop.Api.CheckoutController", null, null, null, null, InApp: true));
        italian.Exceptions[0].Value.Should().Be("La sequenza non contiene elementi\nin attesa del carrello");
        italian.Exceptions[0].Frames.Select(f => (f.Type, f.Function, f.Line)).Should().Equal(
            ("System.Linq.Enumerable", "First", null), ("Shop.Cart.CartService", "Checkout", 42));
    }

    [Fact]
    public void Swedish_frame_lines_are_read()
    {
        var swedish = DotNetTraceParser.Parse("""
            System.ComponentModel.Win32Exception: Det gick inte att skapa fönsterreferensen.
               vid System.Windows.Forms.NativeWindow.CreateHandle(CreateParams cp)
               vid Shop.Program.Main(String[] args) i C:\src\Shop\Program.cs:rad 12
            """);

        swedish.Exceptions[0].Value.Should().Be("Det gick inte att skapa fönsterreferensen.");
        swedish.Exceptions[0].Frames.Select(f => (f.Type, f.Function, f.Line)).Should().Equal(
            ("System.Windows.Forms.NativeWindow", "CreateHandle", null), ("Shop.Program", "Main", 12));
    }

    [Fact]
    public void An_inner_exception_after_a_message_of_several_lines_is_read_as_the_inner_exception()
    {
        var chain = DotNetTraceParser.Parse("""
            Shop.Data.StoreException: database is locked
            database is locked ---> System.Data.SQLite.SQLiteException: database is locked
            database is locked
               at System.Data.SQLite.SQLite3.Step(SQLiteStatement stmt)
               at Shop.Data.Store.Read() in C:\src\Shop\Data\Store.cs:line 12
               --- End of inner exception stack trace ---
               at Shop.Data.Store.Wait()
            """);

        chain.Exceptions.Select(e => (e.Type, e.Value)).Should().Equal(
            ("Shop.Data.StoreException", "database is locked\ndatabase is locked"),
            ("System.Data.SQLite.SQLiteException", "database is locked\ndatabase is locked"));
        chain.Exceptions[1].Frames.Select(f => f.Function).Should().Equal("Step", "Read");
        chain.Exceptions[0].Frames.Select(f => f.Function).Should().Equal("Wait");
    }

    [Fact]
    public void A_message_line_with_an_arrow_that_names_no_exception_stays_in_the_message()
    {
        var single = DotNetTraceParser.Parse("""
            System.InvalidOperationException: The step failed
            retry ---> give up
               at Shop.Jobs.Run()
            """);

        single.Exceptions.Should().ContainSingle().Which.Value.Should().Be("The step failed\nretry ---> give up");
    }

    [Fact]
    public void Danish_frame_lines_are_read()
    {
        var danish = DotNetTraceParser.Parse("""
            System.IndexOutOfRangeException: Indekset lå uden for arrayets grænser.
               ved Terraria.NetMessage.SendData(Int32 msgType, Int32 remoteClient)
               ved Shop.Commands.Spawn(CommandArgs args) i C:\src\Shop\Commands.cs:linje 12
            """);

        danish.Exceptions[0].Value.Should().Be("Indekset lå uden for arrayets grænser.");
        danish.Exceptions[0].Frames.Select(f => (f.Type, f.Function, f.Line)).Should().Equal(
            ("Terraria.NetMessage", "SendData", null), ("Shop.Commands", "Spawn", 12));
    }

    [Fact]
    public void Czech_frame_lines_are_read_and_a_message_line_starting_with_v_is_not_a_frame()
    {
        var czech = DotNetTraceParser.Parse("""
            System.OverflowException: Chyba přetečení
            v aplikaci došlo k chybě
               v System.Drawing.Graphics.CheckErrorStatus(Int32 status)
               v Shop.Program.Main(String[] args) v C:\src\Shop\Program.cs:řádek 12
            """);

        czech.Exceptions[0].Value.Should().Be("Chyba přetečení\nv aplikaci došlo k chybě");
        czech.Exceptions[0].Frames.Select(f => (f.Type, f.Function, f.Line)).Should().Equal(
            ("System.Drawing.Graphics", "CheckErrorStatus", null), ("Shop.Program", "Main", 12));
    }

    [Fact]
    public void Traditional_Chinese_and_Arabic_frame_lines_are_read()
    {
        var chinese = DotNetTraceParser.Parse("""
            System.NullReferenceException: 並未將物件參考設定為物件的執行個體。
               於 Shop.Cart.CartService.Checkout(Order order)
               於 Shop.Api.CheckoutController.Post()
            """);
        var arabic = DotNetTraceParser.Parse("""
            System.NullReferenceException
               عند Shop.Cart.CartService.Checkout(Order order)
               عند Shop.Api.CheckoutController.Post()
            """);

        foreach (var trace in new[] { chinese, arabic })
        {
            trace.Exceptions[0].Frames.Select(f => (f.Type, f.Function)).Should().Equal(
                ("Shop.Cart.CartService", "Checkout"), ("Shop.Api.CheckoutController", "Post"));
        }

        chinese.Exceptions[0].Value.Should().Be("並未將物件參考設定為物件的執行個體。");
        arabic.Exceptions[0].Value.Should().BeEmpty();
    }

    [Fact]
    public void Korean_frame_lines_and_inner_exception_end_are_read()
    {
        // As the Korean .NET Framework prints them: "위치:" with its colon before the frame, "파일 File:줄 N" after it.
        var korean = DotNetTraceParser.Parse("""
            System.AggregateException: 하나 이상의 오류가 발생했습니다. ---> System.ArgumentNullException: 값은 null일 수 없습니다.
            매개 변수 이름: item
               위치: System.Windows.Forms.ListBox.ObjectCollection.AddInternal(Object item)
               위치: System.Windows.Forms.ListBox.ObjectCollection.Add(Object item)
               위치: Mod7.Form1.button6_Click(Object sender, EventArgs e) 파일 c:\csharp\project\day4\Mod7\Form1.cs:줄 102
               --- 내부 예외 스택 추적의 끝 ---
               위치: System.Threading.Tasks.Task.WaitAll(Task[] tasks)
               위치: ConsoleApp1.Program.Main(String[] args)
            """);

        korean.Exceptions.Select(e => e.Type).Should().Equal("System.AggregateException", "System.ArgumentNullException");
        korean.Exceptions[1].Value.Should().Be("값은 null일 수 없습니다.\n매개 변수 이름: item");
        korean.Exceptions[1].Frames.Select(f => (f.Type, f.Function, f.Line)).Should().Equal(
            ("System.Windows.Forms.ListBox.ObjectCollection", "AddInternal", null),
            ("System.Windows.Forms.ListBox.ObjectCollection", "Add", null),
            ("Mod7.Form1", "button6_Click", 102));
        korean.Exceptions[0].Frames.Select(f => (f.Type, f.Function)).Should().Equal(
            ("System.Threading.Tasks.Task", "WaitAll"), ("ConsoleApp1.Program", "Main"));
    }

    [Fact]
    public void Dutch_frame_lines_are_read()
    {
        var dutch = DotNetTraceParser.Parse("""
            System.Reflection.TargetInvocationException: Het doel van een aanroep heeft een uitzondering veroorzaakt. ---> System.MissingMethodException: Er is geen parameterloze constructor voor dit object opgegeven.
               bij System.RuntimeType.CreateInstanceSlow(Boolean publicOnly, Boolean skipCheckThis, Boolean fillCache, StackCrawlMark& stackMark)
               bij Shop.Program.Main(String[] args) in C:\src\Shop\Program.cs:regel 12
            """);

        dutch.Exceptions[1].Value.Should().Be("Er is geen parameterloze constructor voor dit object opgegeven.");
        dutch.Exceptions[1].Frames.Select(f => (f.Type, f.Function, f.Line)).Should().Equal(
            ("System.RuntimeType", "CreateInstanceSlow", null), ("Shop.Program", "Main", 12));
    }
}
