using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 5, and what its events carry as legacy
/// fingerprints. Issues are keyed by these values: if one of these tests fails, a rule changed and
/// existing issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV5Tests
{
    [Fact]
    public void Version_5_follows_version_4()
    {
        GroupingRules.V5.Version.Should().Be(5);
        GroupingRules.V5.Previous.Should().BeSameAs(GroupingRules.V4);
    }

    [Fact]
    public void One_call_refused_for_the_request_and_for_a_permission_is_two_issues_where_version_4_made_one()
    {
        var refused = Grouper.Group(BotFailure("The server responded with error 400: BadRequest"), GroupingRules.V5);
        var forbidden = Grouper.Group(BotFailure("The server responded with error 403: Forbidden"), GroupingRules.V5);

        Grouper.Counted(refused.Components).Should().Equal(
            "type:HttpException", "throw:RequestBucket", "app:Shop.Bot.OrderNotifier.PostAsync", "status:400");
        refused.Fingerprint.Should().Be("30178358fd8fa4857ae5aaaa10da7613");
        forbidden.Fingerprint.Should().NotBe(refused.Fingerprint);
        Grouper.Group(BotFailure("The server responded with error 400: BadRequest"), GroupingRules.V4).Fingerprint
            .Should().Be(Grouper.Group(BotFailure("The server responded with error 403: Forbidden"), GroupingRules.V4).Fingerprint,
                "version 4 counted the frames only, and both throws are the library's request bucket under the same method");
    }

    [Fact]
    public void A_servers_outage_is_one_issue_whichever_server_error_it_answered()
    {
        var internalError = Grouper.Group(BotFailure("The server responded with error 500: InternalServerError"), GroupingRules.V5);
        var unavailable = Grouper.Group(BotFailure("The server responded with error 503: ServiceUnavailable"), GroupingRules.V5);
        var badGateway = Grouper.Group(BotFailure("The server responded with error 502: Bad Gateway"), GroupingRules.V5);

        Grouper.Counted(internalError.Components).Should().EndWith("status:5xx");
        unavailable.Fingerprint.Should().Be(internalError.Fingerprint);
        badGateway.Fingerprint.Should().Be(internalError.Fingerprint);
        internalError.Fingerprint.Should().NotBe(Grouper.Group(BotFailure("The server responded with error 404: NotFound"), GroupingRules.V5).Fingerprint);
    }

    [Fact]
    public void The_status_is_read_as_dotnet_and_http_libraries_print_it()
    {
        var ensureSuccess = Grouper.Group(Event(Exception("System.Net.Http.HttpRequestException",
            "Response status code does not indicate success: 404 (Not Found).",
            Framework("System.Net.Http.HttpResponseMessage", "EnsureSuccessStatusCode"),
            InApp("Shop.Catalog.PriceClient", "GetPriceAsync"))), GroupingRules.V5);
        var webRequest = Grouper.Group(Event(Exception("System.Net.WebException", "The remote server returned an error: (503) Server Unavailable.",
            Framework("System.Net.HttpWebRequest", "GetResponse"),
            InApp("Shop.Catalog.PriceClient", "GetPrice"))), GroupingRules.V5);

        Grouper.Counted(ensureSuccess.Components).Should().Equal(
            "type:HttpRequestException", "throw:HttpResponseMessage", "app:Shop.Catalog.PriceClient.GetPriceAsync", "status:404");
        ensureSuccess.Fingerprint.Should().Be("b6785579ad2a30ddbf9a55d26300c470");
        Grouper.Counted(webRequest.Components).Should().EndWith("status:5xx");
    }

    [Fact]
    public void A_bare_number_a_message_of_another_type_and_a_frameless_message_group_as_in_version_4()
    {
        var lookup = Event(Exception("System.Net.Http.HttpRequestException", "No such host is known. (api.example.com:443)",
            Framework("System.Net.Http.HttpConnectionPool", "ConnectToTcpHostAsync"),
            InApp("Shop.Catalog.PriceClient", "GetPriceAsync")));
        var notHttp = Event(Exception("System.IO.FileNotFoundException", "Not Found: the price list",
            Framework("System.IO.File", "OpenRead"),
            InApp("Shop.Catalog.PriceList", "Load")));
        var frameless = Event(Exception("System.Net.Http.HttpRequestException", "Response status code does not indicate success: 404 (Not Found)."));

        foreach (var unchanged in new[] { lookup, notHttp, Checkout() })
        {
            Grouper.Group(unchanged, GroupingRules.V5).Fingerprint.Should().Be(Grouper.Group(unchanged, GroupingRules.V4).Fingerprint);
            GroupingRules.V5.MayDifferFromPrevious(unchanged).Should().BeFalse("nothing in it reports an HTTP status");
        }

        Grouper.Group(frameless, GroupingRules.V5).Fingerprint.Should().Be(Grouper.Group(frameless, GroupingRules.V4).Fingerprint, "without frames the message counts, status and all");
        Grouper.Counted(Grouper.Group(frameless, GroupingRules.V5).Components).Should().NotContain(c => c.StartsWith("status:", StringComparison.Ordinal));
    }

    [Fact]
    public void An_event_version_5_groups_otherwise_carries_every_older_versions_fingerprint_newest_first()
    {
        var changed = BotFailure("The server responded with error 400: BadRequest");
        var grouped = Grouper.Group(changed, GroupingRules.V5);
        var versionFour = Grouper.Group(changed, GroupingRules.V4).Fingerprint;
        var versionThree = Grouper.Group(changed, GroupingRules.V3).Fingerprint;

        GroupingRules.V5.MayDifferFromPrevious(changed).Should().BeTrue();
        versionFour.Should().NotBe(grouped.Fingerprint);
        versionThree.Should().NotBe(versionFour, "version 4 took the Discord client for framework code");
        grouped.LegacyFingerprint.Should().Be(versionFour, "version 4's issue keeps the event");
        grouped.EarlierLegacyFingerprints.Should().Equal(versionThree, GroupingV1.Fingerprint(changed));
    }

    [Fact]
    public void An_event_version_5_groups_as_version_4_still_carries_version_3s_fingerprint_where_version_4_changed_it()
    {
        var missingPermissions = BotFailure("The server responded with error 50013: Missing Permissions");
        var grouped = Grouper.Group(missingPermissions, GroupingRules.V5);

        GroupingRules.V5.MayDifferFromPrevious(missingPermissions).Should().BeFalse("Discord's own error code is no HTTP status");
        grouped.Fingerprint.Should().Be(Grouper.Group(missingPermissions, GroupingRules.V4).Fingerprint);
        grouped.LegacyFingerprint.Should().Be(Grouper.Group(missingPermissions, GroupingRules.V3).Fingerprint);
    }

    private static IncomingEvent BotFailure(string message) => Event(Exception("Discord.Net.HttpException", message,
        InApp("Discord.Net.Queue.RequestBucket", "SendAsync"),
        InApp("Discord.Net.Queue.RequestQueue", "SendAsync"),
        InApp("Discord.API.DiscordRestApiClient", "SendInternalAsync"),
        InApp("Discord.Rest.ChannelHelper", "SendMessageAsync"),
        InApp("Shop.Bot.OrderNotifier", "PostAsync"),
        InApp("Shop.Bot.BotHost", "OnMessageReceived")));
}
