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
            ["ErrorHub:Notifications:PollInterval"] = "00:00:01",
        },
        clock: clock);

    private static string Token(string link) => Uri.UnescapeDataString(new Uri(link).Query["?token=".Length..]);

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

    [Fact]
    public async Task A_workflow_mail_s_list_unsubscribe_header_leaves_that_issue_on_a_mail_client_s_post_and_keeps_the_project_s_switch()
    {
        smtp.Clear();
        using var server = StartWithMail();
        using var bound = new CancellationTokenSource(Bound);
        var other = TestEvents.Fingerprint("subscription-other");
        await server.Services.GetRequiredService<IEventWriter>().InsertEventsAsync(
            [TestEvents.Create(Shop, Crash, DateTimeOffset.UtcNow.AddMinutes(-5), title: "Checkout crash"), TestEvents.Create(Shop, other, DateTimeOffset.UtcNow.AddMinutes(-5), title: "Profile crash")],
            bound.Token);
        var ana = await server.CreateMemberAsync("ana@example.com", "ana's long password", Shop);
        var ben = await server.CreateMemberAsync("ben@example.com", "ben's long password", Shop);
        var workflow = server.Services.GetRequiredService<WorkflowMail>();
        await workflow.CommentedAsync(Shop, Crash, ben.Id, "Ben", "Mine.", Guid.NewGuid(), bound.Token);
        await workflow.CommentedAsync(Shop, other, ben.Id, "Ben", "Mine too.", Guid.NewGuid(), bound.Token);
        await workflow.CommentedAsync(Shop, Crash, ana.Id, "Ana", "Looking into it.", Guid.NewGuid(), bound.Token);

        MimeKit.MimeMessage? mail;
        while ((mail = smtp.Messages().SingleOrDefault(m => m.Headers["X-ErrorHub-Trigger"] == "assignment" && SmtpServerFixture.EnvelopeRecipients(m).Contains("ben@example.com"))) is null)
        {
            await Task.Delay(100, bound.Token); // the worker's next round sends it
        }

        var header = (mail.Headers["List-Unsubscribe"] ?? "").Trim().Trim('<', '>');
        header.Should().StartWith(server.BaseAddress + "unsubscribe/issue?token=", "a workflow mail's Unsubscribe button leaves its issue");
        mail.Headers["List-Unsubscribe-Post"].Should().Be("List-Unsubscribe=One-Click");
        var links = server.Services.GetRequiredService<UnsubscribeLinks>();
        var bodyLink = Regex.Match(mail.TextBody!, @"Unsubscribe from this issue:\s+(?<link>\S+)").Groups["link"].Value;
        links.ReadIssue(Token(header)).Should().BeEquivalentTo(links.ReadIssue(Token(bodyLink)), "the header's token says what the footer's link says");
        links.ReadIssue(Token(header)).Should().BeEquivalentTo(new { Status = UnsubscribeStatus.Valid, UserId = ben.Id, ProjectId = Shop, Fingerprint = Crash });
        mail.TextBody.Should().Contain(server.BaseAddress + "unsubscribe?token=", "the line under it still offers the project-wide switch");

        // A mail client's one-click POST: a fresh client (no cookies), the RFC 8058 form body, no antiforgery token.
        using var mailClient = server.NewClient();
        using (var scan = await mailClient.GetAsync(new Uri(header), bound.Token))
        {
            scan.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await workflow.GetSubscriptionAsync(Shop, Crash, ben.Id, bound.Token))!.IsSubscribed.Should().BeTrue("a GET changes nothing");
        using (var post = await mailClient.PostAsync(new Uri(header), OneClick(), bound.Token))
        {
            post.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await workflow.GetSubscriptionAsync(Shop, Crash, ben.Id, bound.Token)).Should().BeEquivalentTo(new { IsSubscribed = false, Reason = SubscriptionReason.Manual });
        (await workflow.GetSubscriptionAsync(Shop, other, ben.Id, bound.Token))!.IsSubscribed.Should().BeTrue("only that issue");
        (await server.Services.GetRequiredService<AlertSettingsStore>().GetAsync(Shop, bound.Token)).Wants(ben.Id, AlertTrigger.Assignment).Should().BeTrue("the project's workflow switch stays on");

        // Hostile posts to the header's address: an oversized body, the header's token on the project-wide path.
        await workflow.SetSubscribedAsync(Shop, Crash, ben.Id, true, bound.Token);
        using (var huge = await mailClient.PostAsync(new Uri(header), new StringContent("List-Unsubscribe=One-Click&x=" + new string('A', 5_000_000), System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"), bound.Token))
        {
            ((int)huge.StatusCode).Should().BeLessThan(500, "the endpoint reads no body: a huge one is harmless");
        }

        using (var wrongKind = await mailClient.PostAsync(server.BaseAddress + "unsubscribe" + new Uri(header).Query, OneClick(), bound.Token))
        {
            wrongKind.StatusCode.Should().Be(HttpStatusCode.BadRequest, "an issue's token turns off no project switch");
        }

        (await server.Services.GetRequiredService<AlertSettingsStore>().GetAsync(Shop, bound.Token)).Wants(ben.Id, AlertTrigger.Assignment).Should().BeTrue();
        (await mailClient.GetAsync("login", bound.Token)).StatusCode.Should().Be(HttpStatusCode.OK, "the server is alive");
    }

    [Fact]
    public async Task Deleting_a_project_removes_its_issues_subscriptions_and_bookmarks()
    {
        using var server = DashboardServer.Start();
        var ana = await server.CreateMemberAsync("ana@example.com", "ana's long password", Shop);
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var outbox = server.Services.GetRequiredService<INotificationStore>();
        var bookmarks = server.Services.GetRequiredService<IIssueBookmarks>();
        await server.Services.GetRequiredService<WorkflowMail>().SetSubscribedAsync(Shop, Crash, ana.Id, true);
        await bookmarks.SetBookmarksAsync(Shop, ana.Id, [Crash], bookmarked: true, DateTimeOffset.UtcNow);

        (await server.Services.GetRequiredService<ErrorHub.Dashboard.Access.ProjectAdmin>().DeleteAsync(admin!.Id, Shop)).Should().BeNull();

        (await outbox.GetSubscriptionsAsync(Shop, [Crash])).Should().BeEmpty();
        (await bookmarks.GetBookmarksAsync(Shop, ana.Id)).Should().BeEmpty();
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
