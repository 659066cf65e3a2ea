using System.Net;
using ErrorHub.Dashboard.Formatting;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Testing.Dashboard;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// The limit on failed sign-ins per client address, over real HTTP. Every test's requests come from 127.0.0.1: a
/// test that needs other addresses trusts 127.0.0.1 as a proxy (<c>ErrorHub:ForwardedHeaders:KnownProxies</c>) and
/// sends <c>X-Forwarded-For</c>, as nginx would.
/// </summary>
public sealed class SignInPerAddressTests
{
    private const string Limited = "Too many failed sign-ins from your network: try again at";

    private static readonly Dictionary<string, string?> BehindLoopbackProxy = new() { ["ErrorHub:ForwardedHeaders:KnownProxies"] = "127.0.0.1" };

    [Fact]
    public async Task Spraying_passwords_over_many_emails_from_one_address_is_stopped_for_every_email_while_other_addresses_still_sign_in()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(BehindLoopbackProxy, clock: clock);
        await server.CreateMemberAsync("mia@example.com", "mia's long password", 1);
        using var attacker = ClientFrom(server, "203.0.113.5");

        for (var attempt = 1; attempt <= 20; attempt++)
        {
            using var wrong = await DashboardForms.PostLoginAsync(attacker, $"user{attempt}@example.com", "Summer2026!");
            DashboardForms.Problem(await wrong.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.", $"attempt {attempt} is within the limit");
        }

        using var unknownEmail = await DashboardForms.PostLoginAsync(attacker, "user21@example.com", "Summer2026!");
        using var rightPassword = await DashboardForms.PostLoginAsync(attacker, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        using var member = await DashboardForms.PostLoginAsync(attacker, "mia@example.com", "mia's long password");

        var expected = $"{Limited} {RelativeTime.ExactUtc(clock.GetUtcNow().AddMinutes(15))}.";
        foreach (var refused in new[] { unknownEmail, rightPassword, member })
        {
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            DashboardForms.Problem(await refused.Content.ReadAsStringAsync()).Should().Be(expected, "every email gets the same answer, so it tells nothing about which exist");
        }

        (await attacker.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "the right password from that address did not sign in");
        using var colleague = ClientFrom(server, "203.0.113.6");
        await DashboardForms.SignInAsync(colleague, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        (await colleague.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "another address is not limited");
        using var proxyItself = server.NewClient();
        await DashboardForms.SignInAsync(proxyItself, "mia@example.com", "mia's long password");
        server.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.StartsWith("Sign-ins from", StringComparison.Ordinal))
            .Should().ContainSingle("one warning when the address reaches the limit, none per refused attempt")
            .Which.Message.Should().StartWith("Sign-ins from 203.0.113.5 are refused until").And.NotContain("reverse proxy", "a public address is no proxy");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("10.9.9.9")]
    public async Task A_forwarded_address_from_a_sender_that_is_not_a_trusted_proxy_changes_nothing(string? trustedProxy)
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:ForwardedHeaders:KnownProxies"] = trustedProxy });

        for (var attempt = 1; attempt <= 20; attempt++)
        {
            using var spoofing = ClientFrom(server, $"198.51.100.{attempt}");
            using var wrong = await DashboardForms.PostLoginAsync(spoofing, $"user{attempt}@example.com", "Summer2026!");
            wrong.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var fresh = ClientFrom(server, "198.51.100.200");
        using var refused = await DashboardForms.PostLoginAsync(fresh, DashboardServer.AdminEmail, DashboardServer.AdminPassword);

        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "the header is ignored: all 21 came from 127.0.0.1");
        DashboardForms.Problem(await refused.Content.ReadAsStringAsync()).Should().StartWith(Limited);
        server.Logs.Entries.Should().ContainSingle(e => e.Message.StartsWith("Sign-ins from 127.0.0.1 are refused", StringComparison.Ordinal))
            .Which.Message.Should().Contain("ErrorHub:ForwardedHeaders:KnownProxies", "a loopback address is likely a proxy the server was not told about");
    }

