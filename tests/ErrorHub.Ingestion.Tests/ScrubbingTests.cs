using System.Net;
using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Scrubbing;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Batches;
using FluentAssertions;
using Xunit;
using static ErrorHub.Testing.Batches.SampleBatch;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Ingestion.Tests;

/// <summary>Whatever an SDK sent, credentials and card numbers never reach the store.</summary>
public sealed class ScrubbingTests
{
    private static readonly EventScrubber Scrubber = new(new ScrubbingOptions());

    [Theory]
    [InlineData("Authorization")]
    [InlineData("proxy-authorization")]
    [InlineData("Cookie")]
    [InlineData("X-Api-Key")]
    [InlineData("x_api_key")]
    [InlineData("X-Auth-Token")]
    [InlineData("X-CSRF-TOKEN")]
    [InlineData("password")]
    [InlineData("userPassword")]
    [InlineData("client_secret")]
    [InlineData("SessionId")]
    [InlineData("card")]
    [InlineData("card-number")]
    [InlineData("cvv")]
    [InlineData("pin")]
    [InlineData("private_key")]
    [InlineData("aws_credentials")]
    [InlineData("pin1")]
    [InlineData("userPIN2")]
    [InlineData("PINCode")]
    [InlineData("OTPCode")]
    [InlineData("X-OTP2")]
    [InlineData("card2")]
    [InlineData("pin\u0000")]
    public void Names_that_carry_credentials_are_sensitive_in_any_spelling(string name) =>
        Scrubber.IsSensitive(name).Should().BeTrue(name);

    [Theory]
    [InlineData("Accept")]
    [InlineData("User-Agent")]
    [InlineData("monkey")]
    [InlineData("keyboard-layout")]
    [InlineData("spinner")]
    [InlineData("cardinality")]
    [InlineData("error.code")]
    [InlineData("region")]
    [InlineData("KEYWORD")]
    [InlineData("address2")]
    [InlineData("MD5Sum")]
    [InlineData("IPAddress")]
    [InlineData("spin2win")]
    public void Ordinary_names_are_kept(string name) => Scrubber.IsSensitive(name).Should().BeFalse(name);

    /// <summary>Names that differ from one another in one character, its case, or where they stand (header, query, form).</summary>
    private static readonly string[] NamesThatDifferInOnePlace =
        ["userPin", "userpin", "UserPin", "X-Api-Key", "X-Api-Kez", "x-api-key", "code", "Code", "codes", "pass", "Pass", "passe",
         "card", "cards", "Cardinal", "sig", "sigma", "session", "sessio", "Authorization", "Authorisation", "otp", "opt"];

    [Fact]
    public void A_name_judged_once_answers_as_it_does_judged_afresh_whatever_names_and_places_came_before()
    {
        // One scrubber keeps its answers; each name's answer in each place is compared with a fresh scrubber's, names in
        // both orders, so that no name or place is answered with another's.
        var kept = new EventScrubber(new ScrubbingOptions { ExtraNames = { "tenant" } });
        foreach (var name in NamesThatDifferInOnePlace.Concat(NamesThatDifferInOnePlace.Reverse()).Append("Tenant").Append("tenants"))
        {
            var fresh = new EventScrubber(new ScrubbingOptions { ExtraNames = { "tenant" } });
            kept.IsSensitive(name).Should().Be(fresh.IsSensitive(name), name + " as a header");
            kept.IsSensitiveFormField(name).Should().Be(new EventScrubber(new ScrubbingOptions { ExtraNames = { "tenant" } }).IsSensitiveFormField(name), name + " as a form field");
            kept.Query(name + "=v").Should().Be(new EventScrubber(new ScrubbingOptions { ExtraNames = { "tenant" } }).Query(name + "=v"), name + " in a query");
        }

        kept.IsSensitive("code").Should().BeFalse("a header named code holds no secret");
        kept.Query("code=v").Should().Be("code=[Filtered]", "a query's code is an authorization code");
        kept.IsSensitiveFormField("pass").Should().BeTrue();
        kept.IsSensitive("pass").Should().BeFalse();
        kept.IsSensitive("userPin").Should().BeTrue();
        kept.IsSensitive("userpin").Should().BeFalse();
    }

