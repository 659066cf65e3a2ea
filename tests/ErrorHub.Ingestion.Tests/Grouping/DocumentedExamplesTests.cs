using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Ingestion.Tests.Grouping.Corpus;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// The worked examples of docs/grouping.md, read from the same trace text a user would paste, so the
/// before/after the document shows is what versions 1, 2, 3 and 4 do.
/// </summary>
public sealed class DocumentedExamplesTests
{
    private static IncomingEvent Trace(string text) => DotNetTraceParser.Parse(text);

    private static List<string> V2(IncomingEvent e) => Grouper.Group(e, GroupingRules.V2).Components.Select(c => c.Counts ? $"{c.Kind}:{c.Value}" : $"({c.Kind}:{c.Value})").ToList();

    private static string Fingerprint(IncomingEvent e) => Grouper.Group(e).Fingerprint;

    [Fact]
    public void EFs_retry_wrapper_no_longer_swallows_what_failed_inside_it()
    {
        const string timeout = """
            System.InvalidOperationException: An exception has been raised that is likely due to a transient failure. Consider enabling transient error resiliency by adding 'EnableRetryOnFailure' to the 'UseNpgsql' call.
             ---> Npgsql.NpgsqlException (0x80004005): Exception while reading from stream
             ---> System.TimeoutException: Timeout during reading attempt
               at Npgsql.Internal.NpgsqlReadBuffer.<Ensure>g__EnsureLong|55_0(NpgsqlReadBuffer buffer, Int32 count, Boolean async, Boolean readingNotifications)
               --- End of inner exception stack trace ---
               --- End of inner exception stack trace ---
               at Microsoft.EntityFrameworkCore.Storage.NonRetryingExecutionStrategy.ExecuteAsync[TState,TResult](TState state, Func`4 operation, Func`4 verifySucceeded, CancellationToken cancellationToken)
            """;
        var refused = timeout
            .Replace("Npgsql.NpgsqlException (0x80004005): Exception while reading from stream", "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.0.0.5:5432", StringComparison.Ordinal)
            .Replace(" ---> System.TimeoutException: Timeout during reading attempt\n", " ---> System.Net.Sockets.SocketException (10061): Connection refused\n", StringComparison.Ordinal)
            .Replace("at Npgsql.Internal.NpgsqlReadBuffer.<Ensure>g__EnsureLong|55_0(NpgsqlReadBuffer buffer, Int32 count, Boolean async, Boolean readingNotifications)", "at Npgsql.Internal.NpgsqlConnector.Connect(NpgsqlTimeout timeout)", StringComparison.Ordinal);

        GroupingV1.Fingerprint(Trace(timeout)).Should().Be(GroupingV1.Fingerprint(Trace(refused)), "version 1 saw only the wrapper");
        V2(Trace(timeout)).Should().Equal("(wrapper:InvalidOperationException)", "(wrapper:NpgsqlException)", "type:TimeoutException", "throw:NpgsqlReadBuffer");
        Fingerprint(Trace(refused)).Should().NotBe(Fingerprint(Trace(timeout)));
        Grouper.Group(Trace(timeout)).Title.Should().Be("TimeoutException: Timeout during reading attempt");
    }

    [Fact]
    public void The_title_names_the_root_cause_and_the_wrapper_beside_it()
    {
        var grouped = Grouper.Group(Trace("""
            Microsoft.EntityFrameworkCore.DbUpdateException: An error occurred while saving the entity changes. See the inner exception for details.
             ---> Microsoft.Data.Sqlite.SqliteException (0x80004005): SQLite Error 19: 'FOREIGN KEY constraint failed'.
               at Microsoft.Data.Sqlite.SqliteException.ThrowExceptionForRC(Int32 rc, sqlite3 db)
               at Microsoft.Data.Sqlite.SqliteDataReader.NextResult()
               at Microsoft.Data.Sqlite.SqliteCommand.ExecuteReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken)
               --- End of inner exception stack trace ---
               at Microsoft.EntityFrameworkCore.DbContext.SaveChangesAsync(Boolean acceptAllChangesOnSuccess, CancellationToken cancellationToken)
               at Shop.Orders.OrderService.PlaceAsync(Order order) in /src/Shop/Orders/OrderService.cs:line 42
            """));

        grouped.Title.Should().Be("SqliteException: SQLite Error 19: 'FOREIGN KEY constraint failed'.");
        grouped.TitleWrapper.Should().Be("DbUpdateException");
        Grouper.Counted(grouped.Components).Should().Equal("type:SqliteException", "throw:SqliteDataReader", "app:Shop.Orders.OrderService.PlaceAsync");
    }

