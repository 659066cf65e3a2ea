using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace ErrorHub.Notifications.Delivery;

/// <summary>
/// Decides whether the SMTP server's TLS certificate is trusted for one connection: one the system trusts, or one that
/// chains to a certificate in <see cref="SmtpOptions.TrustedCertificatePath"/> (a private relay's self-signed
/// certificate, or the private CA that issued it). The host name must match either way. When it refuses, it keeps one
/// readable line saying why, which becomes the mail's reason for waiting.
/// </summary>
internal sealed class SmtpCertificateTrust(X509Certificate2Collection extraRoots)
{
    private const string Setting = "ErrorHub:Notifications:Smtp:TrustedCertificatePath";

    /// <summary>Why the last certificate was refused; null while none was.</summary>
    public string? Refusal { get; private set; }

    /// <summary>The certificates in <paramref name="path"/> (none when it is empty), or why they cannot be read.</summary>
    public static (X509Certificate2Collection Certificates, string? Error) Load(string? path)
    {
        var certificates = new X509Certificate2Collection();
        if (string.IsNullOrWhiteSpace(path))
        {
            return (certificates, null);
        }

        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return (certificates, $"{Setting}: '{path}' cannot be read as PEM certificates: {ex.Message}");
        }

        return certificates.Count == 0
            ? (certificates, $"{Setting}: '{path}' holds no certificate (expected one or more '-----BEGIN CERTIFICATE-----' blocks).")
            : (certificates, null);
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return Refuse("the server sent no certificate");
        }

        var presented = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        var who = $"{presented.Subject} (SHA-256 {presented.GetCertHashString(HashAlgorithmName.SHA256)})";
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            // A certificate for another host is refused even from a trusted issuer: that is what TLS protects against.
            return Refuse($"{who} is not for the host in ErrorHub:Notifications:Smtp:Host");
        }

        if (extraRoots.Count == 0)
        {
            return Refuse($"{who}: {Describe(chain)}; to trust a private relay, set {Setting}");
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(extraRoots);
        // A private CA rarely publishes revocation lists: checking them would refuse every certificate it issued.
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(presented)
            ? true
            : Refuse($"{who}: {Describe(custom)}, neither by the system nor by {Setting}");
    }

    private bool Refuse(string why)
    {
        Refusal = "SMTP certificate not trusted: " + why + ".";
        return false;
    }

    private static string Describe(X509Chain? chain)
    {
        var problems = chain?.ChainStatus
            .Where(s => s.Status != X509ChainStatusFlags.NoError)
            .Select(s => s.StatusInformation.ReplaceLineEndings(" ").Trim().TrimEnd('.'))
            .Where(s => s.Length > 0)
            .Distinct()
            .ToList();
        return problems is { Count: > 0 } ? string.Join("; ", problems) : "its chain does not end at a trusted certificate";
    }
}

/// <summary>Stops start-up when <see cref="SmtpOptions.TrustedCertificatePath"/> is set but holds no readable certificate, saying why.</summary>
internal sealed class TrustedCertificateValidator : IValidateOptions<NotificationOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationOptions options) =>
        SmtpCertificateTrust.Load(options.Smtp.TrustedCertificatePath).Error is { } error
            ? ValidateOptionsResult.Fail(error)
            : ValidateOptionsResult.Success;
}
