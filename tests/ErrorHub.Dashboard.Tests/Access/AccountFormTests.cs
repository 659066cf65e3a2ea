using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Dashboard;
using ErrorHub.Dashboard.Access;
using ErrorHub.Dashboard.Formatting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>The account page's forms and the invitation link, posted as a browser posts them.</summary>
public sealed partial class AccountFormTests : IDisposable
{
    private readonly DashboardServer _server = DashboardServer.Start();

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task A_new_password_ends_the_other_sign_ins_keeps_this_one_and_replaces_the_old_password()
    {
        using var other = await _server.SignedInClientAsync();
        using var client = await _server.SignedInClientAsync();

        using var wrong = await ChangePasswordAsync(client, "not the password", "a brand new password");
        DashboardForms.Problem(await wrong.Content.ReadAsStringAsync()).Should().Be("The current password is not right.");
        using var tooShort = await ChangePasswordAsync(client, DashboardServer.AdminPassword, "short");
        DashboardForms.Problem(await tooShort.Content.ReadAsStringAsync()).Should().Contain("at least 8 characters");

        using var changed = await ChangePasswordAsync(client, DashboardServer.AdminPassword, "a brand new password");

        (await changed.Content.ReadAsStringAsync()).Should().Contain("Password changed");
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "this browser is signed in again with the new password");
        (await other.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "every other sign-in ended");
        using var fresh = _server.NewClient();
        using var old = await DashboardForms.PostLoginAsync(fresh, DashboardServer.AdminEmail, DashboardServer.AdminPassword);
        DashboardForms.Problem(await old.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.");
        await DashboardForms.SignInAsync(fresh, DashboardServer.AdminEmail, "a brand new password");
    }

    [Fact]
    public async Task A_token_made_on_the_account_page_is_shown_once_works_and_stops_working_when_revoked_there()
    {
        using var client = await _server.SignedInClientAsync();

        using var created = await DashboardForms.PostAsync(client, "/account", "create-token", new() { ["NewToken.Name"] = "nightly export" });
        var html = await created.Content.ReadAsStringAsync();
        var token = NewToken().Match(html).Groups["token"].Value;

        token.Should().StartWith("eh_");
        (await client.GetStringAsync("/account")).Should().Contain("nightly export").And.NotContain(token, "a token is shown once");
        using var bearer = _server.NewClient();
        bearer.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + token);
        (await bearer.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.OK);

        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var id = (await _server.Access.GetApiTokensAsync(admin!.Id)).Single().Id;
        using var revoked = await DashboardForms.PostAsync(client, "/account", "revoke-token", new() { ["Revoke.TokenId"] = id.ToString() });