    [Fact]
    public void A_failure_inside_EF_Core_and_one_inside_LINQ_in_one_app_method_were_one_issue_and_are_two()
    {
        var tracked = Trace("""
            System.InvalidOperationException: The instance of entity type 'Order' cannot be tracked because another instance with the key value '{Id: 7}' is already being tracked.
               at Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1.ThrowIdentityConflict(InternalEntityEntry entry)
               at Microsoft.EntityFrameworkCore.ChangeTracking.Internal.IdentityMap`1.Add(TKey key, InternalEntityEntry entry, Boolean updateDuplicate)
               at Shop.Orders.OrderHandler.Handle(UpdateOrder command) in /src/Shop/Orders/OrderHandler.cs:line 31
            """);
        var empty = Trace("""
            System.InvalidOperationException: Sequence contains no elements
               at System.Linq.ThrowHelper.ThrowNoElementsException()
               at System.Linq.Enumerable.First[TSource](IEnumerable`1 source)
               at Shop.Orders.OrderHandler.Handle(UpdateOrder command) in /src/Shop/Orders/OrderHandler.cs:line 27
            """);

        GroupingV1.Fingerprint(tracked).Should().Be(GroupingV1.Fingerprint(empty));
        V2(tracked).Should().Equal("type:InvalidOperationException", "throw:IdentityMap", "app:Shop.Orders.OrderHandler.Handle");
        V2(empty).Should().Equal("type:InvalidOperationException", "(guard:Enumerable.First)", "app:Shop.Orders.OrderHandler.Handle");
    }

    [Fact]
    public void Collection_was_modified_is_keyed_by_the_app_method_on_any_runtime()
    {
        const string core = """
            System.InvalidOperationException: Collection was modified; enumeration operation may not execute.
               at System.ThrowHelper.ThrowInvalidOperationException_InvalidOperation_EnumFailedVersion()
               at System.Collections.Generic.List`1.Enumerator.MoveNextRare()
               at Shop.Cart.CartService.RemoveExpired() in /src/Shop/Cart/CartService.cs:line 60
            """;
        const string framework = """
            System.InvalidOperationException: Collection was modified; enumeration operation may not execute.
               at System.Collections.Generic.List`1.Enumerator.MoveNext()
               at Shop.Cart.CartService.RemoveExpired()
            """;

        Grouper.Counted(Grouper.Group(Trace(core)).Components).Should().Equal("type:InvalidOperationException", "app:Shop.Cart.CartService.RemoveExpired");
        V2(Trace(core)).Should().ContainSingle(c => c.StartsWith("(guard:", StringComparison.Ordinal) && c.EndsWith("MoveNextRare)", StringComparison.Ordinal));
        Fingerprint(Trace(framework)).Should().Be(Fingerprint(Trace(core)));
        Fingerprint(Trace(core.Replace("RemoveExpired", "Merge", StringComparison.Ordinal))).Should().NotBe(Fingerprint(Trace(core)));
    }