    [Fact]
    public void Past_its_bound_no_more_names_are_kept_and_every_name_is_still_judged()
    {
        var kept = new EventScrubber(new ScrubbingOptions());
        for (var i = 0; i < EventScrubber.MaxKnownNames + 100; i++)
        {
            kept.IsSensitive("x-header-" + i).Should().BeFalse();
            kept.IsSensitive("x-token-" + i).Should().BeTrue();
        }

        kept.KnownNames.Should().Be(EventScrubber.MaxKnownNames);
    }

    [Fact]
    public void Long_names_are_judged_whole_past_the_length_checked_on_the_stack()
    {
        var padding = new string('a', 300);
        Scrubber.IsSensitive(padding + "-key").Should().BeTrue("a word of its own at the end of a long name");
        Scrubber.IsSensitive(padding + "Pin").Should().BeTrue("a case change starts a word");
        Scrubber.IsSensitive(padding + "password" + padding).Should().BeTrue("anywhere in a long name");
        Scrubber.IsSensitive(padding + "-monkey").Should().BeFalse();
        Scrubber.IsSensitive(new string('-', 400)).Should().BeFalse("no letters, no name");
        Scrubber.IsSensitiveFormField(padding + "_iban").Should().BeTrue();
        new EventScrubber(new ScrubbingOptions { ExtraNames = { padding + "-Tenant" } }).IsSensitive(padding.ToUpperInvariant() + "_tenant").Should().BeTrue();
    }

    [Fact]
    public void Query_values_under_sensitive_names_are_filtered_keeping_names_and_order()
    {
        Scrubber.Query("bundle=summer&password=hunter2&Api%5FKey=abc&code=xyz&empty&page=2")
            .Should().Be("bundle=summer&password=[Filtered]&Api%5FKey=[Filtered]&code=[Filtered]&empty&page=2");
        var plain = "bundle=summer&page=2";
        Scrubber.Query(plain).Should().BeSameAs(plain, "nothing to filter costs no copy");
    }

    [Theory]
    [InlineData("paid with 4111 1111 1111 1111 today", "paid with [Filtered] today")]
    [InlineData("card=4111-1111-1111-1111", "card=[Filtered]")]
    [InlineData("5500005555555559", "[Filtered]")]
    [InlineData("order 4111111111111112 failed", "order 4111111111111112 failed")] // fails the Luhn check: an order number
    [InlineData("id 1234567890", "id 1234567890")] // too short
    [InlineData("ParentId 0000000000000000", "ParentId 0000000000000000")] // a root span's parent: passes Luhn, but no card starts with 0
    [InlineData("0100 0000 0000 0009", "0100 0000 0000 0009")]
    [InlineData("v1.2.3 at 2026-11-21 10:00", "v1.2.3 at 2026-11-21 10:00")]
    public void Card_numbers_in_free_text_are_filtered_and_other_numbers_kept(string text, string expected) =>
        Scrubber.Text(text).Should().Be(expected);

    [Fact]
    public void An_event_with_nothing_sensitive_is_passed_on_unchanged_without_a_copy()
    {
        var clean = new IncomingEvent
        {
            Message = "Sequence contains no elements",
            Request = new RequestRecord("GET", "https://shop.example/cart", "page=2", new Dictionary<string, string> { ["Accept"] = "text/html" }),
            User = new UserRecord("u-1", "ada", "ada@example.com", null),
            Tags = new Dictionary<string, string> { ["region"] = "eu" },
        };

        Scrubber.Scrub(clean).Should().BeSameAs(clean);
    }

