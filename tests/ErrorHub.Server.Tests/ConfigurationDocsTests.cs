using ErrorHub.Notifications;
using ErrorHub.Testing.Docs;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Server.Tests;

/// <summary>
/// docs/configuration.md's server tables against the options the server binds: a key copied from the page must exist
/// (configuration ignores unknown keys without a word), every key that exists must be on the page, and a default
/// written there must be the one the server uses.
/// </summary>
public sealed class ConfigurationDocsTests
{
    // Read by ASP.NET Core itself, not by ErrorHub's options.
    private static readonly string[] HostKeys = ["Urls", "AllowedHosts"];

    // Kestrel's own limits, which the server binds from this section over its defaults (KestrelLimitsSetup).
    private static readonly IEnumerable<string> KestrelLimitKeys =
        typeof(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits).GetProperties().Select(p => $"{KestrelLimitsSetup.SectionName}:{p.Name}");

    private static readonly IReadOnlyList<ConfigurationDocs.DocumentedKey> Documented =
        ConfigurationDocs.Keys("Server (").Where(k => !k.Key.Contains('*')).ToList();

    private static readonly IReadOnlyList<ConfigurationDocs.OptionKey> Options =
    [
        .. ConfigurationDocs.Options<ErrorHubServerOptions>("ErrorHub:"),
        .. ConfigurationDocs.Options<NotificationOptions>("ErrorHub:Notifications:"),
    ];

    [Fact]
    public void Every_documented_server_key_exists()
    {
        Documented.Should().HaveCountGreaterThan(50, "the page's tables were read");
        var existing = Options.Select(o => o.Key).Concat(HostKeys).Concat(KestrelLimitKeys).ToHashSet(StringComparer.OrdinalIgnoreCase);

        Documented.Where(k => !existing.Contains(k.Key)).Select(k => $"{k.Key} ({k.Section})")
            .Should().BeEmpty("every key docs/configuration.md names is read by the server");
    }

    [Fact]
    public void Every_server_option_is_documented()
    {
        var documented = Documented.Select(k => k.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);

        Options.Where(o => !documented.Contains(o.Key)).Select(o => o.Key)
            .Should().BeEmpty("every option the server reads has a row in docs/configuration.md");
    }

    [Fact]
    public void Documented_server_defaults_are_the_real_ones()
    {
        var options = Options.ToDictionary(o => o.Key, StringComparer.OrdinalIgnoreCase);

        // Only defaults the page writes as a value (`90`, `00:02:00`, `StartTls`) of options that have one; a null
        // default is described in words ("the address the server listens on") and computed at start-up.
        var wrong = Documented
            .Where(k => k.Default is not null && options.TryGetValue(k.Key, out var o) && o.Default is not null and not System.Collections.IEnumerable)
            .Where(k => ConfigurationDocs.Format(options[k.Key].Default) != k.Default)
            .Select(k => $"{k.Key}: documented {k.Default}, really {ConfigurationDocs.Format(options[k.Key].Default)}");

        wrong.Should().BeEmpty();
    }
}
