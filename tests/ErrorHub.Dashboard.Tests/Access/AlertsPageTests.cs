using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ErrorHub.Dashboard.Tests.Access;

/// <summary>The alerts page of a project: its rules, the member's own choices, the notification history with delivery state; only for who may read the project.</summary>
public sealed class AlertsPageTests : IDisposable
{
    private const string MemberPassword = "member password 1";
    private readonly DashboardServer _server = DashboardServer.Start();

    public void Dispose() => _server.Dispose();

    private async Task<Project> SeedAsync()
    {
        var worker = await _server.Projects.CreateProjectAsync("Billing worker", "worker-key-0123456789abcdef", DateTimeOffset.UtcNow);
        var outbox = _server.Services.GetRequiredService<INotificationStore>();
        var now = DateTimeOffset.UtcNow;
        await outbox.AddNotificationAsync(new Notification(Guid.NewGuid(), worker.Id, "new-issue:a", "new-issue:a", "new-issue", now.AddMinutes(-2))
        {
            Fingerprint = "fp-worker",
            Recipients = ["dev@example.com"],
            Subject = "[Billing worker/production] New issue: <script>alert(1)</script> in Worker.Run",
            State = NotificationState.Sent,
            Attempts = 1,
        });
        await outbox.AddNotificationAsync(new Notification(Guid.NewGuid(), worker.Id, "new-issue:b", "new-issue:b", "new-issue", now.AddMinutes(-1))
        {
            Recipients = ["dev@example.com"],
            Subject = "[Billing worker/production] New issue: Timeout in Worker.Poll",
            Attempts = 2,
            NextAttemptAt = now.AddMinutes(1),
            LastError = "SocketException: Connection refused",
        });
        await outbox.AddNotificationAsync(new Notification(Guid.NewGuid(), 1, "new-issue:c", "new-issue:c", "new-issue", now)
        {
            Recipients = ["admin@example.com"],
            Subject = "Shop secret subject",
            State = NotificationState.Sent,
        });
        await _server.CreateMemberAsync("dev@example.com", MemberPassword, worker.Id);
        return worker;
    }

    [Fact]
    public async Task The_page_says_whether_you_get_the_projects_mail_as_the_worker_sends_it()
    {
        var worker = await SeedAsync();
        using var admin = await _server.SignedInClientAsync();
        using var member = await _server.SignedInClientAsync("dev@example.com", MemberPassword);

        // The worker mails a project's members, or its admins while it has none (docs/notifications.md, "Recipients").
        (await admin.GetStringAsync("/projects/1/alerts")).Should().Contain("has no members, so its mail goes to the admins")
            .And.Contain("you get the mail of every rule below");
        (await admin.GetStringAsync($"/projects/{worker.Id}/alerts")).Should().Contain("you are not one of them, so you get none of its alerts")
            .And.NotContain("you get the mail of every rule below", "the admin of a project with members gets none of its mail");
        (await member.GetStringAsync($"/projects/{worker.Id}/alerts")).Should().Contain("As a member of <bdi>Billing worker</bdi> you get the mail of every rule below");
    }

    [Fact]
    public async Task An_admin_picks_a_new_rule_by_the_words_the_rules_table_uses()
    {
        using var admin = await _server.SignedInClientAsync();

        var page = await admin.GetStringAsync("/projects/1/alerts");

        var form = Regex.Match(page, "add-rule-form.*?</form>", RegexOptions.Singleline).Value;
        // What the list shows: its chosen label and its options (Radzen's hidden input keeps the value's own name).
        form.Should().Contain(">Many events</span>").And.Contain(">Many users</span>").And.Contain(">Daily digest</span>")
            .And.NotContain(">EventFrequency</span>").And.NotContain(">DailyDigest</span>");
    }

