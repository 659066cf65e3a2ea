using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The Alerts page's rules and extra addresses with hostile values (its boxes' limits are the browser's, so a
/// circuit can send anything): refused with a reason that names what is wrong, nothing stored, and the worker mails on.
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed class AlertSettingsHostileInputTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private NotificationHarness _harness = null!;

    public async Task InitializeAsync()
    {
        smtp.Clear();
        await smtp.StartAsync();
        _harness = await NotificationHarness.CreateAsync(smtp);
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    public static TheoryData<string, string> HostileEnvironments => new()
    {
        { "production\r\nBcc: someone@example.com", "control characters" },
        { "prod\u0000uction", "control characters" },
        { "prod\u001Buction", "control characters" },
        { new string('p', 101), "at most 100 characters" },
        { new string('p', 1_000_000), "at most 100 characters" },
    };

    [Theory]
    [MemberData(nameof(HostileEnvironments))]
    public async Task A_rule_whose_environment_has_line_breaks_control_characters_or_no_end_is_refused_saying_why_and_nothing_is_stored(string environment, string reason)
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var kept = new AlertSettings { Rules = [new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 2, WindowMinutes = 10, Environment = "production" }] };
        await _harness.Settings.SaveAsync(shop.Id, kept);

        var save = () => _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 2, WindowMinutes = 10, Environment = environment }] });

        var refused = (await save.Should().ThrowAsync<ArgumentException>()).Which.Message;
        refused.Should().Contain("Rule 'spike'").And.Contain(reason);
        refused.Length.Should().BeLessThan(300, "the reason does not repeat what it refuses");
        (await _harness.Settings.GetAsync(shop.Id)).Rules.Should().ContainSingle().Which.Environment.Should().Be("production");
    }

    [Fact]
    public async Task Extra_addresses_that_would_add_a_header_or_are_no_address_are_refused_and_the_next_new_issue_is_mailed()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        foreach (var hostile in new[]
        {
            "oncall@example.com\r\nBcc: thief@example.com",
            "oncall@example.com\nBcc: thief@example.com",
            "oncall@example.com, thief@example.com",
            "\"Team\r\nBcc: thief@example.com\" <oncall@example.com>",
            "<script>alert(1)</script>",
            new string('a', 1_000_000) + "@example.com\r\n",
        })
        {
            var save = () => _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = [hostile] });
            var refused = (await save.Should().ThrowAsync<ArgumentException>($"{hostile[..Math.Min(40, hostile.Length)]} is no one address")).Which.Message;
            refused.Should().Contain("is not an e-mail address");
            refused.Length.Should().BeLessThan(300, "the reason does not repeat what it refuses");
        }

        (await _harness.Settings.GetAsync(shop.Id)).ExtraAddresses.Should().BeEmpty();
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow()));
        await _harness.RoundAsync();

        smtp.Messages().Should().ContainSingle().Which.To.Mailboxes.Select(m => m.Address).Should().Equal("ana@example.com");
    }

    [Fact]
    public async Task A_rule_stored_before_its_environment_was_checked_blocks_no_other_save_and_a_member_still_turns_mail_off()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var spike = new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 2, WindowMinutes = 10, Environment = new string('p', 200) };
        var broken = new AlertRule("broken", AlertTrigger.NewIssue) { Environment = "prod\r\nuction" };
        await StoreAsIsAsync(shop.Id, new AlertSettings { Rules = [spike, broken] });

        (await _harness.Settings.TurnOffAsync(shop.Id, ana.Id, AlertTrigger.DailyDigest)).Should().BeTrue("an unsubscribe is never blocked by a rule someone else stored");
        var stored = await _harness.Settings.GetAsync(shop.Id);
        stored.Wants(ana.Id, AlertTrigger.DailyDigest).Should().BeFalse();
        stored.Rules.Should().Equal([spike, broken], "kept as they were");

        // An admin's other changes save too, the stored values with them, until someone changes those.
        await _harness.Settings.SaveAsync(shop.Id, stored with { Rules = [spike, broken with { Enabled = false }, new AlertRule("regression", AlertTrigger.Regression)], ExtraAddresses = ["oncall@example.com"] });
        (await _harness.Settings.GetAsync(shop.Id)).Rules.Should().HaveCount(3);

        var changedToAnotherBadValue = () => _harness.Settings.SaveAsync(shop.Id, stored with { Rules = [spike with { Environment = new string('q', 200) }, broken] });
        (await changedToAnotherBadValue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("Rule 'spike'").And.Contain("at most 100 characters");
        var sameValueUnderANewRule = () => _harness.Settings.SaveAsync(shop.Id, stored with { Rules = [spike, broken, broken with { Id = "copy" }] });
        (await sameValueUnderANewRule.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("Rule 'copy'").And.Contain("control characters");

        await _harness.Settings.SaveAsync(shop.Id, stored with { Rules = [spike with { Environment = "production" }, broken with { Environment = null }] });
        (await _harness.Settings.GetAsync(shop.Id)).Rules.Select(rule => AlertSettingsStore.EnvironmentProblem(rule.Environment)).Should().AllSatisfy(problem => problem.Should().BeNull());
    }

    [Fact]
    public async Task More_than_fifty_extra_addresses_are_refused_saying_so_and_a_longer_list_stored_before_the_limit_blocks_no_other_save()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        string[] fifty = [.. Enumerable.Range(0, 50).Select(i => $"team{i}@example.com")];
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = fifty });

        foreach (var count in new[] { 51, 1_000_000 })
        {
            var more = () => _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = [.. Enumerable.Range(0, count).Select(i => $"team{i}@example.com")] });
            var refused = (await more.Should().ThrowAsync<ArgumentException>()).Which.Message;
            refused.Should().Contain($"At most 50 extra addresses ({count} given): send to a team list instead.");
        }

        (await _harness.Settings.GetAsync(shop.Id)).ExtraAddresses.Should().Equal(fifty);

        // Sixty, stored before the limit existed: a member's switch and a shorter list save; a longer one does not.
        string[] sixty = [.. Enumerable.Range(0, 60).Select(i => $"team{i}@example.com")];
        await StoreAsIsAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = sixty });
        (await _harness.Settings.TurnOffAsync(shop.Id, ana.Id, AlertTrigger.NewIssue)).Should().BeTrue();
        await _harness.Settings.SaveAsync(shop.Id, (await _harness.Settings.GetAsync(shop.Id)) with { ExtraAddresses = sixty[..59] });
        var longer = () => _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with { ExtraAddresses = [.. sixty, "one-more@example.com"] });
        (await longer.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("At most 50 extra addresses (61 given)");
    }

    [Fact]
    public async Task Settings_and_progress_stored_with_nulls_or_values_of_another_type_still_mail_the_next_new_issue_and_a_member_still_turns_mail_off()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var bob = await _harness.AddMemberAsync(shop, "bob@example.com", "Bob");
        await _harness.RoundAsync();

        // Written straight into the store, as an older server or a hand edit left them. Until December 2026 either
        // document made every round skip the project (a JsonException, or a null list), so none of its mail was sent.
        await _harness.Outbox.SaveDocumentAsync(shop.Id, AlertSettingsStore.DocumentKind,
            """{"rules": [{"id": "new", "trigger": "NewIssue", "threshold": "n/a", "environment": 5}, {"id": "pager", "trigger": "PagerDuty"}], "extraAddresses": ["team@example.com", null], "optOuts": null, "theme": "dark"}""");
        var progress = await _harness.Outbox.GetDocumentAsync(shop.Id, WorkerProgress.DocumentKind);
        progress.Should().NotBeNull();
        await _harness.Outbox.SaveDocumentAsync(shop.Id, WorkerProgress.DocumentKind, progress!.Replace("\"lastDigestDay\":", "\"lastDigestDay\":{\"day\":1},\"ignored\":", StringComparison.Ordinal));

        var settings = await _harness.Settings.GetAsync(shop.Id);
        settings.Rules.Should().ContainSingle().Which.Should().Be(new AlertRule("new", AlertTrigger.NewIssue));
        settings.ExtraAddresses.Should().Equal("team@example.com");
        settings.OptOuts.Should().BeEmpty();
        settings.ReadProblems.Should().HaveCount(4);

        (await _harness.Settings.TurnOffAsync(shop.Id, bob.Id, AlertTrigger.NewIssue)).Should().BeTrue("an unsubscribe link works on a document it cannot fully read");
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow()));
        await _harness.RoundAsync();

        smtp.Messages().SelectMany(m => m.To.Mailboxes.Select(to => to.Address)).Should().BeEquivalentTo(["ana@example.com", "team@example.com"]);
        _harness.Log.Entries.Should().Contain(entry => entry.Message.Contains("lastDigestDay", StringComparison.Ordinal), "the worker says which stored value it could not read");
    }

    /// <summary>Writes <paramref name="settings"/> into the store unchecked, as a server before a check existed saved them.</summary>
    private Task StoreAsIsAsync(int projectId, AlertSettings settings) =>
        _harness.Outbox.SaveDocumentAsync(projectId, AlertSettingsStore.DocumentKind, System.Text.Json.JsonSerializer.Serialize(settings, NotificationsJsonContext.Default.AlertSettings));

    [Fact]
    public async Task Frequency_rules_at_the_ends_of_their_ranges_are_saved_and_the_worker_goes_on()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, AlertSettings.Default with
        {
            Rules =
            [
                new AlertRule("new-issue", AlertTrigger.NewIssue),
                new AlertRule("never", AlertTrigger.EventFrequency) { Threshold = long.MaxValue, WindowMinutes = 1440, CooldownMinutes = int.MaxValue },
                new AlertRule("always", AlertTrigger.UserFrequency) { Threshold = 0, WindowMinutes = 1, CooldownMinutes = int.MaxValue },
            ],
        });
        foreach (var (threshold, window, cooldown) in new (long, int, int?)[] { (-1, 60, null), (long.MinValue, 60, null), (5, 0, null), (5, -1, null), (5, 1441, null), (5, int.MaxValue, null), (5, 60, -1), (5, 60, int.MinValue) })
        {
            var save = () => _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("bad", AlertTrigger.EventFrequency) { Threshold = threshold, WindowMinutes = window, CooldownMinutes = cooldown }] });
            (await save.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("Rule 'bad'");
        }

        await _harness.RoundAsync();
        for (var i = 0; i < 3; i++)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(1));
            await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow(), userId: "u" + i));
            await _harness.RoundAsync();
        }

        smtp.Messages().Select(m => m.Subject).Should().NotBeEmpty("the new issue is mailed, a cooldown of 4,000 years or a threshold past any count breaks no round")
            .And.OnlyContain(subject => subject.StartsWith("[shop] ", StringComparison.Ordinal));
        _harness.Log.Errors.Should().BeEmpty();
    }
}
