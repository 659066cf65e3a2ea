using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>The variable parts of a message that the fallback fingerprint ignores, one kind at a time (version 2; version 1's are frozen below).</summary>
public sealed class ParameterizeTests
{
    [Theory]
    [InlineData("integer", "Order 12345 not found", "Order <int> not found")]
    [InlineData("negative integer", "Balance -40 is below zero", "Balance <int> is below zero")]
    [InlineData("decimal", "Price 19.99 exceeds the limit", "Price <float> exceeds the limit")]
    [InlineData("number with a unit", "Timed out after 30000ms (2nd try)", "Timed out after <int>ms (<int>nd try)")]
    [InlineData("number at a separator", "item-42 of batch#7", "item-<int> of batch#<int>")]
    [InlineData("GUID with dashes", "Entity 6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4c13 is missing", "Entity <guid> is missing")]
    [InlineData("GUID without dashes", "Trace 6F1C9A0E3B7D4C2A9E510D8F2B6A4C13 ended", "Trace <guid> ended")]
    [InlineData("email", "User ada.lovelace+shop@mail.example.co.uk already exists", "User <email> already exists")]
    [InlineData("URL", "GET https://api.example.com/v1/orders/42?expand=items failed", "GET <url> failed")]
    [InlineData("URL with credentials", "Cannot reach postgres://app:secret@db.internal:5432/shop now", "Cannot reach <url> now")]
    [InlineData("hex with 0x", "Access violation at 0x7FFE1234ABCD", "Access violation at <hex>")]
    [InlineData("bare hex", "Blob 9f86d081884c7d65 is corrupt", "Blob <hex> is corrupt")]
    [InlineData("IPv4", "Connection to 10.20.30.40:5432 refused", "Connection to <ip>:<int> refused")]
    [InlineData("IPv6 compressed", "Connection to [2001:db8::1]:443 refused", "Connection to [<ip>]:<int> refused")]
    [InlineData("IPv6 full", "Peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 left", "Peer <ip> left")]
    [InlineData("IPv6 loopback", "Bound to ::1 only", "Bound to <ip> only")]
    [InlineData("single-quoted value", "The given key 'summer-kit' was not present in the dictionary.", "The given key '<value>' was not present in the dictionary.")]
    [InlineData("double-quoted value", "Unexpected token \"foo\" in JSON", "Unexpected token \"<value>\" in JSON")]
    [InlineData("quoted path", "Could not find file '/var/data/orders/2026-11-21.csv'.", "Could not find file '<value>'.")]
    [InlineData("Unix path", "Access to the path /var/data/orders/today.csv is denied.", "Access to the path <path> is denied.")]
    [InlineData("Windows path", @"Could not find a part of the path C:\inetpub\shop\App_Data\orders.json.", "Could not find a part of the path <path>")]
    [InlineData("UNC path", @"The network path \\files01\exports\2026 was not found", "The network path <path> was not found")]
    [InlineData("date and time", "Order placed 2026-11-21 09:58:30.123 is older than 2025-01-01T00:00:00Z", "Order placed <date> is older than <date>")]
    [InlineData("invariant date", "Batch of 11/21/2026 10:04:02 PM failed", "Batch of <date> failed")]
    [InlineData("duration", "The operation has timed out after 00:01:40 (retry 1.02:03:04.5)", "The operation has timed out after <duration> (retry <duration>)")]
    [InlineData("key value", "The instance of entity type 'Order' cannot be tracked because another instance with the key value {Id: 42} is already being tracked.", "The instance of entity type '<value>' cannot be tracked because another instance with the key value {<key>} is already being tracked.")]
    public void Each_kind_of_variable_part_is_replaced(string kind, string message, string expected)
    {
        Grouper.Parameterize(message).Should().Be(expected, kind);
    }

    [Theory]
    [InlineData("Can't open Ada's basket")]
    [InlineData("Sequence contains no elements")]
    [InlineData("Object reference not set to an instance of an object.")]
    [InlineData("HTTP2 and IPv4 on x64 with utf8")]
    [InlineData("Cart::Checkout failed")]
    [InlineData("deadbeef")]
    public void Words_apostrophes_and_names_with_digits_are_kept(string message)
    {
        Grouper.Parameterize(message).Should().Be(message);
    }

    [Fact]
    public void Times_become_durations_and_versions_lose_their_digits()
    {
        Grouper.Parameterize("at 12:30:45 in 1.4.2").Should().Be("at <duration> in <float>.<int>");
    }

    [Theory]
    [InlineData("Could not find file '/var/data/orders/2026-11-21.csv'.", "Could not find file '<value>'.")]
    [InlineData("at 12:30:45 in 1.4.2", "at <int>:<int>:<int> in <float>.<int>")]
    [InlineData("Order 12345 for ada@example.com", "Order <int> for <email>")]
    public void Version_1s_parameterizer_is_frozen(string message, string expected)
    {
        GroupingV1.Parameterize(message).Should().Be(expected);
    }

    [Theory]
    [InlineData("Order 1 not found", "Order 777 not found")]
    [InlineData("Entity 6f1c9a0e-3b7d-4c2a-9e51-0d8f2b6a4c13 missing", "Entity 00000000-1111-2222-3333-444444444444 missing")]
    [InlineData("User a@example.com exists", "User zed.zulu@example.org exists")]
    [InlineData("GET https://a.example/x failed", "GET http://b.example:8080/y/z?q=1 failed")]
    [InlineData("Bad pointer 0x0000001", "Bad pointer 0xFFFF")]
    [InlineData("Connect 127.0.0.1 failed", "Connect 192.168.100.200 failed")]
    [InlineData("Connect fe80::1 failed", "Connect 2001:db8::42 failed")]
    [InlineData("Key 'a' missing", "Key 'something else entirely' missing")]
    public void Messages_differing_only_in_a_variable_part_share_the_fallback_fingerprint(string first, string second)
    {
        static string Of(string message) => Fingerprint(Event(Exception("Shop.LookupException", message)));

        Of(first).Should().Be(Of(second));
    }

    [Fact]
    public void Only_the_first_1024_characters_count()
    {
        var head = new string('a', 1024);

        Fingerprint(Event(Exception("E", head + " one"))).Should().Be(Fingerprint(Event(Exception("E", head + " two"))));
        Fingerprint(Event(Exception("E", "b" + head))).Should().NotBe(Fingerprint(Event(Exception("E", head))));
    }

    [Fact]
    public void A_long_hostile_message_is_parameterized()
    {
        var hostile = string.Concat(Enumerable.Repeat("a.a@a-", 400)) + string.Concat(Enumerable.Repeat("'1'", 400));

        Grouper.Parameterize(hostile).Should().NotBeNullOrEmpty();
    }
}