    [Fact]
    public async Task A_member_sees_the_history_with_delivery_state_and_failures_of_their_project_and_not_another()
    {
        var worker = await SeedAsync();
        using var member = await _server.SignedInClientAsync("dev@example.com", MemberPassword);

        var page = await member.GetStringAsync($"/projects/{worker.Id}/alerts");
        using var other = await member.GetAsync("/projects/1/alerts");

        page.Should().Contain("<bdi>Billing worker</bdi> alerts")
            .And.Contain("&lt;script&gt;alert(1)&lt;/script&gt;").And.NotContain("<script>alert(1)")
            .And.Contain("sent").And.Contain("retrying").And.Contain("SocketException: Connection refused")
            .And.MatchRegex("class=\"form-warning[^\"]*\"[^>]*>No mail is sent: this server has no SMTP settings", "a server that sends no mail is a warning, not a success")
            .And.Contain("Save my choices")
            .And.NotContain("Save rules and addresses", "only admins change rules")
            .And.NotContain("Shop secret subject");
        other.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await other.Content.ReadAsStringAsync()).Should().NotContain("Shop secret subject");
    }

    [Fact]
    public async Task An_admin_sees_the_default_rules_and_can_edit_them_and_a_stranger_is_sent_to_sign_in()
    {
        await SeedAsync();
        using var admin = await _server.SignedInClientAsync();
        using var anonymous = _server.NewClient();

        var page = await admin.GetStringAsync("/projects/1/alerts");
        using var redirected = await anonymous.GetAsync("/projects/1/alerts");

        page.Should().Contain("New issue").And.Contain("Regression").And.Contain("Daily digest")
            .And.Contain("Save rules and addresses").And.Contain("Send test e-mail").And.Contain("Shop secret subject");
        redirected.StatusCode.Should().Be(HttpStatusCode.Redirect);
        redirected.Headers.Location!.AbsolutePath.Should().Be("/login");
    }

    [Fact]
    public async Task A_value_stored_before_it_was_checked_is_shown_as_needing_a_fix()
    {
        // Written straight into the store, as a server before December 2026 saved them: an environment with a line break,
        // and 60 extra addresses.
        var addresses = string.Join(", ", Enumerable.Range(0, 60).Select(i => $"\"team{i}@example.com\""));
        await _server.Services.GetRequiredService<INotificationStore>().SaveDocumentAsync(1, "alerts",
            $$"""{"rules": [{"id": "spike", "trigger": "EventFrequency", "environment": "prod\r\nuction"}, {"id": "new-issue", "trigger": "NewIssue", "environment": "production"}], "extraAddresses": [{{addresses}}], "optOuts": []}""");
        using var admin = await _server.SignedInClientAsync();

        using var response = await admin.GetAsync("/projects/1/alerts");
        response.StatusCode.Should().Be(HttpStatusCode.OK, string.Join("\n", _server.Logs.Errors.Select(e => e.ToString())));
        var page = await response.Content.ReadAsStringAsync();

        Regex.Matches(page, "environment-problem").Should().ContainSingle("only the rule whose stored environment breaks the rules");
        page.Should().Contain("Needs a fix: An environment is at most 100 characters, without line breaks or other control characters.")
            .And.Contain("Needs a fix: At most 50 extra addresses (60 given): send to a team list instead.");
    }

    public static TheoryData<string, string[], string[]> OlderOrHandEditedSettings => new()
    {
        // Without the members' switches and extra addresses, as an older server or a hand edit stored them.
        { """{"rules": [{"id": "spike", "trigger": "EventFrequency", "threshold": 5}]}""", ["Rule spike on"], [] },
        { """{"rules": [{"id": "spike", "trigger": "EventFrequency", "threshold": 5, "cooldownMinutes": null}], "extraAddresses": null, "optOuts": null}""", ["Rule spike on"], [] },
        { """{"optOuts": [], "theme": "dark"}""", ["Rule new-issue on", "Rule regression on", "Rule digest on"], [] },
        { """null""", ["Rule new-issue on"], [] },
        {
            """{"rules": [{"id": "spike", "trigger": "EventFrequency", "threshold": "many", "windowMinutes": 30}, {"id": "pager", "trigger": "PagerDuty"}, {"trigger": "Regression"}, 42, {"id": "nightly", "trigger": "DailyDigest", "enabled": "yes", "minimumLevel": "critical"}], "extraAddresses": ["oncall@example.com", 7], "optOuts": [{"userId": "not-a-user", "trigger": "NewIssue"}, "off"], "theme": "dark"}""",
            ["Rule spike on", "Rule nightly on", "oncall@example.com"],
            ["Rule &#x27;spike&#x27;: its stored threshold (the text &quot;many&quot;) could not be read", "Rule &#x27;pager&#x27; has no trigger this server knows", "Stored rule 3 has no id",
             "Stored rule 4 is the number 42, not a rule", "Rule &#x27;nightly&#x27;: its stored on-off setting (the text &quot;yes&quot;)", "Rule &#x27;nightly&#x27;: its stored minimum level (the text &quot;critical&quot;)",
             "Stored extra address 2 is the number 7", "stored switch (1) could not be read", "stored switch (2) could not be read"]
        },
        { """{"rules": "all of them", "extraAddresses": {"to": "oncall@example.com"}, "optOuts": 3}""", [], ["The stored rules are the text &quot;all of them&quot;, not a list", "The stored extra addresses are an object, not a list", "switches are the number 3, not a list"] },
        { """[{"id": "spike"}]""", ["Rule new-issue on"], ["not an object: the default rules apply"] },
        { """{"rules": [{"id": "spike", """, ["Rule new-issue on"], ["not valid JSON: the default rules apply"] },
    };

    [Theory]
    [MemberData(nameof(OlderOrHandEditedSettings))]
    public async Task Alert_settings_stored_with_fields_missing_null_or_of_another_type_open_with_what_could_be_read_and_say_what_could_not(string stored, string[] shown, string[] problems)
    {
        // Written straight into the store, as an older server or a hand edit left them. Until December 2026 a document
        // without optOuts (or with a null, or a value of another type) made the Alerts page answer 500.
        await _server.Services.GetRequiredService<INotificationStore>().SaveDocumentAsync(1, "alerts", stored);
        using var admin = await _server.SignedInClientAsync();

        using var response = await admin.GetAsync("/projects/1/alerts");

        response.StatusCode.Should().Be(HttpStatusCode.OK, string.Join("\n", _server.Logs.Errors.Select(e => e.ToString())));
        var page = await response.Content.ReadAsStringAsync();
        foreach (var text in shown)
        {
            page.Should().Contain(text);
        }

        if (problems.Length == 0)
        {
            page.Should().NotContain("stored-settings-problems", "a document that only leaves fields out, or sets them null, has nothing wrong to tell");
        }
        else
        {
            var note = Regex.Match(page, "stored-settings-problems.*?</div>", RegexOptions.Singleline).Value;
            note.Should().Contain("could not be read");
            foreach (var text in problems)
            {
                note.Should().Contain(text);
            }
        }
    }
}