    [Fact]
    public void One_more_caller_split_the_issue_in_version_1_and_does_not_in_version_2()
    {
        const string cart = """
            System.Collections.Generic.KeyNotFoundException: The given key 'summer-kit' was not present in the dictionary.
               at System.Collections.Generic.Dictionary`2.get_Item(TKey key)
               at Shop.Catalog.PriceBundle(String sku)
               at Shop.Cart.CartService.Checkout()
            """;
        var quickBuy = cart.Replace("Shop.Cart.CartService.Checkout()", "Shop.Api.QuickBuyEndpoint.Post()", StringComparison.Ordinal);
        var throughReflection = "System.Reflection.TargetInvocationException: Exception has been thrown by the target of an invocation.\n ---> " + cart;

        GroupingV1.Fingerprint(Trace(quickBuy)).Should().NotBe(GroupingV1.Fingerprint(Trace(cart)));
        GroupingV1.Fingerprint(Trace(throughReflection)).Should().NotBe(GroupingV1.Fingerprint(Trace(cart)));
        V2(Trace(cart)).Should().Equal("type:KeyNotFoundException", "(guard:Dictionary.get_Item)", "app:Shop.Catalog.PriceBundle");
        Fingerprint(Trace(quickBuy)).Should().Be(Fingerprint(Trace(cart)));
        Fingerprint(Trace(throughReflection)).Should().Be(Fingerprint(Trace(cart)));
        Grouper.Group(Trace(throughReflection)).TitleWrapper.Should().Be("TargetInvocationException");
    }

    [Fact]
    public void A_renamed_namespace_of_a_library_split_the_issue_in_version_1_and_does_not_in_version_2()
    {
        const string framework = """
            System.Data.SqlClient.SqlException (0x80131904): Invalid object name 'Departments'.
               at System.Data.SqlClient.SqlConnection.OnError(SqlException exception, Boolean breakConnection, Action`1 wrapCloseInAction)
               at System.Data.SqlClient.SqlInternalConnection.OnError(SqlException exception, Boolean breakConnection, Action`1 wrapCloseInAction)
            """;
        var modern = framework.Replace("System.Data.SqlClient", "Microsoft.Data.SqlClient", StringComparison.Ordinal);

        GroupingV1.Fingerprint(Trace(modern)).Should().NotBe(GroupingV1.Fingerprint(Trace(framework)));
        V2(Trace(framework)).Should().Equal("type:SqlException", "throw:SqlConnection", "subject:Departments");
        Fingerprint(Trace(modern)).Should().Be(Fingerprint(Trace(framework)));
    }

    [Fact]
    public void Two_wrong_thread_bugs_of_one_Avalonia_app_were_one_issue_in_version_2_and_are_two_in_version_3()
    {
        var itemsRepeater = Corpus("stabilitymatrix-invalidthread-1084.txt");
        var itemsRepeaterAgain = Corpus("stabilitymatrix-invalidthread-1078.txt");
        var notification = Corpus("stabilitymatrix-notifythread-1617.txt");

        Grouper.Group(itemsRepeater, GroupingRules.V2).Fingerprint.Should().Be(Grouper.Group(notification, GroupingRules.V2).Fingerprint,
            "version 2 took the UI framework's thread check for the app's code");
        Grouper.Counted(Grouper.Group(itemsRepeater, GroupingRules.V2).Components).Should().Equal(
            "type:InvalidOperationException", "app:Avalonia.Threading.Dispatcher.VerifyAccess.ThrowVerifyAccess");
        V3(itemsRepeater).Should().Equal("type:InvalidOperationException", "(guard:Dispatcher.VerifyAccess.ThrowVerifyAccess)", "app:FluentAvalonia.UI.Controls.ItemsRepeater.OnItemsSourceViewChanged");
        V3(notification).Should().Equal("type:InvalidOperationException", "(guard:Dispatcher.VerifyAccess.ThrowVerifyAccess)", "throw:WindowNotificationManager");
        Fingerprint(itemsRepeaterAgain).Should().Be(Fingerprint(itemsRepeater), "another user's report of the same bug still groups");
    }

    [Fact]
    public void A_database_librarys_frames_were_the_app_frame_of_every_app_using_it_in_version_2()
    {
        var game = Corpus("osu-realmflock-28822.txt");
        var exporter = Corpus("beatmapexporter-realmschema-1.txt");

        Grouper.Group(game, GroupingRules.V2).Fingerprint.Should().Be(Grouper.Group(exporter, GroupingRules.V2).Fingerprint);
        V3(game).Should().Equal("type:RealmException", "throw:SharedRealmHandle", "app:osu.Game.Database.RealmAccess.getRealmInstance");
        V3(exporter).Should().Equal("type:RealmException", "throw:SharedRealmHandle", "app:BeatmapExporter.Exporters.Lazer.LazerDB.LazerDatabase.Open");
    }