        revoked.StatusCode.Should().Be(HttpStatusCode.OK);
        (await bearer.GetAsync("/api/projects")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_account_page_shows_the_account_id_a_script_assigns_issues_with()
    {
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        using var client = await _server.SignedInClientAsync();

        var page = await client.GetStringAsync("/account");

        Regex.Match(page, "class=\"muted small account-id\">[^<]*<code>assigneeId</code>: <code>(?<id>[^<]+)</code>").Groups["id"].Value
            .Should().Be(admin!.Id.ToString(), "the API's assigneeId takes an account id, and nothing else shows it");
    }

    [Fact]
    public async Task An_open_invitation_on_the_users_page_expires_in_seven_days_not_just_now()
    {
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        await _server.Accounts.InviteAsync(admin!.Id, "mia@example.com", UserRole.Member, []);
        using var client = await _server.SignedInClientAsync();

        var page = await client.GetStringAsync("/users");

        var row = Regex.Match(page, "<tr>(?:(?!</tr>).)*mia@example.com(?:(?!</tr>).)*</tr>", RegexOptions.Singleline).Value;
        row.Should().Contain(">in 7 days</time>", "the link works for a week (ErrorHub:Access:InvitationLifetime)").And.NotContain("just now");
    }

    [Fact]
    public async Task An_invitation_link_makes_a_member_of_the_chosen_projects_and_works_once()
    {
        var worker = await _server.Projects.CreateProjectAsync("Billing worker", "worker-key-0123456789abcdef", DateTimeOffset.UtcNow);
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var invitation = (await _server.Accounts.InviteAsync(admin!.Id, "New.Dev@Example.com", UserRole.Member, [worker.Id])).Value;
        var link = "/invitations/" + invitation.Secret;
        using var client = _server.NewClient();

        (await client.GetStringAsync(link)).Should().Contain("new.dev@example.com");
        using var mismatch = await DashboardForms.PostAsync(client, link, "accept-invitation", Account("a long password", "another password"));
        DashboardForms.Problem(await mismatch.Content.ReadAsStringAsync()).Should().Be("The two passwords differ.");
        using var accepted = await DashboardForms.PostAsync(client, link, "accept-invitation", Account("a long password", "a long password"));

        accepted.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var home = await client.GetStringAsync("/");
        home.Should().Contain("Billing worker").And.NotContain("Web shop");
        using var reused = await _server.NewClient().GetAsync(link);
        reused.StatusCode.Should().Be(HttpStatusCode.Gone);
        (await reused.Content.ReadAsStringAsync()).Should().MatchRegex("does not work any more: it was used on [0-9-]+ [0-9:]+ UTC to create the account new.dev@example.com. Sign in with that account.");
        (await _server.Access.FindUserByEmailAsync("new.dev@example.com")).Should().BeEquivalentTo(new { Name = "Nia Newcomer", Role = UserRole.Member });
    }

    [Fact]
    public async Task An_invitation_opened_in_a_browser_signed_in_as_someone_else_says_whose_account_accepting_leaves()
    {
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var invitation = (await _server.Accounts.InviteAsync(admin!.Id, "mia@example.com", UserRole.Member, [])).Value;
        using var signedIn = await _server.SignedInClientAsync();

        var page = await signedIn.GetStringAsync("/invitations/" + invitation.Secret);

        page.Should().Contain($"You are signed in as <strong>{DashboardServer.AdminEmail}</strong>. Creating this account signs you out of it and in as <strong>mia@example.com</strong>",
            "an admin opening the link they made should not be switched to the new account without a word");
        (await _server.NewClient().GetStringAsync("/invitations/" + invitation.Secret)).Should().NotContain("You are signed in as", "the invitee's own browser is signed in as nobody");
    }

    [Fact]
    public async Task A_revoked_expired_or_unknown_invitation_link_says_which_and_offers_no_form()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(clock: clock);
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var revoked = (await server.Accounts.InviteAsync(admin!.Id, "revoked@example.com", UserRole.Member, [])).Value;
        var expiring = (await server.Accounts.InviteAsync(admin.Id, "late@example.com", UserRole.Member, [])).Value;
        (await server.Accounts.RevokeInvitationAsync(admin.Id, revoked.Invitation.Id)).Should().BeTrue();
        clock.Advance(server.Accounts.InvitationLifetime);
        using var client = server.NewClient();

        var answers = new Dictionary<string, string>
        {
            [revoked.Secret] = "does not work any more: an admin revoked it on ",
            [expiring.Secret] = "does not work any more: it expired on " + RelativeTime.ExactUtc(expiring.Invitation.ExpiresAt),
            [expiring.Secret[..^1]] = "does not work: ErrorHub made no invitation with it. Check that the whole link was copied",
            [new string('A', 5000)] = "does not work: ErrorHub made no invitation with it.",
        };
        foreach (var (secret, says) in answers)
        {
            using var page = await client.GetAsync("/invitations/" + Uri.EscapeDataString(secret));
            page.StatusCode.Should().Be(HttpStatusCode.Gone);
            var text = await page.Content.ReadAsStringAsync();
            text.Should().Contain(says).And.NotContain("accept-invitation", "no form for a link that cannot be accepted");
            text.Should().NotContain("revoked@example.com").And.NotContain("late@example.com", "only a used link names its account, whose holder made it");
        }
    }

