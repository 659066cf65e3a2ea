using ErrorHub.Storage;
using ErrorHub.Testing.Smtp;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>
/// The worker against a real SMTP server (aiosmtpd) speaking TLS with a self-signed certificate made by the test, as a
/// private mail relay does: the mail goes out over STARTTLS and over implicit TLS once the certificate is trusted by
/// <c>Smtp:TrustedCertificatePath</c>; a certificate not trusted, or a server offering no STARTTLS, leaves the mail
/// waiting with a readable reason, and nothing goes out in clear.
/// </summary>
public sealed class SmtpTlsTests : IAsyncLifetime
{
    private static readonly TimeSpan RoundBound = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("errorhub-smtp-tls-").FullName;
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("StartTls")]
    [InlineData("Implicit")]
    public async Task A_mail_goes_out_once_over_TLS_to_a_relay_whose_self_signed_certificate_is_trusted_by_file(string security)
    {
        var certificate = TestCertificate.Create(_directory, "relay");
        var relay = await StartRelayAsync(new SmtpServerTls(certificate, Implicit: security == "Implicit"));
        var harness = await HarnessAsync(relay, security, certificate.CertificatePath);
        var shop = await harness.ShopWithANewIssueAsync();

        await harness.RoundAsync().WaitAsync(RoundBound);

        var sent = (await harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        sent.LastError.Should().BeNull();
        sent.State.Should().Be(NotificationState.Sent);
        relay.Messages().Should().ContainSingle().Which.Subject.Should().Contain("shop");
    }

    [Theory]
    [InlineData("StartTls", false)]
    [InlineData("Implicit", false)]
    [InlineData("StartTls", true)]
    public async Task A_certificate_not_trusted_leaves_the_mail_waiting_with_a_readable_reason_and_sends_nothing_in_clear(string security, bool trustAnotherCertificate)
    {
        var certificate = TestCertificate.Create(_directory, "relay");
        var relay = await StartRelayAsync(new SmtpServerTls(certificate, Implicit: security == "Implicit"));
        var trusted = trustAnotherCertificate ? TestCertificate.Create(_directory, "someone-else").CertificatePath : null;
        var harness = await HarnessAsync(relay, security, trusted);
        var shop = await harness.ShopWithANewIssueAsync();

        await harness.RoundAsync().WaitAsync(RoundBound);

        var waiting = (await harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        waiting.State.Should().Be(NotificationState.Pending, "an untrusted certificate may be fixed by the operator: the mail waits");
        waiting.LastError.Should().StartWith("SMTP certificate not trusted: CN=relay");
        waiting.LastError.Should().Contain(certificate.Sha256Thumbprint, "the operator can tell which certificate was presented");
        waiting.LastError.Should().Contain("ErrorHub:Notifications:Smtp:TrustedCertificatePath", "the reason says how to trust it");
        waiting.LastError!.Should().MatchRegex(@"^[\x20-\x7E]{1,600}$", "the reason is one readable line");
        relay.Messages().Should().BeEmpty("nothing is sent when the server's certificate is not trusted");

        // The operator trusts the relay's certificate: the next attempt delivers it, once.
        await using var fixedUp = await harness.RestartAsync(new() { ["ErrorHub:Notifications:Smtp:TrustedCertificatePath"] = certificate.CertificatePath });
        harness.Time.Advance(TimeSpan.FromMinutes(1));
        await fixedUp.RoundAsync().WaitAsync(RoundBound);
        relay.Messages().Should().ContainSingle();
        (await fixedUp.HistoryAsync(shop)).Single().State.Should().Be(NotificationState.Sent);
    }

    [Fact]
    public async Task A_server_offering_no_STARTTLS_when_TLS_is_required_gets_nothing_in_clear_and_the_mail_waits_saying_why()
    {
        var plain = await StartRelayAsync(tls: null);
        var harness = await HarnessAsync(plain, "StartTls", trustedCertificatePath: null);
        var shop = await harness.ShopWithANewIssueAsync();

        await harness.RoundAsync().WaitAsync(RoundBound);

        var waiting = (await harness.HistoryAsync(shop)).Should().ContainSingle().Subject;
        waiting.State.Should().Be(NotificationState.Pending);
        waiting.LastError.Should().Contain("does not offer STARTTLS").And.Contain("no mail is sent in clear");
        plain.Messages().Should().BeEmpty("the plain server would have taken the mail: the worker never offered it");
    }

    [Theory]
    [InlineData("missing", "cannot be read")]
    [InlineData("no certificate", "holds no certificate")]
    [InlineData("garbage", "holds no certificate")]
    public async Task A_trusted_certificate_file_that_cannot_be_used_stops_start_up_saying_why(string content, string reason)
    {
        var path = Path.Combine(_directory, "trusted.pem");
        if (content != "missing")
        {
            await File.WriteAllTextAsync(path, content == "garbage" ? "\0\u0001-----BEGIN CERTIFICATE-----\nnot base64!\n" : "# no certificate in here\n");
        }

        var relay = await StartRelayAsync(tls: null);
        var harness = await HarnessAsync(relay, "StartTls", path);

        var start = () => harness.Services.GetRequiredService<IOptions<NotificationOptions>>().Value;

        start.Should().Throw<OptionsValidationException>()
            .Which.Message.Should().Contain("ErrorHub:Notifications:Smtp:TrustedCertificatePath").And.Contain(path).And.Contain(reason);
    }

    private async Task<SmtpServerFixture> StartRelayAsync(SmtpServerTls? tls)
    {
        var relay = new SmtpServerFixture { Tls = tls };
        _owned.Add(new Disposal(relay.DisposeAsync));
        await relay.InitializeAsync();
        return relay;
    }

    private async Task<NotificationHarness> HarnessAsync(SmtpServerFixture relay, string security, string? trustedCertificatePath)
    {
        var harness = await NotificationHarness.CreateAsync(relay, new()
        {
            ["ErrorHub:Notifications:Smtp:Security"] = security,
            ["ErrorHub:Notifications:Smtp:TrustedCertificatePath"] = trustedCertificatePath,
            ["ErrorHub:Notifications:Smtp:Timeout"] = "00:00:10",
        });
        _owned.Add(harness);
        return harness;
    }

    private sealed class Disposal(Func<Task> dispose) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await dispose();
    }
}