    [Fact]
    public void Kestrels_throw_helper_renamed_between_releases_is_skipped_and_the_component_that_noticed_counts()
    {
        var aspNetCore5 = Corpus("shoko-badrequest-877.txt");
        var aspNetCore31 = Corpus("nethermind-badrequest-2329.txt");

        V3(aspNetCore5).Should().Equal("type:BadHttpRequestException", "throw:Http1ContentLengthMessageBody");
        V3(aspNetCore31).Should().Equal("type:BadHttpRequestException", "throw:Http1ContentLengthMessageBody", "app:Nethermind.Runner.Startup.Configure.<lambda>");
    }

    [Fact]
    public void The_schedulers_wrapper_and_one_framework_frame_more_split_a_Quartz_failure_in_version_1_and_not_in_version_3()
    {
        var wrapped = Corpus("quartz-notrecovering-1191.txt");
        var bare = Corpus("quartz-notrecovering-1081.txt");

        GroupingV1.Fingerprint(wrapped).Should().NotBe(GroupingV1.Fingerprint(bare), "version 1 keyed a trace without in-app frames by its outermost exception");
        V3(wrapped).Should().Equal("(wrapper:SchedulerException)", "type:InvalidOperationException", "throw:JobExecutionContextImpl");
        Fingerprint(wrapped).Should().Be(Fingerprint(bare));
    }

    [Fact]
    public void An_app_whose_namespace_moved_between_releases_gets_a_new_issue_the_one_split_of_held_out_3()
    {
        var later = Corpus("nswag-registeredtwice-857.txt");
        var earlier = Corpus("nswag-registeredtwice-484.txt");

        V3(later).Should().Equal("type:InvalidOperationException", "app:NSwag.SwaggerGeneration.WebApi.WebApiToSwaggerGenerator.AddOperationDescriptionsToDocumentAsync");
        V3(earlier).Should().Equal("type:InvalidOperationException", "app:NSwag.CodeGeneration.SwaggerGenerators.WebApi.WebApiToSwaggerGenerator.AddOperationDescriptionsToDocumentAsync");
    }

    [Fact]
    public void A_bot_failing_through_its_discord_client_in_two_of_its_methods_is_two_issues_in_version_4()
    {
        var chatConfiguration = Corpus("grammarnazi-missingperms-chatconfig-123.txt");
        var correction = Corpus("grammarnazi-badrequest-sendcorrection-139.txt");

        V3(chatConfiguration).Should().Equal("type:Discord.Net.HttpException", "app:Discord.Net.Queue.RequestBucket.SendAsync");
        V3(correction).Should().Equal(V3(chatConfiguration), "version 3 took the library's frame for the app's");
        V4(chatConfiguration).Should().Equal("type:HttpException", "throw:RequestBucket", "app:GrammarNazi.App.HostedServices.DiscordBotHostedService.GetChatConfiguration");
        V4(correction).Should().Equal("type:HttpException", "throw:RequestBucket", "app:GrammarNazi.App.HostedServices.DiscordBotHostedService.OnMessageReceived");
        Fingerprint(Corpus("grammarnazi-badrequest-sendcorrection-149.txt")).Should().Be(Fingerprint(correction), "the same failure a release later");
    }

    [Fact]
    public void A_bot_failing_through_the_telegram_client_in_two_of_its_methods_is_two_issues_in_version_4()
    {
        var blocked = Corpus("grammarnazi-tgblocked-handlecommand-42.txt");
        var kicked = Corpus("grammarnazi-tgkicked-onmessage-55.txt");

        Grouper.Group(blocked, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(kicked, GroupingRules.V3).Fingerprint);
        V4(blocked).Should().Equal("type:ApiRequestException", "throw:TelegramBotClient", "app:GrammarNazi.Core.Services.TelegramCommandHandlerService.HandleCommand");
        V4(kicked).Should().Equal("type:ApiRequestException", "throw:TelegramBotClient", "app:GrammarNazi.App.HostedServices.TelegramBotHostedService.OnMessageReceived");
    }