    [Fact]
    public async Task A_refused_password_change_answers_without_any_typed_password_in_the_page()
    {
        using var client = await _server.SignedInClientAsync();

        using var wrongCurrent = await ChangePasswordAsync(client, "typed-current-Hunter2", "typed-new-Hunter3");
        using var differ = await DashboardForms.PostAsync(client, "/account", "change-password", new()
        {
            ["Password.CurrentPassword"] = DashboardServer.AdminPassword,
            ["Password.NewPassword"] = "typed-new-Hunter4",
            ["Password.ConfirmPassword"] = "typed-confirm-Hunter5",
        });

        var refused = await wrongCurrent.Content.ReadAsStringAsync();
        DashboardForms.Problem(refused).Should().Be("The current password is not right.");
        refused.Should().NotContain("typed-current-Hunter2").And.NotContain("typed-new-Hunter3", "a page that echoes a password keeps it in caches, history and view-source");
        var mismatch = await differ.Content.ReadAsStringAsync();
        DashboardForms.Problem(mismatch).Should().Be("The two new passwords differ.");
        mismatch.Should().NotContain(DashboardServer.AdminPassword).And.NotContain("typed-new-Hunter4").And.NotContain("typed-confirm-Hunter5");
    }

    [Fact]
    public async Task A_refused_invitation_answers_without_the_typed_passwords_in_the_page_and_keeps_the_name()
    {
        var worker = await _server.Projects.CreateProjectAsync("Echo worker", "echo-key-0123456789abcdef", DateTimeOffset.UtcNow);
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var invitation = (await _server.Accounts.InviteAsync(admin!.Id, "echo.check@example.com", UserRole.Member, [worker.Id])).Value;
        using var client = _server.NewClient();

        using var mismatch = await DashboardForms.PostAsync(client, "/invitations/" + invitation.Secret, "accept-invitation", Account("typed-secret-Hunter2", "typed-other-Hunter3"));
        using var tooShort = await DashboardForms.PostAsync(client, "/invitations/" + invitation.Secret, "accept-invitation", Account("Hunter7", "Hunter7"));

        var differ = await mismatch.Content.ReadAsStringAsync();
        DashboardForms.Problem(differ).Should().Be("The two passwords differ.");
        differ.Should().NotContain("typed-secret-Hunter2").And.NotContain("typed-other-Hunter3", "a page that echoes a password keeps it in caches, history and view-source");
        differ.Should().Contain("Nia Newcomer", "the name stays filled in, so only the passwords are typed again");
        var refused = await tooShort.Content.ReadAsStringAsync();
        DashboardForms.Problem(refused).Should().Contain("at least 8 characters");
        refused.Should().NotContain("Hunter7");
    }

