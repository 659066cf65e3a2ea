using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 4, and what its events carry as legacy fingerprints (version 5, the
/// current one, groups these events as version 4 did: none of them reports an HTTP status). Issues are keyed by these values: if one of these tests fails, a rule changed and
/// existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV4Tests
{
    [Fact]
    public void Version_4_follows_version_3()
    {
        GroupingRules.V4.Version.Should().Be(4);
        GroupingRules.V4.Previous.Should().BeSameAs(GroupingRules.V3);
    }

    [Fact]
    public void A_bot_failing_through_its_discord_client_is_keyed_by_the_bots_own_method()
    {
        var grouped = Grouper.Group(MissingPermissions("Shop.Bot.OrderNotifier", "PostAsync"), GroupingRules.V4);

        Grouper.Counted(grouped.Components).Should().Equal("type:HttpException", "throw:RequestBucket", "app:Shop.Bot.OrderNotifier.PostAsync");
        grouped.Fingerprint.Should().Be("b767a3baa3ab8baeffc78a2be08d7ef3");
    }

    [Fact]
    public void The_same_library_failure_from_two_methods_of_the_app_is_two_issues_where_version_3_made_one()
    {
        var notifier = MissingPermissions("Shop.Bot.OrderNotifier", "PostAsync");
        var settings = MissingPermissions("Shop.Bot.ChannelSettings", "LoadAsync");

        Grouper.Group(notifier, GroupingRules.V4).Fingerprint.Should().NotBe(Grouper.Group(settings, GroupingRules.V4).Fingerprint);
        Grouper.Group(notifier, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(settings, GroupingRules.V3).Fingerprint,
            "version 3 keyed both by the library's frame, app:Discord.Net.Queue.RequestBucket.SendAsync");

        var telegram = Event(Exception("Telegram.Bot.Exceptions.ApiRequestException", "Forbidden: bot was blocked by the user",
            InApp("Telegram.Bot.TelegramBotClient", "MakeRequestAsync"),
            InApp("Shop.Bot.Commands.OrderCommand", "HandleAsync")));
        Grouper.Counted(Grouper.Group(telegram, GroupingRules.V4).Components).Should().Equal(
            "type:ApiRequestException", "throw:TelegramBotClient", "app:Shop.Bot.Commands.OrderCommand.HandleAsync");

        var oracle = Event(Exception("Oracle.ManagedDataAccess.Client.OracleException", "Pooled connection request timed out",
            InApp("OracleInternal.ConnectionPool.PoolManager`3", "Get"),
            InApp("OracleInternal.ConnectionPool.OracleConnectionDispenser`3", "Get"),
            Framework("Oracle.ManagedDataAccess.Client.OracleConnection", "Open"),
            InApp("Shop.Data.OrderRepository", "Load")));
        Grouper.Counted(Grouper.Group(oracle, GroupingRules.V4).Components).Should().Equal("type:OracleException", "throw:PoolManager", "app:Shop.Data.OrderRepository.Load");
        Grouper.Group(oracle, GroupingRules.V4).Fingerprint.Should().Be("3b136d86e63a0901b47691be627e8f1e");
    }

    [Fact]
    public void A_frameless_message_counts_the_dotnet_names_it_quotes_beside_the_message()
    {
        var slack = Grouper.Group(Unresolved("Shop.Services.ISlackClient", "Shop.Services.OrderNotifier"), GroupingRules.V4);

        Grouper.Counted(slack.Components).Should().Equal(
            "type:InvalidOperationException",
            "subject:Shop.Services.ISlackClient, Shop.Services.OrderNotifier",
            "message:Unable to resolve service for type '<value>' while attempting to activate '<value>'.");
        slack.Fingerprint.Should().Be("bc27406d715f19c44a4157a83bbf2181");

        var mail = Unresolved("Shop.Services.IMailSender", "Shop.Services.InvoiceMailer");
        Grouper.Group(mail, GroupingRules.V4).Fingerprint.Should().NotBe(slack.Fingerprint, "another service is missing: another bug");
        Grouper.Group(mail, GroupingRules.V3).Fingerprint.Should().Be(Grouper.Group(Unresolved("Shop.Services.ISlackClient", "Shop.Services.OrderNotifier"), GroupingRules.V3).Fingerprint,
            "version 3 kept only the message, whose quoted names are parameters");
    }

    [Fact]
    public void A_frameless_message_that_quotes_no_dotnet_name_groups_as_in_version_3()
    {
        var data = Event(Exception("System.Collections.Generic.KeyNotFoundException", "The given key 'summer-kit' was not present in the dictionary."));
        var plain = Event(Exception("Shop.Orders.OrderFailedException", "Checkout failed for 3 items"));
        var value = Event(Exception("Shop.Accounts.AccountLockedException", "The account 'admin' is locked out."));

        Grouper.Group(data, GroupingRules.V4).Fingerprint.Should().Be(Grouper.Group(data, GroupingRules.V3).Fingerprint, "a quoted value with a dash is data, not a name");
        Grouper.Group(plain, GroupingRules.V4).Fingerprint.Should().Be(Grouper.Group(plain, GroupingRules.V3).Fingerprint);
        Grouper.Group(value, GroupingRules.V4).Fingerprint.Should().Be(Grouper.Group(value, GroupingRules.V3).Fingerprint,
            "without a stack a short quoted word is as often a value as a name: only namespace-qualified names count");
        GroupingRules.V4.MayDifferFromPrevious(plain).Should().BeFalse("no quote, no name");
        GroupingRules.V4.MayDifferFromPrevious(Checkout()).Should().BeFalse("nothing in it is touched by version 4's additions");
    }

    [Fact]
    public void An_event_version_4_groups_otherwise_carries_version_3s_fingerprint_then_version_1s()
    {
        foreach (var changed in new[] { MissingPermissions("Shop.Bot.OrderNotifier", "PostAsync"), Unresolved("Shop.Services.ISlackClient", "Shop.Services.OrderNotifier") })
        {
            var grouped = Grouper.Group(changed, GroupingRules.V4);
            var versionThree = Grouper.Group(changed, GroupingRules.V3).Fingerprint;

            GroupingRules.V4.MayDifferFromPrevious(changed).Should().BeTrue();
            versionThree.Should().NotBe(grouped.Fingerprint);
            grouped.LegacyFingerprint.Should().Be(versionThree, "version 3's issue keeps the event");
            Grouper.Group(changed, GroupingRules.V2).Fingerprint.Should().Be(versionThree, "version 3 grouped it as version 2 did, so that issue is the same");
            grouped.EarlierLegacyFingerprints.Should().Equal(GroupingV1.Fingerprint(changed));
        }
    }

    [Fact]
    public void An_event_version_4_groups_as_version_3_still_carries_version_2s_fingerprint_where_version_3_changed_it()
    {
        var wrongThread = Event(Exception("System.InvalidOperationException", "Call from invalid thread",
            InApp("Avalonia.Threading.Dispatcher", "<VerifyAccess>g__ThrowVerifyAccess|16_0"),
            InApp("Avalonia.AvaloniaObject", "GetValue"),
            InApp("Shop.Desktop.Views.OrderList", "OnOrdersChanged")));
        var grouped = Grouper.Group(wrongThread, GroupingRules.V4);

        GroupingRules.V4.MayDifferFromPrevious(wrongThread).Should().BeFalse();
        grouped.Fingerprint.Should().Be(Grouper.Group(wrongThread, GroupingRules.V3).Fingerprint);
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(wrongThread, GroupingRules.V2).Fingerprint);
    }

    private static IncomingEvent MissingPermissions(string appType, string appMethod) => Event(Exception("Discord.Net.HttpException",
        "The server responded with error 50013: Missing Permissions",
        InApp("Discord.Net.Queue.RequestBucket", "SendAsync"),
        InApp("Discord.Net.Queue.RequestQueue", "SendAsync"),
        InApp("Discord.API.DiscordRestApiClient", "SendInternalAsync"),
        InApp("Discord.Rest.ChannelHelper", "SendMessageAsync"),
        InApp(appType, appMethod),
        InApp("Shop.Bot.BotHost", "OnMessageReceived")));

    private static IncomingEvent Unresolved(string service, string consumer) => Event(Exception("System.InvalidOperationException",
        $"Unable to resolve service for type '{service}' while attempting to activate '{consumer}'."));
}
