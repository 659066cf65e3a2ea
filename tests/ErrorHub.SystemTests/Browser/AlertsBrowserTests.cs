using System.Text.RegularExpressions;
using ErrorHub.Storage;
using ErrorHub.Testing.Events;
using ErrorHub.Testing.Smtp;
using Microsoft.Extensions.DependencyInjection;
using FluentAssertions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace ErrorHub.SystemTests.Browser;

/// <summary>A project's alerts page in a real browser: an admin adds a rule and a team address, sends a test e-mail and the digest on request, which reach a real SMTP server; a member turns off one kind of mail.</summary>
[Collection(DashboardTestGroup.Name)]
public sealed class AlertsBrowserTests(DashboardFixture dashboard, BrowserFixture browser)
{
    private static readonly string AlertsPath = $"projects/{DashboardSeed.Worker.Id}/alerts";

    [Fact]
    public async Task An_admin_adds_a_rule_and_a_team_address_that_stay_saved_and_a_test_email_arrives_and_shows_in_the_history()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, AlertsPath);
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.Locator("h1")).ToHaveTextAsync($"{DashboardSeed.Worker.Name} alerts");
            var rules = page.Locator(".rules-table tbody tr");
            var before = await rules.CountAsync();

            await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
            await Expect(rules).ToHaveCountAsync(before + 1);
            await Expect(rules.Last).ToContainTextAsync("Many events");
            var team = $"oncall-{Guid.NewGuid():N}@example.com";
            await page.GetByLabel("Extra addresses").FillAsync(team);
            await page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Rules saved." })).ToBeVisibleAsync();

            await page.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(rules).ToHaveCountAsync(before + 1);
            await Expect(page.GetByLabel("Extra addresses")).ToHaveValueAsync(team);

            var address = $"ops-{Guid.NewGuid():N}@example.com";
            await page.GetByLabel("Address for the test e-mail").FillAsync(address);
            await page.GetByRole(AriaRole.Button, new() { Name = "Send test e-mail" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"Sent to {address}" })).ToBeVisibleAsync();
            dashboard.Smtp.Messages().SelectMany(SmtpServerFixture.EnvelopeRecipients).Should().Contain(address, "the SMTP server accepted the test e-mail");
            await Expect(page.Locator(".notification-history")).ToContainTextAsync(address);
            await Expect(page.Locator(".notification-history tbody tr").Filter(new() { HasText = address }).Locator("td").Nth(1))
                .ToHaveTextAsync("Test e-mail"); // the history says why in words, not the outbox's key ("test", "event-frequency")

            await page.GetByRole(AriaRole.Button, new() { Name = "Send the digest now" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = $"The digest of the last 24 hours went to {address}" })).ToBeVisibleAsync();
            dashboard.Smtp.Messages().Where(m => SmtpServerFixture.EnvelopeRecipients(m).Contains(address)).Select(m => m.Subject).Should()
                .Contain(subject => subject.StartsWith($"[{DashboardSeed.Worker.Name}] Digest on request ", StringComparison.Ordinal), "a new installation can see its digest without waiting a day");
            await Expect(page.Locator(".notification-history tbody tr").Filter(new() { HasText = "Digest on request" })).ToHaveCountAsync(1);
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty("the alerts page works without console errors or server errors");
    }

    [Fact]
    public async Task A_frequency_rules_number_boxes_are_found_by_their_names_and_what_is_typed_in_them_stays_saved()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, AlertsPath);
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
            await Expect(page.Locator(".rules-table tbody tr").Last).ToContainTextAsync("Many events");

            // A screen reader announces a box by its accessible name: it must be the input's, not a wrapper's.
            var threshold = page.GetByLabel(new Regex("^Threshold of rule ")).Last;
            var window = page.GetByLabel(new Regex("^Window of rule ")).Last;
            var cooldown = page.GetByLabel(new Regex("^Cooldown of rule ")).Last;
            await threshold.FillAsync("250");
            await threshold.PressAsync("Tab");
            await window.FillAsync("15");
            await window.PressAsync("Tab");
            await cooldown.FillAsync("30");
            await cooldown.PressAsync("Tab");
            await page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Rules saved." })).ToBeVisibleAsync();

            await page.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(threshold).ToHaveValueAsync("250");
            await Expect(window).ToHaveValueAsync("15");
            await Expect(cooldown).ToHaveValueAsync("30");
            var unnamed = await page.EvaluateAsync<string[]>(
                "() => [...document.querySelectorAll('.rules-table input:not([type=hidden])')]" +
                ".filter(input => !input.getAttribute('aria-label') && !input.getAttribute('aria-labelledby') && !input.labels?.length)" +
                ".map(input => input.outerHTML)");
            unnamed.Should().BeEmpty("every box of the rules has an accessible name of its own");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty("the alerts page works without console errors or server errors");
    }

    [Fact]
    public async Task A_member_turns_off_daily_digests_and_finds_the_choice_kept_while_rules_stay_read_only()
    {
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsMemberAsync(page, dashboard, AlertsPath);
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Save rules and addresses" })).ToHaveCountAsync(0);
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Add rule" })).ToHaveCountAsync(0);

            var digest = page.Locator(".my-alerts-form").GetByLabel("Daily digest");
            await Expect(digest).ToBeCheckedAsync();
            await digest.UncheckAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Save my choices" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Your choices are saved." })).ToBeVisibleAsync();

            await page.ReloadAsync();
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await Expect(page.Locator(".my-alerts-form").GetByLabel("Daily digest")).Not.ToBeCheckedAsync();
            await Expect(page.Locator(".my-alerts-form").GetByLabel("New issue")).ToBeCheckedAsync();
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        problems.All.Should().BeEmpty("the alerts page works for a member without console errors or server errors");
    }

    [Fact]
    public async Task An_issue_assigned_to_a_member_and_commented_on_mails_them_but_not_the_admin_who_did_it()
    {
        var fingerprint = TestEvents.Fingerprint("assigned-" + Guid.NewGuid().ToString("N"));
        var title = $"InvalidOperationException: Invoice {Guid.NewGuid().ToString("N")[..8]} was already paid";
        await dashboard.WriteAsync(services => services.GetRequiredService<IEventWriter>().InsertEventsAsync(
            [TestEvents.Create(DashboardSeed.Worker.Id, fingerprint, DateTimeOffset.UtcNow.AddMinutes(-5), title: title, culprit: "Billing.Invoices.InvoiceJob.RunAsync")]));
        var page = await browser.NewPageAsync();
        var problems = PageProblems.Watch(page);
        try
        {
            await BrowserSignIn.SignInAsAdminAsync(page, dashboard, $"projects/{DashboardSeed.Worker.Id}/issues/{fingerprint}");
            await BrowserSignIn.WaitUntilInteractiveAsync(page);
            await page.Locator("select.action-assign").SelectOptionAsync(new SelectOptionValue { Label = "Dana Developer" });
            await page.Locator("button.action-assign-apply").ClickAsync();
            await Expect(page.Locator(".timeline-entry").First).ToContainTextAsync("Assigned to Dana Developer");
            await page.Locator("textarea.comment-text").FillAsync("Paid twice by the retry; look at the idempotency key");
            await page.Locator("button.action-comment").ClickAsync();
            await Expect(page.Locator(".timeline-comment").First).ToContainTextAsync("idempotency key");

            // Commenting subscribed the admin, which the line under the triage buttons says at once; the button unsubscribes
            // (a choice that wins over the comment) and subscribes again.
            await Expect(page.Locator(".subscription-reason")).ToHaveTextAsync("You're subscribed because you commented on this issue.");
            await page.Locator("button.action-subscribe").ClickAsync();
            await Expect(page.Locator(".subscription-reason")).ToHaveTextAsync("You're not subscribed to this issue: you unsubscribed.");
            await Expect(page.Locator("button.action-subscribe")).ToHaveTextAsync("Subscribe");
            await page.Locator("button.action-subscribe").ClickAsync();
            await Expect(page.Locator(".subscription-reason")).ToHaveTextAsync("You're subscribed to this issue.");
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        // The worker sends them with its next round (every 2 s in this fixture).
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        List<MimeKit.MimeMessage> about;
        while (true)
        {
            about = [.. dashboard.Smtp.Messages().Where(m => (m.TextBody ?? "").Contains(title, StringComparison.Ordinal) && m.Headers["X-ErrorHub-Trigger"] == "assignment")];
            if (about.Count >= 2 || DateTimeOffset.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(250);
        }

        about.Should().HaveCount(2, string.Join(" | ", about.Select(m => m.Subject)));
        about.Select(m => m.Subject).Should().OnlyContain(subject => subject.StartsWith($"[{DashboardSeed.Worker.Name}] ", StringComparison.Ordinal), "the issue's subject, the same in every mail about it");
        about.Select(m => m.TextBody!.Split('\n')[0]).Should().ContainSingle(line => line.EndsWith(" assigned you an issue", StringComparison.Ordinal))
            .And.ContainSingle(line => line.EndsWith(" commented on an issue", StringComparison.Ordinal));
        about.SelectMany(SmtpServerFixture.EnvelopeRecipients).Should().OnlyContain(address => address == DashboardSeed.MemberEmail, "the assignee hears it; the admin who did it does not");
        about.Single(m => m.TextBody!.Split('\n')[0].EndsWith(" commented on an issue", StringComparison.Ordinal)).TextBody!.Should().Contain("look at the idempotency key");
        problems.All.Should().BeEmpty();
    }
}
