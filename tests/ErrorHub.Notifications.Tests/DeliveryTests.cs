using System.Net;
using System.Net.Sockets;
using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>Outbox delivery: recorded before sent, marked after; retries for transient failures only; restarts neither lose nor repeat a mail.</summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class DeliveryTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp, new() { ["ErrorHub:Notifications:MaxAttempts"] = "4" });

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        await smtp.StartAsync();
    }

    private async Task<Project> ShopWithANewIssueAsync(params string[] extraAddresses)
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = extraAddresses });
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        return shop;
    }

    [Fact]
    public async Task With_the_smtp_server_down_the_mail_waits_shows_the_error_and_arrives_once_when_it_is_back()
    {
        var shop = await ShopWithANewIssueAsync("team@example.com");
        await smtp.StopAsync();

        await _harness.RoundAsync();
        var waiting = (await _harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        waiting.State.Should().Be(NotificationState.Pending);
        waiting.Attempts.Should().Be(1);
        waiting.LastError.Should().NotBeNullOrEmpty("the history says why it has not gone out");
        waiting.NextAttemptAt.Should().Be(_harness.Time.GetUtcNow().AddSeconds(30));

        _harness.Time.Advance(TimeSpan.FromSeconds(10));
        await _harness.RoundAsync();
        (await _harness.HistoryAsync(shop)).Single().Attempts.Should().Be(1, "the next try waits for its back-off");

        await smtp.StartAsync();
        _harness.Time.Advance(TimeSpan.FromSeconds(20));
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(5));
        await _harness.RoundAsync();

        smtp.Messages().Should().ContainSingle().Which.TextBody.Should().StartWith("New issue");
        var sent = (await _harness.HistoryAsync(shop)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(2);
        sent.SentAt.Should().Be(_harness.Time.GetUtcNow().AddMinutes(-5));
    }

    [Fact]
    public async Task A_5xx_refusal_fails_at_once_and_a_4xx_one_is_retried_with_growing_pauses_until_the_attempts_run_out()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["permanent-nobody@example.com"] });
        var other = await _harness.CreateProjectAsync("other");
        await _harness.Settings.SaveAsync(other.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["transient-busy@example.com"] });
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)), Crashes.Checkout(other.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));

        var attemptTimes = new List<DateTimeOffset>();
        for (var second = 0; second < 600; second += 5)
        {
            var before = (await _harness.HistoryAsync(other)).SingleOrDefault()?.Attempts ?? 0;
            await _harness.RoundAsync();
            if ((await _harness.HistoryAsync(other)).Single().Attempts > before)
            {
                attemptTimes.Add(_harness.Time.GetUtcNow());
            }

            _harness.Time.Advance(TimeSpan.FromSeconds(5));
        }

        var permanent = (await _harness.HistoryAsync(shop)).Single();
        permanent.State.Should().Be(NotificationState.Failed);
        permanent.Attempts.Should().Be(1, "a 5xx answer would be the same next time");
        permanent.LastError.Should().StartWith("550");
        _harness.Log.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains($"new-issue:new:fp-checkout of project {shop.Id} was given up: 550", StringComparison.Ordinal),
            "an operator who keeps only warnings must see that a mail was not delivered");

        var transient = (await _harness.HistoryAsync(other)).Single();
        transient.State.Should().Be(NotificationState.Failed);
        transient.Attempts.Should().Be(4);
        transient.LastError.Should().Contain("451");
        attemptTimes.Zip(attemptTimes.Skip(1), (a, b) => b - a).Should().Equal(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120));
        smtp.Messages().Should().BeEmpty();
    }

    [Fact]
    public async Task One_refused_address_does_not_keep_the_mail_from_the_others()
    {
        var shop = await ShopWithANewIssueAsync("permanent-typo@example.com", "team@example.com");
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal("team@example.com");
        var sent = (await _harness.HistoryAsync(shop)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.LastError.Should().Contain("permanent-typo@example.com").And.Contain("550");
    }

    [Fact]
    public async Task No_recipient_sees_the_others_and_one_failing_address_gets_nobody_a_second_copy()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@members.example", "Ana");
        await _harness.AddMemberAsync(shop, "bo@members.example", "Bo");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["outside@partner.example", "transient-flaky@example.com"] });
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        for (var i = 0; i < 3; i++)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(5));
            await _harness.RoundAsync();
        }

        var mails = smtp.Messages();
        mails.Select(SmtpServerFixture.EnvelopeRecipients).Should().BeEquivalentTo<IReadOnlyList<string>>(
            [["ana@members.example"], ["bo@members.example"], ["outside@partner.example"]],
            "a copy per member (its unsubscribe link is theirs) and one for the extra addresses; the refused address is tried again on its own, never at the cost of a second copy for the rest");
        var everyone = new[] { "ana@members.example", "bo@members.example", "outside@partner.example", "transient-flaky@example.com" };
        foreach (var mail in mails)
        {
            var own = SmtpServerFixture.EnvelopeRecipients(mail).Single();
            var shown = string.Join("\n", mail.Headers.Where(h => h.Field != "X-RcptTo").Select(h => h.ToString()));
            foreach (var address in everyone.Where(a => a != own))
            {
                shown.Should().NotContain(address, "an outside address must not learn the members' addresses, nor they its, nor each other's");
            }

            mail.To.Count.Should().Be(1);
            mail.Cc.Count.Should().Be(0);
        }

        var to = mails.Single(m => SmtpServerFixture.EnvelopeRecipients(m).Contains("outside@partner.example")).To[0].Should().BeOfType<MimeKit.GroupAddress>().Subject;
        to.Name.Should().Be("undisclosed-recipients", "the extra addresses' copy, sent to several, names none of them");
        to.Members.Count.Should().Be(0);
        var sent = (await _harness.HistoryAsync(shop)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.LastError.Should().Contain("transient-flaky@example.com").And.Contain("451");
    }

    [Fact]
    public async Task A_recipient_refused_for_now_while_the_others_took_the_mail_gets_it_on_a_later_attempt_and_nobody_gets_it_twice()
    {
        // The server refuses each full-once address once in its life: a fresh one per run.
        var full = $"full-once-{Guid.NewGuid():N}@partner.example";
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@members.example", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = [full, "ops@partner.example"] });
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        smtp.Messages().Select(m => string.Join(",", SmtpServerFixture.EnvelopeRecipients(m).Order())).Should().BeEquivalentTo(
            ["ana@members.example", "ops@partner.example"], "the member's own copy, and the extra addresses' one, which the full mailbox missed");
        var waiting = (await _harness.HistoryAsync(shop)).Single();
        waiting.State.Should().Be(NotificationState.Pending, "the mailbox that was full is still owed the mail");
        waiting.LastError.Should().Contain(full).And.Contain("452");
        waiting.Recipients.Should().HaveCount(3, "the history still names everyone it is for");

        for (var i = 0; i < 3; i++)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(5));
            await _harness.RoundAsync();
        }

        var mails = smtp.Messages();
        mails.Select(m => string.Join(",", SmtpServerFixture.EnvelopeRecipients(m).Order())).Should().BeEquivalentTo(
            ["ana@members.example", "ops@partner.example", full],
            "one retry, for the refused address alone");
        mails.Select(m => m.MessageId).Distinct().Should().ContainSingle("the retry is recognisably the same mail");
        var sent = (await _harness.HistoryAsync(shop)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(2);
    }

    [Fact]
    public async Task A_mail_to_one_recipient_is_addressed_to_them()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var testMail = (NotificationTestMail)_harness.Services.GetService(typeof(NotificationTestMail))!;
        (await testMail.SendAsync(shop.Id, "solo@example.com")).Should().BeNull();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        mail.To.Mailboxes.Select(m => m.Address).Should().Equal("solo@example.com");
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal("solo@example.com");
    }

    [Fact]
    public async Task A_test_mail_to_a_server_that_cannot_be_reached_names_the_host_and_port_it_tried()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var testMail = (NotificationTestMail)_harness.Services.GetService(typeof(NotificationTestMail))!;
        await smtp.StopAsync();

        var refused = await testMail.SendAsync(shop.Id, "solo@example.com");

        refused.Should().StartWith($"Could not connect to the SMTP server 127.0.0.1:{smtp.Port} (ErrorHub:Notifications:Smtp:Host and Port): ",
            "the Alerts page should say which server it could not reach and which settings name it, not only \"Connection refused\"");
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.LastError.Should().Be(refused);
    }

    [Fact]
    public async Task A_server_killed_mid_send_and_restarted_sends_the_mail_once()
    {
        var shop = await ShopWithANewIssueAsync("team@example.com");

        // This process reaches an SMTP server that accepts the connection and then says nothing; it dies there.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;
        var dying = await _harness.RestartAsync(new() { ["ErrorHub:Notifications:Smtp:Port"] = silentPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var crash = new CancellationTokenSource();
        var round = dying.Cycle.RunAsync(crash.Token);
        using var connection = await silent.AcceptTcpClientAsync();
        await crash.CancelAsync();
        await FluentActions.Awaiting(() => round).Should().ThrowAsync<OperationCanceledException>();
        await dying.DisposeAsync();
        (await _harness.HistoryAsync(shop)).Should().ContainSingle("recorded before it was sent").Which.State.Should().Be(NotificationState.Pending);

        var restarted = await _harness.RestartAsync();
        await restarted.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await restarted.RoundAsync();
        await _harness.RoundAsync(); // the first process, still around, finds nothing left to do

        smtp.Messages().Should().ContainSingle();
        (await _harness.HistoryAsync(shop)).Single().State.Should().Be(NotificationState.Sent);
        await restarted.DisposeAsync();
    }

    [Fact]
    public async Task A_mail_whose_connection_drops_mid_data_is_retried_alone_and_the_mails_queued_behind_it_go_out_at_once()
    {
        var first = await _harness.CreateProjectAsync("first");
        await _harness.Settings.SaveAsync(first.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["drop-pager@example.com"] });
        var second = await _harness.CreateProjectAsync("second");
        await _harness.Settings.SaveAsync(second.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await _harness.RoundAsync();

        // Both recorded before either is sent, the one the server hangs up on first: they share one connection.
        await _harness.InsertAsync(Crashes.Checkout(first.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.Cycle.EvaluateAsync(first, CancellationToken.None);
        await _harness.InsertAsync(Crashes.Checkout(second.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.Cycle.EvaluateAsync(second, CancellationToken.None);

        await _harness.Cycle.DeliverAsync(CancellationToken.None);

        var delivered = smtp.Messages().Should().ContainSingle("the mail behind the dropped one goes out on a new connection").Subject;
        SmtpServerFixture.EnvelopeRecipients(delivered).Should().Equal("team@example.com");
        var sent = (await _harness.HistoryAsync(second)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(1, "the broken connection was no attempt of this mail's");
        var dropped = (await _harness.HistoryAsync(first)).Single();
        dropped.State.Should().Be(NotificationState.Pending, "a connection cut before the server answered may pass next time");
        dropped.Attempts.Should().Be(1);
        dropped.LastError.Should().NotBeNullOrEmpty();

        for (var round = 0; round < 6; round++)
        {
            _harness.Time.Advance(TimeSpan.FromHours(1));
            await _harness.RoundAsync();
        }

        var givenUp = (await _harness.HistoryAsync(first)).Single();
        givenUp.State.Should().Be(NotificationState.Failed);
        givenUp.Attempts.Should().Be(4);
        smtp.Messages().Should().ContainSingle("the other mail was sent once, and the dropped one was never accepted");
    }

    [Fact]
    public async Task A_server_that_hangs_after_a_mails_data_is_given_up_at_the_timeout_the_mail_goes_out_once_later_and_the_ones_behind_it_at_once()
    {
        await using var harness = await _harness.RestartAsync(new() { ["ErrorHub:Notifications:Smtp:Timeout"] = "00:00:02" });
        var first = await harness.CreateProjectAsync("first");
        await harness.Settings.SaveAsync(first.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["hang-once-pager@example.com"] });
        var second = await harness.CreateProjectAsync("second");
        await harness.Settings.SaveAsync(second.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await harness.RoundAsync();

        // Both recorded before either is sent, the one the server hangs on first: they share one connection.
        await harness.InsertAsync(Crashes.Checkout(first.Id, harness.Time.GetUtcNow().AddSeconds(1)));
        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await harness.Cycle.EvaluateAsync(first, CancellationToken.None);
        await harness.InsertAsync(Crashes.Checkout(second.Id, harness.Time.GetUtcNow().AddSeconds(1)));
        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await harness.Cycle.EvaluateAsync(second, CancellationToken.None);

        await harness.Cycle.DeliverAsync(CancellationToken.None);

        SmtpServerFixture.EnvelopeRecipients(smtp.Messages().Should().ContainSingle("the mail behind the hung one goes out on a new connection").Subject)
            .Should().Equal("team@example.com");
        (await harness.HistoryAsync(second)).Single().State.Should().Be(NotificationState.Sent);
        var hung = (await harness.HistoryAsync(first)).Single();
        hung.State.Should().Be(NotificationState.Pending, "a server that took the data and never answered may take it next time");
        hung.Attempts.Should().Be(1);
        hung.LastError.Should().Contain("took longer than 2 s", "the history says why");

        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await harness.RoundAsync();
        harness.Time.Advance(TimeSpan.FromMinutes(5));
        await harness.RoundAsync();

        smtp.Messages().Select(m => SmtpServerFixture.EnvelopeRecipients(m).Single()).Should()
            .BeEquivalentTo(["team@example.com", "hang-once-pager@example.com"], "each mail arrives once: the hung one at its next attempt, the other not again");
        var sent = (await harness.HistoryAsync(first)).Single();
        sent.State.Should().Be(NotificationState.Sent);
        sent.Attempts.Should().Be(2);
    }

    [Fact]
    public async Task A_server_that_answers_a_line_at_a_time_for_ever_is_given_up_at_the_timeout_and_the_mail_goes_out_later()
    {
        var shop = await ShopWithANewIssueAsync("team@example.com");

        // Each line comes well within the timeout, but the greeting never ends (a multi-line 220 without its last line).
        using var dripping = new TcpListener(IPAddress.Loopback, 0);
        dripping.Start();
        var drippingPort = ((IPEndPoint)dripping.LocalEndpoint).Port;
        using var stopDripping = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var drip = Task.Run(async () =>
        {
            try
            {
                using var connection = await dripping.AcceptTcpClientAsync(stopDripping.Token);
                var stream = connection.GetStream();
                while (true)
                {
                    await stream.WriteAsync("220-still greeting\r\n"u8.ToArray(), stopDripping.Token);
                    await Task.Delay(200, stopDripping.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
                // The test is over, or the client hung up.
            }
        });
        var stuck = await _harness.RestartAsync(new()
        {
            ["ErrorHub:Notifications:Smtp:Port"] = drippingPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Notifications:Smtp:Timeout"] = "00:00:02",
        });

        await stuck.RoundAsync();
        await stopDripping.CancelAsync();
        await drip;
        await stuck.DisposeAsync();

        var waiting = (await _harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        waiting.State.Should().Be(NotificationState.Pending, "a server too slow to talk to is a transient failure");
        waiting.Attempts.Should().Be(1);
        waiting.LastError.Should().Contain("took longer than 2 s", "the history says why, instead of the worker waiting for as long as the server drips");

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        smtp.Messages().Should().ContainSingle("the real server gets it at the next attempt");
        (await _harness.HistoryAsync(shop)).Single().State.Should().Be(NotificationState.Sent);
    }

    [Fact]
    public async Task Hostile_event_content_is_escaped_and_bounded_and_cannot_add_headers()
    {
        var shop = await _harness.CreateProjectAsync("shop <b>");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("new", AlertTrigger.NewIssue)], ExtraAddresses = ["team@example.com"] });
        await _harness.RoundAsync();
        var hostile = Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)) with
        {
            Culprit = "Shop.Evil\r\nBcc: victim@example.com\r\nX-Injected: yes",
            Environment = "prod\r\nBcc: victim2@example.com",
            Title = "<script>alert(1)</script>",
            User = new Storage.Events.UserRecord("u", "<img src=\"http://evil.example/pixel.png\">", "x@example.com", null),
            Exceptions =
            [
                new Storage.Events.ExceptionRecord(
                    "Evil.<script>alert('type')</script>Exception\r\nBcc: victim3@example.com",
                    new string('A', 200_000) + "<iframe src=//evil.example>",
                    "Shop",
                    [new Storage.Events.FrameRecord("<svg onload=alert(1)>", "T", "M", "\u202Egnp.exe", 1, 1, InApp: true)]),
            ],
        };
        await _harness.InsertAsync(hostile);
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal("team@example.com");
        mail.Headers.Contains("Bcc").Should().BeFalse();
        mail.Headers.Contains("X-Injected").Should().BeFalse();
        var subject = mail.Subject ?? "";
        subject.Should().NotContainAny("\r", "\n");
        subject.Length.Should().BeLessThanOrEqualTo(200);
        var html = mail.HtmlBody ?? "";
        var text = mail.TextBody ?? "";
        html.Should().NotContainAny("<script", "<img", "<iframe", "<svg", "<b>");
        html.Should().Contain("&lt;script&gt;");
        text.Length.Should().BeLessThan(20_000, "a 200 KB message is cut");
        html.Length.Should().BeLessThan(40_000);
        text.Should().NotContain("\u202E", "no bidirectional overrides to disguise a file name");
    }

    [Fact]
    public async Task A_test_email_arrives_and_is_in_the_history_and_a_failure_says_why()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var testMail = (NotificationTestMail)_harness.Services.GetService(typeof(NotificationTestMail))!;

        (await testMail.SendAsync(shop.Id, "ana@example.com")).Should().BeNull();
        (await testMail.SendAsync(shop.Id, "not an address\r\nBcc: x@example.com")).Should().Be("That is not an e-mail address.");
        await smtp.StopAsync();
        _harness.Time.Advance(TimeSpan.FromSeconds(1));
        (await testMail.SendAsync(shop.Id, "ana@example.com")).Should().NotBeNullOrEmpty();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        mail.Subject.Should().Be("[shop] Test e-mail from ErrorHub");
        mail.TextBody.Should().Contain($"{NotificationHarness.PublicUrl}projects/{shop.Id}/alerts");
        (await _harness.HistoryAsync(shop)).Select(n => (n.Trigger, n.State)).Should().Equal(("test", NotificationState.Failed), ("test", NotificationState.Sent));
    }
}
