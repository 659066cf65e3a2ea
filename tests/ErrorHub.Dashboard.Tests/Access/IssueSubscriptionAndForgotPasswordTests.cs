using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Notifications;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// Over real HTTP against the real dashboard: the issue page's subscription line, the one-click unsubscribe from one
/// issue that workflow mails link (GET confirms, POST acts, forged and expired links change nothing), and the sign-in
/// page's "Forgot password?", which mails a reset link through a real SMTP server without telling which addresses have
/// accounts, within its limits, and only when SMTP is configured.
/// </summary>
public sealed partial class IssueSubscriptionAndForgotPasswordTests(SmtpServerFixture smtp) : IClassFixture<SmtpServerFixture>
{
    private const int Shop = 1; // the all-in-one server's project
    private static readonly string Crash = TestEvents.Fingerprint("subscription-crash");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private DashboardServer StartWithMail(TimeProvider? clock = null) => DashboardServer.Start(
        new()
        {
            ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
            ["ErrorHub:Notifications:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Notifications:Smtp:Security"] = "None",
            ["ErrorHub:Notifications:Smtp:From"] = "errors@example.com",
        },
        clock: clock);

    private static FormUrlEncodedContent OneClick() => new([new("List-Unsubscribe", "One-Click")]);

    [Fact]
    public async Task The_issue_page_says_why_one_is_subscribed_and_the_mail_s_issue_link_unsubscribes_on_a_post_only()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(clock: clock);
        await server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync([TestEvents.Create(Shop, Crash, DateTimeOffset.UtcNow.AddMinutes(-5), title: "Checkout crash")]);
        var ana = await server.CreateMemberAsync("ana@example.com", "ana's long password", Shop);
        var workflow = server.Services.GetRequiredService<WorkflowMail>();
        using var signedIn = await server.SignedInClientAsync("ana@example.com", "ana's long password");

        var before = WebUtility.HtmlDecode(await signedIn.GetStringAsync($"projects/{Shop}/issues/{Crash}"));
        before.Should().Contain("You're not subscribed to this issue.").And.MatchRegex(@"action-subscribe[^>]*>\s*Subscribe\s*<");
        before.Should().Contain("@their@example.com").And.Contain("@TheirName", "the comment box says how to mention someone");

        await workflow.CommentedAsync(Shop, Crash, ana.Id, "Ana", "Looking into it.", Guid.NewGuid());
        var after = WebUtility.HtmlDecode(await signedIn.GetStringAsync($"projects/{Shop}/issues/{Crash}"));
        after.Should().Contain("You're subscribed because you commented on this issue.").And.MatchRegex(@"action-subscribe[^>]*>\s*Unsubscribe\s*<");

        var link = server.Services.GetRequiredService<UnsubscribeLinks>().ForIssue(ana.Id, Shop, Crash);
        link.AbsoluteUri.Should().StartWith(server.BaseAddress + "unsubscribe/issue?token=");
        using var anonymous = server.NewClient();
        using (var page = await anonymous.GetAsync(link))
        {
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            (await page.Content.ReadAsStringAsync()).Should().Contain("Unsubscribe from this issue?").And.Contain("Checkout crash").And.Contain("<form method=\"post\">");
        }

        (await workflow.GetSubscriptionAsync(Shop, Crash, ana.Id))!.IsSubscribed.Should().BeTrue("a GET (a mail scanner fetching every link) changes nothing");
        using (var done = await anonymous.PostAsync(link, OneClick()))
        {
            done.StatusCode.Should().Be(HttpStatusCode.OK);
            (await done.Content.ReadAsStringAsync()).Should().Contain("Unsubscribed from the issue");
        }

        (await workflow.GetSubscriptionAsync(Shop, Crash, ana.Id)).Should().BeEquivalentTo(new { IsSubscribed = false, Reason = SubscriptionReason.Manual });
        WebUtility.HtmlDecode(await signedIn.GetStringAsync($"projects/{Shop}/issues/{Crash}")).Should().Contain("You're not subscribed to this issue: you unsubscribed.");

