using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// Mail to an issue's assignee, against a real SMTP server and the real store: who gets it and who never does. The
/// dashboard's assign and comment actions call it (AlertsBrowserTests drive that in a browser).
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class WorkflowMailTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync()
    {
        smtp.Clear();
        await smtp.StartAsync();
        _harness = await NotificationHarness.CreateAsync(smtp);
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private WorkflowMail Workflow => _harness.Services.GetRequiredService<WorkflowMail>();

    [Fact]
    public async Task The_assignee_hears_of_the_assignment_and_of_others_comments_and_nobody_else_does()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5)));
        await _harness.RoundAsync(); // the crash is from before: no new-issue mail

        await Workflow.AssignedAsync(shop.Id, "fp-checkout", ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Unresolved, _harness.Time.GetUtcNow()) { AssigneeId = ben.Id });
        await Workflow.CommentedAsync(shop.Id, "fp-checkout", ana.Id, "Ana", "Seen on production too.\nJoe's cart had 3 bundles.", Guid.NewGuid());
        await Workflow.CommentedAsync(shop.Id, "fp-checkout", ben.Id, "Ben", "On it.", Guid.NewGuid());
        await Workflow.AssignedAsync(shop.Id, "fp-checkout", ana.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        mails.Select(m => m.Subject).Should().Equal(
            ["[shop] NullReferenceException in CheckoutService.Complete", "[shop] NullReferenceException in CheckoutService.Complete"],
            "the issue's subject, the same in every mail about it");
        mails.Select(m => m.TextBody!.Split('\n')[0]).Should().BeEquivalentTo(["Ana assigned you an issue", "Ana commented on an issue assigned to you"]);
        mails.SelectMany(SmtpServerFixture.EnvelopeRecipients).Should().OnlyContain(address => address == "ben@example.com",
            "the assignee alone: not the one who commented, not someone who assigned the issue to themselves");
        var assigned = mails.Single(m => m.TextBody!.StartsWith("Ana assigned you", StringComparison.Ordinal));
        mails.Single(m => m.TextBody!.StartsWith("Ana commented", StringComparison.Ordinal)).TextBody.Should().Contain("Seen on production too.").And.Contain("Joe's cart had 3 bundles.");
        foreach (var body in new[] { assigned.TextBody, assigned.HtmlBody })
        {
            body.Should().Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues/fp-checkout")
                .And.Contain("Shop.Checkout.CheckoutService.Complete")
                .And.Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/alerts");
        }

        (await _harness.HistoryAsync(shop)).Should().HaveCount(2).And.OnlyContain(n => n.Trigger == "assignment" && n.State == NotificationState.Sent);
    }

    [Fact]
    public async Task No_mail_for_an_assignee_who_turned_it_off_is_disabled_or_may_not_read_the_project_and_an_admin_gets_it()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var other = await _harness.CreateProjectAsync("other");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var quiet = await _harness.AddMemberAsync(shop, "quiet@example.com", "Quinn");
        var gone = await _harness.AddMemberAsync(shop, "gone@example.com", "Gil");
        var outsider = await _harness.AddMemberAsync(other, "carl@example.com", "Carl");
        var admin = new UserAccount(Guid.NewGuid(), "root@example.com", "Root", "hash", UserRole.Admin, "stamp", NotificationHarness.Start.AddDays(-30));
        await _harness.Access.CreateUserAsync(admin);
        await _harness.Access.UpdateUserAsync(gone with { DisabledAt = NotificationHarness.Start.AddDays(-1) });
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { OptOuts = [new AlertOptOut(quiet.Id, AlertTrigger.Assignment)] });
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5)));
        await _harness.RoundAsync();

        foreach (var assignee in new[] { quiet, gone, outsider, admin })
        {
            await Workflow.AssignedAsync(shop.Id, "fp-checkout", assignee.Id, ana.Id, "Ana", Guid.NewGuid());
        }

        await Workflow.AssignedAsync(shop.Id, "fp-unknown", admin.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        smtp.Messages().SelectMany(SmtpServerFixture.EnvelopeRecipients).Should().Equal(["root@example.com"],
            "an admin reads every project; Quinn turned assignment mail off, Gil's account is disabled, Carl may not read the project, and an issue that does not exist mails nobody");
    }

    [Fact]
    public async Task A_bulk_assignment_is_one_mail_that_names_the_first_issues_and_counts_the_rest()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        var fingerprints = Enumerable.Range(0, 12).Select(i => $"fp-bulk-{i:D2}").ToList();
        foreach (var fingerprint in fingerprints)
        {
            await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5), fingerprint));
        }

        await _harness.RoundAsync();

        await Workflow.AssignedManyAsync(shop.Id, fingerprints, 240, ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await Workflow.AssignedManyAsync(shop.Id, fingerprints, 240, ana.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle("one mail for the whole bulk assignment, and none to Ana, who assigned herself").Subject;
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal("ben@example.com");
        mail.Subject.Should().Be("[shop] Ana assigned you 240 issues");
        foreach (var body in new[] { mail.TextBody, mail.HtmlBody })
        {
            body.Should().Contain("The first 10 of them")
                .And.Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues/fp-bulk-09")
                .And.NotContain("fp-bulk-10", "at most ten issues are named")
                .And.Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues");
        }
    }

    [Fact]
    public async Task Assignment_mail_is_no_rule()
    {
        var shop = await _harness.CreateProjectAsync("shop");

        var save = () => _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("mine", AlertTrigger.Assignment)] });

        await save.Should().ThrowAsync<ArgumentException>().WithMessage("*not a rule*");
    }
}
