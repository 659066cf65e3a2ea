using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// What mail systems and people expect of the mails, read back from the real SMTP server: one thread per issue, a
/// List-Id to filter on, one-click unsubscribe in a member's copy only, and the headers that keep auto-responders quiet.
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class MailThreadAndListHeaderTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private WorkflowMail Workflow => _harness.Services.GetRequiredService<WorkflowMail>();

    private static string Header(MimeMessage mail, string field) => (mail.Headers[field] ?? "").Trim();

    private static string Token(MimeMessage mail) =>
        Uri.UnescapeDataString(new Uri(Header(mail, "List-Unsubscribe").Trim('<', '>')).Query["?token=".Length..]);

    [Fact]
    public async Task A_member_s_copy_carries_one_click_unsubscribe_for_that_trigger_and_an_extra_address_s_copy_none()
    {
        var shop = await _harness.CreateProjectAsync("Web shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = ["oncall@example.com"] });
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        var recordedAt = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, recordedAt));
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        mails.Should().HaveCount(3, "each member's copy is their own (its unsubscribe link is theirs); the extra address has the shared one");
        var byRecipient = mails.ToDictionary(m => SmtpServerFixture.EnvelopeRecipients(m).Single());
        byRecipient.Keys.Should().BeEquivalentTo("ana@example.com", "ben@example.com", "oncall@example.com");
        foreach (var mail in mails)
        {
            Header(mail, "Auto-Submitted").Should().Be("auto-generated");
            Header(mail, "Precedence").Should().Be("bulk");
            Header(mail, "X-Auto-Response-Suppress").Should().Be("All");
            Header(mail, "List-Id").Trim().Should().Be($"\"Web shop\" <web-shop.{shop.Id}.errors.example.com>");
            mail.Date.Should().Be(recordedAt);
            mail.MessageId.Should().Be(byRecipient["ana@example.com"].MessageId, "the copies are one mail");
        }

        var links = _harness.Services.GetRequiredService<UnsubscribeLinks>();
        foreach (var (address, member) in new[] { ("ana@example.com", ana), ("ben@example.com", ben) })
        {
            var mail = byRecipient[address];
            mail.To.Mailboxes.Should().ContainSingle().Which.Address.Should().Be(address);
            Header(mail, "List-Unsubscribe").Should().StartWith($"<{NotificationHarness.PublicUrl}unsubscribe?token=");
            Header(mail, "List-Unsubscribe-Post").Should().Be("List-Unsubscribe=One-Click");
            links.Read(Token(mail)).Should().Be(new UnsubscribeRequest(UnsubscribeStatus.Valid, member.Id, shop.Id, AlertTrigger.NewIssue), "the link turns off this member's new-issue mail of this project, nothing else");
            mail.TextBody.Should().Contain("You get \"New issue\" mails of Web shop on ErrorHub as a member of the project").And.Contain(Header(mail, "List-Unsubscribe").Trim('<', '>'));
            mail.HtmlBody.Should().Contain("as a member of the project").And.Contain(">Turn them off for this project with one click</a>");
        }

        var shared = byRecipient["oncall@example.com"];
        shared.Headers.Contains("List-Unsubscribe").Should().BeFalse("an extra address has no switch of its own to turn off");
        shared.Headers.Contains("List-Unsubscribe-Post").Should().BeFalse();
        shared.TextBody.Should().Contain("on the alert list of Web shop on ErrorHub; an admin of the project can take it off")
            .And.NotContain("unsubscribe?token=").And.NotContain("ana@example.com");
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.State.Should().Be(NotificationState.Sent);
    }

    [Fact]
    public async Task The_subject_names_the_exception_the_issue_s_title_names_not_the_innermost_one()
    {
        // The sample shop's shipping crash: a TimeoutException around the TaskCanceledException of the cancelled call.
        // Grouping takes the TimeoutException for the root cause (the issue's title); until December 2026 the subject
        // named the innermost exception, so the mail's subject and its body named two different exceptions.
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        var crash = Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), fingerprint: "fp-shipping") with
        {
            Title = "TimeoutException: Shipping provider did not answer for order 1042 within 200 ms.",
            Culprit = "Shop.Shipping.ShippingClient.GetStatusAsync",
            Exceptions =
            [
                new ExceptionRecord("System.TimeoutException", "Shipping provider did not answer for order 1042 within 200 ms.", "Shop",
                    [new FrameRecord("GetStatusAsync", "Shop.Shipping.ShippingClient", "Shop", "ShippingClient.cs", 65, 13, InApp: true)]),
                new ExceptionRecord("System.Threading.Tasks.TaskCanceledException", "A task was canceled.", "System.Private.CoreLib",
                    [new FrameRecord("Delay", "System.Threading.Tasks.Task", "System.Private.CoreLib", null, null, null, InApp: false)]),
            ],
        };
        await _harness.InsertAsync(crash);
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        mail.Subject.Should().Be("[shop] TimeoutException in ShippingClient.GetStatusAsync");
        mail.TextBody.Should().StartWith("New issue in production: TimeoutException in ShippingClient.GetStatusAsync")
            .And.Contain("TimeoutException: Shipping provider did not answer").And.NotContain("TaskCanceledException");
    }

    [Fact]
    public async Task New_issue_regression_and_assignment_of_one_issue_are_one_thread_and_the_digest_is_in_none()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.RoundAsync();
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1)), Crashes.Checkout(shop.Id, start.AddMinutes(1), fingerprint: "fp-other") with { Culprit = "Shop.Cart.CartService.Add" });
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();

        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, start.AddMinutes(3)));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(5), release: "shop@2.5.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(5));
        await _harness.RoundAsync();
        await Workflow.AssignedAsync(shop.Id, "fp-checkout", ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        var toBen = smtp.Messages().Where(m => SmtpServerFixture.EnvelopeRecipients(m).Contains("ben@example.com")).ToList();
        var kinds = toBen.Select(m => Header(m, "X-ErrorHub-Trigger")).ToList();
        kinds.Should().BeEquivalentTo(["new-issue", "new-issue", "regression", "assignment"]);
        var checkout = toBen.Where(m => !m.TextBody!.Contains("fp-other", StringComparison.Ordinal)).ToList();
        checkout.Select(m => Header(m, "X-ErrorHub-Trigger")).Should().Equal(["new-issue", "regression", "assignment"], "in the order they were sent");
        var first = checkout[0];
        first.InReplyTo.Should().BeNull("the first mail starts the thread");
        first.Subject.Should().Be("[shop] NullReferenceException in CheckoutService.Complete");
        foreach (var later in checkout.Skip(1))
        {
            later.InReplyTo.Should().Be(first.MessageId);
            later.References.Should().Equal(first.MessageId);
            later.Subject.Should().Be(first.Subject, "Gmail threads only mails of the same subject");
            later.MessageId.Should().NotBe(first.MessageId);
        }

        checkout[1].TextBody.Should().StartWith("Regression in production: NullReferenceException in CheckoutService.Complete", "the kind heads the body now that the subject is the issue's");
        var other = toBen.Single(m => m.TextBody!.Contains("fp-other", StringComparison.Ordinal));
        other.InReplyTo.Should().BeNull("another issue, another thread");
        other.Subject.Should().Be("[shop] NullReferenceException in CartService.Add");

        smtp.Clear();
        _harness.Time.Advance(TimeSpan.FromDays(1));
        await _harness.RoundAsync();
        var digest = smtp.Messages().Should().HaveCount(2).And.OnlyContain(m => Header(m, "X-ErrorHub-Trigger") == "daily-digest").And.Subject.First();
        digest.InReplyTo.Should().BeNull("the digest is about no one issue");
        digest.References.Should().BeEmpty();
    }

    [Fact]
    public async Task After_a_merge_the_merged_issue_s_crashes_answer_the_thread_of_the_issue_it_was_merged_into()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(3), fingerprint: "fp-payment") with { Culprit = "Shop.Payments.PaymentGateway.Charge" });
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        var before = smtp.Messages();
        before.Should().HaveCount(2);
        var checkoutThread = before.Single(m => m.TextBody!.Contains("fp-checkout", StringComparison.Ordinal));
        var paymentThread = before.Single(m => m.TextBody!.Contains("fp-payment", StringComparison.Ordinal));
        paymentThread.InReplyTo.Should().BeNull("before the merge it is an issue of its own, with a thread of its own");
        paymentThread.Subject.Should().Be("[shop] NullReferenceException in PaymentGateway.Charge");

        // Merged into the checkout issue, which is then resolved: a payment crash brings the checkout issue back.
        smtp.Clear();
        await _harness.Merges.MergeAsync(shop.Id, "fp-checkout", ["fp-payment"], _harness.Time.GetUtcNow());
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, _harness.Time.GetUtcNow()));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), fingerprint: "fp-payment") with { Culprit = "Shop.Payments.PaymentGateway.Charge" });
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        var regression = smtp.Messages().Should().ContainSingle().Subject;
        Header(regression, "X-ErrorHub-Trigger").Should().Be("regression");
        regression.InReplyTo.Should().Be(checkoutThread.MessageId, "the merged issue's crash is the target's now, and so is the mail's thread");
        regression.Subject.Should().Be(checkoutThread.Subject);
        regression.InReplyTo.Should().NotBe(paymentThread.MessageId);
    }
}