    [Fact]
    public async Task An_ipv6_client_is_counted_by_its_64_bit_network()
    {
        using var server = DashboardServer.Start(BehindLoopbackProxy);

        for (var attempt = 1; attempt <= 20; attempt++)
        {
            using var sameNetwork = ClientFrom(server, $"2001:db8:1:2::{attempt:x}");
            (await DashboardForms.PostLoginAsync(sameNetwork, $"user{attempt}@example.com", "Summer2026!")).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var neighbour = ClientFrom(server, "2001:db8:1:2:ffff:ffff:ffff:ffff");
        using var refused = await DashboardForms.PostLoginAsync(neighbour, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        using var nextNetwork = ClientFrom(server, "2001:db8:1:3::1");

        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "another address of the same /64");
        await DashboardForms.SignInAsync(nextNetwork, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        server.Logs.Entries.Should().Contain(e => e.Message.StartsWith("Sign-ins from 2001:db8:1:2::/64 are refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_limit_lasts_one_window_then_the_address_signs_in_and_counts_afresh()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(
            new() { ["ErrorHub:Access:SignInFailuresPerAddress"] = "3", ["ErrorHub:Access:SignInFailureWindow"] = "00:10:00" }, clock: clock);
        using var client = server.NewClient();

        async Task FailAsync(HttpClient from, string email)
        {
            using var wrong = await DashboardForms.PostLoginAsync(from, email, "Summer2026!");
            DashboardForms.Problem(await wrong.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.");
        }

        await FailAsync(client, "a@example.com");
        clock.Advance(TimeSpan.FromMinutes(2));
        await FailAsync(client, "b@example.com");
        await FailAsync(client, "c@example.com");
        var reached = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromMinutes(9));
        using var stillRefused = await DashboardForms.PostLoginAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        DashboardForms.Problem(await stillRefused.Content.ReadAsStringAsync())
            .Should().Be($"{Limited} {RelativeTime.ExactUtc(reached.AddMinutes(10))}.", "ten minutes from the failure that reached the limit");

        clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);

        using var again = server.NewClient();
        await FailAsync(again, "d@example.com");
        await FailAsync(again, "e@example.com");
        using var third = await DashboardForms.PostLoginAsync(again, "f@example.com", "Summer2026!");
        using var fourth = await DashboardForms.PostLoginAsync(again, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        DashboardForms.Problem(await third.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.", "the count started afresh after the wait");
        fourth.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "three new failures reach the limit again");
    }

    [Fact]
    public async Task Parallel_guesses_from_one_address_cannot_slip_past_the_limit()
    {
        using var server = DashboardServer.Start();

        var answers = await Task.WhenAll(Enumerable.Range(1, 30).Select(async attempt =>
        {
            using var client = server.NewClient();
            using var response = await DashboardForms.PostLoginAsync(client, $"user{attempt}@example.com", "Summer2026!");
            return response.StatusCode;
        }));

        answers.Count(status => status == HttpStatusCode.OK).Should().Be(20, "twenty passwords are checked, however many arrive at once");
        answers.Count(status => status == HttpStatusCode.TooManyRequests).Should().Be(10);
    }

    [Fact]
    public async Task A_limit_of_zero_turns_the_per_address_limit_off()
    {
        using var server = DashboardServer.Start(new() { ["ErrorHub:Access:SignInFailuresPerAddress"] = "0" });
        using var client = server.NewClient();

        for (var attempt = 1; attempt <= 21; attempt++)
        {
            (await DashboardForms.PostLoginAsync(client, $"user{attempt}@example.com", "Summer2026!")).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await DashboardForms.SignInAsync(client, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
    }

    private static HttpClient ClientFrom(DashboardServer server, string forwardedFor)
    {
        var client = server.NewClient();
        client.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        return client;
    }
}