    [Fact]
    public async Task A_password_reset_link_sets_a_new_password_once_ends_every_sign_in_and_never_echoes_a_password()
    {
        var dev = await _server.CreateMemberAsync("dev@example.com", "the old password");
        using var devBrowser = await _server.SignedInClientAsync("dev@example.com", "the old password");
        var admin = await _server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        (await _server.Accounts.CreatePasswordResetAsync(dev.Id, admin!.Id)).Problem.Should().Be("Only an admin can make a password reset link.");
        var link = "/password-reset/" + (await _server.Accounts.CreatePasswordResetAsync(admin.Id, dev.Id)).Value;
        using var client = _server.NewClient();

        (await client.GetStringAsync(link)).Should().Contain("dev@example.com");
        using var mismatch = await DashboardForms.PostAsync(client, link, "reset-password", NewPassword("typed-secret-Hunter2", "typed-other-Hunter3"));
        var differ = await mismatch.Content.ReadAsStringAsync();
        DashboardForms.Problem(differ).Should().Be("The two passwords differ.");
        differ.Should().NotContain("typed-secret-Hunter2").And.NotContain("typed-other-Hunter3");
        using var tooShort = await DashboardForms.PostAsync(client, link, "reset-password", NewPassword("Hunter7", "Hunter7"));
        DashboardForms.Problem(await tooShort.Content.ReadAsStringAsync()).Should().Contain("at least 8 characters");

        using var reset = await DashboardForms.PostAsync(client, link, "reset-password", NewPassword("the new password", "the new password"));

        reset.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await client.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.OK, "the link's holder is signed in with the new password");
        (await devBrowser.GetAsync("/")).StatusCode.Should().Be(HttpStatusCode.Redirect, "every other sign-in of the account ended");
        using var reused = await _server.NewClient().GetAsync(link);
        reused.StatusCode.Should().Be(HttpStatusCode.Gone, "a link works once");
        (await reused.Content.ReadAsStringAsync()).Should().Contain("does not work any more");
        using var fresh = _server.NewClient();
        using var old = await DashboardForms.PostLoginAsync(fresh, "dev@example.com", "the old password");
        DashboardForms.Problem(await old.Content.ReadAsStringAsync()).Should().Be("Wrong email or password.");
        await DashboardForms.SignInAsync(fresh, "dev@example.com", "the new password");
    }

    [Fact]
    public async Task A_forged_altered_expired_or_outdated_password_reset_link_is_gone_and_changes_nothing()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var server = DashboardServer.Start(clock: clock);
        var dev = await server.CreateMemberAsync("dev@example.com", "the old password");
        var admin = await server.Access.FindUserByEmailAsync(DashboardServer.AdminEmail);
        var secret = (await server.Accounts.CreatePasswordResetAsync(admin!.Id, dev.Id)).Value!;
        var altered = secret[..^2] + (secret[^2] == 'A' ? 'B' : 'A') + secret[^1];
        using var client = server.NewClient();

        foreach (var bad in new[] { "x", altered, new string('A', 5000), "%00", "' OR 1=1 --" })
        {
            using var gone = await client.GetAsync("/password-reset/" + Uri.EscapeDataString(bad));
            gone.StatusCode.Should().Be(HttpStatusCode.Gone, bad[..Math.Min(20, bad.Length)]);
            (await gone.Content.ReadAsStringAsync()).Should().Contain("does not work any more").And.NotContain("reset-password\"");
            (await server.Accounts.ResetPasswordAsync(bad, "the new password")).Problem.Should().Be(Accounts.PasswordResetGone);
        }

        // A sign-out of the account (a new security stamp) outdates the link; so does a day.
        var outdated = (await server.Accounts.CreatePasswordResetAsync(admin.Id, dev.Id)).Value!;
        await server.Accounts.EndSignInsAsync(dev.Id);
        (await server.Accounts.OpenPasswordResetAsync(outdated)).Should().BeNull();
        var expiring = (await server.Accounts.CreatePasswordResetAsync(admin.Id, dev.Id)).Value!;
        (await server.Accounts.OpenPasswordResetAsync(expiring)).Should().NotBeNull();
        clock.Advance(Accounts.PasswordResetLifetime);
        using var expired = await client.GetAsync("/password-reset/" + expiring);
        expired.StatusCode.Should().Be(HttpStatusCode.Gone);
        (await server.Accounts.ResetPasswordAsync(expiring, "the new password")).Problem.Should().Be(Accounts.PasswordResetGone);

        await DashboardForms.SignInAsync(server.NewClient(), "dev@example.com", "the old password");
        (await server.Accounts.CreatePasswordResetAsync(admin.Id, Guid.NewGuid())).Problem.Should().Contain("disabled or gone");
    }

    [Fact]
    public async Task The_users_page_offers_a_reset_link_for_every_other_active_account_and_sign_in_says_whom_to_ask()
    {
        await _server.CreateMemberAsync("dev@example.com", "the old password");
        using var client = await _server.SignedInClientAsync();

        var page = await client.GetStringAsync("/users");

        var choices = Regex.Match(page, "<select name=\"reset-account\".*?</select>", RegexOptions.Singleline).Value;
        choices.Should().Contain(">dev@example.com</option>").And.NotContain(DashboardServer.AdminEmail, "an admin changes their own password on the account page");
        (await _server.NewClient().GetStringAsync("/login")).Should().Contain("Forgot your password?");
    }

    private static Dictionary<string, string> NewPassword(string password, string confirm) => new()
    {
        ["Input.Password"] = password,
        ["Input.ConfirmPassword"] = confirm,
    };

    private static Dictionary<string, string> Account(string password, string confirm) => new()
    {
        ["Input.Name"] = "Nia Newcomer",
        ["Input.Password"] = password,
        ["Input.ConfirmPassword"] = confirm,
    };

    private static Task<HttpResponseMessage> ChangePasswordAsync(HttpClient client, string current, string next) =>
        DashboardForms.PostAsync(client, "/account", "change-password", new()
        {
            ["Password.CurrentPassword"] = current,
            ["Password.NewPassword"] = next,
            ["Password.ConfirmPassword"] = next,
        });

    [GeneratedRegex("""<code class="secret-once new-token">(?<token>[^<]+)</code>""")]
    private static partial Regex NewToken();
}
