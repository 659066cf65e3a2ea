using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Notifications;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Testing.Smtp;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>
/// Over real HTTP against the real dashboard and a real SMTP server: the Users page's invitations are mailed to the invitee
/// (straight to the SMTP server, not through the outbox), each open invitation shows what became of its mail, a resend makes
/// a fresh link and kills the old one within a per-address limit, refused and hostile addresses end in a readable state, and
/// without SMTP nothing is mailed and the page says so.
/// </summary>
public sealed partial class InvitationMailTests(SmtpServerFixture smtp) : IClassFixture<SmtpServerFixture>
{
    private const int Shop = 1; // the all-in-one server's project
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private DashboardServer StartWithMail() => DashboardServer.Start(new()
    {
        ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
        ["ErrorHub:Notifications:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ErrorHub:Notifications:Smtp:Security"] = "None",
        ["ErrorHub:Notifications:Smtp:From"] = "errors@example.com",
    });

    private static InvitationMailing Mailing(DashboardServer server) => server.Services.GetRequiredService<InvitationMailing>();

    private static async Task<Guid> AdminIdAsync(DashboardServer server) =>
        (await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail))!.Id;

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)] + "@example.com";

    private static async Task<InvitationMailStatus> SettledAsync(InvitationMailing mailing, Guid invitationId, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (mailing.StatusOf(invitationId) is { State: not InvitationMailState.Queued } settled)
            {
                return settled;
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The open invitations table's row of <paramref name="email"/> on the Users page as served (prerendered).</summary>
    private static async Task<string> RowAsync(HttpClient admin, string email) =>
        Regex.Match(await admin.GetStringAsync("users"), $"<tr>(?:(?!</tr>).)*{Regex.Escape(email)}(?:(?!</tr>).)*</tr>", RegexOptions.Singleline).Value;

    [Fact]
    public async Task An_invitation_is_mailed_once_to_the_invitee_and_its_link_makes_the_account_and_signs_them_in()
    {
        using var server = StartWithMail();
        using var bound = new CancellationTokenSource(Bound);
        var invitee = Unique("nia");
        var mailing = Mailing(server);

        var made = (await mailing.InviteAsync(await AdminIdAsync(server), invitee.ToUpperInvariant(), UserRole.Member, [Shop], bound.Token)).Value!;

        made.Mail.Should().NotBeNull();
        made.Mail!.State.Should().BeOneOf(InvitationMailState.Queued, InvitationMailState.Sent);
        var mail = (await smtp.MessagesToAsync(invitee, 1, bound.Token)).Single();
        mail.Subject.Should().Be("admin invited you to ErrorHub", "the configured admin has no name of its own: its email's local part");
        mail.Headers["Auto-Submitted"].Should().Be("auto-generated");
        mail.Headers.Contains("List-Id").Should().BeFalse("an invitation is no list's mail");
        mail.To.Mailboxes.Select(m => m.Address).Should().Equal(invitee);
        mail.TextBody.Should().Contain("admin (admin@example.com) invited " + invitee).And.Contain("Role: member").And.Contain("Projects: Web shop")
            .And.Contain("Link works until: " + made.Invitation.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture));
        mail.HtmlBody.Should().Contain("Create your account").And.Contain("Web shop");
        var link = LinkIn().Match(mail.TextBody!).Value;
        link.Should().Be(made.Link.ToString(), "the admin sees the very link that was mailed");
        (await SettledAsync(mailing, made.Invitation.Id, bound.Token)).State.Should().Be(InvitationMailState.Sent);
        using (var admin = await server.SignedInClientAsync())
        {
            var row = await RowAsync(admin, invitee);
            row.Should().Contain("class=\"mail-sent\"").And.Contain("Resend the invitation of " + invitee);
            (await admin.GetStringAsync("users")).Should().Contain("We mail them a link");
        }

        using var client = server.NewClient();
        (await client.GetStringAsync(new Uri(link), bound.Token)).Should().Contain("Create your account");
        using var accepted = await DashboardForms.PostAsync(client, new Uri(link).PathAndQuery, "accept-invitation", new()
        {
            ["Input.Name"] = "Nia Newcomer",
            ["Input.Password"] = "a long password",
            ["Input.ConfirmPassword"] = "a long password",
        });
        accepted.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await client.GetAsync("/", bound.Token)).StatusCode.Should().Be(HttpStatusCode.OK, "accepting signs the invitee in");
        (await server.Access.FindUserByEmailAsync(invitee)).Should().BeEquivalentTo(new { Name = "Nia Newcomer", Role = UserRole.Member });

        await Task.Delay(TimeSpan.FromSeconds(1), bound.Token);
        smtp.Messages().Where(m => SmtpServerFixture.EnvelopeRecipients(m).Contains(invitee)).Should().HaveCount(1, "one invitation, one mail");
    }

    [Fact]
    public async Task A_resend_mails_a_fresh_link_the_old_one_says_it_was_replaced_and_one_address_gets_at_most_three_mails_an_hour()
    {
        using var server = StartWithMail();
        using var bound = new CancellationTokenSource(Bound);
        var invitee = Unique("ole");
        var mailing = Mailing(server);
        var adminId = await AdminIdAsync(server);
        var first = (await mailing.InviteAsync(adminId, invitee, UserRole.Admin, [], bound.Token)).Value!;

        var second = await mailing.ResendAsync(adminId, first.Invitation.Id, bound.Token);

        second.Succeeded.Should().BeTrue(second.Problem);
        second.Value!.Link.Should().NotBe(first.Link);
        var mails = await smtp.MessagesToAsync(invitee, 2, bound.Token);
        mails.Select(m => LinkIn().Match(m.TextBody!).Value).Should().BeEquivalentTo([first.Link.ToString(), second.Value.Link.ToString()]);
        mails[0].TextBody.Should().Contain("Role: admin").And.Contain("Projects: all");
        using var client = server.NewClient();
        using (var old = await client.GetAsync(first.Link, bound.Token))
        {
            old.StatusCode.Should().Be(HttpStatusCode.Gone);
            WebUtility.HtmlDecode(await old.Content.ReadAsStringAsync(bound.Token)).Should()
                .MatchRegex($"does not work any more: it was replaced by a newer invitation on [0-9-]+ [0-9:]+ UTC. Use the link in the newest invitation mail to {Regex.Escape(invitee)}");
        }

        (await client.GetStringAsync(second.Value.Link, bound.Token)).Should().Contain("Create your account");

        // The third mail is the last this hour: a fourth resend is refused and the third link keeps working.
        var third = (await mailing.ResendAsync(adminId, second.Value.Invitation.Id, bound.Token)).Value!;
        var refused = await mailing.ResendAsync(adminId, third.Invitation.Id, bound.Token);
        refused.Problem.Should().StartWith($"Not mailed: {invitee} got 3 invitation mails within 1 hour; mail again after ");
        (await client.GetStringAsync(third.Link, bound.Token)).Should().Contain("Create your account");
        var open = (await server.Access.GetInvitationsAsync(bound.Token)).Where(i => i.Email == invitee && i.IsOpenAt(DateTimeOffset.UtcNow)).ToList();
        open.Select(i => i.Id).Should().Equal([third.Invitation.Id], "every resend revokes the invitation it replaces");

        // A new invitation to the address while it is at its limit: made and shown, not mailed, and the page says why.
        var fourth = (await mailing.InviteAsync(adminId, invitee, UserRole.Member, [], bound.Token)).Value!;
        fourth.Mail!.State.Should().Be(InvitationMailState.Failed);
        using (var admin = await server.SignedInClientAsync())
        {
            WebUtility.HtmlDecode(await admin.GetStringAsync("users", bound.Token)).Should().Contain("failed: Not mailed: " + invitee + " got 3 invitation mails");
        }

        await smtp.MessagesToAsync(invitee, 3, bound.Token);
        await Task.Delay(TimeSpan.FromSeconds(1), bound.Token);
        smtp.Messages().Where(m => SmtpServerFixture.EnvelopeRecipients(m).Contains(invitee)).Should().HaveCount(3);
    }

    [Fact]
    public async Task A_refused_recipient_shows_as_failed_with_the_server_s_reason_and_hostile_addresses_end_readably_without_a_mail()
    {
        using var server = StartWithMail();
        using var bound = new CancellationTokenSource(Bound);
        var mailing = Mailing(server);
        var adminId = await AdminIdAsync(server);
        var refusedAddress = Unique("permanent");

        var refused = (await mailing.InviteAsync(adminId, refusedAddress, UserRole.Member, [], bound.Token)).Value!;

        var status = await SettledAsync(mailing, refused.Invitation.Id, bound.Token);
        status.State.Should().Be(InvitationMailState.Failed);
        status.Reason.Should().Contain("550").And.Contain("No such mailbox here").And.NotContain("\n");
        using (var admin = await server.SignedInClientAsync())
        {
            var row = WebUtility.HtmlDecode(await RowAsync(admin, refusedAddress));
            row.Should().Contain("class=\"mail-failed\"").And.Contain("No such mailbox here");
        }

        // Header injection and absurd addresses are no e-mail address: refused with the form's words, nothing stored or mailed.
        foreach (var hostile in new[] { "victim@example.com\r\nBcc: many@example.com", "victim@example.com\nSubject: hi", new string('a', 200_000) + "@example.com", "" })
        {
            var answer = await mailing.InviteAsync(adminId, hostile, UserRole.Member, [], bound.Token);
            answer.Problem.Should().Be("Enter an email address.");
        }

        // Addresses our loose check lets through but no mail can go to: made (the link is shown), the mail failed in words.
        foreach (var odd in new[] { "two@at@example.com", "<victim@example.com>x@example.com" })
        {
            var made = await mailing.InviteAsync(adminId, odd, UserRole.Member, [], bound.Token);
            made.Succeeded.Should().BeTrue(made.Problem);
            var oddStatus = await SettledAsync(mailing, made.Value!.Invitation.Id, bound.Token);
            oddStatus.State.Should().Be(InvitationMailState.Failed, odd);
            oddStatus.Reason.Should().NotBeNullOrWhiteSpace();
        }

        (await server.NewClient().GetAsync("login", bound.Token)).StatusCode.Should().Be(HttpStatusCode.OK);
        await Task.Delay(TimeSpan.FromSeconds(1), bound.Token);
        smtp.Messages().SelectMany(SmtpServerFixture.EnvelopeRecipients)
            .Should().NotContain(address => address.Contains("victim", StringComparison.Ordinal) || address.Contains("many@", StringComparison.Ordinal) || address == refusedAddress);
    }

    [Fact]
    public async Task Without_smtp_nothing_is_mailed_and_the_page_says_the_admin_sends_the_link()
    {
        using var server = DashboardServer.Start();
        var mailing = Mailing(server);
        var adminId = await AdminIdAsync(server);
        var invitee = Unique("quiet");

        var made = (await mailing.InviteAsync(adminId, invitee, UserRole.Member, [])).Value!;
        var resend = await mailing.ResendAsync(adminId, made.Invitation.Id);

        made.Mail.Should().BeNull("nothing is mailed");
        mailing.StatusOf(made.Invitation.Id).Should().BeNull();
        resend.Problem.Should().StartWith("This ErrorHub sends no mail");
        using var admin = await server.SignedInClientAsync();
        var page = await admin.GetStringAsync("users");
        page.Should().Contain("You get a link to send them yourself (nothing is mailed)").And.NotContain("We mail them a link");
        (await RowAsync(admin, invitee)).Should().NotContain("Resend").And.NotContain("mail-");
    }

    [GeneratedRegex(@"https?://\S+/invitations/[^\s<>""]+")]
    private static partial Regex LinkIn();
}
