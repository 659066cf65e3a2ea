using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The mails a team gets about one issue and its project, received from the real SMTP server and read as a team reads
/// them: both parts of every kind say the same, an inbox list tells the kinds apart, the mails about the issue are one
/// thread, and the digest comes only with something to tell.
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed partial class TeamMailTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private const string Ben = "ben@example.com";

    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private WorkflowMail Workflow => _harness.Services.GetRequiredService<WorkflowMail>();

    private static string Header(MimeMessage mail, string field) => (mail.Headers[field] ?? "").Trim();

    private static string FirstLine(MimeMessage mail) => mail.TextBody!.ReplaceLineEndings("\n").Split('\n')[0];

    /// <summary>
    /// Every kind of mail about one issue of "shop" (new issue, spike by events and by users, regression, assignment,
    /// comment, resolution) and the next day's digest, as its members get them.
    /// </summary>
    private async Task<IReadOnlyList<MimeMessage>> EveryKindOfMailAsync()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, Ben, "Ben");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings
        {
            Rules =
            [
                new AlertRule("new", AlertTrigger.NewIssue),
                new AlertRule("regression", AlertTrigger.Regression),
                new AlertRule("spike", AlertTrigger.EventFrequency) { Threshold = 2, WindowMinutes = 10, CooldownMinutes = 600 },
                new AlertRule("many-users", AlertTrigger.UserFrequency) { Threshold = 2, WindowMinutes = 10, CooldownMinutes = 600 },
                new AlertRule("digest", AlertTrigger.DailyDigest),
            ],
        });
        await _harness.RoundAsync();
        var start = _harness.Time.GetUtcNow();
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(1)));
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(2), userId: "maria"), Crashes.Checkout(shop.Id, start.AddMinutes(2), userId: "li"));
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.RoundAsync();

        await Workflow.AssignedAsync(shop.Id, "fp-checkout", ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await Workflow.CommentedAsync(shop.Id, "fp-checkout", ana.Id, "Ana", "Seen on production too.", Guid.NewGuid());
        await Workflow.StatusChangedAsync(shop.Id, ["fp-checkout"], IssueStatus.Resolved, "Resolved in shop@2.4.2", ana.Id, "Ana", Guid.NewGuid());
        await _harness.States.SetStateAsync(new IssueState(shop.Id, "fp-checkout", IssueStatus.Resolved, start.AddMinutes(4)) { AssigneeId = ben.Id });
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, start.AddMinutes(30), release: "shop@2.5.0"));
        _harness.Time.Advance(TimeSpan.FromMinutes(30));
        await _harness.RoundAsync();

        // The next day's digest, at its hour.
        _harness.Time.Advance(new DateTimeOffset(2026, 3, 3, 8, 1, 0, TimeSpan.Zero) - _harness.Time.GetUtcNow());
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        var heads = mails.Select(FirstLine).ToList();
        foreach (var expected in new[]
        {
            "New issue in production: NullReferenceException in CheckoutService.Complete",
            "Frequent issue in production: NullReferenceException in CheckoutService.Complete",
            "Issue affecting many users in production: NullReferenceException in CheckoutService.Complete",
            "Ana assigned you an issue",
            "Ana commented on an issue",
            "Ana resolved an issue",
            "Regression in production: NullReferenceException in CheckoutService.Complete",
            "shop: the last 24 hours",
        })
        {
            heads.Should().Contain(expected, "the scenario makes every kind of mail (got: {0})", string.Join(" | ", heads.Distinct()));
        }

        return mails;
    }

    [Fact]
    public async Task Every_kind_of_mail_says_the_same_words_and_links_in_its_text_and_html_parts()
    {
        foreach (var mail in await EveryKindOfMailAsync())
        {
            var what = $"\"{FirstLine(mail)}\" to {string.Join(", ", SmtpServerFixture.EnvelopeRecipients(mail))}";
            var text = mail.TextBody!;
            var html = mail.HtmlBody!;

            // The mail's own links lead to the dashboard; an address the event gives (its request URL) is text in both parts.
            var textLinks = Url().Matches(text).Select(m => m.Value).Where(IsOurs).Distinct().Order(StringComparer.Ordinal).ToList();
            var htmlLinks = Href().Matches(html).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).Distinct().Order(StringComparer.Ordinal).ToList();
            htmlLinks.Should().Equal(textLinks, $"{what}: both parts link the same pages (issue, rules, unsubscribe)");

            var textWords = Words(Url().Replace(text, m => IsOurs(m.Value) ? " " : m.Value));
            var body = Regex.Replace(html, "<head>.*?</head>", " ", RegexOptions.Singleline);
            var htmlWords = Words(WebUtility.HtmlDecode(Tag().Replace(body, " ")));
            htmlWords.Should().Equal(textWords, $"{what}: a reader of either part learns the same title, project, counts, times and footer");
        }
    }

    [Fact]
    public async Task In_an_inbox_list_a_digest_has_its_own_subject_and_each_mail_about_the_issue_shows_what_happened()
    {
        var mails = (await EveryKindOfMailAsync()).Where(m => SmtpServerFixture.EnvelopeRecipients(m).Contains(Ben)).ToList();
        var digest = mails.Single(m => Header(m, "X-ErrorHub-Trigger") == "daily-digest");
        var aboutTheIssue = mails.Except([digest]).ToList();

        digest.Subject.Should().Be("[shop] Daily digest 2026-03-03: 1 new issue, 4 events");
        aboutTheIssue.Should().OnlyContain(m => m.Subject == "[shop] NullReferenceException in CheckoutService.Complete",
            "as in Sentry, every mail about an issue has the issue's subject (Gmail threads only mails of one subject)");

        // What an inbox list shows under the subject is the start of the mail: in the HTML part, its heading.
        var previews = aboutTheIssue.Select(m => WebUtility.HtmlDecode(Heading().Match(m.HtmlBody!).Groups[1].Value)).ToList();
        previews.Should().Equal(aboutTheIssue.Select(FirstLine), "the HTML part's preview is the text part's first line");
        previews.Should().OnlyHaveUniqueItems("new issue, spike, regression and each workflow mail say what happened where the list shows it");
    }

    [Fact]
    public async Task Every_mail_about_the_issue_answers_its_first_under_the_sender_s_domain_and_the_digest_answers_none()
    {
        var mails = (await EveryKindOfMailAsync()).Where(m => SmtpServerFixture.EnvelopeRecipients(m).Contains(Ben)).ToList();
        mails.Should().OnlyContain(m => m.MessageId != null && m.MessageId.EndsWith("@example.com", StringComparison.Ordinal),
            "the Message-ID's domain is the sender's (errors@example.com), as Sentry's; until December 2026 it was the bare word errorhub");
        var digest = mails.Single(m => Header(m, "X-ErrorHub-Trigger") == "daily-digest");
        digest.InReplyTo.Should().BeNull("the digest is about no one issue");
        digest.References.Should().BeEmpty();

        var aboutTheIssue = mails.Except([digest]).ToList();
        aboutTheIssue.Should().HaveCountGreaterThanOrEqualTo(7);
        var first = aboutTheIssue.Should().ContainSingle(m => m.InReplyTo == null).Subject;
        FirstLine(first).Should().StartWith("New issue", "the first mail about the issue starts its thread");
        foreach (var later in aboutTheIssue.Except([first]))
        {
            later.InReplyTo.Should().Be(first.MessageId, $"\"{FirstLine(later)}\" answers the issue's first mail");
            later.References.Should().Equal(first.MessageId);
        }

        aboutTheIssue.Select(m => m.MessageId).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_long_non_ascii_title_is_cut_after_a_whole_word_on_one_line_and_encoded_for_any_mail_system()
    {
        var project = await _harness.CreateProjectAsync("Café Zürich");
        await _harness.AddMemberAsync(project, "ana@example.com", "Ana");
        await _harness.RoundAsync();
        var title = "Bestellung für Kunde Müller heute abgelehnt: " + string.Concat(Enumerable.Repeat("Zahlungsabbruch ", 12)) + "\r\nBcc: evil@example.com";
        var crash = Crashes.Checkout(project.Id, _harness.Time.GetUtcNow().AddMinutes(1)) with { Title = title, Culprit = "", Exceptions = [] };
        await _harness.InsertAsync(crash);
        _harness.Time.Advance(TimeSpan.FromMinutes(2));
        await _harness.RoundAsync();

        var mail = smtp.Messages().Should().ContainSingle().Subject;
        var raw = mail.Headers.First(h => h.Id == HeaderId.Subject).RawValue;
        raw.Should().OnlyContain(b => b < 128, "a non-ASCII subject is RFC 2047-encoded, so every mail system reads it as written");
        var subject = mail.Subject;
        subject.Should().NotContainAny(["\r", "\n"]).And.NotContain("Bcc:");
        subject.Should().StartWith("[Café Zürich] Bestellung für Kunde Müller heute abgelehnt: Zahlungsabbruch").And.EndWith("…");
        var shown = subject!["[Café Zürich] ".Length..^1];
        var oneLine = Regex.Replace(title, @"\s+", " ");
        oneLine.Should().StartWith(shown);
        oneLine[shown.Length].Should().Be(' ', $"\"{subject}\" is cut after a whole word, not inside one (until December 2026 it was cut at the 120th character, mid-word)");
    }

    [Fact]
    public async Task A_day_without_news_sends_no_digest_one_issue_is_told_and_many_are_listed_up_to_ten()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        await _harness.Settings.SaveAsync(shop.Id, new AlertSettings { Rules = [new AlertRule("digest", AlertTrigger.DailyDigest)] });
        await _harness.RoundAsync();
        var tuesday8 = new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);

        _harness.Time.Advance(tuesday8.AddMinutes(1) - _harness.Time.GetUtcNow());
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(30));
        await _harness.RoundAsync();
        smtp.Messages().Should().BeEmpty("as Sentry sends no report without data, a day without an event, issue, regression or resolution sends no digest; until December 2026 it sent one of zeros every day");

        await _harness.InsertAsync(Crashes.Checkout(shop.Id, tuesday8.AddHours(2)));
        _harness.Time.Advance(tuesday8.AddDays(1).AddMinutes(1) - _harness.Time.GetUtcNow());
        await _harness.RoundAsync();
        var one = smtp.Messages().Should().ContainSingle().Subject;
        one.Subject.Should().Be("[shop] Daily digest 2026-03-04: 1 new issue, 1 event", "the quiet day before is not lumped in, nor is the digest late");
        one.TextBody.Should().Contain("New issues:\n- NullReferenceException: Object reference not set to an instance of an object.\n  https://errors.example.com/")
            .And.NotContain("more new issue");

        smtp.Clear();
        await _harness.InsertAsync([.. Enumerable.Range(0, 12).Select(i => Crashes.Checkout(shop.Id, tuesday8.AddDays(1).AddHours(2).AddMinutes(i), fingerprint: $"fp-{i:00}"))]);
        _harness.Time.Advance(TimeSpan.FromDays(1));
        await _harness.RoundAsync();
        var many = smtp.Messages().Should().ContainSingle().Subject;
        many.Subject.Should().Be("[shop] Daily digest 2026-03-05: 12 new issues, 12 events");
        var listed = many.TextBody!.ReplaceLineEndings("\n").Split("New issues:\n")[1].Split("\n\n")[0].Split('\n').Count(l => l.StartsWith("- ", StringComparison.Ordinal));
        listed.Should().Be(10, "the first ten are listed, each with its link");
        many.TextBody.Should().Contain("And 2 more new issues.");
    }

    /// <summary>The words of a part, without the punctuation that only one part has (underlines, bullets, colons, a signature's dashes).</summary>
    private static bool IsOurs(string link) => link.StartsWith(NotificationHarness.PublicUrl, StringComparison.Ordinal);

    private static List<string> Words(string text) =>
        [.. Word().Matches(text).Select(m => m.Value.Trim('.', '-', '\'', '’', '_')).Where(w => w.Any(char.IsLetterOrDigit))];

    [GeneratedRegex(@"https?://[^\s""<>]+")]
    private static partial Regex Url();

    [GeneratedRegex(@"href=""([^""]*)""")]
    private static partial Regex Href();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tag();

    [GeneratedRegex(@"<h2[^>]*>(.*?)</h2>", RegexOptions.Singleline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[\p{L}\p{N}@._%+'’-]+")]
    private static partial Regex Word();
}