    [Fact]
    public async Task A_batch_from_an_sdk_that_scrubs_nothing_is_stored_scrubbed()
    {
        await using var host = await IngestHost.StartAsync();
        var id = Guid.NewGuid();
        var leaky = CheckoutEvent()
            .With("event_id", id.ToString("N"))
            .With("message", "charged 4111 1111 1111 1111")
            .With("request", Map(
                ("method", "POST"),
                ("url", "https://shop.example/checkout"),
                ("query_string", "bundle=summer&access_token=eyJhbGci"),
                ("headers", Map(("Authorization", "Bearer eyJhbGci"), ("Cookie", "session=abc; cart_id=77; theme=dark"), ("X-Shop-Pin", "1234"), ("Accept", "text/html"))),
                ("form", Map(("email", "joe@example.com"), ("newPassword", "hunter2"), ("passPhrase", "open sesame"), ("iban", "DE89370400440532013000"),
                    ("__RequestVerificationToken", "CfDJ8"), ("note", "card 4111 1111 1111 1111 please")))))
            .With("tags", Map(("api_key", "sk_live_123"), ("region", "eu")))
            .With("extra", Map(("order_id", "A-1001"), ("client_secret", "cs_live_9"), ("xsrf", "abc"), ("payment", "4111-1111-1111-1111")))
            .With("breadcrumbs", Array(
                Map(("level", "info"), ("category", "Shop.Checkout"), ("message", "Charging card 4111 1111 1111 1111")),
                Map(("level", "warning"), ("category", "Shop.Cart"), ("message", "Bundle summer-kit has 2 items"))));

        using var response = await host.PostAsync(Encode(Batch(leaky)));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var stored = (await host.Issues.GetEventAsync(IngestHost.ProjectId, id))!;
        stored.Message.Should().Be("charged [Filtered]");
        stored.Request!.QueryString.Should().Be("bundle=summer&access_token=[Filtered]");
        stored.Request.Headers.Should().Contain(new KeyValuePair<string, string>("Authorization", "[Filtered]"))
            .And.Contain(new KeyValuePair<string, string>("Cookie", "session=[Filtered]; cart_id=[Filtered]; theme=[Filtered]"), "cookie names are kept, values never")
            .And.Contain(new KeyValuePair<string, string>("X-Shop-Pin", "[Filtered]"))
            .And.Contain(new KeyValuePair<string, string>("Accept", "text/html"));
        stored.Tags.Should().Contain(new KeyValuePair<string, string>("api_key", "[Filtered]")).And.Contain(new KeyValuePair<string, string>("region", "eu"));
        stored.Request.Form.Should().Equal(new Dictionary<string, string>
        {
            ["email"] = "joe@example.com",
            ["newPassword"] = "[Filtered]",
            ["passPhrase"] = "[Filtered]",
            ["iban"] = "[Filtered]",
            ["__RequestVerificationToken"] = "[Filtered]",
            ["note"] = "card [Filtered] please",
        });
        stored.Extra.Should().Equal(new Dictionary<string, string>
        {
            ["order_id"] = "A-1001",
            ["client_secret"] = "[Filtered]",
            ["xsrf"] = "[Filtered]",
            ["payment"] = "[Filtered]",
        });
        stored.Breadcrumbs!.Select(b => b.Message).Should().Equal("Charging card [Filtered]", "Bundle summer-kit has 2 items");
    }