        // Forged, cut, made-up, missing, oversized and expired links: a page that says so, and nothing changed.
        await workflow.SetSubscribedAsync(Shop, Crash, ana.Id, true);
        var token = link.Query[(link.Query.IndexOf("token=", StringComparison.Ordinal) + "token=".Length)..];
        var changed = token[..20] + (token[20] == 'A' ? 'B' : 'A') + token[21..];
        var alertToken = server.Services.GetRequiredService<UnsubscribeLinks>().For(ana.Id, Shop, AlertTrigger.NewIssue).Query.Split("token=")[1];
        foreach (var forged in new[] { changed, token[..^4], "not-a-token", "", new string('A', 100_000), alertToken })
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
            {
                using var request = new HttpRequestMessage(method, "unsubscribe/issue?token=" + forged) { Content = method == HttpMethod.Post ? OneClick() : null };
                using var answer = await anonymous.SendAsync(request);
                answer.StatusCode.Should().BeOneOf([HttpStatusCode.BadRequest, HttpStatusCode.RequestUriTooLong], forged.Length > 40 ? forged[..40] : forged);
            }
        }

        clock.Advance(UnsubscribeLinks.Lifetime + TimeSpan.FromMinutes(1));
        using (var expired = await anonymous.PostAsync(link, OneClick()))
        {
            expired.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await expired.Content.ReadAsStringAsync()).Should().Contain("This unsubscribe link has expired").And.Contain("Nothing was changed");
        }

        (await workflow.GetSubscriptionAsync(Shop, Crash, ana.Id))!.IsSubscribed.Should().BeTrue("no forged or expired link unsubscribed anyone");
    }

    private static Task<HttpResponseMessage> ForgotAsync(HttpClient client, string email) =>
        DashboardForms.PostAsync(client, "forgot-password", "forgot-password", new() { ["Input.Email"] = email });

    private static string Answer(string html) => WebUtility.HtmlDecode(ForgotSent().Match(html).Groups["text"].Value).Trim();

    [GeneratedRegex("""<p class="forgot-sent"[^>]*>(?<text>.*?)</p>""", RegexOptions.Singleline)]
    private static partial Regex ForgotSent();

    [Fact]
    public async Task Forgot_password_mails_a_working_link_answers_the_same_for_any_address_and_refuses_forged_posts()
    {
        smtp.Clear();
        using var server = StartWithMail();
        using var bound = new CancellationTokenSource(Bound);
        await server.CreateMemberAsync("ana@example.com", "ana's long password", Shop);
        using var client = server.NewClient();

        (await client.GetStringAsync("login", bound.Token)).Should().Contain("href=\"forgot-password\"");
        using var known = await ForgotAsync(client, "Ana@Example.com");
        using var unknown = await ForgotAsync(client, "nobody@example.com");
        known.StatusCode.Should().Be(HttpStatusCode.OK);
        unknown.StatusCode.Should().Be(HttpStatusCode.OK);
        var knownAnswer = Answer(await known.Content.ReadAsStringAsync(bound.Token));
        knownAnswer.Should().StartWith("If an active account has the address");
        knownAnswer.Replace("Ana@Example.com", "X", StringComparison.Ordinal).Should()
            .Be(Answer(await unknown.Content.ReadAsStringAsync(bound.Token)).Replace("nobody@example.com", "X", StringComparison.Ordinal), "the page tells nothing about which addresses have accounts");

        var mail = (await smtp.MessagesToAsync("ana@example.com", 1, bound.Token)).Single();
        mail.Subject.Should().Be("Reset your ErrorHub password");
        var link = LinkIn().Match(mail.TextBody!).Value;
        link.Should().StartWith(server.BaseAddress + "password-reset/");
        var reset = await client.GetStringAsync(new Uri(link), bound.Token);
        reset.Should().Contain("Choose a new password").And.Contain("ana@example.com");

        // No antiforgery token (a cross-site post) and an absurd address: refused or answered, never mailed, server alive.
        using (var forged = await client.PostAsync("forgot-password", new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "forgot-password", ["Input.Email"] = "ana@example.com" }), bound.Token))
        {
            forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }

        using (var huge = await ForgotAsync(client, new string('a', 200_000) + "@example.com"))
        {
            ((int)huge.StatusCode).Should().BeLessThan(500);
        }

        (await client.GetAsync("login", bound.Token)).StatusCode.Should().Be(HttpStatusCode.OK);
        await Task.Delay(TimeSpan.FromSeconds(1), bound.Token);
        smtp.Messages().SelectMany(SmtpServerFixture.EnvelopeRecipients).Should().Equal(["ana@example.com"], "one mail: to the account that asked, nobody else");
    }

    [Fact]
    public async Task Forgot_password_is_limited_per_address_and_per_client_and_is_not_offered_without_smtp()
    {
        smtp.Clear();
        using (var server = StartWithMail())
        {
            using var bound = new CancellationTokenSource(Bound);
            await server.CreateMemberAsync("ben@example.com", "ben's long password", Shop);
            using var client = server.NewClient();
            for (var i = 0; i < ErrorHub.Dashboard.Access.Accounts.ResetRequestsPerAddress; i++)
            {
                using var answer = await ForgotAsync(client, "ben@example.com");
                answer.StatusCode.Should().Be(HttpStatusCode.OK, $"request {i + 1} is within the client's limit");
            }

            using (var tooMany = await ForgotAsync(client, "someone-else@example.com"))
            {
                tooMany.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
                DashboardForms.Problem(await tooMany.Content.ReadAsStringAsync(bound.Token)).Should().StartWith("Too many password reset requests from your network");
            }

            await smtp.MessagesToAsync("ben@example.com", ErrorHub.Dashboard.Access.Accounts.ResetMailsPerEmail, bound.Token);
            await Task.Delay(TimeSpan.FromSeconds(1), bound.Token);
            smtp.Messages().Should().HaveCount(ErrorHub.Dashboard.Access.Accounts.ResetMailsPerEmail, "ten requests for one address mail it only a few times");
        }

        using var quiet = DashboardServer.Start();
        using var anonymous = quiet.NewClient();
        var login = await anonymous.GetStringAsync("login");
        login.Should().NotContain("href=\"forgot-password\"").And.Contain("An admin of this ErrorHub makes you a reset link");
        var page = await anonymous.GetStringAsync("forgot-password");
        page.Should().Contain("This ErrorHub sends no mail").And.NotContain("Mail me a reset link");
    }

    [GeneratedRegex(@"https?://\S+/password-reset/\S+")]
    private static partial Regex LinkIn();
}
