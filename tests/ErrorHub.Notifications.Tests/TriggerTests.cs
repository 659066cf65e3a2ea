using ErrorHub.Storage;
using ErrorHub.Storage.Events;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using MimeKit;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>Each trigger sends the right mail to the right people exactly once, against a real SMTP server; time is a fake clock.</summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class TriggerTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_new_issue_mails_every_member_and_extra_address_once_with_who_where_and_a_link()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.AddMemberAsync(await _harness.CreateProjectAsync("other"), "carl@example.com", "Carl");
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = ["oncall@example.com"] });
        await _harness.RoundAsync(); // the worker starts watching now: older issues are not news

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow()));
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        mails.Select(SmtpServerFixture.EnvelopeRecipients).Should().BeEquivalentTo<IReadOnlyList<string>>(
            [["ana@example.com"], ["ben@example.com"], ["oncall@example.com"]],
            "a copy per member, whose unsubscribe link is theirs, and one for the extra addresses");
        var mail = mails.Single(m => SmtpServerFixture.EnvelopeRecipients(m).Contains("ana@example.com"));
        mail.Subject.Should().Be("[shop] NullReferenceException in CheckoutService.Complete", "every mail about the issue has its subject, so that they thread");
        mail.TextBody.Should().StartWith("New issue in production: NullReferenceException in CheckoutService.Complete");
        mail.From.Mailboxes.Single().Address.Should().Be("errors@example.com");
        var link = $"{NotificationHarness.PublicUrl}projects/{shop.Id}/issues/fp-checkout";
        foreach (var body in new[] { mail.TextBody, mail.HtmlBody })
        {
            body.Should().Contain("Joe Smith").And.Contain("joe.smith@example.com")
                .And.Contain("https://shop.example.com/checkout?bundle=team")
                .And.Contain("on Windows 10 with Firefox 120")
                .And.Contain("shop@2.4.1")
                .And.Contain("Monday 2 March 2026, 10:01 UTC")
                .And.Contain("CheckoutService.cs:42")
                .And.Contain(link);
        }

        mail.TextBody.Should().NotContain("EndpointMiddleware", "only in-app frames are shown")
            .And.Contain("Firefox 120 on Windows 10").And.NotContain("Gecko/20100101", "the browser as the SDK read it, not the raw User-Agent again");
        mail.HtmlBody.Should().NotContain("<img", "no remote images");
        var alerts = $"{NotificationHarness.PublicUrl}projects/{shop.Id}/alerts";
        mail.TextBody!.ReplaceLineEndings("\n").Should().Contain($"Alert rules of shop and who gets them:\n{alerts}");
        mail.HtmlBody.Should().Contain($"<a href=\"{alerts}\"", "the settings address is a link in the HTML part");
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.State.Should().Be(NotificationState.Sent);
    }

    [Fact]
    public async Task A_crash_that_ended_a_console_app_says_so_and_names_its_root_cause_with_the_app_frames_of_its_wrapper()
    {
        var jobs = await _harness.CreateProjectAsync("jobs");
        await _harness.AddMemberAsync(jobs, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        var crash = Crashes.Checkout(jobs.Id, _harness.Time.GetUtcNow(), "fp-import") with
        {
            Level = "fatal",
            Release = "jobs@3.1.0",
            Title = "SqliteException: SQLite Error 19: 'FOREIGN KEY constraint failed'.",
            TitleWrapper = "DbUpdateException",
            Culprit = "Jobs.Import.OrderImporter.SaveAsync",
            Request = null,
            User = null,
            Tags = new Dictionary<string, string> { ["mechanism"] = "AppDomain.UnhandledException" },
            Exceptions =
            [
                new ExceptionRecord(
                    "Microsoft.EntityFrameworkCore.DbUpdateException",
                    "An error occurred while saving the entity changes. See the inner exception for details.",
                    "Microsoft.EntityFrameworkCore.Relational",
                    [
                        new FrameRecord("ExecuteAsync", "Microsoft.EntityFrameworkCore.Update.ReaderModificationCommandBatch", "Microsoft.EntityFrameworkCore.Relational", null, null, null, InApp: false),
                        new FrameRecord("SaveAsync", "Jobs.Import.OrderImporter", "Jobs", "OrderImporter.cs", 58, 9, InApp: true),
                        new FrameRecord("Main", "Jobs.Program", "Jobs", "Program.cs", 12, 5, InApp: true),
                    ]),
                new ExceptionRecord(
                    "Microsoft.Data.Sqlite.SqliteException",
                    "SQLite Error 19: 'FOREIGN KEY constraint failed'.",
                    "Microsoft.Data.Sqlite",
                    [new FrameRecord("ThrowExceptionForRC", "Microsoft.Data.Sqlite.SqliteException", "Microsoft.Data.Sqlite", null, null, null, InApp: false)]),
            ],
        };
        await _harness.InsertAsync(crash);
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        mail.Subject.Should().Be("[jobs] SqliteException in OrderImporter.SaveAsync");
        mail.TextBody.Should().StartWith("New issue in production: SqliteException in OrderImporter.SaveAsync");
        foreach (var body in new[] { mail.TextBody, mail.HtmlBody })
        {
            body.Should().Contain("SqliteException: SQLite Error 19:", "the root cause is what went wrong, not the wrapper's 'see the inner exception'")
                .And.Contain("constraint failed", "the root cause's message")
                .And.Contain(". (wrapped in DbUpdateException)", "and beside it the exception the app saw")
                .And.Contain("Nothing caught this exception: the process ended")
                .And.Contain("OrderImporter.cs:58", "the app's frames are in the wrapper: the root cause was thrown inside the library")
                .And.NotContain("See the inner exception for details");
        }
    }

    [Fact]
    public async Task A_task_nobody_awaited_says_the_process_went_on_and_a_request_crash_says_neither()
    {
        var jobs = await _harness.CreateProjectAsync("jobs");
        await _harness.AddMemberAsync(jobs, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(jobs.Id, _harness.Time.GetUtcNow(), "fp-unobserved") with
        {
            Tags = new Dictionary<string, string> { ["mechanism"] = "TaskScheduler.UnobservedTaskException" },
        });
        await _harness.InsertAsync(Crashes.Checkout(jobs.Id, _harness.Time.GetUtcNow(), "fp-request") with
        {
            Culprit = "Shop.Orders.OrderController.Cancel",
            Tags = new Dictionary<string, string> { ["mechanism"] = "middleware" },
        });
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        mails.Should().HaveCount(2);
        var unobserved = mails.Should().ContainSingle(m => !m.Subject!.Contains("OrderController.Cancel", StringComparison.Ordinal)).Subject;
        var request = mails.Should().ContainSingle(m => m.Subject!.Contains("OrderController.Cancel", StringComparison.Ordinal)).Subject;
        foreach (var body in new[] { unobserved.TextBody, unobserved.HtmlBody })
        {
            body.Should().Contain("A task failed and nothing awaited it", "a team reads that the app lost work, not a request's error")
                .And.Contain("the process went on").And.NotContain("the process ended");
        }

        foreach (var body in new[] { request.TextBody, request.HtmlBody })
        {
            body.Should().NotContain("nothing awaited it").And.NotContain("the process ended", "a request's error ended nothing");
        }
    }

    [Fact]
    public async Task A_round_that_runs_out_of_its_lease_starts_nothing_more_and_the_next_round_sends_the_mail()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow()));

        await _harness.Cycle.RunAsync(CancellationToken.None, workUntil: _harness.Time.GetUtcNow());
        smtp.Messages().Should().BeEmpty("a round past its share of the lease must not work: another server may hold it by now");
        (await _harness.HistoryAsync(shop)).Should().BeEmpty();

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.Cycle.RunAsync(CancellationToken.None, workUntil: _harness.Time.GetUtcNow().AddMinutes(1));
        smtp.Messages().Should().ContainSingle().Which.TextBody.Should().StartWith("New issue in production:");
    }

    [Fact]
    public async Task A_member_who_opted_out_of_a_trigger_does_not_get_it_and_rules_filter_by_environment_and_level()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules = [new AlertRule("prod-errors", AlertTrigger.NewIssue) { Environment = "production", MinimumLevel = "error" }],
            OptOuts = [new AlertOptOut(ana.Id, AlertTrigger.NewIssue)],
        });
        await _harness.RoundAsync();

        var now = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(
            Crashes.Checkout(shop.Id, now.AddSeconds(1), "fp-staging", environment: "staging"),
            Crashes.Checkout(shop.Id, now.AddSeconds(2), "fp-warning", level: "warning"),
            Crashes.Checkout(shop.Id, now.AddSeconds(3), "fp-fatal", level: "fatal"));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle("staging and a warning do not pass the rule").Subject;
        mail.TextBody.Should().Contain("/issues/fp-fatal");
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal("ben@example.com");
    }

    [Fact]
    public async Task A_project_without_members_mails_its_admins_and_disabled_accounts_get_nothing()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var admin = new UserAccount(Guid.NewGuid(), "admin@example.com", "Admin", "hash", UserRole.Admin, "stamp", NotificationHarness.Start);
        var retired = new UserAccount(Guid.NewGuid(), "retired@example.com", "Retired", "hash", UserRole.Admin, "stamp", NotificationHarness.Start) { DisabledAt = NotificationHarness.Start };
        await _harness.Access.CreateUserAsync(admin);
        await _harness.Access.CreateUserAsync(retired);
        await _harness.RoundAsync();

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow().AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        SmtpServerFixture.EnvelopeRecipients(smtp.Messages().Should().ContainSingle().Subject).Should().Equal("admin@example.com");
    }

    [Fact]
    public async Task A_resolved_issue_that_happens_again_from_its_release_or_later_mails_once_and_an_older_release_does_not()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("regression", AlertTrigger.Regression)] });
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddHours(-2), release: "shop@2.9.0"));
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, start.AddHours(-1)) { ResolvedInRelease = "shop@2.10.0", AssigneeId = ana.Id });
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("nothing happened since the resolution");

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1), release: "shop@2.9.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("an older release does not reopen an issue resolved in 2.10.0");

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(3), release: "shop@2.10.1", userId: "maria"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(5), release: "shop@2.11.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        mail.Subject.Should().Be("[shop] NullReferenceException in CheckoutService.Complete");
        mail.TextBody.Should().StartWith("Regression in production: NullReferenceException in CheckoutService.Complete");
        mail.TextBody.Should().Contain("resolved in release shop@2.10.0").And.Contain("happened again in release shop@2.10.1");
        mail.TextBody.Should().Contain("maria had this", "the mail tells the event that brought the issue back")
            .And.NotContain("Joe Smith", "not the issue's first event, from before its resolution");
        mail.TextBody.Should().Contain("Assigned to: Ana", "who fixed it last time, or is on it");
    }

    [Fact]
    public async Task An_issue_resolved_in_the_next_release_mails_only_when_a_later_release_has_it_as_the_dashboard_shows_it()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("regression", AlertTrigger.Regression)] });
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddHours(-2), release: "shop@2.4.1"));
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, start.AddHours(-1)) { ResolvedAfterRelease = "shop@2.4.1" });

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1), release: "shop@2.4.1"));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1), release: "shop@2.3.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("servers still running the release it was resolved in, or older ones, are expected to crash");

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(3), release: "shop@2.10.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        mail.TextBody.Should().StartWith("Regression in production:");
        mail.TextBody.Should().Contain("for the release after shop@2.4.1").And.Contain("happened again in release shop@2.10.0");
    }

    [Fact]
    public async Task A_frequency_rule_of_one_minute_says_its_count_and_window_in_words_that_read()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules = [new AlertRule("any", AlertTrigger.EventFrequency) { Threshold = 0, WindowMinutes = 1 }],
        });
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddSeconds(1)));
        _harness.Time.Advance(TimeSpan.FromSeconds(30));
        await _harness.RoundAsync();

        smtp.Messages().Should().ContainSingle().Which.TextBody.Should().Contain("1 event in the last minute (the rule says more than 0).");
    }

    [Fact]
    public async Task A_frequency_rule_mails_when_an_issue_passes_its_threshold_then_keeps_quiet_for_the_cooldown()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules =
            [
                new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 5, WindowMinutes = 10, CooldownMinutes = 60 },
                new AlertRule("many-users", AlertTrigger.UserFrequency) { Threshold = 2, WindowMinutes = 10, CooldownMinutes = 60 },
            ],
        });
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([.. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, start.AddSeconds(i)))]);
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("5 events from one user is not more than 5, nor more than 2 users");

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddSeconds(10), userId: "u2"), Crashes.Checkout(shop.Id, start.AddSeconds(11), userId: "u3"));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        smtp.Messages().Select(m => m.TextBody!.Split('\n')[0]).Should().BeEquivalentTo(
            "Frequent issue in production: NullReferenceException in CheckoutService.Complete",
            "Issue affecting many users in production: NullReferenceException in CheckoutService.Complete");
        smtp.Messages().Select(m => m.TextBody).Should().Contain(b => b.Contains("7 events in the last 10 minutes", StringComparison.Ordinal))
            .And.Contain(b => b.Contains("3 users had it in the last 10 minutes", StringComparison.Ordinal));

        for (var minute = 0; minute < 50; minute += 5)
        {
            var now = _harness.Time.GetUtcNow();
            await _harness.InsertAsync([.. Enumerable.Range(0, 8).Select(i => Crashes.Checkout(shop.Id, now.AddSeconds(i), userId: "v" + i))]);
            _harness.Time.Advance(TimeSpan.FromMinutes(5));
            await _harness.RoundAsync();
        }

        smtp.Messages().Should().HaveCount(2, "the cooldown keeps a hot issue from mailing every round");

        _harness.Time.Advance(TimeSpan.FromMinutes(15));
        var later = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([.. Enumerable.Range(0, 8).Select(i => Crashes.Checkout(shop.Id, later.AddSeconds(-i), userId: "w" + i))]);
        await _harness.RoundAsync();
        smtp.Messages().Should().HaveCount(4, "after the cooldown, a still hot issue mails again");
        smtp.Messages().Skip(2).Select(m => m.TextBody).Should().AllSatisfy(body => body.Should()
            .Contain("w7 had this", "a spike's mail tells the first event of its window").And.NotContain("Joe Smith", "not the issue's first-ever event"));
    }

    [Fact]
    public async Task An_ignored_issue_does_not_mail_about_its_spikes()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 2, WindowMinutes = 10 }] });
        var now = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, now.AddSeconds(i), "fp-ignored")),
            .. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, now.AddSeconds(i), "fp-watched"))]);
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-ignored", IssueStatus.Ignored, now));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));

        await _harness.RoundAsync();

        smtp.Messages().Should().ContainSingle().Which.TextBody.Should().Contain("/issues/fp-watched");
    }

    [Fact]
    public async Task An_issue_ignored_until_more_events_or_for_a_while_mails_about_its_spikes_again_once_the_ignore_ends()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 2, WindowMinutes = 10 }] });
        var ignoredAt = _harness.Time.GetUtcNow();
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-until-events", IssueStatus.Ignored, ignoredAt) { IgnoredUntilEvents = 10 });
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-for-a-while", IssueStatus.Ignored, ignoredAt) { IgnoredUntil = ignoredAt.AddMinutes(20) });

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        var first = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 6).Select(i => Crashes.Checkout(shop.Id, first.AddSeconds(-i), "fp-until-events")),
            .. Enumerable.Range(0, 6).Select(i => Crashes.Checkout(shop.Id, first.AddSeconds(-i), "fp-for-a-while"))]);
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("6 of 10 events since the ignore, and 1 of 20 minutes: both still ignored");

        _harness.Time.Advance(TimeSpan.FromMinutes(25));
        var second = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 6).Select(i => Crashes.Checkout(shop.Id, second.AddSeconds(-i), "fp-until-events")),
            .. Enumerable.Range(0, 6).Select(i => Crashes.Checkout(shop.Id, second.AddSeconds(-i), "fp-for-a-while"))]);
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        mails.Should().HaveCount(2, "12 events since the ignore end the one, 26 minutes the other, as the dashboard shows them unresolved again");
        mails.Select(m => m.TextBody).Should().Contain(b => b.Contains("/issues/fp-until-events", StringComparison.Ordinal))
            .And.Contain(b => b.Contains("/issues/fp-for-a-while", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_burst_of_a_thousand_new_issues_sends_at_most_the_hourly_cap_and_the_next_mail_says_how_many_were_held_back()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([.. Enumerable.Range(0, 1_000).Select(i => Crashes.Checkout(shop.Id, start.AddMilliseconds(i * 50), "fp-burst-" + i))]);

        for (var i = 0; i < 6; i++)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(1));
            await _harness.RoundAsync();
        }

        smtp.Messages().Should().HaveCount(20, "the default cap is 20 mails per project per hour");
        var history = await _harness.HistoryAsync(shop);
        history.Should().HaveCount(1_000, "every new issue is recorded once, sent or held back");
        history.Count(n => n.State == NotificationState.HeldBack).Should().Be(980);
        history.Where(n => n.State == NotificationState.HeldBack).Select(n => n.Subject).Distinct().Should()
            .Equal(["New issue: not mailed, the project's hourly limit was reached"], "the Alerts page lists them in words, not as an enum and a hash");

        _harness.Time.Advance(TimeSpan.FromHours(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), "fp-after"));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        var next = smtp.Messages().Should().HaveCount(21).And.Subject.Last();
        next.TextBody.Should().Contain("/issues/fp-after").And.Contain("And 980 more alerts of this project were held back");
    }

    [Fact]
    public async Task The_daily_digest_comes_once_a_day_at_its_hour_with_new_and_top_issues_and_totals_against_the_day_before()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)] });
        await _harness.RoundAsync(); // Monday 10:00: the worker starts watching; Tuesday 08:00 sums up Monday 08:00 to Tuesday 08:00
        var digestTime = new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);
        await _harness.InsertAsync(
            Crashes.Checkout(shop.Id, digestTime.AddHours(-44), "fp-old"),
            Crashes.Checkout(shop.Id, digestTime.AddHours(-43), "fp-old"));
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 5).Select(i => Crashes.Checkout(shop.Id, digestTime.AddHours(-10).AddMinutes(i), "fp-old", userId: "u" + i)),
            Crashes.Checkout(shop.Id, digestTime.AddHours(-3), "fp-fresh")]);
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-old", IssueStatus.Resolved, digestTime.AddHours(-20))); // and back at -10 h

        _harness.Time.Advance(digestTime - _harness.Time.GetUtcNow() - TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("the digest goes out at 08:00");

        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromHours(1));
        await _harness.RoundAsync();

        var digest = smtp.Messages().Should().ContainSingle().Subject;
        digest.Subject.Should().Be("[shop] Daily digest 2026-03-03: 1 new issue, 6 events");
        digest.TextBody.Should().Contain("Events: 6 (day before: 2, +200%)")
            .And.Contain("Users: 6 (day before: 1, +500%)")
            .And.Contain("Top issues by events:\n- NullReferenceException: Object reference not set to an instance of an object. — 5 events")
            .And.Contain("— 1 event\n", "the fresh issue's one event, counted in words that read")
            .And.Contain($"/projects/{shop.Id}/issues/fp-fresh");
        digest.TextBody.Should().MatchRegex(@"Regressions:\s+1\b", "the regression counts though no regression rule mailed it")
            .And.MatchRegex(@"Resolved:\s+1\b");
        digest.HtmlBody.Should().Contain("New issues");

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, digestTime.AddHours(2), "fp-fresh")); // news for the next day's digest
        _harness.Time.Advance(TimeSpan.FromDays(1));
        await _harness.RoundAsync();
        smtp.Messages().Should().HaveCount(2, "one digest a day");
    }

    /// <summary>Until December 2026 only the first of a project's digest rules was ever sent: the second found the day done.</summary>
    [Fact]
    public async Task Two_digest_rules_of_a_project_each_send_their_digest_once_a_day()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules =
            [
                new AlertRule("digest-production", AlertTrigger.DailyDigest) { Environment = "production" },
                new AlertRule("digest-staging", AlertTrigger.DailyDigest) { Environment = "staging" },
            ],
            ExtraAddresses = ["team@example.com"],
        });
        await _harness.RoundAsync();
        var digestTime = new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);
        await _harness.InsertAsync(
            Crashes.Checkout(shop.Id, digestTime.AddHours(-3), "fp-production"),
            Crashes.Checkout(shop.Id, digestTime.AddHours(-2), "fp-staging", environment: "staging"),
            Crashes.Checkout(shop.Id, digestTime.AddHours(-1), "fp-staging", environment: "staging"));

        _harness.Time.Advance(digestTime - _harness.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromHours(1));
        await _harness.RoundAsync();

        smtp.Messages().Select(m => m.Subject).Should().BeEquivalentTo(
            ["[shop] Daily digest 2026-03-03: 1 new issue, 1 event", "[shop] Daily digest 2026-03-03: 1 new issue, 2 events"],
            "each rule's digest, with its environment's events, once");
    }

    [Fact]
    public async Task A_digest_sent_on_request_tells_the_last_24_hours_to_one_address_with_the_rules_filter_and_the_daily_one_still_comes()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest) { Environment = "production" }] });
        await _harness.RoundAsync(); // Monday 10:00
        var now = _harness.Time.GetUtcNow();
        await _harness.InsertAsync([
            .. Enumerable.Range(0, 3).Select(i => Crashes.Checkout(shop.Id, now.AddHours(-2).AddMinutes(i), "fp-today", userId: "u" + i)),
            Crashes.Checkout(shop.Id, now.AddHours(-30), "fp-yesterday"),
            Crashes.Checkout(shop.Id, now.AddHours(-1), "fp-staging", environment: "staging")]);

        var mailer = (NotificationTestMail)_harness.Services.GetService(typeof(NotificationTestMail))!;
        (await mailer.SendDigestAsync(shop.Id, "not an address")).Should().Be("That is not an e-mail address.");
        (await mailer.SendDigestAsync(shop.Id, "lead@example.com")).Should().BeNull();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal(["lead@example.com"], "only the one who asked, never the team");
        mail.Subject.Should().Be("[shop] Digest on request 2026-03-02: 1 new issue, 3 events", "the last 24 hours, without the staging crash the rule filters out or the one of the day before");
        mail.TextBody.Should().Contain("sent on request").And.Contain("Users: 3").And.Contain($"/projects/{shop.Id}/issues/fp-today")
            .And.NotContain("fp-staging").And.NotContain("fp-yesterday");
        (await _harness.HistoryAsync(shop)).Should().ContainSingle().Which.Trigger.Should().Be("digest-on-request");

        _harness.Time.Advance(new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero) - _harness.Time.GetUtcNow());
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();
        smtp.Messages().Should().HaveCount(2).And.Subject.Last().Subject.Should().StartWith("[shop] Daily digest 2026-03-03:", "a digest on request is not the day's");
    }
}