    [Fact]
    public async Task A_key_given_twice_is_read_as_its_last_value_checked_and_scrubbed_like_any_other()
    {
        // MessagePack allows a map to hold a key twice. Each value is decoded within the field's limits, the last one is the
        // field's (as the SDK's own reader and most others take it), and scrubbing runs on the decoded event: a clean first
        // value cannot walk a second one past the limits or the scrubber, whichever of them a proxy or a log looked at.
        await using var host = await IngestHost.StartAsync();
        var id = Guid.NewGuid();
        var twice = new WireMap(CheckoutEvent().With("event_id", id.ToString("N")).Entries.Concat(
        [
            ("message", "all fine"),
            ("message", "charged 4111 1111 1111 1111"),
            ("release", new string('r', 5_000)),
            ("request", Map(("url", "https://shop.example/checkout"), ("headers", Map(("Accept", "text/html"))))),
            ("request", Map(
                ("url", "https://shop.example/checkout"),
                ("query_string", "access_token=eyJhbGci"),
                ("headers", Map(("X-Api-Key", "public"), ("X-Api-Key", "sk_live_123"), ("Authorization", "Bearer eyJhbGci"))))),
            ("tags", Map(("api_key", "none"), ("api_key", "sk_live_456"), ("region", "eu"))),
        ]));
        var other = CheckoutEvent().With("event_id", Guid.NewGuid().ToString("N"));

        using var response = await host.PostAsync(Encode(Map(("v", 1), ("events", Array(other)), ("events", Array(twice)))));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await IngestHost.JsonAsync(response)).GetProperty("accepted").GetInt32().Should().Be(1, "a batch's second 'events' replaces its first");
        var stored = (await host.Issues.GetEventAsync(IngestHost.ProjectId, id))!;
        stored.Message.Should().Be("charged [Filtered]");
        stored.Release!.Length.Should().BeLessThanOrEqualTo(new IngestLimits().MaxShortChars, "the second value is cut like any other");
        stored.Request!.QueryString.Should().Be("access_token=[Filtered]");
        stored.Request.Headers.Should().Equal(new Dictionary<string, string> { ["X-Api-Key"] = "[Filtered]", ["Authorization"] = "[Filtered]" });
        stored.Tags.Should().Contain(new KeyValuePair<string, string>("api_key", "[Filtered]")).And.Contain(new KeyValuePair<string, string>("region", "eu"));
    }

    [Theory]
    [InlineData("session=abc", "session=[Filtered]")]
    [InlineData(" a=1;b=2 ;; c=3 ", "a=[Filtered]; b=[Filtered]; c=[Filtered]")]
    [InlineData("a=[Filtered]; b=[Filtered]", "a=[Filtered]; b=[Filtered]")]
    [InlineData("[Filtered]", "[Filtered]")]
    [InlineData("just-a-secret-value", "[Filtered]")] // no name=value pair: nothing that could be a name is kept
    [InlineData("weird name=1; ok=2", "ok=[Filtered]")] // a space is no cookie name character
    [InlineData("=orphan; x=<script>", "x=[Filtered]")]
    [InlineData("", "[Filtered]")]
    public void A_cookie_header_keeps_only_its_cookie_names(string header, string expected) =>
        EventScrubber.CookieNames(header).Should().Be(expected);

    [Theory]
    [InlineData("passPhrase")]
    [InlineData("iban")]
    [InlineData("x-csrf")]
    [InlineData("card_number")]
    [InlineData("Input.Password")]
    public void Form_fields_are_filtered_by_the_sdks_wider_rules(string name)
    {
        Scrubber.IsSensitiveFormField(name).Should().BeTrue(name);
    }

    [Theory]
    [InlineData("passenger")]
    [InlineData("compass")]
    [InlineData("email")]
    [InlineData("quantity")]
    public void Ordinary_form_fields_are_kept(string name) => Scrubber.IsSensitiveFormField(name).Should().BeFalse(name);

    [Fact]
    public async Task Extra_names_come_from_configuration_and_scrubbing_can_be_switched_off()
    {
        await using var extra = await IngestHost.StartAsync(new() { ["ErrorHub:Scrubbing:ExtraNames:0"] = "X-Tenant" });
        await using var off = await IngestHost.StartAsync(new() { ["ErrorHub:Scrubbing:Enabled"] = "false" });

        async Task<ErrorEvent> StoreAsync(IngestHost host)
        {
            var id = Guid.NewGuid();
            var e = MessageEvent().With("event_id", id.ToString("N")).With("tags", Map(("x_tenant", "acme"), ("password", "hunter2")));
            using var response = await host.PostAsync(Encode(Batch(e)));
            response.StatusCode.Should().Be(HttpStatusCode.Accepted);
            return (await host.Issues.GetEventAsync(IngestHost.ProjectId, id))!;
        }

        (await StoreAsync(extra)).Tags.Should().Contain(new KeyValuePair<string, string>("x_tenant", "[Filtered]"));
        (await StoreAsync(off)).Tags.Should().Contain(new KeyValuePair<string, string>("password", "hunter2"), "scrubbing was switched off");
    }
}