    [Fact]
    public void An_app_under_odpnets_connection_pool_is_keyed_by_its_own_frame_in_version_4()
    {
        var api = Corpus("qsoecpapi-pooltimeout-113.txt");

        V3(api).Should().Equal("type:OracleException", "app:OracleInternal.ConnectionPool.PoolManager.Get");
        V4(api).Should().Equal("type:OracleException", "throw:PoolManager", "app:QsOecpAPI.Controllers.MasterController.Xxxxxxxx");
    }

    [Fact]
    public void Frameless_dependency_injection_failures_keep_the_services_they_name_in_version_4()
    {
        var equinox = Corpus("equinox-di-eventstore-176.txt");
        var coravel = Corpus("coravelservice-di-jobdefinition-1.txt");

        Grouper.Group(equinox, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(coravel, GroupingRules.V3).Fingerprint, "version 3 kept the message without its names");
        V4(equinox).Should().Equal("type:AggregateException", "subject:Domain.Core.Events.IEventStore, EventBus.Memory.InMemoryBus",
            "message:Some services are not able to be constructed (Error while validating the service descriptor '<value>': Unable to resolve service for type '<value>' while attempting to activate '<value>'.)");
        Fingerprint(coravel).Should().NotBe(Fingerprint(equinox));
        Fingerprint(Corpus("lettuceencrypt-di-accountstore-125.txt")).Should().Be(Fingerprint(Corpus("lettuceencrypt-di-accountstore-145.txt")),
            "one library's missing registration, reported twice without frames");
        Fingerprint(Corpus("lettuceencrypt-di-accountstore-125.txt")).Should().NotBe(Fingerprint(Corpus("dapperwebapi-di-executers-1.txt")));
    }

    [Fact]
    public void Failures_of_one_bot_method_in_one_library_call_queue_were_one_issue_in_version_4_and_are_one_per_status_in_version_5()
    {
        // docs/grouping.md, "Version 5": what version 4 merged, as the message does not count when frames exist and every throw is the library's request bucket.
        var forbidden = Corpus("grammarnazi-forbidden-typing-151.txt");
        var refused = Corpus("grammarnazi-badrequest-sendcorrection-139.txt");
        var outage = Corpus("grammarnazi-servererror-worker-937.txt");
        Grouper.Group(forbidden, GroupingRules.V4).Fingerprint.Should().Be(Grouper.Group(refused, GroupingRules.V4).Fingerprint);
        Grouper.Group(outage, GroupingRules.V4).Fingerprint.Should().Be(Grouper.Group(refused, GroupingRules.V4).Fingerprint);

        const string Method = "app:GrammarNazi.App.HostedServices.DiscordBotHostedService.OnMessageReceived";
        V5(forbidden).Should().Equal("type:HttpException", "throw:RequestBucket", Method, "status:403");
        V5(refused).Should().Equal("type:HttpException", "throw:RequestBucket", Method, "status:400");
        V5(outage).Should().Equal("type:HttpException", "throw:RequestBucket", Method, "status:5xx");
        Fingerprint(Corpus("grammarnazi-badrequest-sendcorrection-120.txt")).Should().Be(Fingerprint(refused), "the same refusal filed again");

        // The same through the app's own retry helper: a server error, worded two ways, and Discord's "Missing Access", no HTTP status.
        var serverError = Fingerprint(Corpus("grammarnazi-servererror-retry-316.txt"));
        serverError.Should().Be(Fingerprint(Corpus("grammarnazi-servererror-retry-310.txt")));
        serverError.Should().NotBe(Fingerprint(Corpus("grammarnazi-missingaccess-retry-317.txt")));
    }

