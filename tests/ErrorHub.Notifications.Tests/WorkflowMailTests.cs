using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// Workflow mail to an issue's participants, against a real SMTP server and the real store: who gets it, why, and who
/// never does. The dashboard's assign, comment and triage actions call it (AlertsBrowserTests drive that in a browser).
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class WorkflowMailTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private WorkflowMail Workflow => _harness.Services.GetRequiredService<WorkflowMail>();

    private static string FirstLine(MimeKit.MimeMessage mail) => mail.TextBody!.Split('\n')[0];

    private IReadOnlyList<(string To, string What)> Received() =>
        [.. smtp.Messages().SelectMany(m => SmtpServerFixture.EnvelopeRecipients(m).Select(to => (to, FirstLine(m))))];

    [Fact]
    public async Task Participants_hear_of_assignments_comments_mentions_and_status_changes_and_an_unsubscribe_by_hand_wins()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var other = await _harness.CreateProjectAsync("other");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana Silva");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        var cy = await _harness.AddMemberAsync(shop, "cy@example.com", "Cy Young");
        await _harness.AddMemberAsync(other, "dan@example.com", "Dan");
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5)));
        await _harness.RoundAsync(); // the crash is from before: no new-issue mail

        await Workflow.AssignedAsync(shop.Id, "fp-checkout", ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Unresolved, _harness.Time.GetUtcNow()) { AssigneeId = ben.Id });
        await Workflow.CommentedAsync(shop.Id, "fp-checkout", ana.Id, "Ana", "Seen on production too, @CyYoung and @dan@example.com.\nJoe's cart had 3 bundles.", Guid.NewGuid());
        await Workflow.StatusChangedAsync(shop.Id, ["fp-checkout"], IssueStatus.Resolved, "Resolved in shop@2.4.2", ben.Id, "Ben", Guid.NewGuid());
        await _harness.RoundAsync();

        Received().Should().BeEquivalentTo(
            [
                ("ben@example.com", "Ana assigned you an issue"),
                ("ben@example.com", "Ana commented on an issue"),
                ("cy@example.com", "Ana mentioned you in a comment"),
                ("ana@example.com", "Ben resolved an issue"),
                ("cy@example.com", "Ben resolved an issue"),
            ],
            "never the one who did it, and Dan, who may not read the project, was mentioned in vain");
        var mails = smtp.Messages();
        mails.Select(m => m.Subject).Distinct().Should().Equal(["[shop] NullReferenceException in CheckoutService.Complete"], "one thread for the issue");
        var mention = mails.Single(m => FirstLine(m) == "Ana mentioned you in a comment");
        mention.TextBody!.ReplaceLineEndings("\n").Should().Contain("Joe's cart had 3 bundles.")
            .And.Contain("You get this because you were mentioned in a comment on this issue. Unsubscribe from this issue:\n" + NotificationHarness.PublicUrl + "unsubscribe/issue?token=");
        mails.Single(m => FirstLine(m) == "Ben resolved an issue" && SmtpServerFixture.EnvelopeRecipients(m).Contains("ana@example.com")).TextBody
            .Should().Contain("Resolved in shop@2.4.2").And.Contain("You get this because you commented on this issue.");
        (await Workflow.GetSubscriptionAsync(shop.Id, "fp-checkout", ben.Id))!.Reason.Should().Be(SubscriptionReason.Assigned);
        (await _harness.Outbox.GetSubscriptionsAsync(shop.Id, ["fp-checkout"])).Select(s => s.UserId).Should().BeEquivalentTo([ana.Id, ben.Id, cy.Id], "Dan is not subscribed either");

        // Cy unsubscribes by hand, then comments: the choice wins, and Cy hears nothing more of the issue.
        smtp.Clear();
        await Workflow.SetSubscribedAsync(shop.Id, "fp-checkout", cy.Id, false);
        await Workflow.CommentedAsync(shop.Id, "fp-checkout", cy.Id, "Cy", "Leaving this to you.", Guid.NewGuid());
        await Workflow.StatusChangedAsync(shop.Id, ["fp-checkout"], IssueStatus.Unresolved, "Reopened", ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        Received().Should().BeEquivalentTo(
            [
                ("ana@example.com", "Cy commented on an issue"),
                ("ben@example.com", "Cy commented on an issue"),
                ("ben@example.com", "Ana reopened an issue"),
            ]);
        WorkflowMail.Describe(await Workflow.GetSubscriptionAsync(shop.Id, "fp-checkout", cy.Id)).Should().Be("You're not subscribed to this issue: you unsubscribed.");
        WorkflowMail.Describe(await Workflow.GetSubscriptionAsync(shop.Id, "fp-checkout", ana.Id)).Should().Be("You're subscribed because you commented on this issue.");
    }

    [Fact]
    public async Task A_bulk_status_change_mails_each_participant_once_a_summary_when_several_issues_concern_them()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        var cy = await _harness.AddMemberAsync(shop, "cy@example.com", "Cy");
        var fingerprints = Enumerable.Range(0, 240).Select(i => $"fp-bulk-{i:D3}").ToList();
        foreach (var fingerprint in fingerprints)
        {
            await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5), fingerprint));
        }

        await _harness.RoundAsync();
        foreach (var fingerprint in fingerprints.Take(30))
        {
            await Workflow.SetSubscribedAsync(shop.Id, fingerprint, ana.Id, true);
        }

        await Workflow.SetSubscribedAsync(shop.Id, fingerprints[100], ben.Id, true);

        await Workflow.StatusChangedAsync(shop.Id, fingerprints, IssueStatus.Resolved, "Resolved", cy.Id, "Cy", Guid.NewGuid());
        await _harness.RoundAsync();

        Received().Should().BeEquivalentTo([("ana@example.com", "Cy resolved 30 issues you follow"), ("ben@example.com", "Cy resolved an issue")],
            "one mail per person for the whole bulk change, not 240, and none to Cy");
        var summary = smtp.Messages().Single(m => SmtpServerFixture.EnvelopeRecipients(m).Contains("ana@example.com"));
        summary.Subject.Should().Be("[shop] Cy resolved 30 issues you follow");
        summary.TextBody.Should().Contain("The first 10 of them").And.Contain($"projects/{shop.Id}/issues/fp-bulk-009").And.NotContain("fp-bulk-010");
        (await _harness.Outbox.GetSubscriptionsAsync(shop.Id, fingerprints)).Count(s => s.UserId == cy.Id && s.Reason == SubscriptionReason.StatusChanged)
            .Should().Be(240, "who changed the issues takes part in each of them");
    }

    [Fact]
    public async Task Participants_hear_of_a_regression_once_even_with_the_regression_rule_off()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { Rules = [] });
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5)));
        await _harness.RoundAsync();
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, _harness.Time.GetUtcNow().AddMinutes(-1)));
        await Workflow.SetSubscribedAsync(shop.Id, "fp-checkout", ana.Id, true);

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(-10), release: "shop@2.4.2"));
        await _harness.RoundAsync();
        await _harness.RoundAsync();

        Received().Should().Equal([("ana@example.com", "A resolved issue happened again")], "once per regression, to the participant only (the project has no rules)");
        smtp.Messages()[0].TextBody.Should().Contain("happened again in release shop@2.4.2").And.Contain("You get this because you subscribed to this issue.");
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
    public async Task A_bulk_assignment_is_one_mail_per_person_that_names_the_first_issues_and_counts_the_rest()
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

        await Workflow.AssignedManyAsync(shop.Id, fingerprints, ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle("one mail for the whole bulk assignment").Subject;
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal("ben@example.com");
        mail.Subject.Should().Be("[shop] Ana assigned you 12 issues");
        foreach (var body in new[] { mail.TextBody, mail.HtmlBody })
        {
            body.Should().Contain("The first 10 of them")
                .And.Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues/fp-bulk-09")
                .And.NotContain("fp-bulk-10", "at most ten issues are named")
                .And.Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues");
        }

        // Ana takes them herself: she is not mailed about her own change; Ben, who took part as their assignee, hears it once.
        smtp.Clear();
        await Workflow.AssignedManyAsync(shop.Id, fingerprints, ana.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();
        Received().Should().Equal([("ben@example.com", "Ana assigned 12 issues you follow to Ana")]);
    }

    [Fact]
    public async Task A_merge_mails_the_participants_of_every_merged_issue_and_the_target_once_in_the_target_s_thread_and_they_follow_the_target_after()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        var cy = await _harness.AddMemberAsync(shop, "cy@example.com", "Cy");
        var dan = await _harness.AddMemberAsync(shop, "dan@example.com", "Dan");
        var eve = await _harness.AddMemberAsync(shop, "eve@example.com", "Eve");
        var gil = await _harness.AddMemberAsync(shop, "gil@example.com", "Gil");
        var quiet = await _harness.AddMemberAsync(shop, "quiet@example.com", "Quinn");
        var other = await _harness.CreateProjectAsync("other");
        var carl = await _harness.AddMemberAsync(other, "carl@example.com", "Carl");
        var sources = Enumerable.Range(0, 12).Select(i => $"fp-merged-{i:D2}").ToList();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5), "fp-target"));
        foreach (var (source, i) in sources.Select((source, i) => (source, i)))
        {
            await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddMinutes(-5), source) with { Title = $"TimeoutException: job {i:D2} timed out" });
        }

        await _harness.RoundAsync();
        await Workflow.CommentedAsync(shop.Id, sources[0], ben.Id, "Ben", "Seen it.", Guid.NewGuid());    // a merged issue's participant
        await Workflow.SetSubscribedAsync(shop.Id, "fp-target", cy.Id, true);                            // the target's
        await Workflow.SetSubscribedAsync(shop.Id, sources[1], dan.Id, true);
        await Workflow.SetSubscribedAsync(shop.Id, "fp-target", dan.Id, false);                          // unsubscribed from the target: that wins
        await Workflow.CommentedAsync(shop.Id, sources[2], eve.Id, "Eve", "Hm.", Guid.NewGuid());
        await Workflow.SetSubscribedAsync(shop.Id, sources[2], eve.Id, false);                           // left the merged issue
        await Workflow.SetSubscribedAsync(shop.Id, sources[3], gil.Id, true);
        await _harness.Access.UpdateUserAsync(gil with { DisabledAt = _harness.Time.GetUtcNow() });      // a disabled account
        await Workflow.SetSubscribedAsync(shop.Id, sources[4], quiet.Id, true);
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { OptOuts = [new AlertOptOut(quiet.Id, AlertTrigger.Assignment)] });
        await Workflow.SetSubscribedAsync(shop.Id, sources[5], carl.Id, true);                           // may not read the project
        await Workflow.SetSubscribedAsync(shop.Id, sources[6], ana.Id, true);                            // who merges
        await _harness.RoundAsync();
        smtp.Clear();

        var reader = _harness.Services.GetRequiredService<IIssueReader>();
        var merged = new List<IssueSummary>();
        foreach (var source in sources)
        {
            merged.Add((await reader.GetIssueAsync(shop.Id, source))!);
        }

        await _harness.Merges.MergeAsync(shop.Id, "fp-target", sources, _harness.Time.GetUtcNow());
        await Workflow.MergedAsync(shop.Id, "fp-target", merged, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        Received().Should().BeEquivalentTo(
            [("ben@example.com", "Ana merged 12 issues into NullReferenceException: Object reference not set to an instance of an object."), ("cy@example.com", "Ana merged 12 issues into NullReferenceException: Object reference not set to an instance of an object.")],
            "not Ana who merged, Dan who left the target, Eve who left her merged issue, Gil who is disabled, Quinn whose switch is off, nor Carl");
        var mail = smtp.Messages().Single(m => SmtpServerFixture.EnvelopeRecipients(m).Contains("ben@example.com"));
        mail.Subject.Should().Be("[shop] NullReferenceException in CheckoutService.Complete", "the target's thread");
        mail.TextBody!.ReplaceLineEndings("\n").Should().Contain("The first 10 of the 12 merged issues").And.Contain("TimeoutException: job 09 timed out").And.NotContain("job 10")
            .And.Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues/fp-target")
            .And.Contain("You get this because you take part in an issue merged into this one. Unsubscribe from this issue:\n" + NotificationHarness.PublicUrl + "unsubscribe/issue?token=");
        smtp.Messages().Single(m => SmtpServerFixture.EnvelopeRecipients(m).Contains("cy@example.com")).TextBody.Should().Contain("You get this because you subscribed to this issue.");

        var target = (await _harness.Outbox.GetSubscriptionsAsync(shop.Id, ["fp-target"])).ToDictionary(s => s.UserId);
        target[ben.Id].Should().BeEquivalentTo(new { IsSubscribed = true, Reason = SubscriptionReason.Commented }, "a merged issue's participant takes part in the target, for the same reason");
        target[ana.Id].Reason.Should().Be(SubscriptionReason.Manual, "Ana's own subscription to a merged issue carries over");
        target[dan.Id].IsSubscribed.Should().BeFalse("a choice by hand on the target wins");
        target.Should().NotContainKey(eve.Id);

        // Later mail about the target reaches the merged issues' participants; Gil again once his account is enabled.
        smtp.Clear();
        await _harness.Access.UpdateUserAsync(gil with { DisabledAt = null });
        await Workflow.CommentedAsync(shop.Id, "fp-target", cy.Id, "Cy", "Fixed in 2.5.", Guid.NewGuid());
        await _harness.RoundAsync();
        Received().Should().BeEquivalentTo(
            [("ana@example.com", "Cy commented on an issue"), ("ben@example.com", "Cy commented on an issue"), ("gil@example.com", "Cy commented on an issue")]);
    }

    [Fact]
    public void Mentions_name_accounts_by_e_mail_or_by_name_without_spaces_and_hostile_text_mentions_nobody()
    {
        UserAccount Account(string email, string name) => new(Guid.NewGuid(), email, name, "hash", UserRole.Member, "stamp", NotificationHarness.Start);
        var ana = Account("ana@example.com", "Ana Silva");
        var bo = Account("bo.z+dev@example.co.uk", "Bo");

        WorkflowMail.FindMentions("Hi @anasilva, ask @BO.Z+DEV@EXAMPLE.CO.UK. Mail ana@example.com, @nobody or @@ana; @AnaSilva again.", [ana, bo])
            .Should().Equal([ana, bo], "each once, in the order mentioned; an address without @ before it and unknown names are no mentions");
        foreach (var hostile in new[] { new string('@', 100_000), "@" + new string('a', 100_000), string.Concat(Enumerable.Repeat("@x.y", 30_000)), "@\u0000ana@example.com", "@ana@example.com\r\nBcc: x@example.com" }
            .Concat(ErrorHub.Testing.Events.TestEvents.HostileStrings))
        {
            WorkflowMail.FindMentions(hostile, [ana]).Where(user => user != ana).Should().BeEmpty("hostile text is read without error, and mentions no one else");
        }

        var many = Enumerable.Range(0, 30).Select(i => Account($"user{i}@example.com", $"User {i}")).ToList();
        WorkflowMail.FindMentions(string.Join(' ', many.Select(user => "@" + user.Email)), many).Should().HaveCount(20, "at most 20 people are mentioned by one comment");
    }

    [Fact]
    public async Task Assignment_mail_is_no_rule()
    {
        var shop = await _harness.CreateProjectAsync("shop");

        var save = () => _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("mine", AlertTrigger.Assignment)] });

        await save.Should().ThrowAsync<ArgumentException>().WithMessage("*not a rule*");
    }
}
