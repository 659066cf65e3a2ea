using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace ErrorHub.Server;

/// <summary>Checks every server setting at start-up; each message names the setting's configuration key.</summary>
internal sealed partial class ErrorHubServerOptionsValidator : IValidateOptions<ErrorHubServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ErrorHubServerOptions options)
    {
        var failures = new List<string>();
        CheckUrl(options.PublicUrl, "ErrorHub:PublicUrl", failures);
        CheckUrl(options.IngestUrl, "ErrorHub:IngestUrl", failures);
        if (string.IsNullOrWhiteSpace(options.DataDirectory) || options.DataDirectory.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"ErrorHub:DataDirectory '{options.DataDirectory}' is not a usable directory path.");
        }

        failures.AddRange(options.Store.Validate());
        failures.AddRange(options.Ingest.Validate());
        failures.AddRange(options.Retention.Validate());

        var project = options.Project;
        if (project.Id <= 0)
        {
            failures.Add("ErrorHub:Project:Id must be a positive integer.");
        }

        if (project.Name is not null && project.Name.Trim().Length == 0)
        {
            failures.Add("ErrorHub:Project:Name must not be empty.");
        }

        if (project.PublicKey is not null && !KeyPattern().IsMatch(project.PublicKey))
        {
            failures.Add("ErrorHub:Project:PublicKey must be 16 to 64 letters, digits, '-' or '_'.");
        }

        CheckAccess(options, failures);
        CheckForwardedHeaders(options.ForwardedHeaders, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckUrl(string? value, string key, List<string> failures)
    {
        if (value is null)
        {
            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{key} '{value}' is not an absolute http:// or https:// URL (e.g. https://errors.example.com/).");
        }
        else if (!string.IsNullOrEmpty(url.UserInfo) || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            failures.Add($"{key} '{value}' must be a plain address: no user name, query string or fragment.");
        }
    }

    private static void CheckAccess(ErrorHubServerOptions options, List<string> failures)
    {
        var admin = options.Admin;
        if (admin.Email is not null || admin.Password is not null || admin.ApiToken is not null)
        {
            if (string.IsNullOrWhiteSpace(admin.Email) || !AccessRules.IsEmail(admin.Email))
            {
                failures.Add("ErrorHub:Admin:Email must be an email address (with ErrorHub:Admin:Password or ErrorHub:Admin:ApiToken).");
            }

            if (admin.Password is not null && AccessRules.PasswordProblem(admin.Password) is { } problem)
            {
                failures.Add($"ErrorHub:Admin:Password {problem}.");
            }

            if (admin.ApiToken is not null && !ApiTokenPattern().IsMatch(admin.ApiToken))
            {
                failures.Add("ErrorHub:Admin:ApiToken must be 32 to 128 letters, digits, '-' or '_'.");
            }
        }

        var access = options.Access;
        if (access.MaxFailedLogins is < 1 or > 1000)
        {
            failures.Add($"ErrorHub:Access:MaxFailedLogins must be between 1 and 1000, not {access.MaxFailedLogins}.");
        }

        CheckPositive(access.LockoutDuration, "ErrorHub:Access:LockoutDuration", failures);
        if (access.SignInFailuresPerAddress is < 0 or > 100_000)
        {
            failures.Add($"ErrorHub:Access:SignInFailuresPerAddress must be between 0 (off) and 100000, not {access.SignInFailuresPerAddress}.");
        }

        if (access.SignInFailureWindow < TimeSpan.FromSeconds(1) || access.SignInFailureWindow > TimeSpan.FromDays(7))
        {
            failures.Add($"ErrorHub:Access:SignInFailureWindow must be between 00:00:01 and 7.00:00:00, not {access.SignInFailureWindow}.");
        }
        if (access.OpenTabsPerAccount is < 1 or > 10_000)
        {
            failures.Add($"ErrorHub:Access:OpenTabsPerAccount must be between 1 and 10000, not {access.OpenTabsPerAccount}.");
        }

        CheckPositive(access.InvitationLifetime, "ErrorHub:Access:InvitationLifetime", failures);
        CheckPositive(access.SessionLifetime, "ErrorHub:Access:SessionLifetime", failures);
    }

    private static void CheckForwardedHeaders(ForwardedHeadersTrustOptions trust, List<string> failures)
    {
        foreach (var proxy in ForwardedHeadersTrustOptions.Entries(trust.KnownProxies))
        {
            if (ForwardedHeadersTrustOptions.ParseAddress(proxy) is null)
            {
                failures.Add($"ErrorHub:ForwardedHeaders:KnownProxies '{proxy}' is not an IP address (e.g. 10.0.0.5 or fd00::5; a host name is not resolved).");
            }
        }

        foreach (var network in ForwardedHeadersTrustOptions.Entries(trust.KnownNetworks))
        {
            if (ForwardedHeadersTrustOptions.ParseNetwork(network) is null)
            {
                failures.Add($"ErrorHub:ForwardedHeaders:KnownNetworks '{network}' is not a network in CIDR notation (an address whose bits past the prefix are zero, '/', a prefix length: e.g. 10.0.0.0/24 or fd00::/64).");
            }
        }
    }

    private static void CheckPositive(TimeSpan value, string key, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{key} must be positive (e.g. 00:15:00), not {value}.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{32,128}$")]
    private static partial Regex ApiTokenPattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{16,64}$")]
    private static partial Regex KeyPattern();
}