    [Fact]
    public void A_window_failure_reported_with_and_without_the_entry_point_below_the_message_loop_is_one_issue_in_version_6()
    {
        // docs/grouping.md, "Version 6": LiveSplit's crash dialog could not get a window handle; one report was cut above Main.
        var cut = Corpus("livesplit-windowhandle-1321.txt");
        var withMain = Corpus("livesplit-windowhandle-2158.txt");

        V5(withMain).Should().Equal("type:Win32Exception", "throw:NativeWindow", "app:LiveSplit.Program.Main");
        V5(cut).Should().Equal("type:Win32Exception", "throw:NativeWindow");
        V6(withMain).Should().Equal("type:Win32Exception", "throw:NativeWindow");
        Fingerprint(withMain).Should().Be(Fingerprint(cut));
        Fingerprint(Corpus("livesplit-windowhandle-2179.txt")).Should().Be(Fingerprint(cut), "the same failure from a timer's message, no message text");
        V6(Corpus("livesplit-nre-layoutcomponents-1068.txt")).Should().Contain("app:LiveSplit.UI.Layout.get_Components.<lambda>", "Main below the app's own frames is never read");
    }

    [Fact]
    public void Two_apps_disposed_views_printed_without_quotes_are_two_issues_in_version_6()
    {
        var page = Corpus("mauiapp-disposed-contentviewgroup-22670.txt");
        var button = Corpus("mauiapp-disposed-materialbutton-30449.txt");

        Grouper.Group(page, GroupingRules.V5).Fingerprint.Should().Be(Grouper.Group(button, GroupingRules.V5).Fingerprint);
        V6(page).Should().Equal("type:ObjectDisposedException", "throw:JniPeerMembers", "subject:Microsoft.Maui.Platform.ContentViewGroup");
        V6(button).Should().Equal("type:ObjectDisposedException", "throw:JniPeerMembers", "subject:Microsoft.Maui.Platform.MauiMaterialButton");
    }

    [Fact]
    public void Frameless_tracking_conflicts_of_two_entity_types_are_two_issues_in_version_6()
    {
        var keywords = Corpus("keywordrules-tracked-3776.txt");
        var items = Corpus("posrestaurant-tracked-items-10245.txt");

        Grouper.Group(keywords, GroupingRules.V5).Fingerprint.Should().Be(Grouper.Group(items, GroupingRules.V5).Fingerprint);
        V6(keywords).Should().StartWith(["type:InvalidOperationException", "subject:KeywordRules, DbContextOptionsBuilder.EnableSensitiveDataLogging"]);
        V6(items).Should().StartWith(["type:InvalidOperationException", "subject:Items, DbContextOptionsBuilder.EnableSensitiveDataLogging"]);
    }

    [Fact]
    public void Null_dereferences_in_three_methods_of_dappers_sqlmapper_are_three_issues_in_version_7()
    {
        // docs/grouping.md, "Version 7": three apps' reports, each cut above the app's frames, each a null in another method.
        var queryAsync = Corpus("dapper-nre-queryasync-1070.txt");
        var columnHash = Corpus("dapper-nre-columnhash-1739.txt");
        var queryImpl = Corpus("dapper-nre-queryimpl-1576.txt");

        V6(queryAsync).Should().Equal("type:NullReferenceException", "throw:SqlMapper");
        V6(columnHash).Should().Equal(V6(queryAsync));
        V6(queryImpl).Should().Equal(V6(queryAsync));
        V7(queryAsync).Should().Equal("type:NullReferenceException", "throw:SqlMapper.QueryAsync");
        V7(columnHash).Should().Equal("type:NullReferenceException", "throw:SqlMapper.GetColumnHash");
        V7(queryImpl).Should().Equal("type:NullReferenceException", "throw:SqlMapper.QueryImpl");
    }

