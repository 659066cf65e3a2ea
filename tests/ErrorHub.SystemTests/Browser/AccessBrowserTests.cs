using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>An admin's first day: sign in, create a project, copy its DSN, invite a colleague, who then sees only that project.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed partial class AccessBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    [Fact]
    public async Task An_admin_creates_a_project_copies_its_dsn_and_invites_a_member_who_sees_only_that_project()
    {
        var projectName = "Mobile app " + Guid.NewGuid().ToString("N")[..6];
        var inviteeEmail = $"tester-{Guid.NewGuid():N}@example.com";
        var admin = await browser.NewPageAsync();
        var adminProblems = PageProblems.Watch(admin);
        string invitationLink;
        try
        {
            await admin.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = dashboard.BaseUrl.GetLeftPart(UriPartial.Authority) });
            await BrowserSignIn.SignInAsAdminAsync(admin, dashboard);
            await BrowserSignIn.WaitUntilInteractiveAsync(admin);
            await Expect(admin.Locator(".projects-table .project-link")).ToContainTextAsync([DashboardSeed.Worker.Name, DashboardSeed.Shop.Name]);

            // Create a project: its settings page opens with its first key.
            await admin.GetByLabel("Name of the new project").FillAsync(projectName);
            await admin.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
            await Expect(admin.Locator("h1")).ToHaveTextAsync($"{projectName} settings");
            await Expect(admin).ToHaveURLAsync(new Regex(@"/projects/(\d+)/settings$"));
            var projectId = int.Parse(ProjectIdInUrl().Match(admin.Url).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            await BrowserSignIn.WaitUntilInteractiveAsync(admin);

            // Copy its DSN: what lands on the clipboard is the DSN shown, built from the dashboard's address.
            await admin.GetByRole(AriaRole.Button, new() { Name = "Copy the DSN of key Default" }).ClickAsync();
            await Expect(admin.Locator(".keys-table .copy-status").First).ToHaveTextAsync("Copied");
            var dsn = await admin.EvaluateAsync<string>("navigator.clipboard.readText()");
            dsn.Should().MatchRegex($"^http://[0-9a-f]{{32}}@127\\.0\\.0\\.1:{dashboard.BaseUrl.Port}/{projectId}$");
            await Expect(admin.Locator(".keys-table code.dsn").First).ToHaveTextAsync(dsn);

            // Rotating asks first, since the DSN in use stops working: cancelled, nothing changes; confirmed, a new DSN.
            await admin.GetByRole(AriaRole.Button, new() { Name = "Rotate key Default" }).ClickAsync();
            var confirm = admin.Locator("[role=alertdialog], [role=dialog]");
            var dialog = confirm.First;
            await Expect(dialog).ToContainTextAsync("its current DSN is refused from now on");
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
            await Expect(confirm).ToHaveCountAsync(0);
            await Expect(admin.Locator(".keys-table code.dsn")).ToHaveTextAsync([dsn]);
            await admin.GetByRole(AriaRole.Button, new() { Name = "Rotate key Default" }).ClickAsync();
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Rotate", Exact = true }).ClickAsync();
            await Expect(admin.Locator(".keys-table .revoked-key")).ToHaveCountAsync(1);
            var rotated = admin.Locator(".keys-table .active-key code.dsn");
            await Expect(rotated).ToHaveCountAsync(1);
            (await rotated.InnerTextAsync()).Should().MatchRegex($"^http://[0-9a-f]{{32}}@127\\.0\\.0\\.1:{dashboard.BaseUrl.Port}/{projectId}$").And.NotBe(dsn);

            // The limits' boxes are found by their visible labels, as a screen reader announces them, and keep what is typed.
            var perMinute = admin.GetByLabel("Events per minute", new() { Exact = true });
            var keepDays = admin.GetByLabel("Keep events for (days)", new() { Exact = true });
            await perMinute.FillAsync("600");
            await perMinute.PressAsync("Tab");
            await keepDays.FillAsync("30");
            await keepDays.PressAsync("Tab");
            await admin.GetByRole(AriaRole.Button, new() { Name = "Save limits" }).ClickAsync();
            await Expect(admin.GetByRole(AriaRole.Status).Filter(new() { HasText = "Limits saved." })).ToBeVisibleAsync();
            await admin.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(admin);
            await Expect(perMinute).ToHaveValueAsync("600");
            await Expect(keepDays).ToHaveValueAsync("30");

            // Invite a member of that project.
            await admin.GotoAsync(dashboard.Url("users").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(admin);

            // The forgotten-password account choice looks like the invite form's fields: same height, border and font.
            const string look = "e => { const s = getComputedStyle(e); return [s.height, s.borderTopWidth, s.borderBottomStyle, s.borderRadius, s.fontSize, s.fontFamily].join('|'); }";
            var fieldLook = await admin.GetByLabel("Email of the person to invite").EvaluateAsync<string>(look);
            (await admin.GetByLabel("Account to make a password reset link for").EvaluateAsync<string>(look)).Should().Be(fieldLook);
            // This dashboard has SMTP: the link is mailed, and the form says so before it makes one.
            await Expect(admin.Locator(".invite-intro")).ToContainTextAsync("We mail them a link");
            await admin.GetByLabel("Email of the person to invite").FillAsync(inviteeEmail);
            // The visible "Role" label names the role choice (until December 2026 it pointed at nothing a reader could reach).
            await Expect(admin.GetByLabel("Role", new() { Exact = true })).ToContainTextAsync("Member");
            await admin.Locator(".invite-projects").GetByText(projectName).ClickAsync();
            await admin.GetByRole(AriaRole.Button, new() { Name = "Create invitation link" }).ClickAsync();
            await Expect(admin.Locator(".invite-note")).ToContainTextAsync($"An e-mail with the link is on its way to {inviteeEmail}");
            var link = admin.Locator(".form-note code.dsn");
            await Expect(link).ToContainTextAsync("/invitations/");
            var shownLink = await link.InnerTextAsync();

            // The open invitation's mail turns to "sent" on the live page, without a reload, and the invitee uses the mailed link.
            await Expect(admin.Locator(".invitations-table tr", new() { HasText = inviteeEmail }).Locator(".mail-sent")).ToContainTextAsync("sent");
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var mail = (await dashboard.Smtp.MessagesToAsync(inviteeEmail, 1, bound.Token)).Single();
            invitationLink = InvitationLinkIn().Match(mail.TextBody!).Value;
            invitationLink.Should().Be(shownLink, "the mail carries the link the admin sees");
        }
        finally
        {
            await admin.Context.CloseAsync();
        }

        adminProblems.All.Should().BeEmpty("the admin's pages work without console errors or server errors");

        var member = await browser.NewPageAsync();
        var memberProblems = PageProblems.Watch(member);
        try
        {
            await member.GotoAsync(invitationLink);
            await Expect(member.Locator("h1")).ToHaveTextAsync("Create your account");
            await member.GetByLabel("Name").FillAsync("Tess Tester");
            await member.GetByLabel(new Regex("^Password \\(at least")).FillAsync("tess password 1");
            await member.GetByLabel("Password again").FillAsync("tess password 1");
            await member.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();

            // Signed in, they see their project and no other, in the list and in the navigation.
            await Expect(member).ToHaveURLAsync(dashboard.Url("").ToString());
            await BrowserSignIn.WaitUntilInteractiveAsync(member);
            await Expect(member.Locator(".projects-table .project-link")).ToHaveTextAsync([projectName]);
            await Expect(member.Locator("nav[aria-label=Projects]")).Not.ToContainTextAsync(DashboardSeed.Shop.Name);
            await Expect(member.GetByRole(AriaRole.Link, new() { Name = "Users" })).ToHaveCountAsync(0);

            // Through the live circuit (no new page request), another project is as unknown as a missing one.
            await member.EvaluateAsync("path => Blazor.navigateTo(path)", $"projects/{DashboardSeed.Shop.Id}/issues");
            await Expect(member.Locator("h1")).ToHaveTextAsync("Not found");
            await Expect(member.Locator("main")).Not.ToContainTextAsync(DashboardSeed.CheckoutTitle);
            await member.EvaluateAsync("path => Blazor.navigateTo(path)", $"projects/{DashboardSeed.Shop.Id}/issues/{DashboardSeed.CheckoutFingerprint}");
            await Expect(member.Locator("h1")).ToHaveTextAsync("Not found");
            await Expect(member.Locator("main")).Not.ToContainTextAsync(DashboardSeed.LatestUserEmail);
        }
        finally
        {
            await member.Context.CloseAsync();
        }

        memberProblems.All.Should().BeEmpty("the member's pages work without console errors or server errors");
    }

    [Fact]
    public async Task Signing_in_with_a_wrong_password_says_so_and_signing_out_returns_to_the_login_page()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await page.GotoAsync(dashboard.Url("projects/1/issues").ToString());
            await Expect(page).ToHaveURLAsync(new Regex("/login\\?returnUrl="));
            await page.GetByLabel("Email").FillAsync(DashboardSeed.MemberEmail);
            await page.GetByLabel("Password").FillAsync("not the password");
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(page.Locator(".form-error")).ToHaveTextAsync("Wrong email or password.");

            await BrowserSignIn.SignInAsMemberAsync(page, dashboard);
            // As a person does, once the page has settled: a click while the circuit starts can land on a header being re-rendered.
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(dashboard.Url("login?signedOut=everywhere").ToString());
            await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("You are signed out.");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }

    [Fact]
    public async Task A_session_ended_elsewhere_sends_to_the_login_page_saying_so_and_signing_in_returns_to_the_page()
    {
        var here = await browser.NewPageAsync();
        var there = await browser.NewPageAsync();
        var problems = PageProblems.Watch(there);
        try
        {
            await BrowserSignIn.SignInAsMemberAsync(here, dashboard, "projects/2/issues");
            await BrowserSignIn.SignInAsMemberAsync(there, dashboard, "projects/2/issues");
            // Both pages settled: a page still starting its circuit when the sign-out lands has its negotiation refused (401),
            // which its console rightly reports; here the other browser's page is one already open.
            await BrowserSignIn.WaitUntilInteractiveAsync(there);
            await BrowserSignIn.WaitUntilInteractiveAsync(here);
            await here.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(here).ToHaveURLAsync(dashboard.Url("login?signedOut=everywhere").ToString());

            // The other browser's next page: its sign-in ended with the sign-out.
            await there.GotoAsync(dashboard.Url("account").ToString());
            await Expect(there).ToHaveURLAsync(new Regex("/login\\?returnUrl=%2Faccount&session=ended$"));
            await Expect(there.GetByRole(AriaRole.Status)).ToHaveTextAsync("Your session ended; sign in again.");
            await there.GetByLabel("Email").FillAsync(DashboardSeed.MemberEmail);
            await there.GetByLabel("Password").FillAsync(DashboardSeed.MemberPassword);
            await there.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(there).ToHaveURLAsync(dashboard.Url("account").ToString());
        }
        finally
        {
            await here.Context.CloseAsync();
            await there.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty();
    }

    [GeneratedRegex(@"/projects/(\d+)/settings$")]
    private static partial Regex ProjectIdInUrl();

    [GeneratedRegex(@"https?://\S+/invitations/[^\s<>""]+")]
    private static partial Regex InvitationLinkIn();
}
