using System.Text.RegularExpressions;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using MimeKit;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The mails as a team reads them, received from the real SMTP server: in a plain-text client, where a link must stand
/// on its own line to be followed, and on a phone in Debian's chromium, at 390 px and in dark mode.
/// </summary>
[Collection(SmtpServerCollectionDefinition.Name)]
public sealed partial class MailReadingTests(SmtpServerFixture smtp) : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";

    private NotificationHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await NotificationHarness.StartAsync(smtp);

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    /// <summary>A new-issue alert (a member's copy, with its unsubscribe line) and a workflow mail about a comment.</summary>
    private async Task<IReadOnlyList<MimeMessage>> AlertAndWorkflowMailAsync()
    {
        var shop = await _harness.CreateProjectAsync("shop");
        var ana = await _harness.AddMemberAsync(shop, "ana@example.com", "Ana");
        var ben = await _harness.AddMemberAsync(shop, "ben@example.com", "Ben");
        await _harness.RoundAsync();
        _harness.Time.Advance(TimeSpan.FromMinutes(1));
        await _harness.InsertAsync(Crashes.Checkout(shop.Id, _harness.Time.GetUtcNow()));
        await _harness.RoundAsync();
        var workflow = _harness.Services.GetRequiredService<WorkflowMail>();
        await workflow.AssignedAsync(shop.Id, "fp-checkout", ben.Id, ana.Id, "Ana", Guid.NewGuid());
        await _harness.RoundAsync();

        var mails = smtp.Messages();
        mails.Select(m => m.TextBody!.Split('\n')[0].TrimEnd('\r')).Should().Contain(["New issue in production: NullReferenceException in CheckoutService.Complete", "Ana assigned you an issue"]);
        return mails;
    }

    [Fact]
    public async Task In_a_plain_text_client_every_link_stands_on_a_line_of_its_own()
    {
        foreach (var mail in await AlertAndWorkflowMailAsync())
        {
            var lines = mail.TextBody!.ReplaceLineEndings("\n").Split('\n');
            // The mail's own links (the event's URL is a fact of the crash, quoted where it belongs).
            var withLink = lines.Where(l => l.Contains(NotificationHarness.PublicUrl, StringComparison.Ordinal)).ToList();
            withLink.Should().HaveCountGreaterThanOrEqualTo(2);
            withLink.Should().OnlyContain(l => LoneLink().IsMatch(l), "a link alone on its line is shown and followed whole, and a signed address hundreds of characters long is not run into a sentence; until December 2026 each link followed its words on the same line");
        }
    }

    [Fact]
    public async Task On_a_phone_in_dark_mode_a_mail_fits_the_screen_and_keeps_its_light_page()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new FileNotFoundException($"This test needs chromium at {ChromiumPath}: apt-get install -y chromium", ChromiumPath);
        }

        var mails = await AlertAndWorkflowMailAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 390, Height = 844 }, ColorScheme = ColorScheme.Dark, JavaScriptEnabled = true });
        var page = await context.NewPageAsync();
        foreach (var mail in mails)
        {
            var what = mail.TextBody!.Split('\n')[0].TrimEnd('\r');
            await page.SetContentAsync(mail.HtmlBody!);
            var widths = await page.EvaluateAsync<int[]>("() => [document.scrollingElement.scrollWidth, window.innerWidth]");
            var (pageWidth, viewport) = (widths[0], widths[1]);
            pageWidth.Should().BeLessThanOrEqualTo(viewport, $"\"{what}\" must not scroll sideways at 390 px (until December 2026 a workflow mail's footer showed its unsubscribe address, hundreds of characters without a space)");
            (await page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor")).Should().Be("rgb(255, 255, 255)", $"\"{what}\" paints its own light page, on which its dark text is written, whatever the client's scheme");
        }
    }

    [GeneratedRegex(@"^\s*https://\S+$")]
    private static partial Regex LoneLink();
}