    [Fact]
    public void A_console_refusal_set_through_a_property_and_directly_is_one_issue_in_version_7()
    {
        // docs/grouping.md, "Version 7": PSReadLine's buffer failure, six reports, two of them through its terminal's CursorLeft setter.
        string[] reports =
        [
            "psreadline-buffersize-left-2700.txt", "psreadline-buffersize-left-4113.txt", "psreadline-buffersize-top-1686.txt",
            "psreadline-buffersize-history-2105.txt", "psreadline-buffersize-forcerender-1629.txt", "psreadline-buffersize-processonekey-2924.txt",
        ];

        V6(Corpus(reports[0])).Should().Equal("type:ArgumentOutOfRangeException", "throw:VirtualTerminal");
        V6(Corpus(reports[2])).Should().Equal("type:ArgumentOutOfRangeException", "throw:PSConsoleReadLine");
        reports.Select(r => V7(Corpus(r))).Should().AllSatisfy(c => c.Should().Equal("type:ArgumentOutOfRangeException", "throw:PSConsoleReadLine"));

        // Two apps' wrong-thread failures, cut before any app frame: one through AvaloniaObject's InheritanceParent setter.
        V6(Corpus("wasabi-invalidthread-7956.txt")).Should().Equal(V6(Corpus("visioforge-invalidthread-7.txt")));
        V7(Corpus("wasabi-invalidthread-7956.txt")).Should().Equal("type:InvalidOperationException", "throw:StyledElement");
        V7(Corpus("visioforge-invalidthread-7.txt")).Should().Equal("type:InvalidOperationException", "throw:AvaloniaObject");
    }

    [Fact]
    public void An_apps_own_code_under_a_microsoft_namespace_is_its_app_frame_in_version_8()
    {
        // docs/grouping.md, "Version 8": eShopOnContainers' catalog call answered 503, and another app's (Skoruba's admin) call answered 500.
        var eShop = Corpus("eshop-webmvc-catalog-503-1267.txt");
        var skoruba = Corpus("skoruba-userinfo500-621.txt");

        V7(eShop).Should().Equal("type:HttpRequestException", "throw:HttpResponseMessage", "status:5xx");
        V7(skoruba).Should().Equal(V7(eShop), "version 7 found no app frame in either: one fingerprint for two apps' failures");
        V8(eShop).Should().Equal("type:HttpRequestException", "throw:HttpResponseMessage",
            "app:Microsoft.eShopOnContainers.WebMVC.Services.CatalogService.GetCatalogItems", "status:5xx");
        V8(skoruba).Should().Equal(V7(skoruba));

        // Git Credential Manager's null in its own Microsoft.Alm code: version 7 keyed it as a library's null dereference.
        V7(Corpus("gcmw-findapp-nopath-459.txt")).Should().Equal("type:NullReferenceException", "throw:Where.FindApp");
        V8(Corpus("gcmw-findapp-nopath-459.txt")).Should().Equal("type:NullReferenceException", "app:Microsoft.Alm.Git.Where.FindApp");
    }

    private static IncomingEvent Corpus(string file) => Trace(File.ReadAllText(Path.Combine(TraceCorpus.Folder, "traces", file)));

    private static List<string> V3(IncomingEvent e) => Grouper.Group(e, GroupingRules.V3).Components.Select(c => c.Counts ? $"{c.Kind}:{c.Value}" : $"({c.Kind}:{c.Value})").ToList();

    private static List<string> V4(IncomingEvent e) => Grouper.Group(e, GroupingRules.V4).Components.Where(c => c.Counts).Select(c => $"{c.Kind}:{c.Value}").ToList();

    private static List<string> V5(IncomingEvent e) => Grouper.Group(e, GroupingRules.V5).Components.Where(c => c.Counts).Select(c => $"{c.Kind}:{c.Value}").ToList();

    private static List<string> V6(IncomingEvent e) => Grouper.Group(e, GroupingRules.V6).Components.Where(c => c.Counts).Select(c => $"{c.Kind}:{c.Value}").ToList();

    private static List<string> V7(IncomingEvent e) => Grouper.Group(e, GroupingRules.V7).Components.Where(c => c.Counts).Select(c => $"{c.Kind}:{c.Value}").ToList();

    private static List<string> V8(IncomingEvent e) => Grouper.Group(e, GroupingRules.V8).Components.Where(c => c.Counts).Select(c => $"{c.Kind}:{c.Value}").ToList();
}
