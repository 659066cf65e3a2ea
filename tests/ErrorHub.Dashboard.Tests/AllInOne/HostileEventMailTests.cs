using System.Net;
using System.Text.RegularExpressions;
using ErrorHub.Dashboard.Tests.Infrastructure;
using ErrorHub.Storage;
using ErrorHub.Testing.Batches;
using ErrorHub.Testing.Ingest;
using ErrorHub.Testing.Smtp;
using Microsoft.Extensions.DependencyInjection;
using static ErrorHub.Testing.Batches.Wire;

namespace ErrorHub.Dashboard.Tests.AllInOne;

/// <summary>
/// What a team receives when an app reports hostile content, over the real path: events posted to the all-in-one
/// server's ingest, its notification worker, a real SMTP server, the received MIME parsed by MimeKit. Nothing an event
/// says adds a header or a recipient, turns into markup or a link, hides or reorders text, or makes the mail large;
/// and the worker goes on mailing.
/// </summary>
public sealed partial class HostileEventMailTests(SmtpServerFixture smtp) : IClassFixture<SmtpServerFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    /// <summary>Bidirectional controls (embeddings, overrides, isolates, marks) and zero-width characters: they reorder or hide text.</summary>
    private static readonly string[] Invisible = ["\u202A", "\u202B", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\u200E", "\u200F", "\u061C", "\u200B", "\u2060", "\uFEFF"];

    [Fact]
    public async Task A_hostile_event_mails_the_team_one_bounded_escaped_mail_that_adds_no_header_link_or_hidden_text_and_the_worker_goes_on()
    {
        smtp.Clear();
        using var server = DashboardServer.Start(new()
        {
            ["ErrorHub:Notifications:Smtp:Host"] = "127.0.0.1",
            ["ErrorHub:Notifications:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ErrorHub:Notifications:Smtp:Security"] = "None",
            ["ErrorHub:Notifications:Smtp:From"] = "errors@example.com",
            ["ErrorHub:Notifications:PollInterval"] = "00:00:01",
        });
        using var bound = new CancellationTokenSource(Bound);
        var outbox = server.Services.GetRequiredService<INotificationStore>();
        while (await outbox.GetDocumentAsync(1, "worker", bound.Token) is null)
        {
            await Task.Delay(100, bound.Token); // crashes from before the worker watches the project are not news
        }

        using var ingest = new HttpClient { BaseAddress = server.BaseAddress };
        (await PostAsync(ingest, HostileEvent())).StatusCode.Should().Be(HttpStatusCode.Accepted);
        var mail = (await smtp.MessagesToAsync(DashboardServer.AdminEmail, 1, bound.Token)).Single();

        SmtpServerFixture.EnvelopeRecipients(mail).Should().Equal(DashboardServer.AdminEmail);
        foreach (var injected in new[] { "Bcc", "X-Injected" })
        {
            mail.Headers.Contains(injected).Should().BeFalse($"no event value writes a {injected} header");
        }

        var subject = mail.Subject ?? "";
        subject.Should().NotContainAny(["\r", "\n", "\0"]).And.NotContainAny(Invisible);
        subject.Length.Should().BeLessThanOrEqualTo(200);

        var text = mail.TextBody ?? "";
        var html = mail.HtmlBody ?? "";
        text.Should().Contain("New issue", "the mail is the new issue's");
        foreach (var body in new[] { text, html })
        {
            body.Should().NotContain("\0").And.NotContainAny(Invisible, "text shown in a mail is shown as it reads: no reordering, nothing hidden");
        }

        html.Should().NotContainAny(["<script", "<img", "<iframe", "<svg", "<b>"], "no markup from the event");
        html.Should().Contain("&lt;script&gt;", "markup from the event is shown as text");
        HrefPattern().Matches(html).Select(m => m.Groups[1].Value).Should().NotBeEmpty()
            .And.OnlyContain(href => href.StartsWith(server.BaseAddress.ToString(), StringComparison.Ordinal), "links lead to the dashboard only, never to an address an event gave");
        text.Should().NotContain("\r\nBcc:").And.NotContain("\nBcc:");

        using (var whole = new MemoryStream())
        {
            await mail.WriteToAsync(whole, bound.Token);
            whole.Length.Should().BeLessThan(150_000, "a mail built from a 250 KB message, 10,000 frames and 100 exceptions stays small");
        }

        // The worker is alive: the next issue is mailed too, and nothing was logged as an error.
        (await PostAsync(ingest, SampleBatch.CheckoutEvent().With("event_id", Guid.NewGuid().ToString("N")).With("timestamp", DateTimeOffset.UtcNow)))
            .StatusCode.Should().Be(HttpStatusCode.Accepted);
        var next = (await smtp.MessagesToAsync(DashboardServer.AdminEmail, 2, bound.Token))[^1];
        next.Subject.Should().Contain("OutOfStockException", "the sample checkout crash, mailed after the hostile one");
        server.Logs.Errors.Should().BeEmpty();
    }

    /// <summary>An event whose every value a team reads is hostile.</summary>
    private static WireMap HostileEvent()
    {
        const string hidden = "\u202Eexe.gnp\u202C \u2067RLI\u2069 \u200Bzero\u2060width\uFEFF \u061C\u200E\u200F\u202A\u202B\u202D\u2066\u2068";
        // Just under ingest's longest string (256 KB; a longer one gets the batch a 400): the longest any event can bring.
        var longest = "<script>alert(1)</script>" + hidden + "\0" + new string('A', 250_000);
        var frames = Enumerable.Range(0, 10_000).Select(i => (object?)Map(
            ("function", $"<img src=x onerror=alert({i})>{hidden}"), ("type", "Shop.Evil\r\nBcc: frames@example.com"), ("module", "Shop"),
            ("file", "/src/" + hidden + ".cs"), ("line", i), ("in_app", true))).ToArray();
        var exceptions = Enumerable.Range(0, 100).Select(i => (object?)Map(
            ("type", $"Evil{hidden}Exception{i}\r\nBcc: victim@example.com\r\nX-Injected: yes"),
            ("value", i == 99 ? longest : $"<iframe src=//evil.example/{i}>{hidden}"),
            ("module", "Shop"),
            ("frames", i == 99 ? Array(frames) : Array(frames[0])))).ToArray();
        return SampleBatch.CheckoutEvent()
            .With("event_id", Guid.NewGuid().ToString("N"))
            .With("timestamp", DateTimeOffset.UtcNow)
            .With("environment", "prod\r\nBcc: environment@example.com" + hidden)
            .With("server_name", "<b>web</b>\0" + hidden + new string('s', 100_000))
            .With("release", "javascript:alert(document.cookie)" + hidden)
            .With("exceptions", Array(exceptions))
            .With("request", Map(
                ("method", "GET\r\nX-Injected: yes"),
                ("url", "javascript:alert(document.cookie)//" + hidden + "\r\nBcc: url@example.com"),
                ("query_string", "<svg onload=alert(1)>" + hidden),
                ("headers", Map(("User-Agent", "<script>ua</script>" + hidden + "\r\nX-Injected: yes")))))
            .With("user", Map(("id", "u\0" + hidden), ("username", "<b>Mallory</b>" + hidden + "\r\nBcc: user@example.com"), ("email", "mallory@example.com\r\nBcc: email@example.com")))
            .With("tags", Map(("browser", "<script>b</script>" + hidden), ("client_os", "javascript:alert(1)" + hidden), ("region", new string('r', 200_000))));
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, WireMap hostileEvent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/1/events") { Content = IngestHost.MessagePack(Encode(SampleBatch.Batch(hostileEvent)), gzip: true) };
        request.Headers.TryAddWithoutValidation("X-ErrorHub-Key", DashboardServer.ProjectKey);
        return await client.SendAsync(request);
    }

    [GeneratedRegex("href=\"([^\"]*)\"")]
    private static partial Regex HrefPattern();
}
