using System.Net;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Notifications;
using ErrorHub.Storage;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// One-click unsubscribe (RFC 8058) over real HTTP against the real dashboard, its worker mailing a real SMTP server:
/// the link in a member's mail turns off that trigger for that member, on a POST only, and a forged or expired link
/// changes nothing and says why.
/// </summary>
public sealed class UnsubscribeTests(SmtpServerFixture smtp) : IClassFixture<SmtpServerFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private const int Shop = 1; // the all-in-one server's project

    private DashboardServer StartWithMail() => DashboardServer.Start(new()
    {
        ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
        ["ErrorHub:Notifications:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ErrorHub:Notifications:Smtp:Security"] = "None",
        ["ErrorHub:Notifications:Smtp:From"] = "errors@example.com",
        ["ErrorHub:Notifications:PollInterval"] = "00:00:01",
    });

    private static FormUrlEncodedContent OneClick() => new([new("List-Unsubscribe", "One-Click")]);

    [Fact]
    public async Task A_post_to_the_mail_s_link_stops_that_trigger_for_that_member_only_and_a_get_changes_nothing()
    {
        smtp.Clear();
        using var server = StartWithMail();
        using var bound = new CancellationTokenSource(Bound);
        var ana = await server.CreateMemberAsync("ana@example.com", "ana's long password", Shop);
        var ben = await server.CreateMemberAsync("ben@example.com", "ben's long password", Shop);
        var outbox = server.Services.GetRequiredService<INotificationStore>();
        while (await outbox.GetDocumentAsync(Shop, "worker", bound.Token) is null)
        {
            await Task.Delay(100, bound.Token); // crashes from before the worker watches the project are not news
        }

        var events = server.Services.GetRequiredService<IEventWriter>();
        await events.InsertEventsAsync([TestEvents.Create(Shop, "fp-first", DateTimeOffset.UtcNow)], bound.Token);
        var anaMail = (await smtp.MessagesToAsync("ana@example.com", 1, bound.Token)).Single();
        var link = (anaMail.Headers["List-Unsubscribe"] ?? "").Trim().Trim('<', '>');
        link.Should().StartWith(server.BaseAddress + "unsubscribe?token=");
        anaMail.Headers["List-Unsubscribe-Post"].Should().Be("List-Unsubscribe=One-Click");

        var settings = server.Services.GetRequiredService<AlertSettingsStore>();
        using var anonymous = server.NewClient();
        using (var page = await anonymous.GetAsync(new Uri(link), bound.Token))
        {
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            var html = await page.Content.ReadAsStringAsync(bound.Token);
            html.Should().Contain("Stop these mails?").And.Contain("&quot;New issue&quot; mails of Web shop").And.Contain("<form method=\"post\">");
            html.Should().Contain("<title>Stop these mails? · ErrorHub</title>", "titled like every other page")
                .And.Contain("@media (prefers-color-scheme: dark)", "a reader in dark mode is not dazzled by the one light page");
        }

        (await settings.GetAsync(Shop, bound.Token)).Wants(ana.Id, AlertTrigger.NewIssue).Should().BeTrue("a GET (a mail scanner fetching every link) changes nothing");

        using (var done = await anonymous.PostAsync(new Uri(link), OneClick(), bound.Token))
        {
            done.StatusCode.Should().Be(HttpStatusCode.OK);
            (await done.Content.ReadAsStringAsync(bound.Token)).Should().Contain("You will get no more &quot;New issue&quot; mails of Web shop");
        }

        var after = await settings.GetAsync(Shop, bound.Token);
        after.Wants(ana.Id, AlertTrigger.NewIssue).Should().BeFalse();
        after.Wants(ana.Id, AlertTrigger.Regression).Should().BeTrue("only the trigger of the mail");
        after.Wants(ana.Id, AlertTrigger.Assignment).Should().BeTrue();
        after.Wants(ben.Id, AlertTrigger.NewIssue).Should().BeTrue("only the member the link was made for");

        // The next new issue reaches Ben and not Ana; an issue assigned to Ana still reaches her.
        await events.InsertEventsAsync([TestEvents.Create(Shop, "fp-second", DateTimeOffset.UtcNow)], bound.Token);
        (await smtp.MessagesToAsync("ben@example.com", 2, bound.Token))[^1].TextBody.Should().Contain("fp-second");
        await server.Services.GetRequiredService<WorkflowMail>().AssignedAsync(Shop, "fp-second", ana.Id, ben.Id, "Ben", Guid.NewGuid(), bound.Token);
        var toAna = await smtp.MessagesToAsync("ana@example.com", 2, bound.Token);
        toAna.Select(m => m.Headers["X-ErrorHub-Trigger"]).Should().Equal(["new-issue", "assignment"], "no second new-issue mail, but the assignment");
    }

    [Fact]
    public async Task A_forged_or_expired_link_changes_nothing_and_says_why()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(clock: clock);
        var ana = await server.CreateMemberAsync("ana@example.com", "ana's long password", Shop);
        var ben = await server.CreateMemberAsync("ben@example.com", "ben's long password", Shop);
        var links = server.Services.GetRequiredService<UnsubscribeLinks>();
        var settings = server.Services.GetRequiredService<AlertSettingsStore>();
        using var anonymous = server.NewClient();

        var anaLink = links.For(ana.Id, Shop, AlertTrigger.NewIssue).AbsoluteUri;
        var token = anaLink[(anaLink.IndexOf("token=", StringComparison.Ordinal) + "token=".Length)..];
        var changed = token[..20] + (token[20] == 'A' ? 'B' : 'A') + token[21..];
        var benLink = links.For(ben.Id, Shop, AlertTrigger.NewIssue).AbsoluteUri;
        var benToken = benLink[(benLink.IndexOf("token=", StringComparison.Ordinal) + "token=".Length)..];
        var issueLink = links.ForIssue(ana.Id, Shop, "fp").AbsoluteUri;
        var issueToken = issueLink[(issueLink.IndexOf("token=", StringComparison.Ordinal) + "token=".Length)..];
        var hostile = new[]
        {
            "unsubscribe?token=" + token + "&token=" + benToken, // two members' links at once: neither is taken
            "unsubscribe?token=" + new string('A', 7_000), // huge, still within the request line the server reads
            "unsubscribe?token=" + token[..(token.Length / 2)], // cut in the middle
            "unsubscribe?token=%FF%FE%01%1B%5B31m%E2%80%AE", // invalid UTF-8, control characters, an escape sequence, right-to-left override
            "unsubscribe?token=" + issueToken, // the token of an issue's link, signed for another purpose
            "unsubscribe?token=",
        };
        foreach (var forged in new[] { "unsubscribe?token=" + changed, "unsubscribe?token=" + token[..^4], "unsubscribe?token=not-a-token", "unsubscribe" }.Concat(hostile))
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Post })
            {
                using var request = new HttpRequestMessage(method, forged) { Content = method == HttpMethod.Post ? OneClick() : null };
                using var answer = await anonymous.SendAsync(request);
                answer.StatusCode.Should().Be(HttpStatusCode.BadRequest, forged);
                (await answer.Content.ReadAsStringAsync()).Should().Contain("This unsubscribe link does not work").And.Contain("Nothing was changed");
            }
        }

        clock.Advance(UnsubscribeLinks.Lifetime + TimeSpan.FromMinutes(1));
        using (var expired = await anonymous.PostAsync(new Uri(anaLink), OneClick()))
        {
            expired.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            (await expired.Content.ReadAsStringAsync()).Should().Contain("This unsubscribe link has expired").And.Contain("Nothing was changed");
        }

        var unchanged = await settings.GetAsync(Shop);
        unchanged.OptOuts.Should().BeEmpty("no forged or expired link changed anyone's switch");

        // A link made now works: the refusals above were the links', not the endpoint's.
        using (var fresh = await anonymous.PostAsync(links.For(ben.Id, Shop, AlertTrigger.DailyDigest), OneClick()))
        {
            fresh.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await settings.GetAsync(Shop)).OptOuts.Should().Equal(new AlertOptOut(ben.Id, AlertTrigger.DailyDigest));
    }
}
